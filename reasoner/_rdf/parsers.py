"""rdflib's case parsers, imported ahead of the first case.

rdflib imports a parser plugin, and the JSON-LD parser its helper modules, on first use. Intake
parses under an audit hook that refuses to open any file but Python code (reasoner/intake/limits.py),
so these are imported before the first case. Internals touched, held to their shape by
``tests/test_rdflib_adapters.py``: the module paths ``rdflib.plugins.shared.jsonld.context`` and
``.util`` (which the JSON-LD parser imports lazily) and ``rdflib.parser.Parser`` (the plugin kind
``rdflib.plugin.get`` looks parsers up by). Public way: none that imports without parsing; parsing a
trivial document in each format would, but only as a side effect.
"""

from __future__ import annotations

#: The formats intake hands to rdflib.
CASE_FORMATS = ("turtle", "json-ld")


def warm_up_parsers() -> None:
    """Import rdflib's Turtle and JSON-LD parsers, and what they import lazily, now."""
    import html.parser  # noqa: F401 - rdflib's JSON-LD source reader

    from rdflib import plugin
    from rdflib.parser import Parser
    from rdflib.plugins.shared.jsonld import context, util  # noqa: F401

    for name in CASE_FORMATS:
        plugin.get(name, Parser)

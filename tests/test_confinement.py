"""Third-party internals confined (issue 16): each library's internals are touched in one adapter place.

Read from the source (ast, with the module list of ``test_layout``), not by importing:

- rdflib: its plugin modules (``rdflib.plugins``), ``rdflib.parser``, ``rdflib.store`` and any name
  starting with ``_`` only in ``reasoner/_rdf/`` (``tests/test_rdflib_adapters.py`` holds each to
  its shape); and ``reasoner/_rdf/`` imports nothing from the engine but errors and numbers.
- uvicorn: ``uvicorn.protocols`` and ``uvicorn.supervisors`` only in ``api/server.py``
  (``tests/api/test_server.py`` holds them to their shape).
- pyshacl: only in ``reasoner/shacl/_pyshacl.py``.
- A private name of any other object (``x._name`` or ``getattr(x, "_name")`` with ``x`` neither
  ``self`` nor ``cls``), or a private module or name imported from another library, only in the
  adapters and where ``PRIVATE_ALLOWED`` says why.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from .conftest import ROOT
from .test_layout import _modules

RDF_ADAPTERS = "reasoner._rdf"
RDF_INTERNAL = ("rdflib.plugins", "rdflib.parser", "rdflib.store")
UVICORN_ADAPTER = "api.server"
UVICORN_INTERNAL = ("uvicorn.protocols", "uvicorn.supervisors")
PYSHACL_ADAPTER = "reasoner.shacl._pyshacl"
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_make", "_fields", "_field_defaults"}
"""namedtuple's public API, spelt with an underscore so as not to clash with field names."""

PRIVATE_ALLOWED = {
    # CPython's forkserver has no public way to stop it (3.11); service.py says so and falls back.
    ("reasoner.sparql.service", "getattr(multiprocessing.forkserver, '_forkserver', None)"),
    ("reasoner.sparql.service", "getattr(getattr(multiprocessing.forkserver, '_forkserver', None), '_stop', None)"),
    # The class's own instance, made in its own classmethod (``live = cls(...)``): not a third party's.
    ("api.reload", "live._private_state"),
    ("api.reload", "live._start_sparql"),
    ("api.reload", "live._watcher"),
    # typer vendors click, and its help formatting subclasses the vendored Command; public way: none.
    ("reasoner.cli", "import typer._click.Command"),
}


class Touch(NamedTuple):
    """One touch of a library's internals (or of a private name) in a module's source."""

    kind: str  # "rdflib", "uvicorn", "pyshacl" or "private"
    what: str
    line: int


def _project(name: str) -> bool:
    return name.split(".")[0] in ("reasoner", "api")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _kind(target: str) -> str | None:
    """What kind of internal a dotted import or access target is, if any."""
    if target.startswith(tuple(f"{p}." for p in RDF_INTERNAL)) or target in RDF_INTERNAL:
        return "rdflib"
    if target.split(".")[0] == "rdflib" and _private(target):
        return "rdflib"
    if target.startswith(tuple(f"{p}." for p in UVICORN_INTERNAL)) or target in UVICORN_INTERNAL:
        return "uvicorn"
    if target.split(".")[0] == "pyshacl":
        return "pyshacl"
    if not _project(target) and target != "__future__" and _private(target):
        return "private"
    return None


def _import_targets(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
    return [f"{base}.{alias.name}" for alias in node.names]


def _private_access(node: ast.AST) -> str | None:
    """``x._name`` or ``getattr(x, "_name")`` (also set/has/delattr), ``x`` neither self nor cls."""
    if isinstance(node, ast.Attribute):
        owner, name = node.value, node.attr
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        owner, name = node.args[0], node.args[1].value
    else:
        return None
    if not name.startswith("_") or (name.startswith("__") and name.endswith("__")) or name in PUBLIC_UNDERSCORE:
        return None
    if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
        return None
    return ast.unparse(node)


def touches(source: str, module: str = "m", *, is_package: bool = False) -> list[Touch]:
    """Every touch of a library's internals or of a private name in ``source`` (the module ``module``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[Touch] = []
    inner: set[int] = set()  # the rest of a chain already reported by its outermost attribute
    for node in ast.walk(ast.parse(source)):  # breadth first: a chain's outermost attribute comes first
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _import_targets(node, package):
                kind = _kind(target)
                if kind is not None:
                    found.append(Touch(kind, f"import {target}", node.lineno))
            continue
        if isinstance(node, ast.Attribute):
            if id(node) in inner:
                continue
            dotted = _dotted(node)
            kind = _kind(dotted) if dotted is not None else None
            if kind in ("rdflib", "uvicorn", "pyshacl"):
                found.append(Touch(kind, dotted or "", node.lineno))
                link: ast.expr = node.value
                while isinstance(link, ast.Attribute):
                    inner.add(id(link))
                    link = link.value
                continue
        access = _private_access(node)
        if access is not None:
            found.append(Touch("private", access, getattr(node, "lineno", 0)))
    return found


def _allowed(module: str, touch: Touch) -> bool:
    if touch.kind == "rdflib":
        return module == RDF_ADAPTERS or module.startswith(RDF_ADAPTERS + ".")
    if touch.kind == "uvicorn":
        return module == UVICORN_ADAPTER
    if touch.kind == "pyshacl":
        return module == PYSHACL_ADAPTER
    return (
        module.startswith(RDF_ADAPTERS + ".")  # Literal's slots, BadSyntax's offsets: held by their tests
        or (module, touch.what) in PRIVATE_ALLOWED
    )


def _all_touches() -> dict[str, list[Touch]]:
    return {
        name: touches(path.read_text(), name, is_package=path.name == "__init__.py")
        for name, path in sorted(_modules().items())
    }


def _outside(every: dict[str, list[Touch]]) -> set[tuple[str, str, str, int]]:
    return {(m, t.kind, t.what, t.line) for m, found in every.items() for t in found if not _allowed(m, t)}


def test_third_party_internals_are_touched_only_in_their_adapters() -> None:
    every = _all_touches()
    assert len(every) > 50  # the modules were read
    assert _outside(every) == set()


def test_the_adapters_do_touch_what_they_are_for() -> None:  # else the checks above would be vacuous
    every = _all_touches()
    kinds = {(m.rpartition(".")[0] if m.startswith(RDF_ADAPTERS) else m, t.kind) for m, f in every.items() for t in f}
    assert {(RDF_ADAPTERS, "rdflib"), (UVICORN_ADAPTER, "uvicorn"), (PYSHACL_ADAPTER, "pyshacl")} <= kinds


def test_every_allowance_is_still_needed() -> None:
    every = _all_touches()
    used = {(m, t.what) for m, found in every.items() for t in found}
    assert PRIVATE_ALLOWED - used == set()


def test_the_rdf_adapters_import_nothing_from_the_engine_but_errors_and_numbers() -> None:
    from .test_layout import _imports

    modules = _modules()
    engine = {
        target
        for name, path in modules.items()
        if name == RDF_ADAPTERS or name.startswith(RDF_ADAPTERS + ".")
        for target in _imports(name, path, modules)
        if not target.startswith(RDF_ADAPTERS)
    }
    assert engine <= {"reasoner.errors", "reasoner.numbers"}


# --- the checker itself -----------------------------------------------------------------------------


BAD = """
import rdflib.plugins.sparql as s
from rdflib.plugins.stores.memory import Memory
from rdflib import parser, store
from rdflib.term import _XSD_PFX
from uvicorn.protocols.http.h11_impl import H11Protocol
import uvicorn.supervisors
from pyshacl import validate
from somelib._vendored import thing
import rdflib

def f(node, other):
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    node._literal_n3()
    getattr(other, "_why", None)
    return self_like._x
"""

GOOD = """
from __future__ import annotations
from rdflib import Graph, Literal
from rdflib.term import URIRef
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from reasoner._rdf.sparql import parse_query
from . import _sibling

class C:
    def m(self):
        self._a = getattr(self, "_b", None)
        return cls._c, row._replace(a=1), x.__class__, uvicorn.Config
"""


def test_the_checker_sees_every_kind_of_touch() -> None:
    found = touches(BAD, "reasoner.bad")
    assert [(t.kind, t.what) for t in found if t.line <= 10] == [
        ("rdflib", "import rdflib.plugins.sparql"),
        ("rdflib", "import rdflib.plugins.stores.memory.Memory"),
        ("rdflib", "import rdflib.parser"),
        ("rdflib", "import rdflib.store"),
        ("rdflib", "import rdflib.term._XSD_PFX"),
        ("uvicorn", "import uvicorn.protocols.http.h11_impl.H11Protocol"),
        ("uvicorn", "import uvicorn.supervisors"),
        ("pyshacl", "import pyshacl.validate"),
        ("private", "import somelib._vendored.thing"),
    ]
    later = {(t.kind, t.what) for t in found if t.line > 10}
    assert later == {
        ("rdflib", "rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS"),
        ("private", "node._literal_n3"),
        ("private", "getattr(other, '_why', None)"),
        ("private", "self_like._x"),
    }
    assert not any(_allowed("reasoner.bad", t) for t in found)
    assert all(_allowed("reasoner._rdf.x", t) for t in found if t.kind == "rdflib")
    assert [t for t in found if _allowed("api.server", t)] == [t for t in found if t.kind == "uvicorn"]


def test_the_checker_passes_public_names_own_privates_and_the_project() -> None:
    assert touches(GOOD, "reasoner.good") == []


def test_a_bad_module_would_fail_the_confinement_test() -> None:
    every = _all_touches()
    every["reasoner.intake.bad"] = touches(BAD, "reasoner.intake.bad")
    assert len(_outside(every)) == 13
    assert {m for m, *_ in _outside(every)} == {"reasoner.intake.bad"}


def test_the_modules_read_are_the_projects() -> None:
    modules = _modules()
    assert modules["api.server"] == ROOT / "api" / "server.py"
    assert "reasoner._rdf.sparql" in modules


# --- third-party exceptions: each caught in one place (docs/errors.md) ---------------------------------

CAUGHT_IN = {
    # rdflib's BadSyntax is a SyntaxError; so is Oxigraph's, tried first on a case and on N-Quads imported.
    "SyntaxError": {"reasoner._rdf.turtle", "reasoner.intake.turtle", "reasoner.store.base"},
    "json.JSONDecodeError": {"reasoner.intake.turtle"},
    "pydantic.ValidationError": {
        "reasoner.intake.json_case.load",
        "reasoner.intake.json_case.schema",
        "reasoner.intake.fhir.resources",
    },
    "pyparsing.ParseBaseException": {"reasoner.sparql.vetting"},
    "pyshacl": {PYSHACL_ADAPTER},
}


def caught(source: str) -> list[tuple[str, int]]:
    """(third-party exception, line) for every ``except`` of one in ``source``, names resolved by its imports."""
    tree = ast.parse(source)
    origin: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            origin.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            origin.update({a.asname or a.name: a.name for a in node.names})
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        for t in types:
            dotted = _dotted(t) or ""
            head, _, rest = dotted.partition(".")
            full = origin.get(head, head) + (f".{rest}" if rest else "")
            for name in CAUGHT_IN:
                if full == name or full.startswith(name + ".") or (name == "pyshacl" and full.startswith("pyshacl")):
                    out.append((name, node.lineno))
    return out


def test_third_party_exceptions_are_caught_at_one_boundary_each() -> None:
    misplaced = sorted(
        (module, name, line)
        for module, path in _modules().items()
        for name, line in caught(path.read_text())
        if module not in CAUGHT_IN[name]
    )
    assert misplaced == []


def test_the_exception_checker_resolves_names() -> None:
    source = (
        "import json\nfrom pydantic import ValidationError as VE\nfrom pyshacl.errors import ShapeLoadError\n"
        "try:\n    pass\nexcept (json.JSONDecodeError, VE):\n    pass\nexcept ShapeLoadError:\n    pass\n"
        "except SyntaxError:\n    pass\nexcept ValueError:\n    pass\n"
    )
    assert caught(source) == [
        ("json.JSONDecodeError", 6),
        ("pydantic.ValidationError", 6),
        ("pyshacl", 8),
        ("SyntaxError", 10),
    ]
    assert (
        caught("from reasoner.errors import ValidationError\ntry:\n    pass\nexcept ValidationError:\n    pass\n") == []
    )

"""Lint: every ICD-10-CM code and family the knowledge base names exists in the release held.

The release is the one reasoner/knowledge/icd10cm.py reads (FY2026 here). A code, a ``gr:Code``
of the ICD-10-CM scheme, must be a billable code of it, unless the knowledge base holds the code
as deleted (``gr:deletedOn``). An entry of a diagnosis list names a code (``gr:code``, checked as
a code), a family (``gr:codePrefix``: an item of the release, held with everything under it) or a
range (``gr:firstCode`` to ``gr:lastCode``: two billable codes, the first before the last).
"""

from __future__ import annotations

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from reasoner.knowledge import icd10cm
from reasoner.vocab import GR, ICD10CM

CODE, FAMILY = "code-exists", "family-exists"


def code_problems(kb: Graph) -> list[tuple[Node, str, str]]:
    """Each code or family the release does not have: (the term, the check, the message)."""
    release = icd10cm.release()
    out: list[tuple[Node, str, str]] = []
    scheme = ICD10CM.scheme
    for code in sorted(kb.subjects(SKOS.inScheme, scheme), key=str):
        notation = kb.value(code, SKOS.notation)
        if not isinstance(notation, Literal) or (code, GR.deletedOn, None) in kb:
            continue  # a code without a notation is the code-notation meta-shape's finding
        item = release.get(str(notation))
        if item is None:
            out.append((code, CODE, f"{notation} is not a code of {icd10cm.RELEASE}{_closest(str(notation))}"))
        elif not item.billable:
            out.append((code, CODE, f"{notation} is a category of {icd10cm.RELEASE}, not a billable code: " + _USE))
    for entry in sorted(kb.subjects(RDF.type, GR.DiagnosisEntry), key=str):
        out.extend((entry, FAMILY, m) for m in _entry_problems(kb, entry, release))
    return out


_RANGE = "the two ends of a range must be codes of the same length, the first not after the last"


def range_problems(kb: Graph) -> list[tuple[Node, str]]:
    """The entries (typed, or the objects of ``gr:entry``) whose range ends differ in length or are in the wrong order.

    In code, not a SPARQL meta-shape: pyshacl ran that query once per entry, a fifth of a lint.
    """
    classes = set(kb.transitive_subjects(RDFS.subClassOf, GR.DiagnosisEntry))  # with the class itself
    entries = {e for c in classes for e in kb.subjects(RDF.type, c)} | set(kb.objects(None, GR.entry))
    bad = sorted(
        {
            entry
            for entry in entries
            for first in kb.objects(entry, GR.firstCode)
            for last in kb.objects(entry, GR.lastCode)
            if len(str(first)) != len(str(last)) or str(first) > str(last)
        },
        key=str,
    )
    return [(entry, _RANGE) for entry in bad]


_USE = "name it as a family (gr:codePrefix) in a diagnosis list, or name one of its billable codes"


def _entry_problems(kb: Graph, entry: Node, release: icd10cm.Icd10Cm) -> list[str]:
    problems = []
    prefix = kb.value(entry, GR.codePrefix)
    if isinstance(prefix, Literal) and str(prefix) not in release:
        problems.append(
            f"family {prefix}: {icd10cm.RELEASE} has no item {prefix}; a family is a category and every code under it"
        )
    first, last = kb.value(entry, GR.firstCode), kb.value(entry, GR.lastCode)
    ends = [str(e) for e in (first, last) if isinstance(e, Literal)]
    for end in ends:
        item = release.get(end)
        if item is None or not item.billable:
            what = "not a code" if item is None else "a category, not a billable code"
            problems.append(f"range {'-'.join(ends)}: {end} is {what} of {icd10cm.RELEASE}{_closest(end)}")
    if len(ends) == 2 and ends[0] > ends[1]:
        problems.append(f"range {'-'.join(ends)}: its first code comes after its last, so it holds no code")
    code = kb.value(entry, GR.code)
    if isinstance(code, URIRef) and not str(code).startswith(str(ICD10CM)):
        problems.append(f"gr:code {code} is not an ICD-10-CM code")
    return problems


def _closest(code: str) -> str:
    near = icd10cm.release().near(code)
    return f" (the closest: {', '.join(near)})" if near else ""

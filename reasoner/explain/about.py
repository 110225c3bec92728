"""What a criterion not met fails on, read from the shapes that reported it (``About``).

For a not-met text's ``{codes}`` and ``{facts}`` (``named_finding``): the facts outside the
criterion's scope, the lines it judges, the values a failing qualified count is about; and what a
count of sessions or distinct tests counts (``counted``), each named by the facts it is made of.
Part of the explain stage (reasoner/explain/criteria.py calls it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import RDF, Graph, URIRef
from rdflib.term import Node

from reasoner.enrich.values import EnrichedCase
from reasoner.explain.facts import name_fact
from reasoner.knowledge.entities import Criterion, fill_facts
from reasoner.knowledge.shape_counts import group_counts
from reasoner.model import Fact
from reasoner.shacl.prepared import Result
from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Uncertain
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


class About:
    """What a failing result is about, read from the shapes that reported it (for a not-met text)."""

    def __init__(self, case: EnrichedCase, kb: KnowledgeBase, reader: Reader | None) -> None:
        self.case, self.kb = case, kb
        self._reader = reader  # the one validation read the case with, its lookups cached

    def outside(self, c: Criterion, nodes: list[Node]) -> set[Node]:
        """The listed facts the criterion surely does not count: those that fail its scope (gr:scopeShape)."""
        out: set[Node] = set()
        for shape in c.scope_shapes:
            compiled = self.kb.validator.compiled(shape)
            if compiled is not None and nodes:
                if self._reader is None:
                    self._reader = Reader(self.case.graph)
                out |= {n for n in nodes if compiled.conforms(self._reader, n) is False}
        return out

    def judged(self, c: Criterion) -> list[Node]:
        """The requested lines the criterion judges: those of a class it applies to, else every addressed one."""
        lines = [ln for ln in self.case.lines if ln.status != GR.NotAddressed]
        return [ln.node for ln in lines if ln.classes & c.applies_to] or [ln.node for ln in lines]

    def groups(self, c: Criterion) -> tuple[str, list[Node]] | None:
        """When a count of the criterion counts sessions or distinct tests, one of them several facts.

        Which (its unit), and those that surely count. None when each is one fact: the facts' own
        count then says it all.
        """
        counts = group_counts(self.kb).get(c.iri)
        if not counts:
            return None
        validator = self.kb.validator
        if self._reader is None:
            self._reader = Reader(self.case.graph)
        reader = self._reader
        for root, part, unit in counts:
            compiled, inner, qualified = validator.compiled(root), validator.compiled(part), validator.outline(part)
            if compiled is None or inner is None or qualified.qualified is None:
                continue
            for focus in compiled.focus_nodes(reader):
                values = [v for v in inner.value_nodes(reader, focus) if type(v) is not Uncertain]
                if unit == "session":  # by its records for certain: one it may hold is not counted
                    held = [reader.objects(v, GR.sessionRecord) for v in values]
                else:
                    held = [reader.subjects(CV.test, v) for v in values]
                merged = any(sum(type(m) is not Uncertain for m in members) > 1 for members in held)
                if merged:
                    return unit, [v for v in values if qualified.qualified.conforms(reader, v) is True]
        return None

    def offenders(self, shape: Node, focus: Node, depth: int = 0) -> list[Node]:
        """The values a failing qualified count is about, at any depth of the shape that failed on ``focus``.

        Too many conform (``sh:qualifiedMaxCount``): those that surely conform (the sessions counted,
        the excluded condition present); too few (``sh:qualifiedMinCount``): those that surely do not
        (the blocks without enough relief). Through ``sh:or``, ``sh:and``, ``sh:node`` and
        ``sh:property`` of a node shape, into each part that fails too. Nothing for a shape pyshacl runs.
        """
        validator = self.kb.validator
        compiled = validator.compiled(shape)
        if depth > 8 or compiled is None:
            return []
        if self._reader is None:
            self._reader = Reader(self.case.graph)
        reader, outline = self._reader, validator.outline(shape)
        out: list[Node] = []
        if outline.qualified is not None:
            values = compiled.value_nodes(reader, focus)
            truths = [(v, outline.qualified.conforms(reader, v)) for v in values if type(v) is not Uncertain]
            surely = [v for v, t in truths if t is True]
            if outline.most is not None and len(surely) > outline.most:
                out += surely
            elif outline.least is not None and len(surely) < outline.least:
                out += [v for v, t in truths if t is False]
        if outline.is_property:  # the parts of a property shape judge its values
            return out
        for part in outline.parts:
            inner = validator.compiled(part)
            if inner is not None and inner.conforms(reader, focus) is False:
                out += self.offenders(part, focus, depth + 1)
        return out


def named_finding(c: Criterion, about: About, failing: list[Result], facts: list[Fact]) -> str:
    """The criterion's not-met text with the codes and facts it fails on (``{codes}``, ``{facts}``).

    ``{codes}``: the requested lines a result fails on; when no result singles one out (a result on
    the request, the case or a procedure class), the lines the criterion judges. ``{facts}``: the
    facts listed under the criterion that a result fails on (its focus, value or the values of a
    failing qualified count); when it names none of them, those that do not qualify or fail it.
    """
    if "{" not in c.not_met_text:
        return c.not_met_text
    g, kb = about.case.graph, about.kb
    decided = [r for r in failing if r.undecided is None]
    nodes = [n for r in decided for n in (r.focus, r.value) if n is not None]
    direct = {str(n) for n in nodes}
    wants_codes = "{codes}" in c.not_met_text and not any((n, RDF.type, CV.RequestLine) in g for n in nodes)
    if wants_codes or ("{facts}" in c.not_met_text and not any(f.node in direct for f in facts)):
        # only when the results themselves name no line or fact: re-reading the shapes costs a validation
        for r in decided:
            nodes += about.offenders(r.source_shape, r.focus)
    nodes = [m for n in nodes for m in _members(g, n)]  # a session or a distinct test: the facts it is made of
    lines = list(dict.fromkeys(n for n in nodes if (n, RDF.type, CV.RequestLine) in g)) or about.judged(c)
    codes = sorted({name_fact(g, n, kb) for n in lines})
    failed_on = {str(n) for n in nodes}
    against = [f.node for f in facts if f.node in failed_on] or [
        f.node for f in facts if f.assessment in ("does not qualify", "fails this criterion")
    ]
    facts_named = [name_fact(g, URIRef(n), kb) for n in against if (URIRef(n), RDF.type, CV.RequestLine) not in g]
    return fill_facts(c.not_met_text, codes, list(dict.fromkeys(facts_named)))


def _members(g: Graph, node: Node) -> list[Node]:
    """The facts a counted group is made of.

    A session's records (its add-on lines only when it has nothing else), a distinct test's
    findings; any other node is itself.
    """
    derived = sorted(g.subjects(GR.derivation, node), key=str)  # a derivation's focus: its derived node
    if derived:
        return derived
    if (node, GR.sessionOf, None) in g:
        records = sorted(g.objects(node, GR.sessionRecord), key=str)
        primary = [r for r in records if (r, GR.addOnCode, None) not in g]
        return primary or records
    if isinstance(node, URIRef) and (node, RDF.type, None) not in g:
        findings = sorted(g.subjects(CV.test, node), key=str)
        if findings:
            return findings
    return [node]


def name_counted(g: Graph, kb: KnowledgeBase, unit: str, counted: list[Node]) -> str:
    """What a count of sessions or distinct tests counts, each named by its facts."""
    n = len(counted)
    text = f"{n} {unit}{'' if n == 1 else 's'} count{'s' if n == 1 else ''}"
    if not n:
        return text
    names = []
    for group in counted:
        members = _members(g, group)
        if (group, GR.sessionOf, None) in g:
            named = " and ".join(sorted({name_fact(g, m, kb) for m in members}))
            # a laterality is an IRI of the case vocabulary (the case shapes say so)
            sides = sorted({kb.label(v) for m in members for v in g.objects(m, CV.laterality)})  # type: ignore[arg-type]
            names.append(named + (f", {' and '.join(sides)}" if len(members) > 1 and sides else ""))
        else:
            times = f", recorded {len(members)} times" if len(members) > 1 else ""
            names.append(kb.label(group) + times)  # type: ignore[arg-type]  # a distinct test: its class's IRI
    return f"{text}: {'; '.join(sorted(names))}"

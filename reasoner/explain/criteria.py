"""The explain stage: validation results + knowledge base -> criterion results, outcome, next steps.

Everything a reader sees comes from authored text in the knowledge base (statements, not-met
texts, step actions, missing-documentation texts) keyed by IRI; pyshacl's own messages are never
shown. A criterion is unknown when documentation it needs is missing, not met when a shape that
checks it reports a result, and met otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import RDF, SH, Graph, URIRef
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.enrich.values import EnrichedCase
from reasoner.explain.facts import describe, facts_of_class, name_fact, name_gap, source_of
from reasoner.knowledge.catalogue import evidence_of
from reasoner.knowledge.entities import COUNT, Criterion, Tag, fill_facts, weakest
from reasoner.model import CriterionResult, Fact, NextStep, Outcome, Source, Status
from reasoner.shacl.prepared import Result
from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Gap, Uncertain
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@dataclass(frozen=True)
class Explained:
    """The explain stage's output, before rendering."""

    outcome: Outcome
    criteria: tuple[CriterionResult, ...]
    missing: tuple[str, ...]
    next_steps: tuple[NextStep, ...]
    rationale: tuple[str, ...]


NOT_COUNTED = "not counted"  # a listed fact outside the criterion's scope (gr:scopeShape)


def explain(
    case: EnrichedCase, results: tuple[Result, ...], kb: KnowledgeBase, reader: Reader | None = None
) -> Explained:
    """Turn validation results into criterion results, an outcome, rationale and next steps.

    A criterion is not met when a result fails it whatever the unstated values are, unknown when
    a result is undecided (``Result.undecided``) or a kind of documentation it needs is missing,
    and met otherwise: Kleene's AND over its shapes' constraints.
    """
    index = kb.shape_index
    applicable = case.applicable.criteria
    missing_kinds: set[URIRef] = set()  # documentation surely missing
    unsure_kinds: dict[URIRef, frozenset[Gap]] = {}  # documentation missing unless unstated values say otherwise
    for r in results:
        root = index.root_of.get(r.source_shape, r.source_shape)
        kind = index.documentation.get(root) if isinstance(root, URIRef) else None  # IRI-named roots only
        if kind is None:
            continue
        if r.undecided is None:
            missing_kinds.add(kind)
        else:
            unsure_kinds[kind] = unsure_kinds.get(kind, frozenset()) | r.undecided
    failing: dict[URIRef, list[Result]] = {}
    flagged_by_shape: dict[Node, dict[Node, frozenset[Gap] | None]] = {}
    for r in results:
        root = index.root_of.get(r.source_shape, r.source_shape)
        flags = flagged_by_shape.setdefault(root, {})
        flags[r.focus] = None if r.undecided is None or flags.get(r.focus, ()) is None else r.undecided
        via = index.value_via.get(r.source_shape)
        if via is not None and r.value is not None:
            targets = {kb.ontology.value(r.value, via)}
        else:
            targets = set(index.checks.get(root, frozenset())) if isinstance(root, URIRef) else set()
        for criterion in applicable & targets:
            failing.setdefault(criterion, []).append(r)
    crits = _in_order(kb, applicable)
    seen: dict[Node, tuple[str, Source | None]] = {}  # a fact described once, however many criteria list it
    listed: dict[URIRef, list[Node]] = {}  # and a class's facts found once
    named: dict[Gap, str] = {}  # and an unstated value named once
    about = _About(case, kb, reader)  # what a not-met criterion fails on, for its {codes} and {facts}
    for c in crits:  # a criterion needing documentation that unstated values leave in doubt is in doubt
        for kind in c.needs & unsure_kinds.keys() - missing_kinds:
            failing.setdefault(c.iri, []).append(Result(c.iri, case.case, None, SH.Violation, unsure_kinds[kind]))
    out = [
        _criterion(case, kb, c, failing.get(c.iri, []), missing_kinds, flagged_by_shape, seen, listed, named, about)
        for c in crits
    ]
    outcome = _outcome(case, out)
    missing_docs = {(kb.missing_texts.get(k) or kb.label(k)) for c in crits for k in c.needs & missing_kinds}
    not_stated = {value for result in out for value in result.notStated}
    missing = tuple(sorted(missing_docs)) + tuple(sorted(not_stated - missing_docs))
    steps = () if outcome is Outcome.NO_APPLICABLE_GUIDELINE else _next_steps(case, kb, out)
    return Explained(outcome, tuple(out), missing, steps, _rationale(outcome, out, missing, kb, case))


@per_knowledge_base(maxsize=1024)
def _in_order(kb: KnowledgeBase, criteria: frozenset[URIRef]) -> tuple[Criterion, ...]:
    """Coverage first, then by the criteria's order."""
    return tuple(sorted((kb.criteria[c] for c in criteria), key=lambda c: (not c.is_coverage, c.order, c.id)))


def _criterion(
    case: EnrichedCase,
    kb: KnowledgeBase,
    c: Criterion,
    failing: list[Result],
    missing_kinds: set[URIRef],
    flagged_by_shape: dict[Node, dict[Node, frozenset[Gap] | None]],
    seen: dict[Node, tuple[str, Source | None]],
    listed: dict[URIRef, list[Node]],
    named: dict[Gap, str],
    about: _About,
) -> CriterionResult:
    g = case.graph
    gaps = c.needs & missing_kinds
    undecided = [r for r in failing if r.undecided is not None]
    if gaps:
        status = Status.UNKNOWN
    elif len(undecided) < len(failing):
        status = Status.NOT_MET
    else:
        status = Status.UNKNOWN if undecided else Status.MET
    not_qualifying: dict[Node, frozenset[Gap] | None] = {}
    for shape in c.qualifying_shapes:
        for node, flag in flagged_by_shape.get(shape, {}).items():
            not_qualifying[node] = None if flag is None or not_qualifying.get(node, ()) is None else flag
    failing_focus = {r.focus for r in failing if r.undecided is None}
    facts = []
    for cls in c.considers:
        if cls not in listed:
            listed[cls] = facts_of_class(g, cls)
    nodes = [n for cls in c.considers for n in listed[cls]]
    outside = about.outside(c, nodes)
    for node in dict.fromkeys(nodes):
        unstated: list[str] = []
        if node in outside:
            assessment: str | None = NOT_COUNTED
        elif c.qualifying_shapes:
            if node not in not_qualifying:
                assessment = "qualifies"
            elif (may_not := not_qualifying[node]) is None:
                assessment = "does not qualify"
            else:
                assessment = "may qualify"
                unstated = _names(may_not, g, kb, named)
        elif node in failing_focus:
            assessment = "fails this criterion"
        else:
            assessment = None
        if node not in seen:
            seen[node] = (describe(g, node, kb), source_of(g, node, kb))
        text, source = seen[node]
        facts.append(Fact(node=str(node), text=text, assessment=assessment, source=source, notStated=unstated))
    values: list[str] = []
    if status is Status.UNKNOWN and gaps:
        finding = "Cannot be decided: " + " ".join((kb.missing_texts.get(k) or kb.label(k)) for k in sorted(gaps))
    elif status is Status.UNKNOWN:
        gaps_of_results = (r.undecided for r in undecided if r.undecided is not None)  # (each is)
        values = _names(frozenset().union(*gaps_of_results), g, kb, named)
        finding = "Cannot be decided: not stated: " + "; ".join(values) + "."
    elif status is Status.NOT_MET:
        finding = _named_finding(c, about, failing, facts)
    else:
        finding = "Met."
    if c.qualifying_shapes and status is not Status.UNKNOWN:
        qualifying = sum(1 for f in facts if f.assessment == "qualifies")
        counts = [kb.thresholds[t] for t in c.thresholds if t in kb.thresholds and kb.thresholds[t].unit_iri == COUNT]
        need = [f"at least {counts[0].display()} required"] if counts else []
        counted = [f for f in facts if f.assessment != NOT_COUNTED]
        documented = [f"{qualifying} of {len(counted)} documented qualif{'y' if len(counted) != 1 else 'ies'}"]
        if not counted:  # unless the finding has said so, naming its facts
            documented = [] if status is Status.NOT_MET and "{facts}" in c.not_met_text else ["none documented"]
            documented = ["none counted"] if documented and facts else documented
        grouped = about.groups(c) if facts else None
        if grouped is not None:  # sessions or distinct tests that are several facts each: what counts
            documented.append(_counted(g, kb, *grouped))
        if documented or need:
            finding += f" ({'; '.join(documented + need)}.)"
    tag, deciding, because = _tag(case, kb, c, status, failing, about)
    return CriterionResult(
        id=c.id,
        label=c.label,
        category=c.category,
        required=c.required,
        verification=tag.label if tag else None,
        advisory=c.advisory(deciding),
        decidesBecause=because or None,
        statement=c.statement,
        status=status,
        finding=finding,
        facts=facts,
        evidence=evidence_of(kb, c.recommendation),
        references=[kb.references[r].id for r in _references_of(case, kb, c) if r in kb.references],
        notStated=values,
    )


def _tag(
    case: EnrichedCase, kb: KnowledgeBase, c: Criterion, status: Status, failing: list[Result], about: _About
) -> tuple[Tag | None, Tag | None, str]:
    """What the criterion rests on in this determination: the tag shown, the tag that decides, and why.

    The tag shown is the weakest of everything it rests on: the criterion's own tag (its fact and
    thresholds, at load) and, for a coverage criterion without a rule, the coverage rules of the
    codes it fails on (of the codes it judges when it does not fail). The tag that decides leaves
    out a coverage rule that says why it decides though tagged S or U (gr:decidesBecause).
    """
    if not c.reads_coverage:
        return c.tag, c.tag, c.decides_because
    if status is Status.NOT_MET:
        nodes = {r.focus for r in failing if r.undecided is None}
    else:
        nodes = set(about.judged(c))
    rules = [r for ln in case.lines if ln.node in nodes and (r := kb.coverage.get((case.policy.iri, ln.code)))]
    overridden = [r for r in rules if r.decides_because and r.tag is not None and not r.tag.decides]
    shown = weakest([c.tag, *(r.tag for r in rules)])
    deciding = weakest([c.tag, *(r.tag for r in rules if r not in overridden)])
    because = " ".join(dict.fromkeys(t for t in [c.decides_because, *(r.decides_because for r in overridden)] if t))
    return shown, deciding, because


def tagged(result: CriterionResult) -> str:
    """A criterion's label with its tag, as a reason names it: ``Label [V2]``, ``Label [S, advisory]``."""
    if result.verification is None:
        return result.label
    return f"{result.label} [{result.verification}{', advisory' if result.advisory else ''}]"


def _named_finding(c: Criterion, about: _About, failing: list[Result], facts: list[Fact]) -> str:
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


class _About:
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
        counts = _group_counts(self.kb).get(c.iri)
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


@per_knowledge_base(maxsize=8)
def _group_counts(kb: KnowledgeBase) -> dict[URIRef, tuple[tuple[URIRef, URIRef, str], ...]]:
    """For each criterion, its root shapes' qualified counts of sessions or of distinct tests, with their unit.

    A count of sessions walks ``^gr:sessionOf``; a count of tests ends its path in ``cv:test``.
    """
    shapes, index = kb.shapes, kb.shape_index
    out: dict[URIRef, list[tuple[URIRef, URIRef, str]]] = {}
    for root, criteria in index.checks.items():
        for part in shapes.objects(root, SH.property):
            path = shapes.value(part, SH.path)
            if path is None or (part, SH.qualifiedValueShape, None) not in shapes:
                continue
            if shapes.value(path, SH.inversePath) == GR.sessionOf:
                unit = "session"
            elif (path, RDF.first, None) in shapes and list(shapes.items(path))[-1:] == [CV.test]:
                unit = "distinct test"
            else:
                continue
            for c in criteria:
                # the rules (knowledge/rules/rule.py) name every property shape they write (an IRI)
                out.setdefault(c, []).append((root, part, unit))  # type: ignore[arg-type]
    return {c: tuple(sorted(v)) for c, v in out.items()}


def _members(g: Graph, node: Node) -> list[Node]:
    """The facts a counted group is made of.

    A session's records (its add-on lines only when it has nothing else), a distinct test's
    findings; any other node is itself.
    """
    if (node, GR.sessionOf, None) in g:
        records = sorted(g.objects(node, GR.sessionRecord), key=str)
        primary = [r for r in records if (r, GR.addOnCode, None) not in g]
        return primary or records
    if isinstance(node, URIRef) and (node, RDF.type, None) not in g:
        findings = sorted(g.subjects(CV.test, node), key=str)
        if findings:
            return findings
    return [node]


def _counted(g: Graph, kb: KnowledgeBase, unit: str, counted: list[Node]) -> str:
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


def _names(gaps: frozenset[Gap], g: Graph, kb: KnowledgeBase, named: dict[Gap, str]) -> list[str]:
    """Each unstated value in words, once, in a stable order (a derived value by what it is derived from)."""
    out = []
    for gap in gaps:
        if gap not in named:
            named[gap] = name_gap(g, gap.fact, _stated_input(kb, gap.prop), kb)
        out.append(named[gap])
    return sorted(set(out))


def _stated_input(kb: KnowledgeBase, prop: Node) -> Node:
    """The case property a derived property comes from (the one a reviewer can ask for)."""
    seen = {prop}
    while True:
        sources = sorted(kb.derived_from.get(prop, ()))  # type: ignore[call-overload]  # IRI keys, any term asked
        if not sources or sources[0] in seen:
            return prop
        prop = sources[0]
        seen.add(prop)


def _references_of(case: EnrichedCase, kb: KnowledgeBase, c: Criterion) -> tuple[URIRef, ...]:
    """A coverage criterion cites the coverage rules of the requested codes; others cite their own."""
    if not c.is_coverage:
        return c.references
    cited = [
        r for line in case.lines if (rule := kb.coverage.get((case.policy.iri, line.code))) for r in rule.references
    ]
    return tuple(dict.fromkeys(cited)) or c.references


def _outcome(case: EnrichedCase, results: list[CriterionResult]) -> Outcome:
    if all(line.status == GR.NotAddressed for line in case.lines):
        return Outcome.NO_APPLICABLE_GUIDELINE
    required = [r for r in results if r.required]
    if any(r.status is Status.NOT_MET and not r.advisory for r in required):
        return Outcome.NOT_MEDICALLY_NECESSARY
    if any(r.status is Status.UNKNOWN for r in required):
        return Outcome.PENDED
    if any(r.status is Status.NOT_MET for r in required):  # advisory ones only: a clinician weighs them
        return Outcome.PENDED_REVIEW
    return Outcome.MEDICALLY_NECESSARY


def _rationale(
    outcome: Outcome, results: list[CriterionResult], missing: tuple[str, ...], kb: KnowledgeBase, case: EnrichedCase
) -> tuple[str, ...]:
    if outcome is Outcome.NO_APPLICABLE_GUIDELINE:
        codes = ", ".join(
            sorted(
                kb.codes[ln.code].notation if ln.code in kb.codes else str(ln.code).rsplit("/", 1)[-1]
                for ln in case.lines
            )
        )
        lead = (
            f"The policy '{case.policy.label}' has no criteria for the requested code(s) {codes}; "
            "route the request to a clinician reviewer."
        )
        return (lead, case.policy.scope_note) if case.policy.scope_note else (lead,)
    # The reasons a denial rests on first (an excluded code first among them), then the advisory ones.
    not_met = sorted((r for r in results if r.required and r.status is Status.NOT_MET), key=lambda r: r.advisory)
    failed = tuple(f"{tagged(r)}: {r.finding}" for r in not_met)
    if outcome is Outcome.NOT_MEDICALLY_NECESSARY:
        return failed
    if outcome is Outcome.PENDED:
        items = "item" if len(missing) == 1 else "items"
        lead = "No criterion that decides a denial is failed" if failed else "No required criterion is failed"
        return (
            f"{lead}, but {len(missing)} {items} of documentation needed to decide are missing (listed under "
            "information needed).",
            *failed,
        )
    if outcome is Outcome.PENDED_REVIEW:
        return (
            *failed,
            "No criterion that decides a denial is failed: each criterion not met above rests on a single-source or "
            "unverified fact (tag S or U), so a clinician reviewer weighs it; it does not deny the request by itself.",
        )
    return ("Every required criterion is met.",)


def _next_steps(case: EnrichedCase, kb: KnowledgeBase, results: list[CriterionResult]) -> tuple[NextStep, ...]:
    by_id = {r.id: r for r in results}
    steps = kb.steps_of(case.policy.iri)
    out: list[NextStep] = []
    for step in steps:
        crit = kb.criteria.get(step.completion_criterion) if step.completion_criterion else None
        result = by_id.get(crit.id) if crit else None
        if result is not None and result.status is Status.MET:
            continue
        if result is None and (None, GR.completesStep, step.iri) in case.graph:
            continue  # not judged for this request, but the history shows the step done
        details: list[str] = []
        if result is not None and result.status is not Status.MET:
            flagged = [f.text for f in result.facts if f.assessment in ("does not qualify", "fails this criterion")]
            details = [result.finding, *flagged]
        out.append(
            NextStep(
                order=len(out) + 1,
                step=step.label,
                action=step.action,
                requested=step.iri in case.applicable.requested_steps,
                evidence=evidence_of(kb, step.recommendation),
                details=details,
            )
        )
    return tuple(out)

"""The explain stage: validation results + knowledge base -> criterion results, outcome, next steps.

Everything a reader sees comes from authored text in the knowledge base (statements, not-met
texts, step actions, missing-documentation texts) keyed by IRI; pyshacl's own messages are never
shown. A criterion is unknown when documentation it needs is missing, not met when a shape that
checks it reports a result, and met otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import SH, Graph, URIRef
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.enrich.values import EnrichedCase
from reasoner.explain.about import About, name_counted, named_finding
from reasoner.explain.facts import describe, facts_of_class, name_gap, source_of
from reasoner.knowledge.applicability import PurposeOpen
from reasoner.knowledge.catalogue import evidence_of
from reasoner.knowledge.entities import COUNT, Criterion, Tag, weakest
from reasoner.model import CriterionResult, Fact, NextStep, Outcome, Source, Status
from reasoner.shacl.prepared import Result
from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Gap
from reasoner.vocab import GR

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
            targets = {kb.criteria_via.get((r.value, via))}
        else:
            targets = set(index.checks.get(root, frozenset())) if isinstance(root, URIRef) else set()
        for criterion in applicable & targets:
            failing.setdefault(criterion, []).append(r)
    opened = {o.criterion: o for o in case.applicable.if_purpose}
    crits = _in_order(kb, applicable | frozenset(opened))
    seen: dict[Node, tuple[str, Source | None]] = {}  # a fact described once, however many criteria list it
    listed: dict[URIRef, list[Node]] = {}  # and a class's facts found once
    named: dict[Gap, str] = {}  # and an unstated value named once
    about = About(case, kb, reader)  # what a not-met criterion fails on, for its {codes} and {facts}
    for c in crits:  # a criterion needing documentation that unstated values leave in doubt is in doubt
        for kind in c.needs & unsure_kinds.keys() - missing_kinds:
            failing.setdefault(c.iri, []).append(Result(c.iri, case.case, None, SH.Violation, unsure_kinds[kind]))
    judged = (missing_kinds, flagged_by_shape, seen, listed, named, about)
    out = [
        _open(kb, c, opened[c.iri]) if c.iri in opened else _criterion(case, kb, c, failing.get(c.iri, []), *judged)
        for c in crits
    ]
    outcome = _outcome(case, out)
    missing_docs = {(kb.missing_texts.get(k) or kb.label(k)) for c in crits for k in c.needs & missing_kinds}
    not_stated = {value for result in out for value in result.notStated}
    missing = tuple(sorted(missing_docs)) + tuple(sorted(not_stated - missing_docs))
    if outcome is not Outcome.NO_APPLICABLE_GUIDELINE:
        missing = tuple(p.needed for p in case.pends) + missing
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
    about: About,
) -> CriterionResult:
    gaps = c.needs & missing_kinds
    undecided = [r for r in failing if r.undecided is not None]
    if gaps:
        status = Status.UNKNOWN
    elif len(undecided) < len(failing):
        status = Status.NOT_MET
    else:
        status = Status.UNKNOWN if undecided else Status.MET
    facts = _facts(case, kb, c, failing, flagged_by_shape, seen, listed, named, about)
    finding, values = _finding(case, kb, c, status, gaps, failing, facts, named, about)
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


def _open(kb: KnowledgeBase, c: Criterion, o: PurposeOpen) -> CriterionResult:
    """A criterion that applies only under a purpose the request does not state: unknown, saying which."""
    codes = ", ".join(sorted(kb.codes[k].notation if k in kb.codes else str(k).rsplit("/", 1)[-1] for k in o.codes))
    value = f"the purpose of the request for {codes} ({_either(kb.label(p) for p in o.choices)})"
    purposes = _either(kb.label(p) for p in o.purposes)
    return CriterionResult(
        id=c.id,
        label=c.label,
        category=c.category,
        required=c.required,
        verification=c.tag.label if c.tag else None,
        advisory=c.advisory(c.tag),
        statement=c.statement,
        status=Status.UNKNOWN,
        finding=f"Cannot be decided: it applies if the purpose of the request for {codes} is {purposes}, "
        "and the request does not state its purpose.",
        facts=[],
        evidence=evidence_of(kb, c.recommendation),
        references=[kb.references[r].id for r in c.references if r in kb.references],
        notStated=[value],
    )


def _either(words: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: sorted."""
    ordered = sorted(words)
    return " or ".join(ordered) if len(ordered) < 3 else ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _facts(
    case: EnrichedCase,
    kb: KnowledgeBase,
    c: Criterion,
    failing: list[Result],
    flagged_by_shape: dict[Node, dict[Node, frozenset[Gap] | None]],
    seen: dict[Node, tuple[str, Source | None]],
    listed: dict[URIRef, list[Node]],
    named: dict[Gap, str],
    about: About,
) -> list[Fact]:
    """The facts listed under the criterion (those of the classes it considers), each with its assessment."""
    g = case.graph
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
        elif node in failing_focus or g.value(node, GR.derivation) in failing_focus:
            assessment = "fails this criterion"
        else:
            assessment = None
        if node not in seen:
            seen[node] = (describe(g, node, kb), source_of(g, node, kb))
        text, source = seen[node]
        facts.append(Fact(node=str(node), text=text, assessment=assessment, source=source, notStated=unstated))
    return facts


def _finding(
    case: EnrichedCase,
    kb: KnowledgeBase,
    c: Criterion,
    status: Status,
    gaps: frozenset[URIRef],
    failing: list[Result],
    facts: list[Fact],
    named: dict[Gap, str],
    about: About,
) -> tuple[str, list[str]]:
    """The criterion's finding in words, and the unstated values it cannot be decided without."""
    g = case.graph
    undecided = [r for r in failing if r.undecided is not None]
    values: list[str] = []
    if status is Status.UNKNOWN and gaps:
        finding = "Cannot be decided: " + " ".join((kb.missing_texts.get(k) or kb.label(k)) for k in sorted(gaps))
    elif status is Status.UNKNOWN:
        gaps_of_results = (r.undecided for r in undecided if r.undecided is not None)  # (each is)
        values = _names(frozenset().union(*gaps_of_results), g, kb, named)
        finding = "Cannot be decided: not stated: " + "; ".join(values) + "."
    elif status is Status.NOT_MET:
        finding = named_finding(c, about, failing, facts)
    elif facts:
        finding = "Met."
    elif c.met_text:  # met with nothing recorded against it: the knowledge base says why that is enough
        return c.met_text, values
    else:
        finding = "Met: nothing the case records goes against it."
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
            documented.append(name_counted(g, kb, *grouped))
        if documented or need:
            finding += f" ({'; '.join(documented + need)}.)"
    return finding, values


def _tag(
    case: EnrichedCase, kb: KnowledgeBase, c: Criterion, status: Status, failing: list[Result], about: About
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
    if case.pends:  # a code the request cannot be decided with (a category): pended, as a payer's intake pends it
        return Outcome.PENDED
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
    if outcome is Outcome.PENDED and case.pends:
        return (*(p.reason for p in case.pends), *failed)
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

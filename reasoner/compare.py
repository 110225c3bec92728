"""One case under every policy that covers its requested codes, side by side (``--policy all``).

The case is parsed once; each relevant policy then judges its own copy of the parsed graph (the
enrich stage writes into the graph it is given). The result keeps every full determination and
adds, built from them, a summary row per policy and the differences a reviewer needs to see why
the answers differ: outcomes, coverage of each code, and criteria not met under one policy but
met or not assessed under another.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict
from rdflib import RDF, Graph, URIRef
from rdflib.term import Node

from reasoner.intake import turtle as intake
from reasoner.intake.parsed import ParsedCase
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.entities import Policy
from reasoner.model import CriterionResult, Determination, Outcome, RequestedLine, Status
from reasoner.pipeline import determine_parsed, fingerprint, parse_case
from reasoner.vocab import CV, GR

ALL_POLICIES = "all"
"""The policy argument (``--policy all``, ``?policy=all``) that asks for a comparison."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RequestedCode(_Out):
    """A requested line of the case, as submitted."""

    code: str
    system: str
    label: str
    units: int


class CodeCoverage(_Out):
    """A requested code's coverage under one policy."""

    code: str
    system: str
    coverage: str
    coverageReferences: list[str]
    fallback: bool
    """The policy names the code as falling back to general review (gr:fallbackCode)."""


class PolicySummary(_Out):
    """One policy's answer, in brief: a column of the side-by-side table."""

    policy: str
    label: str
    determinationId: str
    outcome: Outcome
    outcomeLabel: str
    clinicianReview: bool
    coverage: list[CodeCoverage]
    met: int
    notMet: int
    unknown: int
    reasons: list[str]
    missingInformation: list[str]
    firstNextStep: str | None = None


class PolicyCoverage(_Out):
    """A code's coverage under one policy."""

    policy: str
    coverage: str
    fallback: bool


class CoverageDifference(_Out):
    """A requested code whose coverage is not the same under every policy."""

    code: str
    system: str
    coverage: list[PolicyCoverage]


class PolicyStatus(_Out):
    """A criterion's status under one policy; ``None`` when the policy does not assess it for this request."""

    policy: str
    criterion: str | None = None
    status: Status | None = None
    required: bool | None = None
    verification: str | None = None
    advisory: bool | None = None


class CriterionDifference(_Out):
    """A criterion not met or unknown under one policy but otherwise under another.

    Criteria of different policies are the same criterion here when their ids end alike
    (``sij-clinical-pathway/provocative-tests`` and ``medicare-sij-lcd/provocative-tests``);
    ``label`` joins their distinct labels, ``category`` is the first one's.
    """

    key: str
    category: str
    label: str
    statuses: list[PolicyStatus]


class Differences(_Out):
    """What differs between the policies' answers."""

    outcomesDiffer: bool
    coverage: list[CoverageDifference]
    criteria: list[CriterionDifference]


class Comparison(_Out):
    """A case under every relevant policy: summary rows, differences and the full determinations."""

    comparisonId: str
    case: str
    knowledgeBase: str
    requested: list[RequestedCode]
    summary: list[PolicySummary]
    differences: Differences
    determinations: list[Determination]
    note: str | None = None


def requested_codes(case: Graph) -> list[URIRef]:
    """The codes of the case's request lines, in line order (the order determinations list them)."""
    return [code for _line, code in _lines(case)]


def relevant_policies(case: Graph, kb: KnowledgeBase) -> list[Policy]:
    """Policies with a coverage rule for, or a fallback on, at least one requested code; ordered by id."""
    return kb.policies_addressing(requested_codes(case))


def compare(payload: bytes, fmt: CaseFormat, kb: KnowledgeBase) -> Comparison:
    """Parse a case once and judge it under every relevant policy.

    Raises:
        CaseError: any problem with the submitted case (subclasses say which).
    """
    return _compare(parse_case(payload, fmt, kb), kb)


def compare_graph(case: Graph, kb: KnowledgeBase) -> Comparison:
    """Like :func:`compare` for a case graph (sanitised and checked first); ``case`` is not modified."""
    owned = intake.sanitise(case, kb)
    intake.check_shapes(owned, kb)
    return _compare(ParsedCase(owned), kb)


def _compare(parsed: ParsedCase, kb: KnowledgeBase) -> Comparison:
    case = parsed.graph
    policies = relevant_policies(case, kb)
    determinations = [determine_parsed(parsed, kb, policy=p.id) for p in policies]
    requested = _requested(case, kb)
    lines = list(zip(requested, requested_codes(case), strict=True))
    summary = [_summary(d, p, lines, kb) for d, p in zip(determinations, policies, strict=True)]
    note = None
    if determinations:
        ident = hashlib.sha256("\n".join(d.determinationId for d in determinations).encode()).hexdigest()[:32]
    else:
        ident = fingerprint(parsed, kb, ALL_POLICIES)
        codes = ", ".join(r.code if r.system == "unknown" else f"{r.system} {r.code}" for r in requested)
        note = (
            f"No policy in the knowledge base addresses the requested code(s) {codes}: none has a coverage "
            "position on them or names them as falling back to general review. Route the request to a "
            "clinician reviewer."
        )
    return Comparison(
        comparisonId=ident,
        case=_case_id(case),
        knowledgeBase=kb.content_hash,
        requested=requested,
        summary=summary,
        differences=_differences(summary, determinations),
        determinations=determinations,
        note=note,
    )


def _lines(case: Graph) -> list[tuple[Node, URIRef]]:
    out: list[tuple[Node, URIRef]] = []
    for request in case.objects(None, CV.request):
        for line in sorted(case.objects(request, CV.line), key=str):
            code = case.value(line, CV.code)
            if (line, RDF.type, CV.RequestLine) in case and isinstance(code, URIRef):
                out.append((line, code))
    return out


def _requested(case: Graph, kb: KnowledgeBase) -> list[RequestedCode]:
    out = []
    for line, iri in _lines(case):
        code = kb.codes.get(iri)
        units = case.value(line, CV.units)
        out.append(
            RequestedCode(
                code=code.notation if code else str(iri).rsplit("/", 1)[-1],
                system=code.system if code else "unknown",
                label=code.label if code else "code not in the knowledge base",
                # cv:units is an integer literal (the case shapes say so)
                units=int(units.toPython()) if units is not None else 1,  # type: ignore[attr-defined]
            )
        )
    return out


def _case_id(case: Graph) -> str:
    node = next(iter(case.subjects(RDF.type, CV.Case)), None)
    return str(case.value(node, CV.identifier) or "case") if node is not None else "case"


def _summary(
    d: Determination, policy: Policy, lines: list[tuple[RequestedCode, URIRef]], kb: KnowledgeBase
) -> PolicySummary:
    statuses = [c.status for c in d.criteria]
    # One coverage entry per requested line of the case, matched by code, so every column has the same rows.
    answered: dict[tuple[str, str], list[RequestedLine]] = {}
    for r in d.requested:
        answered.setdefault((r.system, r.code), []).append(r)
    coverage = []
    for line, iri in lines:
        same = answered.get((line.system, line.code))
        found = same.pop(0) if same else None
        coverage.append(
            CodeCoverage(
                code=line.code,
                system=line.system,
                coverage=found.coverage if found else kb.label(GR.NotAddressed),
                coverageReferences=found.coverageReferences if found else [],
                fallback=iri in policy.fallback_codes,
            )
        )
    return PolicySummary(
        policy=d.policy.id,
        label=d.policy.label,
        determinationId=d.determinationId,
        outcome=d.outcome,
        outcomeLabel=d.outcomeLabel,
        clinicianReview=d.clinicianReview,
        coverage=coverage,
        met=statuses.count(Status.MET),
        notMet=statuses.count(Status.NOT_MET),
        unknown=statuses.count(Status.UNKNOWN),
        reasons=d.rationale,
        missingInformation=d.missingInformation,
        firstNextStep=d.nextSteps[0].action if d.nextSteps else None,
    )


def _differences(summary: list[PolicySummary], determinations: list[Determination]) -> Differences:
    coverage = []
    for i, line in enumerate(summary[0].coverage if summary else ()):
        by = [
            PolicyCoverage(policy=s.policy, coverage=s.coverage[i].coverage, fallback=s.coverage[i].fallback)
            for s in summary
        ]
        if len({(b.coverage, b.fallback) for b in by}) > 1:
            coverage.append(CoverageDifference(code=line.code, system=line.system, coverage=by))
    found: dict[str, dict[str, CriterionResult]] = {}
    for d in determinations:
        for c in d.criteria:
            mine = found.setdefault(_key(c), {})
            if d.policy.id not in mine or _SEVERITY[c.status] < _SEVERITY[mine[d.policy.id].status]:
                mine[d.policy.id] = c
    # Categories in the order they first appear (policy order, then criterion order); sorted() keeps ties stable.
    categories = list(dict.fromkeys(_first(by).category for by in found.values()))
    criteria = []
    for key, by_policy in sorted(found.items(), key=lambda kv: categories.index(_first(kv[1]).category)):
        statuses = [_status(d.policy.id, by_policy.get(d.policy.id)) for d in determinations]
        seen = {s.status for s in statuses}
        if len(seen) > 1 and seen & {Status.NOT_MET, Status.UNKNOWN}:
            labels = dict.fromkeys(c.label for c in by_policy.values())
            category = _first(by_policy).category
            criteria.append(
                CriterionDifference(key=key, category=category, label=" / ".join(labels), statuses=statuses)
            )
    return Differences(
        outcomesDiffer=len({d.outcome for d in determinations}) > 1,
        coverage=coverage,
        criteria=criteria,
    )


_SEVERITY = {Status.NOT_MET: 0, Status.UNKNOWN: 1, Status.MET: 2}


def _key(criterion: CriterionResult) -> str:
    return criterion.id.rsplit("/", 1)[-1]


def _first(by: dict[str, CriterionResult]) -> CriterionResult:
    return next(iter(by.values()))


def _status(policy: str, c: CriterionResult | None) -> PolicyStatus:
    if c is None:
        return PolicyStatus(policy=policy)
    return PolicyStatus(
        policy=policy,
        criterion=c.id,
        status=c.status,
        required=c.required,
        verification=c.verification,
        advisory=c.advisory,
    )

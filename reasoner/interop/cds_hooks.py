"""CDS Hooks 2.0 answers for the Da Vinci CRD profile: discovery, cards and coverage-information system actions.

A determination becomes one card (what was decided, why, the criteria, what is missing, what to
do next) and one ``coverage-information`` extension on the draft order, sent back as an
``update`` system action with a ``description`` (required by the CDS Hooks 2.0 action table). The
extension has every part CRD 2.2.1 makes 1..1 (``coverage``, ``covered``, ``date``,
``coverage-assertion-id``) and each ``detail`` its ``category``, ``code`` and ``value``; the
Coverage it references is the one ``hook_coverage.primary_coverage`` found in the prefetch (no
Coverage, no extension: the call is refused instead). Nothing here judges a case: the builders
read a finished :class:`~reasoner.model.Determination`. The JSON they return never holds
``null``, ``""``, ``[]`` or ``{}`` (CDS Hooks forbids them); :func:`no_nulls` enforces it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from reasoner.compare import relevant_policies
from reasoner.errors import CaseError, FhirError
from reasoner.intake.json_case.to_rdf import code_iri, to_graph
from reasoner.model import CriterionResult, Determination, Outcome, Status
from reasoner.pipeline import determine_parsed

if TYPE_CHECKING:
    from reasoner.intake.fhir.hooks import HookCall
    from reasoner.knowledge.base import KnowledgeBase

SERVICES: dict[str, str] = {
    "guideline-reasoner-order-sign": "order-sign",
    "guideline-reasoner-order-select": "order-select",
}
"""Service id -> the hook it answers."""

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
}
COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
COVERAGE_DETAIL = "http://terminology.hl7.org/CodeSystem/crd-coverage-detail"  # CRD 2.2.1's detail codes
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"  # the same codes as CRD 2.1 had them
PRIMARY_HOOKS = frozenset({"order-sign"})  # CRD 2.2.1, "Hook Categories": order-select is a supporting hook
CARD_TYPE = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
SUMMARY_MAX = 139  # the spec says "<140 characters"
_EXCLUDED = frozenset({"not-covered", "experimental-unproven"})  # RequestedLine.coverageStatus
_PHRASE = {
    Outcome.MEDICALLY_NECESSARY: "medically necessary",
    Outcome.NOT_MEDICALLY_NECESSARY: "not medically necessary",
    Outcome.PENDED: "pended, information needed",
    Outcome.PENDED_REVIEW: "pended for clinician review",
    Outcome.NO_APPLICABLE_GUIDELINE: "no applicable guideline",
}
_STATUS = {Status.MET: "met", Status.NOT_MET: "not met", Status.UNKNOWN: "unknown"}
_SERVICE_TEXT = {
    "order-sign": (
        "Guideline reasoner (order-sign)",
        "Judges each draft order against the payer policies that address its codes: medical necessity, the "
        "criteria met, not met or unknown, the information needed and the next steps of the pathway, with "
        "CRD coverage information for the order.",
    ),
    "order-select": (
        "Guideline reasoner (order-select)",
        "Early look at each selected order against the payer policies that address its codes: medical "
        "necessity, the criteria met, not met or unknown and the information needed, with CRD coverage "
        "information for the order.",
    ),
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document (``GET /cds-services``).

    >>> sorted(s["hook"] for s in discovery()["services"])
    ['order-select', 'order-sign']
    """
    services = []
    for service_id, hook in SERVICES.items():
        title, description = _SERVICE_TEXT[hook]
        services.append(
            {"hook": hook, "id": service_id, "title": title, "description": description, "prefetch": dict(PREFETCH)}
        )
    return {"services": services}


def respond(call: HookCall, kb: KnowledgeBase, *, policy: str | None, base_url: str, today: date) -> dict[str, Any]:
    """The CDS Hooks response to a read hook call: cards, and one ``update`` system action per order.

    The orders of a call are one request (``call.case``). It is judged under ``policy``, or else
    under every policy relevant to its codes, one card each; a request whose codes no policy
    addresses gets no card. A call without a case (``call.problem``), or whose case cannot be
    judged, gets one information-needed warning when a policy addresses one of its codes. Each
    order's system action carries one coverage-information extension per card.

    Args:
        call: the request, as ``intake.fhir.hooks.read_hook`` read it.
        kb: the knowledge base.
        policy: a policy id, or ``None`` (or ``"all"``) for every relevant policy.
        base_url: the service's base URL ending in ``/``; policy links are ``<base_url>policies/<id>``.
        today: the date of the coverage assertions.

    Raises:
        FhirError: an unknown ``policy`` (422).
    """
    if policy is not None and policy != "all" and policy not in kb.policies:
        valid = ", ".join(sorted(kb.policies))
        raise FhirError([("invalid", "policy", f"unknown policy; valid policies: {valid}")], status=422)
    references = [o.reference for o in call.orders]
    problem = call.problem
    supporting = call.hook not in PRIMARY_HOOKS
    cards: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    assertions: list[str] = []  # what each extension says, for the actions' description
    if call.case is not None and problem is None:
        try:
            # Built from the JSON case form, the graph speaks only the case vocabulary: judged like a JSON case.
            graph = to_graph(call.case, kb)
            ids = [p.id for p in relevant_policies(graph, kb)] if policy in (None, "all") else [policy]
            judged = [(determine_parsed(graph, kb, policy=i), f"{base_url}policies/{i}") for i in ids]
        except FhirError:
            raise
        except CaseError as exc:
            problem, judged = f"the orders cannot be judged: {exc.message}", []
        for d, url in judged:
            cards.append(card(d, policy_url=url, order_reference=references))
            info = coverage_information(
                d, coverage_ref=coverage_reference(call), policy_url=url, today=today, supporting=supporting
            )
            extensions.append(info)
            assertions.append(f"{coverage_label(d)} under {d.policy.label}")
    codes = list(dict.fromkeys(c for o in call.orders for c in o.codes))
    if problem is not None and (policy not in (None, "all") or _addressed(codes, kb)):
        label = _SERVICE_TEXT[call.hook][0] if call.hook in _SERVICE_TEXT else "Guideline reasoner"
        cards.append(
            problem_card(
                codes,
                order_reference=references,
                problem=problem,
                hook_instance=call.hook_instance,
                source_label=label,
                source_url=f"{base_url}cds-services",
            )
        )
        assertion = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.hook_instance}|{'|'.join(references)}|{problem}"))
        extensions.append(
            problem_coverage_information(
                coverage_ref=coverage_reference(call), problem=problem, assertion_id=assertion, today=today
            )
        )
        assertions.append("conditional, information needed")
    actions = [
        update_action(o.resource, extensions, description=action_description(o.reference, assertions))
        for o in call.orders
        if extensions
    ]
    # "cards" is required, and an empty list is the spec's way of saying "nothing to show".
    return {"cards": cards, **({"systemActions": actions} if actions else {})}


def coverage_reference(call: HookCall) -> str:
    """The reference to the call's one prefetched Coverage, which every coverage-information needs.

    Raises:
        FhirError: no single Coverage was prefetched (412 or 400, as ``hook_coverage`` decided).
    """
    coverage = call.coverage or {}
    if isinstance(coverage.get("id"), str) and coverage["id"]:
        return f"Coverage/{coverage['id']}"
    raise call.coverage_error or FhirError(
        [("required", "prefetch.coverage", "the service needs the Coverage prefetch and fetches nothing")], status=412
    )


def action_description(reference: str, assertions: Sequence[str]) -> str:
    """The ``description`` of an update action: which order, and what its coverage information says.

    >>> action_description("ServiceRequest/1", ["covered under Policy A"])
    'Add coverage information to ServiceRequest/1: covered under Policy A'
    """
    return f"Add coverage information to {reference}: {'; '.join(assertions)}"


def coverage_label(d: Determination) -> str:
    """The CRD ``covered`` code for a determination: covered, not-covered, conditional or indeterminate."""
    if d.outcome is Outcome.MEDICALLY_NECESSARY:
        return "covered"
    if d.outcome is Outcome.NO_APPLICABLE_GUIDELINE:
        return "indeterminate"
    if d.outcome is Outcome.NOT_MEDICALLY_NECESSARY and _excluded(d):
        return "not-covered"
    return "conditional"


def card(d: Determination, *, policy_url: str, order_reference: str | Sequence[str]) -> dict[str, Any]:
    """The card for a request (one order, or orders signed together) judged under one policy."""
    references = [order_reference] if isinstance(order_reference, str) else list(order_reference)
    codes = ", ".join(dict.fromkeys(r.code for r in d.requested)) or "order"
    warn = d.outcome in (Outcome.NOT_MEDICALLY_NECESSARY, Outcome.PENDED, Outcome.PENDED_REVIEW)
    out = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join([d.determinationId, *references]))),
        "summary": summary(f"{codes}: {_PHRASE[d.outcome]} under ", d.policy.label),
        "indicator": "warning" if warn else "info",
        "detail": detail_markdown(d),
        "source": _source(d.policy.label, policy_url),
        "links": [{"label": _clip(f"Policy: {d.policy.label}", 200), "url": policy_url, "type": "absolute"}],
        "extension": {"davinci-crd.associated-resource": [{"reference": r} for r in references]},
    }
    cleaned: dict[str, Any] = no_nulls(out)
    return cleaned


def problem_card(
    codes: Sequence[str],
    *,
    order_reference: str | Sequence[str],
    problem: str,
    hook_instance: str,
    source_label: str,
    source_url: str,
) -> dict[str, Any]:
    """The card for orders no case could be built from: the information needed, as a warning."""
    references = [order_reference] if isinstance(order_reference, str) else list(order_reference)
    out = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join([hook_instance, *references, problem]))),
        "summary": summary(f"{', '.join(codes) or 'order'}: information needed: ", problem),
        "indicator": "warning",
        "detail": f"**Information needed**\n\n- {_cell(problem)}\n\nNo determination was made for this order.",
        "source": _source(source_label, source_url),
        "extension": {"davinci-crd.associated-resource": [{"reference": r} for r in references]},
    }
    cleaned: dict[str, Any] = no_nulls(out)
    return cleaned


def coverage_information(
    d: Determination, *, coverage_ref: str, policy_url: str, today: date, supporting: bool = False
) -> dict[str, Any]:
    """The CRD ``ext-coverage-information`` extension for one determination.

    Its ``detail``s: the policy (``policy-link``, the policy's URL, its name and version as the
    qualification) and, when coverage is conditional, what would settle it (``instructions``: the
    information needed and the criteria not met). ``supporting``: the call is a supporting hook
    (order-select), whose coverage information CRD 2.2.1 (hook-19) forbids to ask for clinical or
    administrative documentation, so ``doc-needed`` is left out.
    """
    covered = coverage_label(d)
    pa_needed = {"covered": "no-auth", "conditional": "auth-needed", "indeterminate": "indeterminate"}.get(covered)
    details = [
        _detail(
            "cat-other",
            "policy-link",
            "Policy Link",
            {"valueUrl": policy_url},
            qualification=f"Judged under {d.policy.label} (version {d.policy.version})",
        )
    ]
    if covered == "conditional":
        details.append(_detail("cat-limitation", "instructions", "Instructions", {"valueString": _instructions(d)}))
    return _coverage_extension(
        coverage_ref=coverage_ref,
        covered=covered,
        pa_needed=pa_needed,
        doc_needed="clinical" if d.outcome is Outcome.PENDED and not supporting else None,
        reason=d.rationale[0] if d.rationale else d.outcomeLabel,
        details=details,
        today=today,
        assertion_id=d.determinationId,
    )


def problem_coverage_information(*, coverage_ref: str, problem: str, assertion_id: str, today: date) -> dict[str, Any]:
    """The coverage-information extension for an order without a case: conditional, authorization needed."""
    needed = {"valueString": f"Information needed: {problem}"}
    return _coverage_extension(
        coverage_ref=coverage_ref,
        covered="conditional",
        pa_needed="auth-needed",
        doc_needed=None,
        reason=problem,
        details=[_detail("cat-limitation", "instructions", "Instructions", needed)],
        today=today,
        assertion_id=assertion_id,
    )


def update_action(order: dict[str, Any], extensions: Iterable[dict[str, Any]], *, description: str) -> dict[str, Any]:
    """An ``update`` system action: the order as sent, with ``extensions`` added to its own."""
    resource = copy.deepcopy(order)
    resource["extension"] = [*resource.get("extension", []), *extensions]
    action: dict[str, Any] = no_nulls({"type": "update", "description": description, "resource": resource})
    return action


def system_action(
    d: Determination, *, order: dict[str, Any], coverage_ref: str, policy_url: str, today: date
) -> dict[str, Any]:
    """The ``update`` system action that adds the determination's coverage information to the order."""
    reference = f"{order.get('resourceType')}/{order.get('id')}"
    return update_action(
        order,
        [coverage_information(d, coverage_ref=coverage_ref, policy_url=policy_url, today=today)],
        description=action_description(reference, [f"{coverage_label(d)} under {d.policy.label}"]),
    )


def detail_markdown(d: Determination) -> str:
    """The card detail: outcome, reasons, criteria table, information needed, next steps."""
    lines = [f"**{d.outcomeLabel}** under {d.policy.label} (version {d.policy.version})."]
    if d.rationale:
        lines += ["", "**Reasons**", "", *(f"- {_cell(r)}" for r in d.rationale)]
    if d.criteria:
        lines += ["", "**Criteria**", "", "| Criterion | Tag | Status | Finding |", "|---|---|---|---|"]
        lines += [f"| {_cell(c.label)} | {_tag(c)} | {_STATUS[c.status]} | {_cell(c.finding)} |" for c in d.criteria]
    if d.missingInformation:
        lines += ["", "**Information needed**", "", *(f"- {_cell(m)}" for m in d.missingInformation)]
    if d.nextSteps:
        lines += ["", "**Next steps**", "", *(f"{s.order}. {_cell(s.action)}" for s in d.nextSteps)]
    review = "; clinician review required" if d.clinicianReview else ""
    lines += ["", f"Determination `{d.determinationId}`{review}."]
    return "\n".join(lines)


def _tag(c: CriterionResult) -> str:
    """The criterion's verification tag, and whether a failure only pends for the reviewer (advisory)."""
    return (c.verification or "") + (" (advisory)" if c.advisory else "")


def summary(lead: str, tail: str) -> str:
    """``lead + tail`` in at most 139 characters, shortening ``tail`` (then ``lead``) at a word with an ellipsis."""
    if len(lead) + len(tail) <= SUMMARY_MAX:
        return lead + tail
    room = SUMMARY_MAX - len(lead)
    if room >= 10:
        return lead + _clip(tail, room)
    return _clip(lead + tail, SUMMARY_MAX)


def no_nulls(obj: Any) -> Any:
    """``obj`` without ``None``, ``""``, ``[]`` or ``{}`` anywhere (removed bottom-up, so emptied parents go too).

    >>> no_nulls({"a": None, "b": [{}, "", {"c": []}], "d": 0, "e": False, "f": "x"})
    {'d': 0, 'e': False, 'f': 'x'}
    """
    if isinstance(obj, dict):
        out = {k: no_nulls(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(obj, list):
        items = [no_nulls(v) for v in obj]
        return [v for v in items if not _empty(v)]
    return obj


def find_nulls(obj: Any, path: str = "$") -> list[str]:
    """The paths of every ``null``, ``""``, ``[]`` or ``{}`` in ``obj`` (empty when it is clean).

    >>> find_nulls({"cards": [], "x": {"y": None}})
    ['$.cards', '$.x.y']
    """
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += [f"{path}.{k}"] if _empty(v) else find_nulls(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += [f"{path}[{i}]"] if _empty(v) else find_nulls(v, f"{path}[{i}]")
    return found


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _addressed(codes: Sequence[str], kb: KnowledgeBase) -> bool:
    return bool(kb.policies_addressing(code_iri(c) for c in codes))


def _excluded(d: Determination) -> bool:
    coverage_failed = any(c.category == "coverage" and c.status is Status.NOT_MET for c in d.criteria)
    return coverage_failed and any(r.coverageStatus in _EXCLUDED for r in d.requested)


def _source(label: str, url: str) -> dict[str, Any]:
    return {
        "label": label,
        "url": url,
        "topic": {"system": CARD_TYPE, "code": "guideline", "display": "Guideline"},
    }


def _instructions(d: Determination) -> str:
    """What would settle a conditional answer: the information needed, then the criteria not met."""
    parts = []
    if d.missingInformation:
        parts.append("Information needed: " + "; ".join(d.missingInformation))
    not_met = [c.label for c in d.criteria if c.status is Status.NOT_MET]
    if not_met:
        lead = "For clinician review, not met: " if d.outcome is Outcome.PENDED_REVIEW else "Criteria not met: "
        parts.append(lead + "; ".join(not_met))
    return ". ".join(parts) or (d.rationale[0] if d.rationale else d.outcomeLabel)


def _detail(
    category: str, code: str, display: str, value: dict[str, Any], *, qualification: str | None = None
) -> dict[str, Any]:
    """A coverage-information ``detail``: category, code (CRD 2.2.1's system and CRD 2.1's), value, qualification."""
    codings = [{"system": system, "code": code, "display": display} for system in (COVERAGE_DETAIL, CRD_TEMP)]
    parts: list[dict[str, Any]] = [
        {"url": "category", "valueCode": category},
        {"url": "code", "valueCodeableConcept": {"coding": codings}},
        {"url": "value", **value},
    ]
    if qualification:
        parts.append({"url": "qualification", "valueString": qualification})
    return {"url": "detail", "extension": parts}


def _coverage_extension(
    *,
    coverage_ref: str,
    covered: str,
    pa_needed: str | None,
    doc_needed: str | None,
    reason: str,
    details: Sequence[dict[str, Any]],
    today: date,
    assertion_id: str,
) -> dict[str, Any]:
    subs: list[dict[str, Any]] = [
        {"url": "coverage", "valueReference": {"reference": coverage_ref}},
        {"url": "covered", "valueCode": covered},
    ]
    if pa_needed and covered != "not-covered":  # CRD crd-ci-q2
        subs.append({"url": "pa-needed", "valueCode": pa_needed})
    if doc_needed:
        subs.append({"url": "doc-needed", "valueCode": doc_needed})
    if covered == "conditional":  # CRD crd-ci-q3: info-needed iff something is conditional
        subs.append({"url": "info-needed", "valueCode": "OTH"})
    if reason.strip():
        subs.append({"url": "reason", "valueCodeableConcept": {"text": reason}})
    subs += details
    subs.append({"url": "date", "valueDate": today.isoformat()})
    subs.append({"url": "coverage-assertion-id", "valueString": assertion_id})
    return {"url": COVERAGE_INFORMATION, "extension": subs}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"

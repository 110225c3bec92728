"""CDS Hooks 2.0 answers for the Da Vinci CRD profile: discovery, cards and coverage-information system actions.

A determination becomes one card (what was decided, why, the criteria, what is missing, what to
do next) and one ``coverage-information`` extension on the draft order, sent back as an
``update`` system action with a ``description`` (required by the CDS Hooks 2.0 action table). The
extension is built in reasoner/interop/coverage_information.py; the Coverage it references is
the one ``hook_coverage.primary_coverage`` found in the prefetch (no Coverage, no extension: the
call is refused instead). Nothing here judges a case: the builders
read a finished :class:`~reasoner.model.Determination`. The JSON they return never holds
``null``, ``""``, ``[]`` or ``{}`` (CDS Hooks forbids them); :func:`~reasoner.interop.fhir_output.no_nulls` enforces it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from reasoner.compare import relevant_policies
from reasoner.errors import CaseError, FhirError
from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.intake.json_case.triples import code_iri
from reasoner.interop.coverage_information import coverage_information, coverage_label, problem_coverage_information
from reasoner.interop.fhir_output import no_nulls
from reasoner.model import CriterionResult, Determination, Outcome, Status
from reasoner.pipeline import determine_parsed

if TYPE_CHECKING:
    from reasoner.intake.fhir.hooks import HookCall
    from reasoner.knowledge.base import KnowledgeBase

Keeper = Callable[[Determination, CaseIn], str]
"""Keeps a determination with its case and gives the URL it is kept at."""

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
    # The rest of the history the intake reads (treatments, devices and their use); optional: no 412 without them.
    "medications": "MedicationStatement?patient={{context.patientId}}",
    "devices": "Device?patient={{context.patientId}}",
    "deviceUse": "DeviceUseStatement?patient={{context.patientId}}",
}
PRIMARY_HOOKS = frozenset({"order-sign"})  # CRD 2.2.1, "Hook Categories": order-select is a supporting hook
CARD_TYPE = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
SUMMARY_MAX = 139  # the spec says "<140 characters"
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


def respond(
    call: HookCall, kb: KnowledgeBase, *, policy: str | None, base_url: str, today: date, keep: Keeper | None = None
) -> dict[str, Any]:
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
        keep: keeps each determination with the case, and gives the URL it is kept at (the card links it).

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
            case = to_case(call.case, kb)
            ids = [p.id for p in relevant_policies(case.graph, kb)] if policy in (None, "all") else [policy]
            judged = [(determine_parsed(case, kb, policy=i), f"{base_url}policies/{i}") for i in ids]
        except FhirError:
            raise
        except CaseError as exc:
            problem, judged = f"the orders cannot be judged: {exc.message}", []
        for d, url in judged:
            kept = keep(d, call.case) if keep is not None else None
            cards.append(card(d, policy_url=url, order_reference=references, kept_url=kept))
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


def card(
    d: Determination, *, policy_url: str, order_reference: str | Sequence[str], kept_url: str | None = None
) -> dict[str, Any]:
    """The card for a request (one order, or orders signed together) judged under one policy.

    ``kept_url``: where the determination is kept, linked from the card.
    """
    references = [order_reference] if isinstance(order_reference, str) else list(order_reference)
    codes = ", ".join(dict.fromkeys(r.code for r in d.requested)) or "order"
    warn = d.outcome in (Outcome.NOT_MEDICALLY_NECESSARY, Outcome.PENDED, Outcome.PENDED_REVIEW)
    out = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join([d.determinationId, *references]))),
        "summary": summary(f"{codes}: {_PHRASE[d.outcome]} under ", d.policy.label),
        "indicator": "warning" if warn else "info",
        "detail": detail_markdown(d),
        "source": _source(d.policy.label, policy_url),
        "links": [
            {"label": _clip(f"Policy: {d.policy.label}", 200), "url": policy_url, "type": "absolute"},
            *(
                [{"label": "Determination kept, with its review", "url": kept_url, "type": "absolute"}]
                if kept_url
                else []
            ),
        ],
        "extension": {"davinci-crd.associated-resource": [{"reference": r} for r in references]},
    }
    return no_nulls(out)


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
    return no_nulls(out)


def update_action(order: dict[str, Any], extensions: Iterable[dict[str, Any]], *, description: str) -> dict[str, Any]:
    """An ``update`` system action: the order as sent, with ``extensions`` added to its own."""
    resource = copy.deepcopy(order)
    resource["extension"] = [*resource.get("extension", []), *extensions]
    return no_nulls({"type": "update", "description": description, "resource": resource})


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
    if d.diagnoses:  # as ICD-10-CM describes them (reasoner/explain/diagnoses.py)
        named = "; ".join(_cell(f"{x.code} {x.description or '(not in the release held)'}") for x in d.diagnoses)
        lines += ["", f"Diagnoses (ICD-10-CM): {named}."]
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


def _addressed(codes: Sequence[str], kb: KnowledgeBase) -> bool:
    return bool(kb.policies_addressing(code_iri(c) for c in codes))


def _source(label: str, url: str) -> dict[str, Any]:
    return {
        "label": label,
        "url": url,
        "topic": {"system": CARD_TYPE, "code": "guideline", "display": "Guideline"},
    }


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

"""The pipeline: intake -> enrich -> validate -> explain -> (render, in render.py).

``determine`` takes bytes in an explicit format; ``determine_graph`` takes a case graph that
has already been parsed (it is sanitised here all the same); ``determine_parsed`` takes the
:class:`~reasoner.intake.parsed.ParsedCase` that ``parse_case`` returned, so that one parse can be
judged under several policies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._collector import paused
from reasoner._memo import per_knowledge_base
from reasoner._rdf.case_store import CaseGraph, CaseStore
from reasoner.enrich.stage import enrich
from reasoner.enrich.unstated import as_stated
from reasoner.enrich.values import EnrichedCase, Line
from reasoner.errors import FhirError, UnknownPolicyError
from reasoner.explain.criteria import explain
from reasoner.explain.diagnoses import request_diagnoses
from reasoner.intake import jsonld
from reasoner.intake import turtle as intake
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.intake.parsed import ParsedCase
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge import relevance
from reasoner.knowledge.applicability import Applicable
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.citations import reference_out
from reasoner.knowledge.entities import Policy
from reasoner.model import Determination, PolicyOut, ReferenceOut, RequestedLine, Status
from reasoner.shacl.prepared import Result, validate_naively
from reasoner.shacl.reader import Reader
from reasoner.vocab import CV, GR, KB


def parse_case(payload: bytes, fmt: CaseFormat, kb: KnowledgeBase) -> ParsedCase:
    """Intake: bytes -> sanitised, well-formed case graph (with the digest of a JSON or FHIR case).

    Raises:
        CaseError: any problem with the submitted case (subclasses say which).
    """
    if fmt == "json":
        return to_case(load_json(payload), kb)  # speaks only the case vocabulary by construction
    if fmt == "fhir":
        from reasoner.intake.fhir.pas import read_pas  # fhir.resources: imported for the first FHIR case only

        pas = read_pas(payload, kb)
        if pas.case is None:
            raise FhirError(pas.missing)
        return to_case(pas.case, kb)
    parsed = jsonld.parse_jsonld(payload) if fmt == "json-ld" else intake.parse_turtle(payload)
    graph = intake.sanitise(parsed, kb)
    intake.check_shapes(graph, kb)
    return ParsedCase(graph)


def resolve_policy(case: Graph, kb: KnowledgeBase, policy: str | None) -> Policy:
    """The policy named by the caller, else the one named in the case.

    Raises:
        UnknownPolicyError: no policy given, or an unknown one; the message lists the valid ids.
    """
    if policy is not None:
        return kb.policy(policy)
    named = next(iter(case.objects(None, CV.policy)), None)
    found = kb.policy_by_iri(named) if isinstance(named, URIRef) else None
    if found is None:
        label = "no policy given" if named is None else "the policy named in the case"
        raise UnknownPolicyError(label, sorted(kb.policies))
    return found


def determine(payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, *, policy: str | None = None) -> Determination:
    """Determine a case given as bytes (``fmt`` is ``"turtle"`` or ``"json"``)."""
    if fmt == "json":
        return determine_case(load_json(payload), kb, policy=policy)
    # Parsed before the collector's pause (reasoner/_collector.py): rdflib's parsers make cycles.
    return _run(parse_case(payload, fmt, kb), kb, policy)


@paused
def determine_case(case: CaseIn, kb: KnowledgeBase, *, policy: str | None = None) -> Determination:
    """Determine a JSON case already validated (``load_json``), as :func:`determine` does its bytes."""
    # The policy is known before the graph is built: leave out history it cannot see. As
    # resolve_policy will choose it from the graph; when it finds none, it says so there.
    if policy is not None:
        chosen = kb.policies.get(policy)
    else:
        chosen = kb.policy_by_iri(KB[case.policy]) if case.policy else None
    seen = relevance.for_policy(kb, chosen) if chosen is not None else None
    return _run(to_case(case, kb, seen), kb, policy)


@paused
def determine_graph(case: Graph, kb: KnowledgeBase, *, policy: str | None = None) -> Determination:
    """Determine a case graph under a policy (default: the policy the case names); ``case`` is not modified."""
    owned = intake.sanitise(case, kb)
    intake.check_shapes(owned, kb)
    return _run(ParsedCase(owned), kb, policy)


@paused
def determine_parsed(case: ParsedCase, kb: KnowledgeBase, *, policy: str | None = None) -> Determination:
    """Determine a case returned by :func:`parse_case`; its graph is not modified.

    Enrichment writes derived facts into the graph it is given, so each call works on its own
    copy: the same parsed case can be judged under one policy after another.
    """
    store = CaseStore()
    owned = CaseGraph(store)  # what new_case_graph() makes, its store at hand
    store.extend(case.graph)
    return _run(ParsedCase(owned, case.digest), kb, policy)


def fingerprint(case: ParsedCase, kb: KnowledgeBase, *parts: str) -> str:
    """A digest of the knowledge base, ``parts`` and the case.

    The case part is the digest intake made of the case as submitted (a JSON or FHIR case, by
    :func:`~reasoner.intake.json_case.schema.digest`); otherwise it is made from the triples
    (literals by value, not lexical form). So the same case always gets the same id; the same case
    in two formats need not.
    """
    if case.digest is not None:  # a long history costs a hundredth of hashing its triples
        return hashlib.sha256("\n".join([kb.content_hash, *parts, "json " + case.digest]).encode()).hexdigest()[:32]
    # Literal values, not lexical forms, so that "80" and "80.0" (xsd:decimal) give the same id.
    forms: dict[Node, str] = {}  # a case repeats its terms: write each once

    def form(term: Node) -> str:
        text = forms.get(term)
        if text is None:
            text = forms[term] = _canonical(term)
        return text

    lines = sorted(_lines(case.graph, form))
    digest = hashlib.sha256("\n".join([kb.content_hash, *parts, *lines]).encode())
    return digest.hexdigest()[:32]


def _lines(case: Graph, form: Callable[[Node], str]) -> Iterator[str]:
    store = case.store
    if isinstance(store, CaseStore):  # grouped by subject and predicate: each written once per group
        for s, p, objects in store.groups():
            head = f"{form(s)} {form(p)} "
            for o in objects:
                yield head + form(o)
    else:
        for s, p, o in case:
            yield f"{form(s)} {form(p)} {form(o)}"


@paused
def _run(case: ParsedCase, kb: KnowledgeBase, policy: str | None) -> Determination:
    chosen = resolve_policy(case.graph, kb, policy)
    ident = fingerprint(case, kb, chosen.id)
    enriched = enrich(case.graph, kb, chosen)
    reader = Reader(enriched.graph)
    results: tuple[Result, ...] = ()
    if _addressed(enriched):
        results = kb.validator.validate(enriched.graph, select_shapes(enriched, kb), reader=reader)
    return _determination(ident, kb, chosen, enriched, results, reader)


def determine_naively(
    payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, *, policy: str | None = None, ontology: Graph | None = None
) -> Determination:
    """The reference evaluation: every shape, the whole knowledge base as ``ont_graph``, RDFS inference.

    Same intake, enrichment and explanation as :func:`determine`; only validation differs. The
    ``ont_graph`` is the prepared (closed) ontology unless ``ontology`` is given. Tenths of a second
    per call and growing with the knowledge base: for differential tests and benchmarks only.
    pyshacl is two-valued and reads unstated values as absent: where the fast path leaves a
    criterion unknown for an unstated value (``notStated``), this one may decide it; every
    criterion the fast path decides, it decides the same way.
    """
    case = parse_case(payload, fmt, kb)
    chosen = resolve_policy(case.graph, kb, policy)
    ident = fingerprint(case, kb, chosen.id)
    enriched = enrich(case.graph, kb, chosen)
    ont = kb.ontology if ontology is None else ontology
    # pyshacl knows two truth values: it reads the case as stated (unstated values absent), on a
    # context-aware store (its validate() wraps the data graph in a Dataset).
    results = validate_naively(as_stated(enriched.graph), kb.shapes, ont) if _addressed(enriched) else ()
    return _determination(ident, kb, chosen, enriched, results)


def agrees_with_reference(fast: Determination, reference: Determination) -> bool:
    """Whether :func:`determine` and :func:`determine_naively` agree as far as pyshacl can tell.

    Identical when the fast path left no value unstated in doubt; otherwise every criterion the
    fast path decided (met or not met) is decided the same way by the two-valued reference, and
    both list the same criteria.
    """
    if not any(c.notStated or any(f.notStated for f in c.facts) for c in fast.criteria):
        return fast.model_dump() == reference.model_dump()
    decided = {c.id: c.status for c in fast.criteria if c.status is not Status.UNKNOWN}
    return decided == {c.id: c.status for c in reference.criteria if c.id in decided} and {
        c.id for c in fast.criteria
    } == {c.id for c in reference.criteria}


def _determination(
    ident: str,
    kb: KnowledgeBase,
    chosen: Policy,
    enriched: EnrichedCase,
    results: tuple[Result, ...],
    reader: Reader | None = None,
) -> Determination:
    explained = explain(enriched, results, kb, reader)
    return Determination(
        determinationId=ident,
        case=str(enriched.graph.value(enriched.case, CV.identifier) or "case"),
        requestDate=enriched.request_date.isoformat(),
        policy=PolicyOut(
            id=chosen.id,
            label=chosen.label,
            publisher=chosen.publisher,
            version=chosen.version,
            effectiveDate=chosen.effective_date,
        ),
        knowledgeBase=kb.content_hash,
        outcome=explained.outcome,
        outcomeLabel=explained.outcome.label,
        clinicianReview=explained.outcome.value
        in ("not-medically-necessary", "pended-clinician-review", "no-applicable-guideline"),
        requested=[_line(kb, enriched, line) for line in enriched.lines],
        diagnoses=request_diagnoses(enriched, kb),
        rationale=list(explained.rationale),
        criteria=list(explained.criteria),
        missingInformation=list(explained.missing),
        nextSteps=list(explained.next_steps),
        references=_references(kb, enriched),
    )


def select_shapes(case: EnrichedCase, kb: KnowledgeBase) -> frozenset[URIRef]:
    """The root shapes to run: those checking applicable criteria, their qualifying and documentation shapes."""
    return _shapes_for(kb, case.applicable)


@per_knowledge_base(maxsize=1024)
def _shapes_for(kb: KnowledgeBase, applicable: Applicable) -> frozenset[URIRef]:
    index = kb.shape_index
    criteria = [kb.criteria[c] for c in applicable.criteria]
    roots = set(index.criteria_roots(applicable.criteria))
    roots |= {s for c in criteria for s in c.qualifying_shapes}
    roots |= index.documentation_roots(frozenset().union(*(c.needs for c in criteria)) if criteria else frozenset())
    if applicable.prerequisite_steps:
        roots |= index.prerequisite_roots
    return frozenset(r for r in roots if r in index.targeted)


def _addressed(case: EnrichedCase) -> bool:
    return any(line.status != GR.NotAddressed for line in case.lines)


def _canonical(term: Node) -> str:
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        return repr((value, str(term.datatype), term.language))
    if isinstance(term, URIRef):
        return f"<{term}>"  # what n3() writes, without re-checking an IRI intake already accepted
    return term.n3()


def _line(kb: KnowledgeBase, case: EnrichedCase, line: Line) -> RequestedLine:
    code = kb.codes.get(line.code)
    rule = kb.coverage.get((case.policy.iri, line.code))
    return RequestedLine(
        code=code.notation if code else str(line.code).rsplit("/", 1)[-1],
        system=code.system if code else "unknown",
        label=code.label if code else "code not in the knowledge base",
        units=line.units,
        coverage=kb.label(line.status),
        coverageStatus=re.sub(r"(?<!^)(?=[A-Z])", "-", str(line.status).rsplit("#", 1)[-1]).lower(),
        coverageReferences=[kb.references[r].id for r in rule.references] if rule else [],
    )


def _references(kb: KnowledgeBase, case: EnrichedCase) -> list[ReferenceOut]:
    return list(_cited(kb, case.policy, tuple(line.code for line in case.lines), case.applicable.criteria))


@per_knowledge_base(maxsize=1024)  # the references follow from the policy, the codes and the criteria alone
def _cited(
    kb: KnowledgeBase, policy: Policy, codes: tuple[URIRef, ...], applicable: frozenset[URIRef]
) -> tuple[ReferenceOut, ...]:
    ids: list[URIRef] = []
    for code in codes:
        rule = kb.coverage.get((policy.iri, code))
        ids.extend(rule.references if rule else ())
    for c in sorted((kb.criteria[i] for i in applicable), key=lambda c: c.order):
        ids.extend(() if c.is_coverage else c.references)
        rec = kb.recommendations.get(c.recommendation) if c.recommendation else None
        ids.extend(rec.references if rec else ())
    for s in kb.steps_of(policy.iri):
        if s.recommendation is not None and s.recommendation in kb.recommendations:
            ids.extend(kb.recommendations[s.recommendation].references)
    ids.extend(policy.references)
    return tuple(out for iri in dict.fromkeys(ids) if (out := reference_out(kb, iri)) is not None)

"""A validated JSON case to the case graph: the same RDF a Turtle case gives.

``to_graph`` builds the case store's subject index directly (``Triples``), one function per kind
of fact: the case and its request, then each kind of history fact (conditions, prior procedures,
conservative care, exam findings, imaging findings, the pain history, then the generic facts of
``facts_rdf``), then the documents they cite. With a policy's relevance, history facts the
policy cannot see are left out (``sieve``). It runs on every request, so each function keeps the
hot path flat (see bench.versus).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import RDF, XSD, Graph, URIRef
from rdflib.term import Node

from reasoner._rdf.case_store import CaseGraph, CaseStore
from reasoner._rdf.terms import iri, literal
from reasoner.errors import CaseSchemaError
from reasoner.intake.diagnosis_codes import refusal
from reasoner.intake.json_case.facts_rdf import generic_facts
from reasoner.intake.json_case.schema import VALUES, CaseIn, digest
from reasoner.intake.json_case.triples import Entry, Triples
from reasoner.intake.parsed import ParsedCase
from reasoner.intake.turtle import normalise_level
from reasoner.knowledge.relevance import Relevance
from reasoner.vocab import CV, DX, FIND, GR, KB, PROC

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


_TYPE = RDF.type
_THERAPY, _TEST, _FINDING = PROC.ConservativeTherapy, FIND.ProvocativeTest, FIND.ImagingFindingKind
_STRING, _DATE, _DECIMAL, _INTEGER, _BOOLEAN = XSD.string, XSD.date, XSD.decimal, XSD.integer, XSD.boolean


def to_graph(case: CaseIn, kb: KnowledgeBase, relevance: Relevance | None = None) -> Graph:
    """Map a validated JSON case to case RDF.

    With ``relevance`` (the policy's, from :func:`relevance.for_policy`), history facts the policy
    cannot see are left out of the graph; the graph's digest still covers the whole case.

    Raises:
        CaseSchemaError: a class name (procedure, test, kind) that the knowledge base does not know.
    """
    t = Triples(case, kb, relevance)
    _request(t, case)
    _conditions(t, case)
    _prior_procedures(t, case)
    _conservative_care(t, case)
    _exam_findings(t, case)
    _imaging_findings(t, case)
    _pain_history(t, case)
    generic_facts(t, case)
    _documents(t, case)  # documents are built last: only those that matter
    if t.problems:
        raise CaseSchemaError(t.problems)
    store = CaseStore()
    g = CaseGraph(store)  # what new_case_graph() makes, its store at hand
    store.adopt(t.spo)
    return g


def to_case(case: CaseIn, kb: KnowledgeBase, relevance: Relevance | None = None) -> ParsedCase:
    """:func:`to_graph`, with the digest of the validated case that identifies its determinations."""
    return ParsedCase(to_graph(case, kb, relevance), digest(case))


def _levels(values: list[str]) -> dict[Node, None]:
    return {literal(normalise_level(v) or v, _STRING): None for v in values}


def _request(t: Triples, case: CaseIn) -> None:
    """The case, its patient and the request: its values, its lines and its diagnoses."""
    add, base, node = t.add, t.base, t.node
    request = iri(base + "request")
    add((node, _TYPE, CV.Case))
    add((node, CV.identifier, literal(case.id, _STRING)))
    add((node, CV.request, request))
    if case.policy:
        add((request, CV.policy, KB[case.policy]))
    if case.patient:
        patient = iri(base + "patient")
        add((node, CV.patient, patient))
        add((patient, _TYPE, CV.Patient))
        add((patient, CV.identifier, literal(case.patient, _STRING)))
    r = case.request
    add((request, _TYPE, CV.ServiceRequest))
    add((request, CV.date, literal(r.date, _DATE)))
    for prop, value in ((CV.laterality, r.laterality), (CV.imageGuidance, r.imageGuidance)):
        if value is not None:
            add((request, prop, VALUES[value]))
    if r.purpose is not None:
        add((request, CV.purpose, t.purpose(r.purpose, "request.purpose")))
    if r.contrast is not None:
        add((request, CV.contrast, literal(r.contrast, _BOOLEAN)))
    if r.sameDayBlocksJustified is not None:
        add((request, CV.sameDayBlocksJustified, literal(r.sameDayBlocksJustified, _BOOLEAN)))
    if r.levels:
        t.spo[request][CV.level] = _levels(r.levels)
    for i, line in enumerate(r.codes):
        ln = iri(f"{base}line-{i + 1}")
        add((request, CV.line, ln))
        add((ln, _TYPE, CV.RequestLine))
        add((ln, CV.code, t.code(line.code)))
        add((ln, CV.units, literal(line.units, _INTEGER)))
        for m in line.modifiers:
            add((ln, CV.modifier, literal(m, _STRING)))
        if line.procedure:
            add((ln, CV.procedure, t.cls(PROC, line.procedure, f"request.codes.{i}.procedure", GR.Procedure)))
    for i, dx in enumerate(r.diagnoses):
        if (problem := refusal(dx, r.date, t.kb)) is not None:
            t.problems.append((f"request.diagnoses.{i}", problem))
        cond = iri(f"{base}request-diagnosis-{i + 1}")
        add((request, CV.primaryDiagnosis if i == 0 else CV.secondaryDiagnosis, cond))
        add((cond, _TYPE, CV.Condition))
        add((cond, CV.code, t.code(dx, diagnosis=True)))


def _conditions(t: Triples, case: CaseIn) -> None:
    for i, c in enumerate(case.conditions):
        pairs = []
        if c.code is not None:
            pairs.append((CV.code, t.code(c.code, diagnosis=True)))
        if c.kind is not None:
            pairs.append((CV.conditionKind, t.known(DX, c.kind, f"conditions.{i}.kind", "a condition")))
        if not t.wanted(CV.condition, i, c.source, None, *pairs):
            continue
        f = t.fact("condition", i, CV.Condition, CV.condition, c.source)
        for prop, term in pairs:
            f[prop] = {term: None}
        if c.status:
            f[CV.clinicalStatus] = {VALUES[c.status]: None}
        if c.onset is not None:
            f[CV.onset] = {literal(c.onset, _DATE): None}


def _prior_procedures(t: Triples, case: CaseIn) -> None:
    for i, p in enumerate(case.priorProcedures):
        pairs = []
        if p.code:
            pairs.append((CV.code, t.code(p.code)))
        if p.procedure:
            pairs.append((CV.procedure, t.cls(PROC, p.procedure, f"priorProcedures.{i}.procedure", GR.Procedure)))
        stated = [VALUES[v] for v in p.purpose]
        agents = [VALUES[v] for v in p.injectate]
        purposes = t.kb.purposes_of(stated, agents) if stated or agents else None
        if not t.wanted(CV.priorProcedure, i, p.source, purposes, *pairs):
            continue
        f = t.fact("procedure", i, CV.PriorProcedure, CV.priorProcedure, p.source)
        for prop, obj in pairs:
            f[prop] = {obj: None}
        if p.date:
            f[CV.date] = {literal(p.date, _DATE): None}
        if p.laterality is not None:
            f[CV.laterality] = {VALUES[p.laterality]: None}
        for prop, terms in ((CV.purpose, stated), (CV.injectate, agents), (CV.outcome, p.outcome)):
            if terms:
                f[prop] = {(v if isinstance(v, URIRef) else VALUES[v]): None for v in terms}
        if p.levels:
            f[CV.level] = _levels(p.levels)
        for prop, dec in (
            (CV.percentRelief, p.percentRelief),
            (CV.reliefMonths, p.reliefMonths),
            (CV.functionalImprovement, p.functionalImprovement),
            (CV.functionalImprovementMonths, p.functionalImprovementMonths),
        ):
            if dec is not None:
                f[prop] = {literal(dec, _DECIMAL): None}


def _conservative_care(t: Triples, case: CaseIn) -> None:
    for i, care in enumerate(case.conservativeCare):
        kind = t.cls(PROC, care.kind, f"conservativeCare.{i}.kind", _THERAPY)
        if not t.wanted(CV.conservativeCare, i, care.source, None, (CV.careKind, kind)):
            continue
        f = t.fact("care", i, CV.ConservativeCare, CV.conservativeCare, care.source)
        f[CV.careKind] = {kind: None}
        if care.weeks is not None:
            f[CV.weeks] = {literal(care.weeks, _DECIMAL): None}
        if care.outcome:
            f[CV.outcome] = {VALUES[care.outcome]: None}


def _exam_findings(t: Triples, case: CaseIn) -> None:
    for i, e in enumerate(case.examFindings):
        test = t.cls(FIND, e.test, f"examFindings.{i}.test", _TEST)
        if not t.wanted(CV.examFinding, i, e.source, None, (CV.test, test)):
            continue
        f = t.fact("exam", i, CV.ExamFinding, CV.examFinding, e.source)
        f[CV.test] = {test: None}
        if e.result is not None:
            f[CV.result] = {VALUES[e.result]: None}
        if e.laterality:
            f[CV.laterality] = {VALUES[e.laterality]: None}


def _imaging_findings(t: Triples, case: CaseIn) -> None:
    for i, finding in enumerate(case.imagingFindings):
        kind = t.cls(FIND, finding.kind, f"imagingFindings.{i}.kind", _FINDING)
        if not t.wanted(CV.imagingFinding, i, finding.source, None, (CV.findingKind, kind)):
            continue
        f = t.fact("imaging", i, CV.ImagingFinding, CV.imagingFinding, finding.source)
        f[CV.findingKind] = {kind: None}
        if finding.levels:
            f[CV.level] = _levels(finding.levels)
        if finding.addressed is not None:
            f[CV.addressed] = {literal(finding.addressed, _BOOLEAN): None}


def _pain_history(t: Triples, case: CaseIn) -> None:
    ph = case.painHistory
    if ph is None:
        return
    f = t.fact("pain", 0, CV.PainHistory, CV.painHistory, ph.source)
    for prop, dec in (
        (CV.durationMonths, ph.durationMonths),
        (CV.painScore, ph.score),
        (CV.disabilityScore, ph.disabilityScore),
    ):
        if dec is not None:
            f[prop] = {literal(dec, _DECIMAL): None}
    if ph.character:
        f[CV.painCharacter] = {VALUES[ph.character]: None}
    if ph.location:
        f[CV.painLocation] = {VALUES[ph.location]: None}
    t.cited.add(ph.source)


def _documents(t: Triples, case: CaseIn) -> None:
    """The source documents the sieve keeps (those the kept facts cite, at least)."""
    keeps, cited, docs, case_po = t.sieve.keeps_document, t.cited, t.docs, t.case_po
    for i, d in enumerate(case.documents):
        if not keeps(VALUES[d.kind], i, d.id in cited):
            continue
        doc = docs.get(d.id) or iri(f"{t.base}doc-{d.id}")
        case_po.setdefault(CV.document, {})[doc] = None
        po: Entry = {
            _TYPE: {CV.SourceDocument: None},
            CV.identifier: {literal(d.id, _STRING): None},
            CV.documentKind: {VALUES[d.kind]: None},
        }
        if d.date:
            po[CV.date] = {literal(d.date, _DATE): None}
        if d.title:
            po[CV.title] = {literal(d.title, _STRING): None}
        t.spo[doc] = po

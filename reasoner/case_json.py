"""The plain JSON form of a case, and its mapping to the same RDF as a Turtle case.

The pydantic models below are the schema (schemas/case.schema.json is generated from them).

Codes are strings (``"64772"``, ``"G0260"``, ``"M47.816"``); procedure classes, tests, kinds of
finding and kinds of therapy are the local names of classes of the knowledge base
(``"SacralLateralBranchBlock"``, ``"ThighThrustTest"``); every documented fact names the id of
the document it came from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rdflib import RDF, XSD, Graph, URIRef
from rdflib import Literal as RDFLiteral

from ._case_store import new_case_graph
from ._terms import iri, literal
from .errors import CaseSchemaError
from .intake import check_size, decode_json, normalise_level
from .vocab import CASE_DATA, CPT, CV, FIND, GR, HCPCS, ICD10CM, KB, PROC

if TYPE_CHECKING:
    from .kb import KnowledgeBase

ProcedureCode = Annotated[str, Field(pattern=r"^(\d{4}[0-9FTU]|[A-V]\d{4})$", examples=["64772", "G0260"])]
DiagnosisCode = Annotated[str, Field(pattern=r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$", examples=["M47.816"])]
Level = Annotated[str, Field(pattern=r"^[CTLSctls]\d{1,2}(-[CTLSctls]?\d{1,2})?$", examples=["S1", "L5-S1"])]
ClassName = Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]{1,80}$")]
DocumentId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Laterality = Literal["left", "right", "bilateral"]
Outcome = Literal["positive", "negative", "effective", "short-term-relief", "failed"]
Purpose = Literal["diagnostic", "therapeutic"]
Guidance = Literal[
    "fluoroscopy", "fluoroscopy-with-contrast", "ct", "ct-with-contrast", "ultrasound", "direct-visualization", "none"
]
DocumentKind = Literal[
    "procedure-note", "clinic-note", "imaging-report", "physical-exam", "patient-report", "request-form"
]

VALUES: dict[str, URIRef] = {
    "left": URIRef(str(CV) + "Left"),
    "right": URIRef(str(CV) + "Right"),
    "bilateral": URIRef(str(CV) + "Bilateral"),
    "positive": URIRef(str(CV) + "Positive"),
    "negative": URIRef(str(CV) + "Negative"),
    "effective": URIRef(str(CV) + "Effective"),
    "short-term-relief": URIRef(str(CV) + "ShortTermRelief"),
    "failed": URIRef(str(CV) + "Failed"),
    "diagnostic": URIRef(str(CV) + "Diagnostic"),
    "therapeutic": URIRef(str(CV) + "Therapeutic"),
    "fluoroscopy": URIRef(str(CV) + "Fluoroscopy"),
    "fluoroscopy-with-contrast": URIRef(str(CV) + "FluoroscopyWithContrast"),
    "ct": URIRef(str(CV) + "ComputedTomography"),
    "ct-with-contrast": URIRef(str(CV) + "ComputedTomographyWithContrast"),
    "ultrasound": URIRef(str(CV) + "Ultrasound"),
    "direct-visualization": URIRef(str(CV) + "DirectVisualization"),
    "none": URIRef(str(CV) + "NoGuidance"),
    "procedure-note": URIRef(str(CV) + "ProcedureNote"),
    "clinic-note": URIRef(str(CV) + "ClinicNote"),
    "imaging-report": URIRef(str(CV) + "ImagingReportDocument"),
    "physical-exam": URIRef(str(CV) + "PhysicalExamDocument"),
    "patient-report": URIRef(str(CV) + "PatientReport"),
    "request-form": URIRef(str(CV) + "RequestForm"),
    "active": URIRef(str(CV) + "Active"),
    "resolved": URIRef(str(CV) + "Resolved"),
    "axial": URIRef(str(CV) + "Axial"),
    "radicular": URIRef(str(CV) + "Radicular"),
    "mixed": URIRef(str(CV) + "Mixed"),
    "sacroiliac-region": URIRef(str(CV) + "SacroiliacRegion"),
    "lumbar-above-l5": URIRef(str(CV) + "LumbarAboveL5"),
    "widespread": URIRef(str(CV) + "Widespread"),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestLineIn(_Model):
    """One requested code."""

    code: ProcedureCode
    units: int = Field(1, ge=1, le=99)
    modifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(default_factory=list, max_length=4)
    procedure: ClassName | None = Field(
        None, description="the technique, when the code does not say it (for example PulsedRadiofrequency)"
    )


class RequestIn(_Model):
    """The requested service."""

    date: dt.date
    codes: list[RequestLineIn] = Field(min_length=1, max_length=20)
    diagnoses: list[DiagnosisCode] = Field(min_length=1, max_length=12, description="ICD-10-CM; the first is primary")
    laterality: Laterality | None = None
    levels: list[Level] = Field(default_factory=list, max_length=12)
    imageGuidance: Guidance | None = None
    purpose: Purpose | None = None


class DocumentIn(_Model):
    """A source document of the record (no identifiers in the title)."""

    id: DocumentId
    kind: DocumentKind
    date: dt.date | None = None
    title: str | None = Field(None, max_length=200)


class ConditionIn(_Model):
    """A condition in the history."""

    code: DiagnosisCode
    status: Literal["active", "resolved"] | None = None
    source: DocumentId | None = None


class PriorProcedureIn(_Model):
    """A procedure the patient has had; give a code, a procedure class, or both."""

    code: ProcedureCode | None = None
    procedure: ClassName | None = None
    date: dt.date | None = None
    laterality: Laterality | None = None
    levels: list[Level] = Field(default_factory=list, max_length=12)
    purpose: Purpose | None = None
    percentRelief: Decimal | None = Field(None, ge=0, le=100, max_digits=6)
    reliefMonths: Decimal | None = Field(None, ge=0, le=600, max_digits=6)
    outcome: Outcome | None = None
    source: DocumentId

    @model_validator(mode="after")
    def _code_or_class(self) -> PriorProcedureIn:
        if self.code is None and self.procedure is None:
            raise ValueError("give a code or a procedure class")
        return self


class ConservativeCareIn(_Model):
    """A course of conservative therapy."""

    kind: ClassName
    weeks: Decimal | None = Field(None, ge=0, le=2000, max_digits=6)
    outcome: Outcome | None = None
    source: DocumentId


class ExamFindingIn(_Model):
    """One provocative test result."""

    test: ClassName
    result: Literal["positive", "negative"]
    laterality: Laterality | None = None
    source: DocumentId


class ImagingFindingIn(_Model):
    """One imaging finding."""

    kind: ClassName
    levels: list[Level] = Field(default_factory=list, max_length=12)
    addressed: bool | None = None
    source: DocumentId


class PainHistoryIn(_Model):
    """The pain under review."""

    durationMonths: Decimal | None = Field(None, ge=0, le=1200, max_digits=6)
    score: Decimal | None = Field(None, ge=0, le=10, max_digits=4)
    character: Literal["axial", "radicular", "mixed"] | None = None
    location: Literal["sacroiliac-region", "lumbar-above-l5", "widespread"] | None = None
    source: DocumentId


class CaseIn(_Model):
    """A case for determination, in the plain JSON form."""

    id: DocumentId = Field(description="a pseudonymous case id, never an MRN")
    policy: DocumentId | None = Field(None, description="the policy id, for example sij-clinical-pathway")
    patient: DocumentId | None = Field(None, description="a patient pseudonym")
    request: RequestIn
    documents: list[DocumentIn] = Field(default_factory=list, max_length=2000)
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=2000)
    priorProcedures: list[PriorProcedureIn] = Field(default_factory=list, max_length=2000)
    conservativeCare: list[ConservativeCareIn] = Field(default_factory=list, max_length=2000)
    examFindings: list[ExamFindingIn] = Field(default_factory=list, max_length=2000)
    imagingFindings: list[ImagingFindingIn] = Field(default_factory=list, max_length=2000)
    painHistory: PainHistoryIn | None = None

    @model_validator(mode="after")
    def _sources_declared(self) -> CaseIn:
        ids = {d.id for d in self.documents}
        for name in ("conditions", "priorProcedures", "conservativeCare", "examFindings", "imagingFindings"):
            for i, fact in enumerate(getattr(self, name)):
                if fact.source is not None and fact.source not in ids:
                    raise ValueError(f"{name}[{i}].source names a document that is not in documents")
        if self.painHistory is not None and self.painHistory.source not in ids:
            raise ValueError("painHistory.source names a document that is not in documents")
        return self


def json_schema() -> dict[str, object]:
    """The JSON Schema of the case form (written to schemas/case.schema.json)."""
    schema = CaseIn.model_json_schema()
    schema["$id"] = "https://w3id.org/guideline-reasoner/schemas/case.schema.json"
    return schema


def load_json(payload: bytes) -> CaseIn:
    """Decode and validate a JSON case.

    Raises:
        CaseParseError: not JSON (with line and column).
        CaseTooLarge: over the byte or nesting limit.
        CaseSchemaError: naming each field that is missing or wrong.
    """
    check_size(payload)
    try:
        # pydantic's own JSON parser: a fifth of the time of json.loads, the depth walk and
        # model_validate. A valid case is a few levels deep whatever its size.
        return CaseIn.model_validate_json(payload)
    except ValidationError:
        pass
    # Any failure is read again the careful way, for its errors: line and column, the
    # nesting limit, and the same messages whichever parser failed first.
    data = decode_json(payload)
    try:
        return CaseIn.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in err["loc"]) or "case"
            problems.append((where, "missing required field" if err["type"] == "missing" else err["msg"]))
        raise CaseSchemaError(problems) from None


def code_iri(code: str) -> URIRef:
    """The knowledge-base IRI of a CPT or HCPCS code (HCPCS Level II codes start with a letter)."""
    return HCPCS[code] if code[0].isalpha() else CPT[code]


_TYPE = RDF.type
_STRING, _DATE, _DECIMAL, _INTEGER, _BOOLEAN = XSD.string, XSD.date, XSD.decimal, XSD.integer, XSD.boolean


def to_graph(case: CaseIn, kb: KnowledgeBase) -> Graph:
    """Map a validated JSON case to case RDF.

    Raises:
        CaseSchemaError: a class name (procedure, test, kind) that the knowledge base does not know.
    """
    # Every term is built here from validated parts, so the fast constructors are safe; the
    # triples go to the store in one batch (a long history makes tens of thousands).
    triples: list[tuple[URIRef, URIRef, URIRef | RDFLiteral]] = []
    add = triples.append
    base = f"{CASE_DATA}{case.id}/"
    node = iri(base + "case")
    request = iri(base + "request")
    problems: list[tuple[str, str]] = []
    named: dict[tuple[str, str], URIRef] = {}  # a history repeats its codes and class names

    def cls(ns: object, name: str, where: str, root: URIRef) -> URIRef:
        made = named.get((str(ns), name))
        if made is None:
            made = named[str(ns), name] = URIRef(str(ns) + name)
        if root not in kb.superclasses.get(made, ()):
            known = sorted(str(c).split("#")[-1] for c, sup in kb.superclasses.items() if root in sup and c != root)
            problems.append((where, "not a known class name; one of: " + ", ".join(known)))
        return made

    def code(value: str, diagnosis: bool = False) -> URIRef:
        made = named.get(("code", value))
        if made is None:
            made = named["code", value] = ICD10CM[value] if diagnosis else code_iri(value)
        return made

    def levels(subject: URIRef, values: list[str]) -> None:
        for v in values:
            add((subject, CV.level, literal(normalise_level(v) or v, _STRING)))

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
    for prop, value in ((CV.laterality, r.laterality), (CV.imageGuidance, r.imageGuidance), (CV.purpose, r.purpose)):
        if value is not None:
            add((request, prop, VALUES[value]))
    levels(request, r.levels)
    for i, line in enumerate(r.codes):
        ln = iri(f"{base}line-{i + 1}")
        add((request, CV.line, ln))
        add((ln, _TYPE, CV.RequestLine))
        add((ln, CV.code, code(line.code)))
        add((ln, CV.units, literal(line.units, _INTEGER)))
        for m in line.modifiers:
            add((ln, CV.modifier, literal(m, _STRING)))
        if line.procedure:
            add((ln, CV.procedure, cls(PROC, line.procedure, f"request.codes.{i}.procedure", GR.Procedure)))
    for i, dx in enumerate(r.diagnoses):
        cond = iri(f"{base}request-diagnosis-{i + 1}")
        add((request, CV.primaryDiagnosis if i == 0 else CV.secondaryDiagnosis, cond))
        add((cond, _TYPE, CV.Condition))
        add((cond, CV.code, code(dx, diagnosis=True)))
    docs = {}
    for d in case.documents:
        doc = docs[d.id] = iri(f"{base}doc-{d.id}")
        add((node, CV.document, doc))
        add((doc, _TYPE, CV.SourceDocument))
        add((doc, CV.identifier, literal(d.id, _STRING)))
        add((doc, CV.documentKind, VALUES[d.kind]))
        if d.date:
            add((doc, CV.date, literal(d.date, _DATE)))
        if d.title:
            add((doc, CV.title, literal(d.title, _STRING)))

    def fact(kind: str, i: int, cls_: URIRef, link: URIRef, source: str | None) -> URIRef:
        f = iri(f"{base}{kind}-{i + 1}")
        add((node, link, f))
        add((f, _TYPE, cls_))
        if source is not None:
            add((f, CV.source, docs[source]))
        return f

    for i, c in enumerate(case.conditions):
        f = fact("condition", i, CV.Condition, CV.condition, c.source)
        add((f, CV.code, code(c.code, diagnosis=True)))
        if c.status:
            add((f, CV.clinicalStatus, VALUES[c.status]))
    for i, p in enumerate(case.priorProcedures):
        f = fact("procedure", i, CV.PriorProcedure, CV.priorProcedure, p.source)
        if p.code:
            add((f, CV.code, code(p.code)))
        if p.procedure:
            add((f, CV.procedure, cls(PROC, p.procedure, f"priorProcedures.{i}.procedure", GR.Procedure)))
        if p.date:
            add((f, CV.date, literal(p.date, _DATE)))
        for prop, value in ((CV.laterality, p.laterality), (CV.purpose, p.purpose), (CV.outcome, p.outcome)):
            if value is not None:
                add((f, prop, VALUES[value]))
        levels(f, p.levels)
        for prop, dec in ((CV.percentRelief, p.percentRelief), (CV.reliefMonths, p.reliefMonths)):
            if dec is not None:
                add((f, prop, literal(dec, _DECIMAL)))
    for i, c in enumerate(case.conservativeCare):
        f = fact("care", i, CV.ConservativeCare, CV.conservativeCare, c.source)
        add((f, CV.careKind, cls(PROC, c.kind, f"conservativeCare.{i}.kind", PROC.ConservativeTherapy)))
        if c.weeks is not None:
            add((f, CV.weeks, literal(c.weeks, _DECIMAL)))
        if c.outcome:
            add((f, CV.outcome, VALUES[c.outcome]))
    for i, e in enumerate(case.examFindings):
        f = fact("exam", i, CV.ExamFinding, CV.examFinding, e.source)
        add((f, CV.test, cls(FIND, e.test, f"examFindings.{i}.test", FIND.ProvocativeTest)))
        add((f, CV.result, VALUES[e.result]))
        if e.laterality:
            add((f, CV.laterality, VALUES[e.laterality]))
    for i, m in enumerate(case.imagingFindings):
        f = fact("imaging", i, CV.ImagingFinding, CV.imagingFinding, m.source)
        add((f, CV.findingKind, cls(FIND, m.kind, f"imagingFindings.{i}.kind", FIND.ImagingFindingKind)))
        levels(f, m.levels)
        if m.addressed is not None:
            add((f, CV.addressed, literal(m.addressed, _BOOLEAN)))
    if case.painHistory is not None:
        ph = case.painHistory
        f = fact("pain", 0, CV.PainHistory, CV.painHistory, ph.source)
        for prop, dec in ((CV.durationMonths, ph.durationMonths), (CV.painScore, ph.score)):
            if dec is not None:
                add((f, prop, literal(dec, _DECIMAL)))
        if ph.character:
            add((f, CV.painCharacter, VALUES[ph.character]))
        if ph.location:
            add((f, CV.painLocation, VALUES[ph.location]))
    if problems:
        raise CaseSchemaError(problems)
    g = new_case_graph()
    g.store.extend(triples)  # type: ignore[attr-defined]
    return g

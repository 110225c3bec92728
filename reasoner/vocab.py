"""Namespaces of the project's vocabularies.

`GR` and `CV` are closed: a typo such as ``GR.Recomendation`` raises AttributeError instead of
minting a new IRI. A test checks that every term named here is declared in ``ontology/``.
"""

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

BASE = "https://w3id.org/guideline-reasoner/"
KB = Namespace(BASE + "kb/")
PROC = Namespace(BASE + "procedure#")
DX = Namespace(BASE + "condition#")
FIND = Namespace(BASE + "finding#")
EV = Namespace(BASE + "evidence/")
GRS = Namespace(BASE + "shapes/")
CPT = Namespace(BASE + "code/cpt/")
HCPCS = Namespace(BASE + "code/hcpcs/")
ICD10CM = Namespace(BASE + "code/icd10cm/")
LOINC = Namespace(BASE + "code/loinc/")
OBS = Namespace(BASE + "observation#")
UNIT = Namespace(BASE + "unit/")
CASE_DATA = Namespace(BASE + "case-data/")
#: What a relative IRI in a Turtle or JSON-LD case resolves against: never the server's or the
#: command's working folder (the parsers' default), which would put a local path in the answer.
CASE_BASE = str(CASE_DATA)

#: Namespaces whose terms the knowledge base owns; a case may not make statements about them.
KB_NAMESPACES = (
    BASE + "core#",
    BASE + "case#",
    str(KB),
    str(PROC),
    str(DX),
    str(FIND),
    str(OBS),
    str(UNIT),
    str(EV),
    str(GRS),
    BASE + "code/",
)


class GR(DefinedNamespace):
    """Core vocabulary (ontology/core.ttl)."""

    _NS = Namespace(BASE + "core#")
    _fail = True

    Policy: URIRef
    Criterion: URIRef
    PathwayStep: URIRef
    Procedure: URIRef
    Code: URIRef
    CoverageRule: URIRef
    Threshold: URIRef
    Reference: URIRef
    Recommendation: URIRef
    EvidenceGrade: URIRef
    ClassifyingProperty: URIRef
    ThresholdParameter: URIRef
    PainGeneratorFinding: URIRef
    DiagnosisList: URIRef
    DiagnosisEntry: URIRef
    CodeSelection: URIRef
    CodeFamily: URIRef
    entry: URIRef
    firstCode: URIRef
    lastCode: URIRef
    codePrefix: URIRef
    CoveredDiagnosis: URIRef
    diagnosisList: URIRef
    deletedOn: URIRef
    replacedBy: URIRef
    RequestDiagnosis: URIRef
    onDiagnosisList: URIRef
    RequestDiagnosisRecord: URIRef
    BaselineDisabilityScore: URIRef
    contrastWaivedBy: URIRef
    conditionalGuidance: URIRef
    conditionalGuidanceClass: URIRef
    publisher: URIRef
    version: URIRef
    effectiveDate: URIRef
    scopeNote: URIRef
    fallbackCode: URIRef
    reference: URIRef
    policy: URIRef
    gradingScheme: URIRef
    statement: URIRef
    category: URIRef
    required: URIRef
    order: URIRef
    appliesTo: URIRef
    recommendation: URIRef
    evidenceGrade: URIRef
    usesThreshold: URIRef
    needsDocumentation: URIRef
    considers: URIRef
    qualifyingShape: URIRef
    notMetText: URIRef
    metText: URIRef
    checks: URIRef
    criterionOfValueVia: URIRef
    checksDocumentation: URIRef
    missingText: URIRef
    procedureClass: URIRef
    requiresStep: URIRef
    completionCriterion: URIRef
    action: URIRef
    code: URIRef
    coverageStatus: URIRef
    excludesCode: URIRef
    denotes: URIRef
    purpose: URIRef
    addressedBy: URIRef
    value: URIRef
    unit: URIRef
    verification: URIRef
    sourceNote: URIRef
    verifiedContent: URIRef
    decidesBecause: URIRef
    strength: URIRef
    decidesDenial: URIRef
    VerificationStatus: URIRef
    VerificationU: URIRef
    identifier: URIRef
    year: URIRef
    parameter: URIRef
    monthsBeforeRequest: URIRef
    completesStep: URIRef
    addressed: URIRef
    NotAddressed: URIRef
    NotGraded: URIRef
    Determination: URIRef
    CriterionResult: URIRef
    KnowledgeBaseVersion: URIRef
    outcome: URIRef
    criterionResult: URIRef
    criterion: URIRef
    status: URIRef
    finding: URIRef
    advisory: URIRef
    contentHash: URIRef
    Met: URIRef
    NotMet: URIRef
    Unknown: URIRef
    NotCovered: URIRef
    Unlisted: URIRef
    Covered: URIRef
    Rule: URIRef
    rule: URIRef
    SessionLimit: URIRef
    MinimumInterval: URIRef
    QualifyingHistory: URIRef
    RepeatRequiresResponse: URIRef
    LevelLimit: URIRef
    Exclusion: URIRef
    Requirement: URIRef
    ExcludedProcedure: URIRef
    ImageGuidanceRule: URIRef
    AddOnRequiresPrimary: URIRef
    maxSessions: URIRef
    window: URIRef
    minInterval: URIRef
    minRelief: URIRef
    minReliefDuration: URIRef
    minCount: URIRef
    maxLevels: URIRef
    maxRegions: URIRef
    excludedClass: URIRef
    exceptClass: URIRef
    requiredClass: URIRef
    allowedGuidance: URIRef
    requiresContrast: URIRef
    sameRegion: URIRef
    sameSide: URIRef
    expandedFrom: URIRef
    maxInclusiveFrom: URIRef
    maxExclusiveFrom: URIRef
    minInclusiveFrom: URIRef
    qualifiedMinCountFrom: URIRef
    qualifiedMaxCountFrom: URIRef
    addOnTo: URIRef
    levelsPerUnit: URIRef
    spinalRegion: URIRef
    procedureRegion: URIRef
    entailmentRegime: URIRef
    SpinalRegion: URIRef
    CervicothoracicRegion: URIRef
    LumbosacralRegion: URIRef
    SacroiliacJointRegion: URIRef
    indicates: URIRef
    impliesPurpose: URIRef
    expectedOn: URIRef
    derivedFrom: URIRef
    unstated: URIRef
    possibleType: URIRef
    uncertainBecause: URIRef
    PossibleStatement: URIRef
    possibleSubject: URIRef
    possiblePredicate: URIRef
    possibleObject: URIRef
    weeksBeforeRequest: URIRef
    daysBeforeRequest: URIRef
    sameRegionAsRequest: URIRef
    durationWeeks: URIRef
    sameSideAsRequest: URIRef
    levelCount: URIRef
    regionCount: URIRef
    addOnCode: URIRef
    missingPrimaryCode: URIRef
    sameLevel: URIRef
    mostRecentOnly: URIRef
    minFunctionalImprovement: URIRef
    minFunctionalImprovementDuration: URIRef
    exceptionLifts: URIRef
    exceptionAtRequestedLevel: URIRef
    conditionalExclusion: URIRef
    onlyWith: URIRef
    scopeShape: URIRef
    sameLevelAsRequest: URIRef
    latestAtSite: URIRef
    DocumentationKind: URIRef
    Months: URIRef
    Weeks: URIRef
    Days: URIRef
    Percent: URIRef
    ExperimentalUnproven: URIRef
    Session: URIRef
    PriorSession: URIRef
    RequestedSession: URIRef
    sessionOf: URIRef
    sessionRecord: URIRef
    judgedRecord: URIRef
    hangsOn: URIRef
    gapFact: URIRef
    gapProperty: URIRef
    Unit: URIRef
    ObservationKind: URIRef
    ObservationValue: URIRef
    ucumCode: URIRef
    canonical: URIRef
    factor: URIRef
    divisor: URIRef
    canonicalUnit: URIRef
    minAccepted: URIRef
    maxAccepted: URIRef
    valueSet: URIRef
    caseWord: URIRef
    booleanValued: URIRef
    valueless: URIRef
    # derived facts declared as data (issue 17)
    Derivation: URIRef
    SelectFact: URIRef
    Elapsed: URIRef
    WindowedSeriesAggregate: URIRef
    DerivedValue: URIRef
    PickOrder: URIRef
    Latest: URIRef
    Earliest: URIRef
    DateAnchor: URIRef
    RequestDate: URIRef
    factClass: URIRef
    methodClass: URIRef
    componentClass: URIRef
    pick: URIRef
    dateProperty: URIRef
    lookback: URIRef
    anchor: URIRef
    onOrBeforeAnchor: URIRef
    seriesClass: URIRef
    sampleAtLeast: URIRef
    windowLength: URIRef
    searchSpan: URIRef
    derivation: URIRef
    derivedValue: URIRef
    selected: URIRef
    elapsedDays: URIRef
    elapsedWeeks: URIRef
    elapsedMonths: URIRef
    dayNumber: URIRef
    windowStart: URIRef
    windowEnd: URIRef
    sampleCount: URIRef
    gapDays: URIRef
    ValueRule: URIRef
    IntervalRule: URIRef
    FactRequired: URIRef
    atLeast: URIRef
    atMost: URIRef
    above: URIRef
    below: URIRef
    maxInterval: URIRef
    asDayNumber: URIRef
    minExclusiveFrom: URIRef
    from_ = URIRef(BASE + "core#from")  # "from" is a Python keyword
    to: URIRef


class CV(DefinedNamespace):
    """Case vocabulary (ontology/case.ttl)."""

    _NS = Namespace(BASE + "case#")
    _fail = True

    Case: URIRef
    Patient: URIRef
    ServiceRequest: URIRef
    RequestLine: URIRef
    Condition: URIRef
    PriorProcedure: URIRef
    Purpose: URIRef
    ConservativeCare: URIRef
    ExamFinding: URIRef
    ImagingFinding: URIRef
    PainHistory: URIRef
    SourceDocument: URIRef
    patient: URIRef
    request: URIRef
    policy: URIRef
    line: URIRef
    code: URIRef
    procedure: URIRef
    careKind: URIRef
    test: URIRef
    findingKind: URIRef
    units: URIRef
    modifier: URIRef
    laterality: URIRef
    level: URIRef
    imageGuidance: URIRef
    contrast: URIRef
    purpose: URIRef
    injectate: URIRef
    date: URIRef
    primaryDiagnosis: URIRef
    secondaryDiagnosis: URIRef
    condition: URIRef
    clinicalStatus: URIRef
    priorProcedure: URIRef
    percentRelief: URIRef
    reliefMonths: URIRef
    functionalImprovement: URIRef
    functionalImprovementMonths: URIRef
    outcome: URIRef
    conservativeCare: URIRef
    weeks: URIRef
    examFinding: URIRef
    result: URIRef
    imagingFinding: URIRef
    addressed: URIRef
    painHistory: URIRef
    durationMonths: URIRef
    painScore: URIRef
    disabilityScore: URIRef
    sameDayBlocksJustified: URIRef
    painCharacter: URIRef
    painLocation: URIRef
    document: URIRef
    documentKind: URIRef
    title: URIRef
    source: URIRef
    Observation: URIRef
    Treatment: URIRef
    Device: URIRef
    UsageSeries: URIRef
    UsageSample: URIRef
    observation: URIRef
    treatment: URIRef
    device: URIRef
    usageSeries: URIRef
    sample: URIRef
    observationKind: URIRef
    treatmentKind: URIRef
    conditionKind: URIRef
    method: URIRef
    value: URIRef
    unit: URIRef
    valueCode: URIRef
    valueBoolean: URIRef
    start: URIRef
    end: URIRef
    component: URIRef
    forDevice: URIRef
    onset: URIRef
    Absent: URIRef
    Left: URIRef
    Right: URIRef
    Bilateral: URIRef
    Fluoroscopy: URIRef
    ComputedTomography: URIRef
    NoGuidance: URIRef
    identifier: URIRef


def _bind_terms(namespace: type[DefinedNamespace]) -> None:
    # A DefinedNamespace answers every CV.x through its metaclass's __getattr__ and a cached
    # lookup, about a microsecond each; class attributes make the hot paths plain lookups.
    for name in namespace.__annotations__:
        setattr(namespace, name, namespace[name])


_bind_terms(GR)
_bind_terms(CV)


def vocabulary_terms() -> list[URIRef]:
    """Every term bound on :class:`GR` and :class:`CV` (the objects the code uses)."""
    return [getattr(ns, name) for ns in (GR, CV) for name in ns.__annotations__]


#: The JSON case form's words for the case vocabulary's value terms (``cv:Left``, ...).
CASE_VALUES: dict[str, URIRef] = {
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
    "ct": URIRef(str(CV) + "ComputedTomography"),
    "ultrasound": URIRef(str(CV) + "Ultrasound"),
    "direct-visualization": URIRef(str(CV) + "DirectVisualization"),
    "none": URIRef(str(CV) + "NoGuidance"),
    "procedure-note": URIRef(str(CV) + "ProcedureNote"),
    "clinic-note": URIRef(str(CV) + "ClinicNote"),
    "imaging-report": URIRef(str(CV) + "ImagingReportDocument"),
    "device-report": URIRef(str(CV) + "DeviceReport"),
    "physical-exam": URIRef(str(CV) + "PhysicalExamDocument"),
    "patient-report": URIRef(str(CV) + "PatientReport"),
    "request-form": URIRef(str(CV) + "RequestForm"),
    "active": URIRef(str(CV) + "Active"),
    "resolved": URIRef(str(CV) + "Resolved"),
    "absent": URIRef(str(CV) + "Absent"),
    "axial": URIRef(str(CV) + "Axial"),
    "radicular": URIRef(str(CV) + "Radicular"),
    "mixed": URIRef(str(CV) + "Mixed"),
    "sacroiliac-region": URIRef(str(CV) + "SacroiliacRegion"),
    "lumbar-above-l5": URIRef(str(CV) + "LumbarAboveL5"),
    "widespread": URIRef(str(CV) + "Widespread"),
    "anaesthetic": URIRef(str(CV) + "Anaesthetic"),
    "steroid": URIRef(str(CV) + "Steroid"),
}

"""Generated policies and histories for the scale benchmarks (never part of the knowledge base).

A generated policy is shaped like the bundled Medicare facet LCD: its own procedure classes and
codes (Category III style codes, ``0nnnT``, which no real policy here uses), a coverage rule per
code, thresholds with sources and tags, a three-step pathway, and eleven criteria: nine declared
rules (session limits, an interval, qualifying history, a repeat rule, levels, an exclusion, a
requirement, image guidance, add-on codes) and two hand-written shapes.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PREFIXES = """PREFIX cpt:     <https://w3id.org/guideline-reasoner/code/cpt/>
PREFIX cv:      <https://w3id.org/guideline-reasoner/case#>
PREFIX dx:      <https://w3id.org/guideline-reasoner/condition#>
PREFIX gr:      <https://w3id.org/guideline-reasoner/core#>
PREFIX grk:     <https://w3id.org/guideline-reasoner/kb/>
PREFIX grs:     <https://w3id.org/guideline-reasoner/shapes/>
PREFIX owl:     <http://www.w3.org/2002/07/owl#>
PREFIX proc:    <https://w3id.org/guideline-reasoner/procedure#>
PREFIX rdfs:    <http://www.w3.org/2000/01/rdf-schema#>
PREFIX sh:      <http://www.w3.org/ns/shacl#>
PREFIX skos:    <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd:     <http://www.w3.org/2001/XMLSchema#>
"""


def _threshold(p: str, key: str, value: str, dtype: str, unit: str) -> str:
    return f"""
{p}:{key} a gr:Threshold ;
    rdfs:label "Generated {key}"@en ;
    skos:definition "A generated threshold."@en ;
    gr:value "{value}"^^xsd:{dtype} ;
    gr:unit gr:{unit} ;
    gr:reference grk:ref-facet-rubric ;
    gr:verification gr:VerificationS .
"""


def _criterion(p: str, pid: str, key: str, order: int, applies: str, rule: str, extra: str = "") -> str:
    return f"""
{p}:{key} a gr:Criterion ;
    rdfs:label "Generated {key}"@en ;
    skos:definition "A generated criterion."@en ;
    gr:policy grk:{pid} ;
    gr:verification gr:VerificationS ;
    gr:order {order} ;
    gr:category gr:CategoryDocumentation ;
    gr:required true ;
    gr:appliesTo {applies} ;
    gr:statement "Generated criterion {key}."@en ;
    gr:notMetText "Generated criterion {key} is not met."@en ;
    gr:considers {applies} ;
    {extra}{rule}
    gr:reference grk:ref-facet-rubric .
"""


def policy(i: int) -> tuple[str, str]:
    """The guideline Turtle and the criteria-shapes Turtle of generated policy number ``i``."""
    pid, p = f"gen-{i:03d}", f"gen{i:03d}"
    ns = f"PREFIX {p}: <https://w3id.org/guideline-reasoner/kb/{pid}/>\n"
    inj, abl, blk = f"proc:Gen{i:03d}Injection", f"proc:Gen{i:03d}Ablation", f"proc:Gen{i:03d}Block"
    codes = {"inj": f"0{i:03d}T", "add": f"0{i + 500:03d}T", "abl": f"1{i:03d}T"}
    out = [_PREFIXES, ns]
    out.append(f"""
<https://w3id.org/guideline-reasoner/kb/{pid}/ontology> a owl:Ontology ;
    rdfs:label "Generated policy {i}"@en ;
    owl:versionIRI <https://w3id.org/guideline-reasoner/kb/{pid}/1> .

grk:{pid} a gr:Policy ;
    rdfs:label "Generated policy {i}"@en ;
    skos:definition "A generated policy for the scale benchmark."@en ;
    gr:publisher "bench" ;
    gr:version "1" ;
    gr:reference grk:ref-facet-rubric .

{inj} a owl:Class ; rdfs:subClassOf proc:SpinalInjection ;
    rdfs:label "Generated injection {i}"@en ; skos:definition "A generated injection."@en .
{blk} a owl:Class ; rdfs:subClassOf {inj} ; gr:purpose cv:Diagnostic ;
    rdfs:label "Generated block {i}"@en ; skos:definition "A generated diagnostic block."@en .
{abl} a owl:Class ; rdfs:subClassOf proc:NeuroablativeProcedure ;
    rdfs:label "Generated ablation {i}"@en ; skos:definition "A generated ablation."@en .
""")
    for key, code in codes.items():
        denotes = abl if key == "abl" else inj
        add_on = f"    gr:addOnTo cpt:{codes['inj']} ;\n" if key == "add" else ""
        out.append(f"""
cpt:{code} a gr:Code ;
    rdfs:label "{code} generated"@en ; skos:definition "A generated code."@en ;
    skos:inScheme cpt:scheme ; skos:notation "{code}" ; skos:prefLabel "Generated {code}"@en ;
    gr:denotes {denotes} ; gr:spinalRegion gr:LumbosacralRegion ; gr:levelsPerUnit 1 ;
{add_on}    gr:verification gr:VerificationU .

{p}:coverage-{code} a gr:CoverageRule ;
    rdfs:label "{code} covered"@en ; skos:definition "Generated coverage."@en ;
    gr:policy grk:{pid} ; gr:code cpt:{code} ; gr:coverageStatus gr:Covered ;
    gr:reference grk:ref-facet-rubric ; gr:verification gr:VerificationS .
""")
    for key, value, dtype, unit in (
        ("max-sessions", "2", "integer", "Count"),
        ("window", "12", "decimal", "Months"),
        ("interval", "2", "decimal", "Weeks"),
        ("min-relief", "80", "decimal", "Percent"),
        ("min-count", "2", "integer", "Count"),
        ("repeat-relief", "50", "decimal", "Percent"),
        ("repeat-months", "6", "decimal", "Months"),
        ("max-levels", "2", "integer", "Count"),
        ("pain-months", "3", "decimal", "Months"),
    ):
        out.append(_threshold(p, key, value, dtype, unit))
    both = f"{inj}, {abl}"
    rules = [
        ("code-covered", "gr:Procedure", ""),
        ("add-on", both, "gr:rule [ a gr:AddOnRequiresPrimary ] ;"),
        (
            "frequency",
            abl,
            f"gr:rule [ a gr:SessionLimit ; gr:procedureClass {abl} ; gr:maxSessions {p}:max-sessions ;"
            f" gr:window {p}:window ; gr:sameRegion true ] ;",
        ),
        (
            "interval",
            blk,
            f"gr:rule [ a gr:MinimumInterval ; gr:procedureClass {blk} ; gr:minInterval {p}:interval ] ;",
        ),
        (
            "blocks",
            abl,
            f"gr:rule [ a gr:QualifyingHistory ; gr:procedureClass {blk} ; gr:minCount {p}:min-count ;"
            f" gr:minRelief {p}:min-relief ; gr:sameRegion true ] ;",
        ),
        (
            "repeat",
            abl,
            f"gr:rule [ a gr:RepeatRequiresResponse ; gr:procedureClass {abl} ;"
            f" gr:minRelief {p}:repeat-relief ; gr:minReliefDuration {p}:repeat-months ] ;",
        ),
        ("levels", both, f"gr:rule [ a gr:LevelLimit ; gr:maxLevels {p}:max-levels ] ;"),
        ("no-radiculopathy", both, "gr:rule [ a gr:Exclusion ; gr:excludedClass dx:Radiculopathy ] ;"),
        ("axial", both, "gr:rule [ a gr:Requirement ; gr:requiredClass dx:AxialSpinePain ] ;"),
        ("guidance", both, "gr:rule [ a gr:ImageGuidanceRule ; gr:allowedGuidance cv:Fluoroscopy ] ;"),
        ("duration", both, "gr:needsDocumentation gr:PainHistoryRecord ;"),
        ("conservative", both, "gr:needsDocumentation gr:ConservativeCareRecord ;"),
    ]
    for n, (key, applies, rule) in enumerate(rules, start=1):
        out.append(_criterion(p, pid, key, n, applies, rule))
    out.append(f"""
{p}:step-care a gr:PathwayStep ; rdfs:label "Care"@en ; skos:definition "Generated step."@en ;
    gr:policy grk:{pid} ; gr:order 1 ; gr:procedureClass proc:ConservativeTherapy ;
    gr:completionCriterion {p}:conservative ; gr:action "Conservative care."@en .
{p}:step-blocks a gr:PathwayStep ; rdfs:label "Blocks"@en ; skos:definition "Generated step."@en ;
    gr:policy grk:{pid} ; gr:order 2 ; gr:procedureClass {blk} ;
    gr:completionCriterion {p}:blocks ; gr:action "Two blocks."@en .
{p}:step-ablation a gr:PathwayStep ; rdfs:label "Ablation"@en ; skos:definition "Generated step."@en ;
    gr:policy grk:{pid} ; gr:order 3 ; gr:procedureClass {abl} ; gr:action "Ablation."@en .
""")
    shapes = [
        _PREFIXES,
        ns,
        f"""
grs:CodeNotExcludedShape gr:checks {p}:code-covered .

grs:Gen{i:03d}DurationShape a sh:NodeShape ;
    rdfs:label "Generated duration"@en ;
    sh:targetClass cv:PainHistory ;
    sh:property grs:Gen{i:03d}DurationShape-months ;
    gr:checks {p}:duration .

grs:Gen{i:03d}DurationShape-months a sh:PropertyShape ;
    sh:path cv:durationMonths ; sh:name "months" ; sh:description "Long enough." ;
    sh:minCount 1 ; gr:minInclusiveFrom {p}:pain-months ;
    sh:message "Too short."@en ; sh:severity sh:Violation .

grs:Gen{i:03d}CareShape a sh:NodeShape ;
    rdfs:label "Generated care"@en ;
    sh:targetClass cv:Case ;
    sh:property grs:Gen{i:03d}CareShape-courses ;
    gr:checks {p}:conservative .

grs:Gen{i:03d}CareShape-courses a sh:PropertyShape ;
    sh:path cv:conservativeCare ; sh:name "care" ; sh:description "Failed care." ;
    sh:qualifiedValueShape grs:FailedConservativeCare ; sh:qualifiedMinCount 1 ;
    sh:message "No failed care."@en ; sh:severity sh:Violation .
""",
    ]
    return "".join(out), "".join(shapes)


def knowledge_base_with(n: int, dest: Path) -> Path:
    """A copy of the bundled knowledge base plus ``n`` generated policies, under ``dest``."""
    shutil.copytree(ROOT / "ontology", dest / "ontology")
    shutil.copytree(ROOT / "shapes", dest / "shapes")
    for i in range(1, n + 1):
        guideline, shapes = policy(i)
        (dest / "ontology" / "guidelines" / f"gen-{i:03d}.ttl").write_text(guideline)
        (dest / "shapes" / "criteria" / f"gen-{i:03d}.ttl").write_text(shapes)
    return dest


def case_with_history(items: int) -> bytes:
    """The facet RFA example with ``items`` history items (procedures, care, findings, conditions)."""
    case = json.loads((ROOT / "examples/cases/facet-rfa-initial.json").read_text())
    start = date(2010, 1, 4)
    kinds = ("procedure", "procedure", "care", "exam", "imaging", "condition")
    for n in range(max(0, items - 6)):  # the example already has 6 history items
        when = (start + timedelta(days=5 * n)).isoformat()
        doc = f"hist-{n}"
        case["documents"].append({"id": doc, "kind": "clinic-note", "date": when})
        kind = kinds[n % len(kinds)]
        if kind == "procedure":
            case.setdefault("priorProcedures", []).append(
                {"code": ("64483", "27096", "62323")[n % 3], "date": when, "laterality": "left",
                 "levels": ["L4-L5"], "percentRelief": 40, "reliefMonths": 1, "source": doc}
            )  # fmt: skip
        elif kind == "care":
            case["conservativeCare"].append(
                {"kind": "StructuredExercise", "weeks": 6, "outcome": "failed", "source": doc}
            )
        elif kind == "exam":
            case.setdefault("examFindings", []).append({"test": "FaberTest", "result": "negative", "source": doc})
        elif kind == "imaging":
            case["imagingFindings"].append({"kind": "DiscDegeneration", "levels": ["L2-L3"], "source": doc})
        else:
            case["conditions"].append({"code": "M47.816", "status": "active", "source": doc})
    return json.dumps(case).encode()


def case_with_relevant_history(items: int) -> bytes:
    """The facet RFA example with ``items`` history items the facet policy reads, none of which can be left out.

    Diagnostic medial branch blocks, facet RFAs and failed courses of care, in turn, from 2010 on.
    """
    case = json.loads((ROOT / "examples/cases/facet-rfa-initial.json").read_text())
    start = date(2010, 1, 4)
    for n in range(max(0, items - 6)):
        when = (start + timedelta(days=5 * n)).isoformat()
        doc = f"hist-{n}"
        case["documents"].append({"id": doc, "kind": "procedure-note", "date": when})
        kind = n % 3
        if kind == 2:
            case["conservativeCare"].append({"kind": "PhysicalTherapy", "weeks": 6, "outcome": "failed", "source": doc})
            continue
        case["priorProcedures"].append(
            {"code": "64493" if kind == 0 else "64635", "purpose": "diagnostic" if kind == 0 else "therapeutic",
             "date": when, "laterality": "bilateral", "levels": ["L4-L5", "L5-S1"], "percentRelief": 85,
             "reliefMonths": 7, "outcome": "positive", "source": doc}
        )  # fmt: skip
    return json.dumps(case).encode()

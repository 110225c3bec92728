"""Plain-language descriptions of case facts, for the criteria a determination lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.explain.generic_facts import _device, _observation, _treatment, _usage_series
from reasoner.explain.words import _code, _label, _num, _value, derived_value
from reasoner.knowledge import icd10cm
from reasoner.knowledge.entities import icd10cm_notation
from reasoner.model import Source
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_TYPE = RDF.type  # rdflib's RDF namespace answers each attribute through a Python __getattr__

_REQUESTED = frozenset({CV.RequestLine, CV.ServiceRequest})
_KIND_ORDER = (
    CV.RequestLine,
    CV.ServiceRequest,
    CV.Condition,
    CV.PriorProcedure,
    CV.ConservativeCare,
    CV.ExamFinding,
    CV.ImagingFinding,
    CV.PainHistory,
    CV.Observation,
    CV.Treatment,
    CV.Device,
    CV.UsageSeries,
)
_RANK: dict[Node, int] = {k: i for i, k in enumerate(_KIND_ORDER)}  # looked up by any type a node has


def most_specific_label(g: Graph, node: Node, kb: KnowledgeBase) -> str:
    """The label of the most specific knowledge-base class of a case node."""
    return _leaf_label(kb, frozenset(g.objects(node, _TYPE)))


@per_knowledge_base(maxsize=1024)  # a long history repeats a handful of type sets
def _leaf_label(kb: KnowledgeBase, classes: frozenset[Node]) -> str:
    types = [t for t in classes if isinstance(t, URIRef) and t in kb.superclasses and not str(t).startswith(str(CV))]
    leaves = sorted(t for t in types if not any(o != t and t in kb.superclasses.get(o, ()) for o in types))
    return kb.label(leaves[0]) if leaves else "item"


def _labels(g: Graph, kb: KnowledgeBase, node: Node, p: URIRef) -> list[str]:
    values = sorted((v for v in g.objects(node, p) if isinstance(v, URIRef)), key=lambda v: (_ORDER.get(v, 9), str(v)))
    return [kb.label(v) for v in values]


# A diagnostic response before a treatment result.
_ORDER = {URIRef(f"{CV}{name}"): i for i, name in enumerate(("Positive", "Negative", "Effective", "ShortTermRelief"))}


def _procedure_label(g: Graph, node: Node, kb: KnowledgeBase) -> str:
    """The most specific class of a prior procedure; each, when it has several purposes."""
    types = frozenset(g.objects(node, _TYPE))
    by_purpose = _by_purpose(kb) & types
    if len(by_purpose) > 1:
        supers = kb.superclasses
        leaves = sorted(c for c in by_purpose if not any(o != c and c in supers.get(o, ()) for o in by_purpose))
        if len(leaves) > 1:
            return " and ".join(kb.label(c) for c in leaves)
    return _leaf_label(kb, types)


@per_knowledge_base(maxsize=8)
def _by_purpose(kb: KnowledgeBase) -> frozenset[URIRef]:
    """The classes that specialise a procedure class by a purpose."""
    return frozenset(sub for options in kb.purposes.values() for _, sub in options)


def _diagnosis(kb: KnowledgeBase, iri: Node | None, *, short: bool = False) -> str:
    """An ICD-10-CM code in words: with its label, as deleted (and what replaced it), else as the release has it."""
    code = kb.codes.get(iri) if isinstance(iri, URIRef) else None
    named = _code(kb, iri) or "no code"
    if code is None:
        notation = icd10cm_notation(iri, kb.codes)
        item = icd10cm.release().get(notation) if notation else None
        named = named if named.startswith("ICD-10-CM") else f"ICD-10-CM {named}"
        if item is None:
            return f"{named}, not a code of {icd10cm.RELEASE}"
        return f"{named} {item.description}" + ("" if item.billable else " (a category, not a billable code)")
    if code.deleted_on is not None:
        after = sorted(kb.codes[r].notation for r in code.replaced_by if r in kb.codes)
        instead = f" (replaced by {', '.join(after[:-1])} and {after[-1]})" if len(after) > 1 else ""
        return f"{named}, deleted from ICD-10-CM on {code.deleted_on} and not a valid code{instead}"
    if short:
        label = code.label[:1].lower() + code.label[1:] if code.label[1:2].islower() else code.label
        return f"{named}, {label}"
    return f"{named} {code.label}"


def describe(g: Graph, node: Node, kb: KnowledgeBase) -> str:
    """One line describing a case fact, built from its properties (no free text from the case)."""
    types = set(g.objects(node, _TYPE))
    for kind, parts_of in _DESCRIBERS:  # the first kind the fact has
        if kind in types:
            return ", ".join(parts_of(g, kb, node, types)) or "documented item"
    return "documented item"


def _levels(g: Graph, node: Node) -> str:
    return ", ".join(sorted(str(v) for v in g.objects(node, CV.level)))


def _request_line(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    units = _value(g, node, CV.units)
    status = _label(g, kb, node, GR.coverageStatus)
    code = _value(g, node, CV.code)
    name = kb.codes[code].label if isinstance(code, URIRef) and code in kb.codes else "code not in the knowledge base"
    return [
        f"{_code(kb, code)} x {units} ({name})",
        f"coverage: {status}",
    ]


def _service_request(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    parts = [f"request dated {_value(g, node, CV.date)}"]
    for p in (CV.laterality, CV.imageGuidance, CV.purpose):
        if (lab := _label(g, kb, node, p)) is not None:
            parts.append(lab)
    contrast = _value(g, node, CV.contrast)
    if contrast is not None:
        said = isinstance(contrast, Literal) and contrast.toPython() is True  # an IRI's toPython() is itself
        parts.append("with contrast" if said else "without contrast")
    if levels := _levels(g, node):
        parts.append(f"levels {levels}")
    return parts


def _condition(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    code = _value(g, node, CV.code)
    where = (
        "primary diagnosis on the request"
        if (None, CV.primaryDiagnosis, node) in g
        else ("diagnosis on the request" if (None, CV.secondaryDiagnosis, node) in g else "condition in the history")
    )
    kind = _value(g, node, CV.conditionKind)
    named = kb.label(kind) if code is None and isinstance(kind, URIRef) else _diagnosis(kb, code)
    parts = [named, where]
    if (lab := _label(g, kb, node, CV.clinicalStatus)) is not None:
        parts.append(lab)
    if (onset := _value(g, node, CV.onset)) is not None:
        parts.append(f"since {onset}")
    return parts


def _prior_procedure(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    notation = _code(kb, _value(g, node, CV.code))
    parts = [_procedure_label(g, node, kb) + (f" ({notation})" if notation else "")]
    if (d := _value(g, node, CV.date)) is not None:
        parts.append(str(d))
    if (lab := _label(g, kb, node, CV.laterality)) is not None:
        parts.append(lab)
    if levels := _levels(g, node):
        parts.append(f"levels {levels}")
    if agents := _labels(g, kb, node, CV.injectate):
        parts.append("injected " + " and ".join(agents))
    if (pr := _value(g, node, CV.percentRelief)) is not None:
        parts.append(f"{_num(pr)} % relief")
    if (rm := _value(g, node, CV.reliefMonths)) is not None:
        parts.append(f"relief for {_counted(rm, 'month')}")
    if (fi := _value(g, node, CV.functionalImprovement)) is not None:
        parts.append(f"{_num(fi)} % better function")
    if (fm := _value(g, node, CV.functionalImprovementMonths)) is not None:
        parts.append(f"function better for {_counted(fm, 'month')}")
    if outcomes := _labels(g, kb, node, CV.outcome):
        parts.append(f"outcome {', '.join(outcomes)}")
    return parts


def _conservative_care(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    parts = [kb.label(g.value(node, CV.careKind))]  # type: ignore[arg-type]  # the case shapes require it
    if (w := _value(g, node, CV.weeks)) is not None:
        parts.append(_counted(w, "week"))
    if (lab := _label(g, kb, node, CV.outcome)) is not None:
        parts.append(f"result {lab}")
    return parts


def _exam_finding(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    result = _label(g, kb, node, CV.result) or "result not recorded"
    parts = [f"{kb.label(g.value(node, CV.test))}: {result}"]  # type: ignore[arg-type]  # the case shapes require it
    if (lab := _label(g, kb, node, CV.laterality)) is not None:
        parts.append(lab)
    return parts


def _imaging_finding(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    parts = [kb.label(g.value(node, CV.findingKind))]  # type: ignore[arg-type]  # the case shapes require it
    if levels := _levels(g, node):
        parts.append(f"at {levels}")
    if GR.PainGeneratorFinding in types:
        parts.append("addressed" if (node, GR.addressed, None) in g else "not addressed")
    return parts


def _pain_history(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    parts: list[str] = []
    if (m := _value(g, node, CV.durationMonths)) is not None:
        parts.append(f"pain for {_counted(m, 'month')}")
    if (s := _value(g, node, CV.painScore)) is not None:
        parts.append(f"score {_num(s)}/10")
    if (s := _value(g, node, CV.disabilityScore)) is not None:
        parts.append(f"disability {_num(s)} %")
    for p in (CV.painCharacter, CV.painLocation):
        if (lab := _label(g, kb, node, p)) is not None:
            parts.append(lab)
    return parts


_DESCRIBERS: tuple[tuple[URIRef, Callable[[Graph, KnowledgeBase, Node, set[Node]], list[str]]], ...] = (
    (CV.RequestLine, _request_line),
    (CV.ServiceRequest, _service_request),
    (CV.Condition, _condition),
    (CV.PriorProcedure, _prior_procedure),
    (CV.ConservativeCare, _conservative_care),
    (CV.ExamFinding, _exam_finding),
    (CV.ImagingFinding, _imaging_finding),
    (CV.PainHistory, _pain_history),
    (CV.Observation, _observation),
    (CV.Treatment, _treatment),
    (CV.Device, _device),
    (CV.UsageSeries, _usage_series),
    (GR.DerivedValue, lambda g, kb, node, _types: [_derived(g, kb, node)]),
)


def _derived_label(g: Graph, kb: KnowledgeBase, node: Node) -> str:
    """The label of a derived node's derivation, lower-cased for a sentence ("the latest AHI or RDI")."""
    d = g.value(node, GR.derivation)
    name = kb.label(d) if isinstance(d, URIRef) else "derived value"
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def _derived(g: Graph, kb: KnowledgeBase, node: Node) -> str:
    """A derived fact in words: what was selected, the elapsed time, or the best window of a series.

    For example "best 30-day window 2026-01-10 to 2026-02-08: 23 of 30 days with at least 4 hours".
    """
    d = kb.derivations_by_iri.get(g.value(node, GR.derivation))  # type: ignore[arg-type]  # any term asked
    name = _derived_label(g, kb, node)
    if d is not None and d.kind == GR.WindowedSeriesAggregate:
        width = d.window_value
        unit = d.sample_unit
        unit_name = kb.label(unit) if unit is not None else ""
        per_day = f"{_num(d.sample_value or Literal(''))} {unit_name}"
        start, end, count = (g.value(node, p) for p in (GR.windowStart, GR.windowEnd, GR.sampleCount))
        window = f"best {_num(width or Literal(''))}-day window {start} to {end}"
        if count is not None:
            return f"{window}: {count} of {_num(width or Literal(''))} days with at least {per_day.strip()}"
        gaps = g.value(node, GR.gapDays)
        if start is None:
            return f"{name}: no usage data"
        return f"{window}: not known, no data for {gaps}" if gaps is not None else f"{name}: not known"
    selected, value = g.value(node, GR.selected), g.value(node, GR.derivedValue)
    days, day = g.value(node, GR.elapsedDays), g.value(node, GR.dayNumber)
    if selected is not None:
        text = f"{name}: {derived_value(value, kb)}, " if value is not None else f"{name}: "
        return text + name_fact(g, selected, kb) + (f", {_counted(days, 'day')} before" if days is not None else "")
    if d is not None and d.kind == GR.Elapsed and days is not None:
        return f"{name}: {_counted(days, 'day')} (day {day})"
    return f"{name}: none found"


def _name_derived(g: Graph, fact: Node, kb: KnowledgeBase) -> str | None:
    """A derived value left unstated, in words: the derivation's missing text (and the days without data)."""
    d = g.value(fact, GR.derivation)
    if not isinstance(d, URIRef):
        return None
    found = kb.derivations_by_iri.get(d)
    text = (found.missing_text if found is not None else None) or kb.label(d)
    gaps = g.value(fact, GR.gapDays)
    return f"{text.rstrip('.')} (no data for {gaps})" if gaps is not None else text.rstrip(".")


def name_gap(g: Graph, fact: Node, prop: Node, kb: KnowledgeBase) -> str:
    """A value the case does not state, in words: what, of which fact (its kind and date), from which document.

    For example "percent relief of the medial branch block of 2026-03-02 (procedure note mbb-1-note)".
    """
    derived = _name_derived(g, fact, kb)
    if derived is not None:
        return derived
    what = kb.label(prop) if isinstance(prop, URIRef) else "a value"
    return f"{what} of {name_fact(g, fact, kb)}"


def name_fact(g: Graph, fact: Node, kb: KnowledgeBase) -> str:
    """A case fact in a few words a sentence can hold; a requested code as its code ("CPT 64772").

    For example "the sacral lateral branch block of 2026-01-12 (procedure note lbb-note-2)".
    """
    types = set(g.objects(fact, _TYPE))
    if CV.RequestLine in types:
        return _code(kb, g.value(fact, CV.code)) or "a requested code"
    if GR.DerivedValue in types:  # by the fact it selected, with its value
        selected, value = g.value(fact, GR.selected), g.value(fact, GR.derivedValue)
        if selected is None:
            return _derived(g, kb, fact)
        if value is None:
            return name_fact(g, selected, kb)
        if isinstance(value, Literal) and value.datatype in (XSD.decimal, XSD.integer):
            return name_fact(g, selected, kb) + f" at {derived_value(value, kb)}"
        return name_fact(g, selected, kb) + f", {_derived_label(g, kb, fact)}: {derived_value(value, kb)}"
    if GR.RequestDiagnosis in types:  # by its code: what the request says, and what a reviewer checks
        role = "primary diagnosis" if (None, CV.primaryDiagnosis, fact) in g else "diagnosis"
        return f"the {role} {_diagnosis(kb, g.value(fact, CV.code), short=True)}"
    if CV.ServiceRequest in types:
        kind = "request"
    elif CV.PainHistory in types:
        kind = "pain history"
    else:
        kind = most_specific_label(g, fact, kb)
        if kind == "item":
            case_kinds = sorted(t for t in types if isinstance(t, URIRef) and str(t).startswith(str(CV)))
            kind = kb.label(case_kinds[0]) if case_kinds else "documented item"
    if len(kind) > 1 and kind[1].islower():  # "Medial branch block", but not "SIJ injection"
        kind = kind[0].lower() + kind[1:]
    text = f"the {kind}"
    if (when := g.value(fact, CV.date)) is not None:
        text += f" of {when}"
    elif CV.Device in types or CV.Treatment in types:  # dated by their start; their result is what counts
        text += "".join(
            f" {word} {v}" for word, v in (("from", g.value(fact, CV.start)), ("to", g.value(fact, CV.end))) if v
        )
        outcome = g.value(fact, CV.outcome)
        text += f", result {kb.label(outcome)}" if isinstance(outcome, URIRef) else ""
    source = source_of(g, fact, kb)
    if source is not None:
        text += f" ({source.kind.lower()} {source.id})"
    return text


def _counted(value: Node, unit: str) -> str:
    """``1 month``, ``2.5 months``."""
    n = _num(value)
    return f"{n} {unit}{'' if n == '1' else 's'}"


def source_of(g: Graph, node: Node, kb: KnowledgeBase) -> Source | None:
    """The source document of a fact, if it names one; a derived fact's is that of the fact it selected."""
    doc = g.value(node, CV.source)
    if doc is None and (selected := g.value(node, GR.selected)) is not None:
        doc = g.value(selected, CV.source)
    if doc is None:
        return None
    date, title = g.value(doc, CV.date), g.value(doc, CV.title)
    named = g.value(doc, CV.identifier)
    ident = str(named) if named is not None else str(doc).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return Source(
        id=ident,
        kind=_label(g, kb, doc, CV.documentKind) or "document",
        date=None if date is None else str(date),
        title=None if title is None else str(title),
    )


def facts_of_class(g: Graph, cls: URIRef) -> list[Node]:
    """Case nodes of a class, excluding request lines and the request unless asked for by name.

    A derivation (reasoner/knowledge/derivations.py) named as a class gives its derived node.
    """
    keyed = []
    for node in (*g.subjects(_TYPE, cls), *g.subjects(GR.derivation, cls)):
        types = tuple(g.objects(node, _TYPE))
        if cls not in _REQUESTED and not _REQUESTED.isdisjoint(types):
            continue
        keyed.append((min((_RANK[t] for t in types if t in _RANK), default=99), str(node), node))
    keyed.sort(key=lambda k: k[:2])
    return [node for _rank, _name, node in keyed]

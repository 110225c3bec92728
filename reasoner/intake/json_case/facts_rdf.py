"""The generic facts of a JSON case to the case graph: observations, treatments, devices and usage series.

Values are converted to their kind's canonical unit (reasoner/knowledge/measures.py); a unit that
does not convert, a value out of range or a word outside the kind's value set is a problem at its
field path (a 422 naming the field, never the value). An observation whose LOINC code the
knowledge base does not know keeps its code, date and source only: no policy can read it.
Devices a usage series names are always built, so the series' link never dangles.
"""

from __future__ import annotations

from decimal import Decimal

from rdflib import RDF, XSD, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import iri, literal
from reasoner.intake.json_case.facts import ComponentIn, ObservationIn, UsageSeriesIn
from reasoner.intake.json_case.schema import VALUES, CaseIn
from reasoner.intake.json_case.triples import Entry, Triples, code_iri
from reasoner.knowledge.measures import coded, measure
from reasoner.knowledge.units import ObservationKind
from reasoner.vocab import CV, PROC

_TYPE, _DATE, _DECIMAL, _BOOLEAN = RDF.type, XSD.date, XSD.decimal, XSD.boolean


def generic_facts(t: Triples, case: CaseIn) -> None:
    """Observations, treatments, devices and usage series, in that order (devices a series names kept)."""
    _observations(t, case)
    _treatments(t, case)
    devices = _usage_series(t, case)
    _devices(t, case, devices)


def _value(t: Triples, f: Entry, o: ComponentIn | ObservationIn, kind: ObservationKind | None, where: str) -> None:
    """The observation's value, coded value or yes-or-no, checked against its kind (none: kept as its code only)."""
    if kind is None:
        return
    if o.value is not None:
        value, field, problem = measure(t.kb, kind, o.value, o.unit)
        if value is None:
            t.problems.append((f"{where}.{field}", problem))
            return
        f[CV.value] = {literal(value, _DECIMAL): None}
        if kind.unit is not None:
            f[CV.unit] = {kind.unit: None}
    elif o.valueCode is not None:
        code, problem = coded(kind, o.valueCode)
        if code is None:
            t.problems.append((f"{where}.valueCode", problem))
            return
        f[CV.valueCode] = {code: None}
    elif o.valueBoolean is not None:
        if not kind.boolean:
            t.problems.append((f"{where}.valueBoolean", f"{kind.label} is not a yes-or-no finding"))
            return
        f[CV.valueBoolean] = {literal(o.valueBoolean, _BOOLEAN): None}


def _method(t: Triples, method: str, where: str) -> URIRef:
    if method[0].isupper() and not method[1:].isdigit():
        return t.known(PROC, method, where, "a method (a procedure class)")
    return t.code(method)


def _observations(t: Triples, case: CaseIn) -> None:
    for i, o in enumerate(case.observations):
        where = f"observations.{i}"
        prop, term, kind = t.observation(o.code, f"{where}.code")
        pairs = [(prop, term)]
        if o.method is not None:
            pairs.append((CV.method, _method(t, o.method, f"{where}.method")))
        parts = [t.observation(c.code, f"{where}.components.{j}.code") for j, c in enumerate(o.components)]
        # A policy may read a component's kind (a recording time) and not its observation's.
        if not t.wanted(CV.observation, i, o.source, None, *pairs, *((cp, ct) for cp, ct, _k in parts)):
            continue
        f = t.fact("observation", i, CV.Observation, CV.observation, o.source)
        for p, v in pairs:
            f[p] = {v: None}
        _value(t, f, o, kind, where)
        if o.date is not None:
            f[CV.date] = {literal(o.date, _DATE): None}
        if o.period is not None:
            for p, day in ((CV.start, o.period.start), (CV.end, o.period.end)):
                if day is not None:
                    f[p] = {literal(day, _DATE): None}
        if o.components:
            f[CV.component] = {}
        for j, (c, (cprop, cterm, ckind)) in enumerate(zip(o.components, parts, strict=True)):
            part = iri(f"{t.base}observation-{i + 1}-c-{j + 1}")
            f[CV.component][part] = None
            po: Entry = {_TYPE: {CV.Observation: None}, cprop: {cterm: None}}
            _value(t, po, c, ckind, f"{where}.components.{j}")
            t.spo[part] = po


def _dated(f: Entry, start: object, end: object) -> None:
    for p, day in ((CV.start, start), (CV.end, end)):
        if day is not None:
            f[p] = {literal(day, _DATE): None}


def _treatments(t: Triples, case: CaseIn) -> None:
    for i, tr in enumerate(case.treatments):
        pairs = []
        if tr.code is not None:
            pairs.append((CV.code, t.code(tr.code)))
        if tr.kind is not None:
            pairs.append((CV.treatmentKind, t.cls(PROC, tr.kind, f"treatments.{i}.kind", PROC.MedicalTreatment)))
        if not t.wanted(CV.treatment, i, tr.source, None, *pairs):
            continue
        f = t.fact("treatment", i, CV.Treatment, CV.treatment, tr.source)
        for p, v in pairs:
            f[p] = {v: None}
        _dated(f, tr.start, tr.end)
        if tr.outcome is not None:
            f[CV.outcome] = {VALUES[tr.outcome]: None}


def _devices(t: Triples, case: CaseIn, named: set[str]) -> None:
    for i, d in enumerate(case.devices):
        code = code_iri(d.code)
        if d.id in named:
            t.cited.add(d.source)
        elif not t.wanted(CV.device, i, d.source, None, (CV.code, code)):
            continue
        f = t.fact("device", i, CV.Device, CV.device, d.source)
        f[CV.code] = {code: None}
        _dated(f, d.start, d.end)
        if d.outcome is not None:
            f[CV.outcome] = {VALUES[d.outcome]: None}


def _usage_series(t: Triples, case: CaseIn) -> set[str]:
    """The usage series kept; returns the ids of the devices they name."""
    devices = {d.id: i for i, d in enumerate(case.devices) if d.id}
    named: set[str] = set()
    for i, s in enumerate(case.usageSeries):
        where = f"usageSeries.{i}"
        prop, term, kind = t.observation(s.code, f"{where}.code")
        if not t.wanted(CV.usageSeries, i, s.source, None, (prop, term)):
            continue
        f = t.fact("series", i, CV.UsageSeries, CV.usageSeries, s.source)
        f[prop] = {term: None}
        if s.device is not None:
            named.add(s.device)
            f[CV.forDevice] = {iri(f"{t.base}device-{devices[s.device] + 1}"): None}
        if kind is not None and kind.unit is not None:
            f[CV.unit] = {kind.unit: None}
        dated = s.dated()
        if dated:
            _dated(f, min(day for day, _ in dated), max(day for day, _ in dated))
        f[CV.sample] = _samples(t, s, i, kind, where)
    return named


def _samples(t: Triples, s: UsageSeriesIn, i: int, kind: ObservationKind | None, where: str) -> dict[Node, None]:
    """The series' samples: each a node with its date, and its value when the day has one."""
    out: dict[Node, None] = {}
    field = "values" if s.values else "samples"
    for k, (day, value) in enumerate(s.dated()):
        node = iri(f"{t.base}series-{i + 1}-day-{k + 1}")
        out[node] = None
        po: Entry = {_TYPE: {CV.UsageSample: None}, CV.date: {literal(day, _DATE): None}}
        if value is not None and kind is not None:
            canonical, bad, problem = measure(t.kb, kind, value, s.unit)
            if canonical is None:
                at = f"{where}.unit" if bad == "unit" else f"{where}.{field}.{k}" + ("" if s.values else ".value")
                t.problems.append((at, problem))
                if bad == "unit":
                    break
                continue
            po[CV.value] = {literal(canonical, _DECIMAL): None}
        elif value is not None:
            po[CV.value] = {literal(Decimal(value), _DECIMAL): None}
        t.spo[node] = po
    return out

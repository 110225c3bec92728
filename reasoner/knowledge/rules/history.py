"""The rule kinds that read the procedure history: sessions and earlier procedures.

``gr:SessionLimit`` (sessions in a rolling window), ``gr:MinimumInterval`` (since the last
procedure), ``gr:QualifyingHistory`` (earlier procedures that gave enough relief) and
``gr:RepeatRequiresResponse`` (a repeat needs the earlier one's relief); the last two also write
a documentation check, so an earlier procedure without its relief recorded makes the criterion
unknown (pended), never not met.
"""

from __future__ import annotations

from rdflib import SH, Literal, URIRef

from reasoner.knowledge.rules.rule import Rule
from reasoner.vocab import CV, GR


def _sessions(r: Rule, suffix: str, cls: URIRef, label: str, *, prior: bool, window: URIRef | None) -> URIRef:
    """Sessions of ``cls`` (earlier ones only when ``prior``) with a record that passes the rule's filters.

    A session is what one visit did, however many sides, lines or records it has (reasoner/enrich/sessions.py).
    """
    records = r.counted(f"{suffix}-record", cls, f"{label}: a record that counts", prior=prior, window=window)
    s = r.node_shape(suffix, label)
    r.shapes.add((s, SH["class"], GR.PriorSession if prior else GR.Session))
    r.prop(
        s,
        "record",
        GR.sessionRecord,
        "records of the session that count",
        qualifiedValueShape=records,
        qualifiedMinCount=Literal(1),
    )
    return s


def session_limit(r: Rule) -> None:
    """``gr:SessionLimit``: the requested session and those before it, in the window, within the limit."""
    cls = r.one(GR.procedureClass)
    assert isinstance(cls, URIRef)
    limit, window = r.threshold(GR.maxSessions), r.threshold(GR.window, required=False)
    name = r.label(cls).lower()
    counted = _sessions(r, "session", cls, f"A {name} session counted against the limit", prior=False, window=window)
    root = r.node_shape("", f"{r.label(cls)} sessions within the limit", checks=True, targetNode=cls)
    r.prop(
        root,
        "sessions",
        r.inverse(GR.sessionOf),
        f"{name} sessions, the requested one included",
        message=f"The request would exceed the number of {name} sessions allowed.",
        severity=SH.Violation,
        qualifiedValueShape=counted,
        bind=(GR.qualifiedMaxCountFrom, limit),
    )


def minimum_interval(r: Rule) -> None:
    """``gr:MinimumInterval``: no earlier procedure inside the minimum interval."""
    cls = r.one(GR.procedureClass)
    assert isinstance(cls, URIRef)
    interval = r.threshold(GR.minInterval)
    name = r.label(cls).lower()
    recent = r.counted("recent", cls, f"An earlier {name} inside the minimum interval", prior=True, window=interval)
    root = r.node_shape("", f"Minimum interval since the last {name}", checks=True, targetNode=cls)
    r.prop(
        root,
        "recent",
        r.inverse_type(),
        f"earlier {name}s inside the minimum interval",
        message=f"An earlier {name} is too recent.",
        severity=SH.Violation,
        qualifiedValueShape=recent,
        qualifiedMaxCount=Literal(0),
    )


def _response(r: Rule, suffix: str, cls: URIRef) -> tuple[URIRef, bool]:
    """A node shape: an earlier procedure that gave enough relief, for long enough (when asked).

    With a functional alternative (``gr:minFunctionalImprovement``) it is either enough relief or
    enough improvement in function (for long enough, when ``gr:minFunctionalImprovementDuration``
    asks): ``sh:or``, so relief and function both unstated is unknown and either met is met.
    """
    relief, months = r.threshold(GR.minRelief), r.threshold(GR.minReliefDuration, required=False)
    function = r.functional_alternative()
    name = r.label(cls).lower()
    s = r.node_shape(suffix, f"An earlier {name} with enough relief", targetClass=cls)
    r.shapes.add((s, SH["class"], cls))
    r.shapes.add((s, SH["class"], CV.PriorProcedure))
    if function is not None:
        r.shapes.add((s, SH.severity, SH.Info))
        by_relief = r.node_shape(f"{suffix}-relief", f"An earlier {name} with enough relief")
        by_function = r.node_shape(f"{suffix}-function", f"An earlier {name} with enough functional improvement")
        r.shapes.add((s, SH["or"], r.rdf_list([by_relief, by_function])))
        _improvement(r, by_function, name, "function", function[0], function[1])
        s = by_relief
    _improvement(r, s, name, "relief", relief, months)
    return r.iri(suffix), months is not None


# For each kind of improvement: the suffix, property and name of its amount, of its duration, and its words.
_IMPROVEMENTS = {
    "relief": ("relief", CV.percentRelief, "percent relief", "duration", CV.reliefMonths, "months of relief"),
    "function": (
        "function",
        CV.functionalImprovement,
        "percent functional improvement",
        "function-duration",
        CV.functionalImprovementMonths,
        "months of functional improvement",
    ),
}


def _improvement(r: Rule, s: URIRef, name: str, kind: str, amount: URIRef, months: URIRef | None) -> None:
    """Enough improvement of one kind (relief, function), for long enough when ``months`` asks."""
    suffix, prop, label, months_suffix, months_prop, months_label = _IMPROVEMENTS[kind]
    what = "relief" if kind == "relief" else "functional improvement"
    r.prop(
        s,
        suffix,
        prop,
        label,
        minCount=Literal(1),
        bind=(GR.minInclusiveFrom, amount),
        message=f"This {name} did not give enough recorded {what}.",
    )
    if months is not None:
        r.prop(
            s,
            months_suffix,
            months_prop,
            months_label,
            minCount=Literal(1),
            bind=(GR.minInclusiveFrom, months),
            message=f"The {what} from this {name} did not last long enough.",
        )


def qualifying_history(r: Rule) -> None:
    """``gr:QualifyingHistory``: enough earlier sessions that gave enough relief."""
    cls = r.one(GR.procedureClass)
    assert isinstance(cls, URIRef)
    name = r.label(cls).lower()
    minimum = r.threshold(GR.minCount, required=False)
    window = r.threshold(GR.window, required=False)
    filtered = r.counted("earlier", cls, f"An earlier {name} that counts", prior=True, window=window)
    relief, timed = _response(r, "relief", cls)
    good = r.node_shape("qualifying", f"An earlier {name} that counts, with enough relief", targetClass=cls)
    r.shapes.add((good, SH.node, relief))
    r.shapes.add((good, SH.node, filtered))
    r.onto.add((r.criterion, GR.qualifyingShape, good))
    # A session qualifies when every record it is judged by (those on the request's sides) gave the relief.
    session = _sessions(r, "session", cls, f"An earlier {name} session with enough relief", prior=True, window=window)
    r.prop(session, "judged", GR.judgedRecord, "records the session is judged by, each with enough relief", node=relief)
    root = r.node_shape("", f"Enough qualifying earlier {name} sessions", checks=True, targetNode=cls)
    count = {"bind": (GR.qualifiedMinCountFrom, minimum)} if minimum is not None else {"qualifiedMinCount": Literal(1)}
    r.prop(
        root,
        "qualifying",
        r.inverse(GR.sessionOf),
        f"qualifying earlier {name} sessions",
        message=f"Too few earlier {name}s gave the relief required.",
        severity=SH.Violation,
        qualifiedValueShape=session,
        **count,
    )
    r.records(cls, filtered, timed)


def repeat_requires_response(r: Rule) -> None:
    """``gr:RepeatRequiresResponse``: every earlier procedure at the same site gave enough relief."""
    cls = r.one(GR.procedureClass)
    assert isinstance(cls, URIRef)
    name = r.label(cls).lower()
    window = r.threshold(GR.window, required=False)
    earlier = r.counted("earlier", cls, f"An earlier {name} at the same site", prior=True, window=window)
    r.onto.add((r.criterion, GR.scopeShape, earlier))  # the facts it leaves out are listed as not counted
    good, timed = _response(r, "sustained", cls)
    r.onto.add((r.criterion, GR.qualifyingShape, good))
    failed = r.node_shape("unsustained", f"An earlier {name} without enough relief")
    r.shapes.add((failed, SH.node, earlier))
    r.shapes.add((failed, SH["not"], good))
    root = r.node_shape("", f"Earlier {name}s gave enough relief", checks=True, targetNode=cls)
    r.prop(
        root,
        "unsustained",
        r.inverse_type(),
        f"earlier {name}s without enough relief",
        message=f"An earlier {name} did not give the relief a repeat requires.",
        severity=SH.Violation,
        qualifiedValueShape=failed,
        qualifiedMaxCount=Literal(0),
    )
    r.records(cls, earlier, timed)

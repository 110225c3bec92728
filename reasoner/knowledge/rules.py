"""Rule declarations -> SHACL shapes, at load.

Most coverage criteria are one of a few kinds: a limit on sessions in a rolling window, a minimum
interval, earlier procedures that must have given enough relief, levels per session, excluded or
required conditions, excluded techniques, the image guidance allowed, an add-on code that needs
its primary code. An author declares such a criterion's rule on the criterion in the guideline
file (``gr:rule [ a gr:SessionLimit ; ... ]``, vocabulary in ontology/core.ttl) and this module
writes the shapes: ordinary SHACL that binds thresholds by reference (``gr:maxInclusiveFrom`` and
friends), so the naive reference evaluation, lint and impact see them like hand-written shapes.

A rule that reads relief from earlier procedures also writes a documentation check: an earlier
procedure without its relief recorded makes the criterion unknown (pended), never not met.

Generated IRIs are stable: ``grs:rule/<policy>/<criterion>`` plus a suffix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal as TypingLiteral
from typing import overload

from rdflib import RDF, RDFS, SH, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SKOS
from rdflib.term import Node

from reasoner.errors import KnowledgeBaseError
from reasoner.vocab import BASE, CV, GR

GRS = BASE + "shapes/"
_KB = BASE + "kb/"
_DOC = BASE + "kb/records/"
_ELAPSED: dict[Node | None, URIRef] = {
    GR.Months: GR.monthsBeforeRequest,
    GR.Weeks: GR.weeksBeforeRequest,
    GR.Days: GR.daysBeforeRequest,
}
_CONDITION_PATHS = (
    (CV.condition,),
    (CV.request, CV.primaryDiagnosis),
    (CV.request, CV.secondaryDiagnosis),
    (CV.painHistory,),
    (CV.imagingFinding,),
)


@dataclass
class _Rule:
    """One declaration being expanded."""

    onto: Graph
    shapes: Graph
    criterion: URIRef
    node: Node
    tail: str

    def iri(self, suffix: str = "") -> URIRef:
        return URIRef(f"{GRS}rule/{self.tail}{'-' + suffix if suffix else ''}")

    @overload
    def one(self, p: URIRef, *, required: TypingLiteral[True] = ...) -> Node: ...
    @overload
    def one(self, p: URIRef, *, required: bool) -> Node | None: ...
    def one(self, p: URIRef, *, required: bool = True) -> Node | None:
        values = list(self.onto.objects(self.node, p))
        if len(values) > 1 or (required and not values):
            raise KnowledgeBaseError(f"rule of {self.tail}: needs {'exactly' if required else 'at most'} one {_n(p)}")
        return values[0] if values else None

    def many(self, p: URIRef) -> list[URIRef]:
        values = sorted(v for v in self.onto.objects(self.node, p) if isinstance(v, URIRef))
        if not values:
            raise KnowledgeBaseError(f"rule of {self.tail}: needs at least one {_n(p)}")
        return values

    @overload
    def threshold(self, p: URIRef, *, required: TypingLiteral[True] = ...) -> URIRef: ...
    @overload
    def threshold(self, p: URIRef, *, required: bool) -> URIRef | None: ...
    def threshold(self, p: URIRef, *, required: bool = True) -> URIRef | None:
        t = self.one(p, required=required)
        if t is not None and (t, RDF.type, GR.Threshold) not in self.onto:
            raise KnowledgeBaseError(f"rule of {self.tail}: {_n(p)} must name a gr:Threshold")
        # Not None when required (one() raises); the knowledge base indexes only IRI-named thresholds.
        return t  # type: ignore[return-value]

    def flag(self, p: URIRef) -> bool:
        return self.onto.value(self.node, p) == Literal(True)

    def label(self, cls: URIRef) -> str:
        text = self.onto.value(cls, RDFS.label)
        return str(text) if text is not None else _n(cls)

    # --- writing shapes ----------------------------------------------------------------------

    def node_shape(self, suffix: str, label: str, *, checks: bool = False, **extra: Node) -> URIRef:
        s = self.iri(suffix)
        self.shapes.add((s, RDF.type, SH.NodeShape))
        self.shapes.add((s, RDFS.label, Literal(label, lang="en")))
        self.shapes.add((s, GR.expandedFrom, self.criterion))
        if checks:
            self.shapes.add((s, GR.checks, self.criterion))
        for key, value in extra.items():
            self.shapes.add((s, SH[key], value))
        return s

    def prop(
        self,
        owner: URIRef,
        suffix: str,
        path: Node,
        name: str,
        *,
        message: str | None = None,
        severity: URIRef = SH.Info,
        bind: tuple[URIRef, URIRef] | None = None,
        in_: Node | None = None,
        **constraints: Node,
    ) -> URIRef:
        s = URIRef(f"{owner}--{suffix}")  # "--": never the IRI of a node shape
        self.shapes.add((owner, SH.property, s))
        self.shapes.add((s, RDF.type, SH.PropertyShape))
        self.shapes.add((s, SH.path, path))
        self.shapes.add((s, SH.name, Literal(name)))
        self.shapes.add((s, SH.description, Literal(name[0].upper() + name[1:] + ".")))
        self.shapes.add((s, SH.severity, severity))
        if message is not None:
            self.shapes.add((s, SH.message, Literal(message, lang="en")))
        if bind is not None:
            self.shapes.add((s, bind[0], bind[1]))
        for key, value in constraints.items():
            self.shapes.add((s, SH[key], value))
        if in_ is not None:  # sh:in ("in" is a Python keyword), after the other constraints as when it was one of them
            self.shapes.add((s, SH["in"], in_))
        return s

    def inverse_type(self) -> BNode:
        b = BNode()
        self.shapes.add((b, SH.inversePath, RDF.type))
        return b

    def sequence(self, *steps: Node) -> Node:
        if len(steps) == 1:
            return steps[0]
        b = BNode()
        Collection(self.shapes, b, list(steps))
        return b

    def alternatives(self, paths: tuple[tuple[URIRef, ...], ...]) -> BNode:
        b, alts = BNode(), BNode()
        Collection(self.shapes, alts, [self.sequence(*p) for p in paths])
        self.shapes.add((b, SH.alternativePath, alts))
        return b

    def inverse(self, path: URIRef) -> BNode:
        b = BNode()
        self.shapes.add((b, SH.inversePath, path))
        return b

    def inverse_alternatives(self, paths: tuple[tuple[URIRef, ...], ...]) -> BNode:
        """``^(a | b/c)`` written as ``(^a | ^c/^b)``: pyshacl walks ``^(b/c)`` as ``^b/^c``, missing every fact."""
        b, alts = BNode(), BNode()
        Collection(self.shapes, alts, [self.sequence(*(self.inverse(step) for step in reversed(p))) for p in paths])
        self.shapes.add((b, SH.alternativePath, alts))
        return b

    def rdf_list(self, items: list[URIRef]) -> BNode:
        b = BNode()
        Collection(self.shapes, b, list(items))
        return b

    def counted(self, suffix: str, cls: URIRef, label: str, *, prior: bool, window: URIRef | None = None) -> URIRef:
        """Instances of ``cls`` (earlier ones only when ``prior``) that pass the rule's filters."""
        s = self.node_shape(suffix, label)
        self.shapes.add((s, SH["class"], cls))
        if prior:
            self.shapes.add((s, SH["class"], CV.PriorProcedure))
        self.shapes.add((s, SH["not"], URIRef(GRS + "AddOnService")))  # an add-on line is not a session
        if window is not None:
            self.prop(
                s,
                "elapsed",
                self.elapsed(window),
                "time before the request",
                minCount=Literal(1),
                bind=(GR.maxExclusiveFrom, window),
            )
        if self.flag(GR.sameRegion):
            self.prop(s, "region", GR.sameRegionAsRequest, "same spinal region as the request", hasValue=Literal(True))
        if self.flag(GR.sameSide):
            self.prop(s, "side", GR.sameSideAsRequest, "same side as the request", hasValue=Literal(True))
        self.site_scope(s)
        return s

    def site_scope(self, s: URIRef) -> None:
        """The rest of a rule's site: the request's levels, and the most recent procedure at a site of it."""
        if self.flag(GR.sameLevel):
            self.prop(s, "level", GR.sameLevelAsRequest, "at a level of the request", hasValue=Literal(True))
        if self.flag(GR.mostRecentOnly):
            self.prop(s, "latest", GR.latestAtSite, "the most recent at a site of the request", hasValue=self.criterion)

    def elapsed(self, threshold: URIRef) -> URIRef:
        unit = self.onto.value(threshold, GR.unit)
        if unit not in _ELAPSED:
            raise KnowledgeBaseError(f"rule of {self.tail}: {_n(threshold)} must be in months, weeks or days")
        return _ELAPSED[unit]

    def records(self, cls: URIRef, counted: URIRef, need_duration: bool) -> None:
        """A documentation check: every counted earlier procedure has its relief recorded."""
        what = "relief and how long it lasted" if need_duration else "relief"
        function = self.functional_alternative()
        if function is not None:
            what += " (or the improvement in function" + (" and how long it lasted)" if function[1] else ")")
        kind = self.documentation_kind(
            f"{self.label(cls)} results", f"The {what} after each earlier {self.label(cls).lower()}."
        )
        unrecorded = self.node_shape("unrecorded", f"An earlier {self.label(cls).lower()} without recorded results")
        self.shapes.add((unrecorded, SH.node, counted))
        missing = [self.missing(CV.percentRelief)] + ([self.missing(CV.reliefMonths)] if need_duration else [])
        self.shapes.add((unrecorded, SH["or"], self.rdf_list(missing)))
        if function is not None:  # results of either kind are a record
            lacks = [self.missing(CV.functionalImprovement)]
            lacks += [self.missing(CV.functionalImprovementMonths)] if function[1] is not None else []
            no_function = self.node_shape("unrecorded-function", "No recorded functional improvement")
            self.shapes.add((no_function, SH["or"], self.rdf_list(lacks)))
            self.shapes.add((unrecorded, SH.node, no_function))
        doc = self.node_shape("records", f"Results of earlier {self.label(cls).lower()}s recorded", targetNode=cls)
        self.shapes.add((doc, GR.checksDocumentation, kind))
        self.prop(
            doc,
            "unrecorded",
            self.inverse_type(),
            "earlier procedures without recorded results",
            message=f"The {what} after an earlier {self.label(cls).lower()} is not recorded.",
            severity=SH.Violation,
            qualifiedValueShape=unrecorded,
            qualifiedMaxCount=Literal(0),
        )

    def functional_alternative(self) -> tuple[URIRef, URIRef | None] | None:
        """The rule's functional-improvement threshold and its duration, when it accepts that alternative."""
        function = self.threshold(GR.minFunctionalImprovement, required=False)
        duration = self.threshold(GR.minFunctionalImprovementDuration, required=False)
        if function is None:
            if duration is not None:
                raise KnowledgeBaseError(
                    f"rule of {self.tail}: gr:minFunctionalImprovementDuration needs gr:minFunctionalImprovement"
                )
            return None
        self.unit(function, GR.Percent)
        if duration is not None:
            self.unit(duration, GR.Months)
        return function, duration

    def unit(self, threshold: URIRef, unit: URIRef) -> None:
        if self.onto.value(threshold, GR.unit) != unit:
            raise KnowledgeBaseError(f"rule of {self.tail}: {_n(threshold)} must be in {_n(unit).lower()}")

    def documentation_kind(self, label: str, missing: str, *, suffix: str = "") -> URIRef:
        """A documentation kind of this criterion alone; without it the criterion is unknown."""
        kind = URIRef(f"{_DOC}{self.tail}{'-' + suffix if suffix else ''}")
        self.onto.add((kind, RDF.type, GR.DocumentationKind))
        self.onto.add((kind, RDFS.label, Literal(label, lang="en")))
        self.onto.add((kind, SKOS.definition, Literal(f"Written from the rule of {self.tail}: {missing}", lang="en")))
        self.onto.add((kind, GR.missingText, Literal(missing, lang="en")))
        self.onto.add((self.criterion, GR.needsDocumentation, kind))
        return kind

    def missing(self, p: URIRef) -> URIRef:
        s = URIRef(f"{GRS}Lacks-{_n(p)}")
        if (s, RDF.type, SH.NodeShape) not in self.shapes:
            self.shapes.add((s, RDF.type, SH.NodeShape))
            self.shapes.add((s, RDFS.label, Literal(f"Lacks {_n(p)}", lang="en")))
            p_shape = URIRef(f"{s}-value")
            self.shapes.add((s, SH.property, p_shape))
            self.shapes.add((p_shape, RDF.type, SH.PropertyShape))
            self.shapes.add((p_shape, SH.path, p))
            self.shapes.add((p_shape, SH.maxCount, Literal(0)))
            self.shapes.add((p_shape, SH.severity, SH.Info))
        return s


def _n(iri: Node) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


# --- the rule kinds ---------------------------------------------------------------------------


def _sessions(r: _Rule, suffix: str, cls: URIRef, label: str, *, prior: bool, window: URIRef | None) -> URIRef:
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


def _session_limit(r: _Rule) -> None:
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


def _minimum_interval(r: _Rule) -> None:
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


def _response(r: _Rule, suffix: str, cls: URIRef) -> tuple[URIRef, bool]:
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


def _improvement(r: _Rule, s: URIRef, name: str, kind: str, amount: URIRef, months: URIRef | None) -> None:
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


def _qualifying_history(r: _Rule) -> None:
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


def _repeat_requires_response(r: _Rule) -> None:
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


def _level_limit(r: _Rule) -> None:
    levels, regions = r.threshold(GR.maxLevels), r.threshold(GR.maxRegions, required=False)
    root = r.node_shape(
        "", "Levels and regions per session within the limit", checks=True, targetClass=CV.ServiceRequest
    )
    r.prop(
        root,
        "levels",
        GR.levelCount,
        "levels treated in the session",
        message="The request treats more levels in one session than the policy allows.",
        severity=SH.Violation,
        bind=(GR.maxInclusiveFrom, levels),
    )
    if regions is not None:
        r.prop(
            root,
            "regions",
            GR.regionCount,
            "spinal regions treated in the session",
            message="The request treats more spinal regions in one session than the policy allows.",
            severity=SH.Violation,
            bind=(GR.maxInclusiveFrom, regions),
        )


def _active_of(r: _Rule, suffix: str, classes: list[URIRef], label: str) -> URIRef:
    s = r.node_shape(suffix, label)
    options = []
    for i, cls in enumerate(classes):
        o = r.node_shape(f"{suffix}-{i + 1}", f"Of class {r.label(cls)}")
        r.shapes.add((o, SH["class"], cls))
        options.append(o)
    r.shapes.add((s, SH["or"], r.rdf_list(options)))
    r.shapes.add((s, SH["not"], URIRef(GRS + "ResolvedOrAddressed")))
    return s


def _exclusion(r: _Rule) -> None:
    """One root per excluded class, focused on the class: only its instances are looked at.

    A case-level shape looked at every condition and finding of the history instead; this stays
    flat however long the history is. An exception is looked for (from the excluded instances
    back to their case and out to its other facts) only when an excluded instance is present. It
    lifts the classes of ``gr:exceptionLifts`` (all, without it), and with
    ``gr:exceptionAtRequestedLevel`` counts only at a level of the request. A class of a
    ``gr:conditionalExclusion`` is excluded only with an active fact of one of its ``gr:onlyWith``.
    """
    excepted = sorted(v for v in r.onto.objects(r.node, GR.exceptClass) if isinstance(v, URIRef))
    lifts = frozenset(v for v in r.onto.objects(r.node, GR.exceptionLifts) if isinstance(v, URIRef))
    conditional = _conditionals(r)
    excluded = sorted(v for v in r.onto.objects(r.node, GR.excludedClass) if isinstance(v, URIRef))
    if not excluded and not conditional:
        r.many(GR.excludedClass)  # raises: nothing is excluded
    if (lifts or r.flag(GR.exceptionAtRequestedLevel)) and not excepted:
        raise KnowledgeBaseError(
            f"rule of {r.tail}: gr:exceptionLifts and gr:exceptionAtRequestedLevel qualify a gr:exceptClass"
        )
    if lifts - set(excluded):
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:exceptionLifts must name a gr:excludedClass of the rule")
    active = URIRef(GRS + "ActiveFact")
    for i, cls in enumerate(excluded, start=1):
        name = r.label(cls).lower()
        root = r.node_shape(str(i), f"No active {name}", checks=True, targetNode=cls)
        if not excepted or (lifts and cls not in lifts):
            r.prop(
                root,
                "present",
                r.inverse_type(),
                f"active {name}",
                message=f"An active {name} is documented.",
                severity=SH.Violation,
                qualifiedValueShape=active,
                qualifiedMaxCount=Literal(0),
            )
            continue
        exception = _active_of(r, f"{i}-exception", excepted, "A condition or finding that lifts the exclusion")
        if r.flag(GR.exceptionAtRequestedLevel):
            r.prop(exception, "level", GR.sameLevelAsRequest, "at a level of the request", hasValue=Literal(True))
        _either(r, root, str(i), cls, "lifted", exception, lifted=True)
    for j, (classes, company) in enumerate(conditional, start=1):
        with_ = _active_of(r, f"cond{j}-with", company, "A condition or finding that makes the excluded class count")
        for k, cls in enumerate(classes, start=1):
            name = r.label(cls).lower()
            label = f"No active {name} with what makes it count"
            root = r.node_shape(f"cond{j}-{k}", label, checks=True, targetNode=cls)
            _either(r, root, f"cond{j}-{k}", cls, "alone", with_, lifted=False)


def _conditionals(r: _Rule) -> list[tuple[list[URIRef], list[URIRef]]]:
    """The rule's conditional exclusions: (excluded classes, the classes they need), in a stable order."""
    out = []
    for node in r.onto.objects(r.node, GR.conditionalExclusion):
        classes = sorted(v for v in r.onto.objects(node, GR.excludedClass) if isinstance(v, URIRef))
        company = sorted(v for v in r.onto.objects(node, GR.onlyWith) if isinstance(v, URIRef))
        if not classes or not company:
            raise KnowledgeBaseError(
                f"rule of {r.tail}: a gr:conditionalExclusion needs a gr:excludedClass and a gr:onlyWith"
            )
        out.append((classes, company))
    return sorted(out)


def _either(r: _Rule, root: URIRef, suffix: str, cls: URIRef, part: str, other: URIRef, *, lifted: bool) -> None:
    """``root``: no active instance of ``cls``, or else an active ``other`` in the same case (none, unless ``lifted``).

    The other facts are reached from the excluded instances back to their case and out to its facts.
    """
    name = r.label(cls).lower()
    none = r.node_shape(f"{suffix}-none", f"No active {name}")
    r.prop(
        none,
        "present",
        r.inverse_type(),
        f"active {name}",
        qualifiedValueShape=URIRef(GRS + "ActiveFact"),
        qualifiedMaxCount=Literal(0),
    )
    second = r.node_shape(
        f"{suffix}-{part}", "The exclusion is lifted" if lifted else "Nothing in the case makes it count"
    )
    count = {"qualifiedMinCount": Literal(1)} if lifted else {"qualifiedMaxCount": Literal(0)}
    r.prop(
        second,
        "exception" if lifted else "with",
        r.sequence(r.inverse_type(), r.inverse_alternatives(_CONDITION_PATHS), r.alternatives(_CONDITION_PATHS)),
        "facts of the same case that lift the exclusion" if lifted else "facts of the same case that make it count",
        qualifiedValueShape=other,
        **count,  # type: ignore[arg-type]  # sh: constraints only, never one of prop()'s named parameters
    )
    r.shapes.add((root, SH["or"], r.rdf_list([none, second])))
    r.shapes.add((root, SH.message, Literal(f"An active {name} is documented.", lang="en")))
    r.shapes.add((root, SH.severity, SH.Violation))


def _requirement(r: _Rule) -> None:
    required = r.many(GR.requiredClass)
    if len(required) == 1:  # focus on the class: only its instances are read, however long the history
        name = r.label(required[0]).lower()
        root = r.node_shape("", f"An active {name}", checks=True, targetNode=required[0])
        r.prop(
            root,
            "present",
            r.inverse_type(),
            f"active {name}",
            message=f"No active {name} is documented.",
            severity=SH.Violation,
            qualifiedValueShape=URIRef(GRS + "ActiveFact"),
            qualifiedMinCount=Literal(1),
        )
        return
    present = _active_of(r, "present", required, "An active condition or finding the policy requires")
    root = r.node_shape("", "A required condition or finding is present", checks=True, targetClass=CV.Case)
    r.prop(
        root,
        "required",
        r.alternatives(_CONDITION_PATHS),
        "active required conditions and findings",
        message="None of the conditions or findings the policy requires is documented.",
        severity=SH.Violation,
        qualifiedValueShape=present,
        qualifiedMinCount=Literal(1),
    )


def _excluded_procedure(r: _Rule) -> None:
    for i, cls in enumerate(r.many(GR.excludedClass)):
        root = r.node_shape(str(i + 1), f"No requested {r.label(cls).lower()}", checks=True, targetNode=cls)
        line = r.node_shape(f"{i + 1}-line", "A requested line")
        r.shapes.add((line, SH["class"], CV.RequestLine))
        r.prop(
            root,
            "requested",
            r.inverse_type(),
            f"requested {r.label(cls).lower()}",
            message=f"The request is for {r.label(cls).lower()}, which the policy excludes.",
            severity=SH.Violation,
            qualifiedValueShape=line,
            qualifiedMaxCount=Literal(0),
        )


def _image_guidance(r: _Rule) -> None:
    """The modality is allowed and, when the rule requires contrast, contrast is stated as used.

    Each is read apart: a stated ``cv:contrast false`` fails the rule, while a request that does
    not state its modality, or under an allowed modality whether contrast is used, is unknown.
    """
    allowed = r.many(GR.allowedGuidance)
    contrast = r.flag(GR.requiresContrast)
    waivers = sorted(v for v in r.onto.objects(r.node, GR.contrastWaivedBy) if isinstance(v, URIRef))
    root = r.node_shape("", "Image guidance the policy allows", checks=True, targetClass=CV.ServiceRequest)
    if waivers or (r.node, GR.conditionalGuidance, None) in r.onto:
        _guidance_with_exceptions(r, root, allowed, contrast, waivers)
    else:
        r.prop(
            root,
            "guidance",
            CV.imageGuidance,
            "image guidance",
            message="The planned image guidance is not one the policy allows.",
            severity=SH.Violation,
            in_=r.rdf_list(allowed),
        )
    if contrast and not waivers and (r.node, GR.conditionalGuidance, None) not in r.onto:
        r.prop(
            root,
            "contrast",
            CV.contrast,
            "contrast used",
            message="The request does not state that contrast is used, and the policy requires it.",
            severity=SH.Violation,
            hasValue=Literal(True),
        )
    kind = r.documentation_kind("Planned image guidance", "The image guidance planned for the procedure.")
    doc = r.node_shape("stated", "The request states its image guidance", targetClass=CV.ServiceRequest)
    r.shapes.add((doc, GR.checksDocumentation, kind))
    r.prop(
        doc,
        "guidance",
        CV.imageGuidance,
        "stated image guidance",
        minCount=Literal(1),
        severity=SH.Violation,
        message="The request does not state its image guidance.",
    )
    if not contrast:
        return
    # Whether contrast is used is asked for unless the stated modality fails the rule anyway.
    kind = r.documentation_kind(
        "Contrast under the image guidance",
        "Whether contrast is used to confirm the needle's position under the planned image guidance.",
        suffix="contrast",
    )
    doc = r.node_shape("contrast", "The request states whether contrast is used", targetClass=CV.ServiceRequest)
    r.shapes.add((doc, GR.checksDocumentation, kind))
    disallowed = r.node_shape("contrast-disallowed", "A modality the policy does not allow")
    r.shapes.add((disallowed, SH["not"], r.node_shape("contrast-allowed", "A modality the policy allows")))
    r.shapes.add((r.iri("contrast-allowed"), SH["in"], r.rdf_list(allowed)))
    moot = r.node_shape("contrast-moot", "The request states a modality the policy does not allow")
    r.prop(moot, "guidance", CV.imageGuidance, "disallowed guidance", minCount=Literal(1), node=disallowed)
    stated = r.node_shape("contrast-stated", "The request states whether contrast is used")
    r.prop(stated, "contrast", CV.contrast, "stated contrast", minCount=Literal(1))
    waived = [r.iri("waived")] if waivers else []  # contrast contraindicated: whether it is used does not matter
    r.shapes.add((doc, SH["or"], r.rdf_list([moot, stated, *waived])))
    r.shapes.add((doc, SH.message, Literal("The request does not state whether contrast is used.", lang="en")))
    r.shapes.add((doc, SH.severity, SH.Violation))


def _covered_diagnosis(r: _Rule) -> None:
    """At least one diagnosis on the request is on the policy's diagnosis list.

    The enrich stage links each diagnosis on the request to the lists its code is on
    (``gr:onDiagnosisList``). A request without a diagnosis lacks the generic documentation kind
    ``gr:RequestDiagnosisRecord``, so the criterion is unknown (pended), never not met. A list
    without entries (the sources give none) checks only that the request states a diagnosis.
    """
    listed = r.one(GR.diagnosisList)
    if (listed, RDF.type, GR.DiagnosisList) not in r.onto:
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:diagnosisList must name a gr:DiagnosisList")
    r.onto.add((r.criterion, GR.needsDocumentation, GR.RequestDiagnosisRecord))
    if r.onto.value(listed, GR.entry) is None:
        return
    on_list = r.node_shape("listed", "A diagnosis on the request that is on the list", targetClass=GR.RequestDiagnosis)
    r.prop(
        on_list,
        "list",
        GR.onDiagnosisList,
        "diagnosis list",
        message="This diagnosis is not on the policy's list of covered diagnoses.",
        hasValue=listed,
    )
    r.onto.add((r.criterion, GR.qualifyingShape, on_list))
    root = r.node_shape("", "A covered diagnosis on the request", checks=True, targetClass=CV.ServiceRequest)
    r.prop(
        root,
        "covered",
        r.alternatives(((CV.primaryDiagnosis,), (CV.secondaryDiagnosis,))),
        "diagnoses on the request that are on the list",
        message="No diagnosis on the request is on the policy's list of covered diagnoses.",
        severity=SH.Violation,
        qualifiedValueShape=on_list,
        qualifiedMinCount=Literal(1),
    )


def _guidance_with_exceptions(
    r: _Rule, root: URIRef, allowed: list[URIRef], contrast: bool, waivers: list[URIRef]
) -> None:
    """The image guidance rule with its exceptions, as one ``sh:or`` on the request.

    Either an allowed modality, with contrast when the rule requires it unless an active condition
    of a ``gr:contrastWaivedBy`` class is documented (contrast contraindicated); or a
    ``gr:conditionalGuidance`` modality, allowed without contrast when an active condition of a
    ``gr:conditionalGuidanceClass`` is documented (ultrasound for a contrast allergy or a pregnancy).
    """
    alternative = sorted(v for v in r.onto.objects(r.node, GR.conditionalGuidance) if isinstance(v, URIRef))
    when = sorted(v for v in r.onto.objects(r.node, GR.conditionalGuidanceClass) if isinstance(v, URIRef))
    if bool(alternative) != bool(when):
        raise KnowledgeBaseError(
            f"rule of {r.tail}: gr:conditionalGuidance and gr:conditionalGuidanceClass go together"
        )
    if waivers and not contrast:
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:contrastWaivedBy needs gr:requiresContrast true")
    conditions = r.sequence(r.inverse(CV.request), r.alternatives(_CONDITION_PATHS))  # the case's, from the request

    def documented(suffix: str, classes: list[URIRef], label: str) -> URIRef:
        s = r.node_shape(suffix, label)
        present = _active_of(r, f"{suffix}-condition", classes, f"An active condition: {label.lower()}")
        r.prop(s, "condition", conditions, label.lower(), qualifiedValueShape=present, qualifiedMinCount=Literal(1))
        return s

    standard = r.node_shape("standard", "An allowed modality, with contrast where the policy requires it")
    r.prop(standard, "guidance", CV.imageGuidance, "allowed guidance", minCount=Literal(1), in_=r.rdf_list(allowed))
    if contrast:
        used = r.node_shape("contrast-used", "Contrast is used")
        r.prop(used, "contrast", CV.contrast, "contrast used", hasValue=Literal(True))
        options = [used] + ([documented("waived", waivers, "Contrast is contraindicated")] if waivers else [])
        r.shapes.add((standard, SH["or"], r.rdf_list(options)))
    branches = [standard]
    if alternative:
        other = r.node_shape("conditional", "A modality allowed only for a documented condition")
        r.prop(
            other,
            "guidance",
            CV.imageGuidance,
            "conditional guidance",
            minCount=Literal(1),
            in_=r.rdf_list(alternative),
        )
        r.shapes.add((other, SH.node, documented("condition", when, "A condition that allows it")))
        branches.append(other)
    r.shapes.add((root, SH["or"], r.rdf_list(branches)))
    r.shapes.add(
        (
            root,
            SH.message,
            Literal("The planned image guidance, or its use of contrast, is not one the policy allows.", lang="en"),
        )
    )
    r.shapes.add((root, SH.severity, SH.Violation))


def _add_on(r: _Rule) -> None:
    r.shapes.add((URIRef(GRS + "AddOnWithPrimaryShape"), GR.checks, r.criterion))


KINDS: dict[URIRef, Callable[[_Rule], None]] = {
    GR.SessionLimit: _session_limit,
    GR.MinimumInterval: _minimum_interval,
    GR.QualifyingHistory: _qualifying_history,
    GR.RepeatRequiresResponse: _repeat_requires_response,
    GR.LevelLimit: _level_limit,
    GR.Exclusion: _exclusion,
    GR.Requirement: _requirement,
    GR.ExcludedProcedure: _excluded_procedure,
    GR.ImageGuidanceRule: _image_guidance,
    GR.AddOnRequiresPrimary: _add_on,
    GR.CoveredDiagnosis: _covered_diagnosis,
}


def rule_problems(ontology: Graph) -> list[tuple[Node, str]]:
    """Each declaration that cannot be expanded, with why (for lint; nothing is kept)."""
    out: list[tuple[Node, str]] = []
    for criterion, node in sorted(ontology.subject_objects(GR.rule), key=lambda t: str(t[0])):
        scratch = Graph()
        for triple in ontology.triples((node, None, None)):
            scratch.add(triple)
        for p in (
            GR.maxSessions,
            GR.window,
            GR.minInterval,
            GR.minRelief,
            GR.minReliefDuration,
            GR.minCount,
            GR.maxLevels,
            GR.maxRegions,
            GR.minFunctionalImprovement,
            GR.minFunctionalImprovementDuration,
            GR.conditionalExclusion,
        ):
            for t in ontology.objects(node, p):
                for triple in ontology.triples((t, None, None)):
                    scratch.add(triple)
        for listed in ontology.objects(node, GR.diagnosisList):  # and the list the rule names, with its entries
            for triple in ontology.triples((listed, None, None)):
                scratch.add(triple)
        scratch.add((criterion, GR.rule, node))
        try:
            expand_rules(scratch, Graph())
        except KnowledgeBaseError as exc:
            out.append((criterion, str(exc)))
    return out


def expand_rules(ontology: Graph, shapes: Graph) -> int:
    """Write the shapes of every ``gr:rule`` declaration into ``shapes``; returns how many.

    Raises:
        KnowledgeBaseError: a declaration of an unknown kind, or with a missing or wrong parameter.
    """
    count = 0
    for criterion, node in sorted(ontology.subject_objects(GR.rule), key=lambda t: str(t[0])):
        if not isinstance(criterion, URIRef) or not str(criterion).startswith(_KB):
            raise KnowledgeBaseError(f"gr:rule on {criterion}: rules belong to IRI-named criteria of the KB")
        tail = str(criterion)[len(_KB) :]
        kinds = [k for k in ontology.objects(node, RDF.type) if isinstance(k, URIRef) and k in KINDS]
        if len(kinds) != 1:
            raise KnowledgeBaseError(
                f"rule of {tail}: needs exactly one rule kind, one of {sorted(_n(k) for k in KINDS)}"
            )
        KINDS[kinds[0]](_Rule(ontology, shapes, criterion, node, tail))
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class SiteScope:
    """A repeat rule that reads only the most recent earlier procedure at each site of the request.

    The site is what the rule scopes: the request's regions, levels and sides (``gr:sameRegion``,
    ``gr:sameLevel``, ``gr:sameSide``). The enrich stage marks, for ``criterion``, the earlier
    procedures of ``procedure_class`` that are the most recent at one (``gr:latestAtSite``).
    """

    criterion: URIRef
    procedure_class: URIRef
    region: bool
    level: bool
    side: bool


def site_scopes(ontology: Graph) -> tuple[SiteScope, ...]:
    """The declared rules with ``gr:mostRecentOnly``, in a stable order."""
    out = []
    for criterion, node in ontology.subject_objects(GR.rule):
        if ontology.value(node, GR.mostRecentOnly) != Literal(True):
            continue
        cls = ontology.value(node, GR.procedureClass)
        if isinstance(criterion, URIRef) and isinstance(cls, URIRef):
            flags = (ontology.value(node, p) == Literal(True) for p in (GR.sameRegion, GR.sameLevel, GR.sameSide))
            out.append(SiteScope(criterion, cls, *flags))
    return tuple(sorted(out, key=lambda s: str(s.criterion)))

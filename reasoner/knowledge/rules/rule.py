"""The rule being expanded: its declaration read, and the SHACL it writes.

:class:`Rule` reads one ``gr:rule`` declaration's parameters (refusing a missing or wrong one)
and writes shapes for it: node and property shapes, paths, lists, the filters an earlier
procedure passes to count, and the documentation checks of a rule that reads relief. Generated
IRIs are stable: ``grs:rule/<policy>/<criterion>`` plus a suffix.
"""

from __future__ import annotations

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
KB = BASE + "kb/"  # the criteria rules belong to
_DOC = BASE + "kb/records/"
_ELAPSED: dict[Node | None, URIRef] = {
    GR.Months: GR.monthsBeforeRequest,
    GR.Weeks: GR.weeksBeforeRequest,
    GR.Days: GR.daysBeforeRequest,
}
CONDITION_PATHS = (
    (CV.condition,),
    (CV.request, CV.primaryDiagnosis),
    (CV.request, CV.secondaryDiagnosis),
    (CV.painHistory,),
    (CV.imagingFinding,),
)


@dataclass
class Rule:
    """One declaration being expanded."""

    onto: Graph
    shapes: Graph
    criterion: URIRef
    node: Node
    tail: str

    def iri(self, suffix: str = "") -> URIRef:
        """The IRI of a shape this rule writes: its criterion's tail plus ``suffix``."""
        return URIRef(f"{GRS}rule/{self.tail}{'-' + suffix if suffix else ''}")

    @overload
    def one(self, p: URIRef, *, required: TypingLiteral[True] = ...) -> Node: ...
    @overload
    def one(self, p: URIRef, *, required: bool) -> Node | None: ...
    def one(self, p: URIRef, *, required: bool = True) -> Node | None:
        """The one value of ``p`` on the declaration (or None when not ``required``); refuses more than one."""
        values = list(self.onto.objects(self.node, p))
        if len(values) > 1 or (required and not values):
            raise KnowledgeBaseError(
                f"rule of {self.tail}: needs {'exactly' if required else 'at most'} one {local_name(p)}"
            )
        return values[0] if values else None

    def many(self, p: URIRef) -> list[URIRef]:
        """Every IRI value of ``p`` on the declaration, sorted; refuses none."""
        values = sorted(v for v in self.onto.objects(self.node, p) if isinstance(v, URIRef))
        if not values:
            raise KnowledgeBaseError(f"rule of {self.tail}: needs at least one {local_name(p)}")
        return values

    @overload
    def threshold(self, p: URIRef, *, required: TypingLiteral[True] = ...) -> URIRef: ...
    @overload
    def threshold(self, p: URIRef, *, required: bool) -> URIRef | None: ...
    def threshold(self, p: URIRef, *, required: bool = True) -> URIRef | None:
        """The ``gr:Threshold`` that ``p`` names (or None when not ``required``)."""
        t = self.one(p, required=required)
        if t is not None and (t, RDF.type, GR.Threshold) not in self.onto:
            raise KnowledgeBaseError(f"rule of {self.tail}: {local_name(p)} must name a gr:Threshold")
        # Not None when required (one() raises); the knowledge base indexes only IRI-named thresholds.
        return t  # type: ignore[return-value]

    def flag(self, p: URIRef) -> bool:
        """Whether the declaration sets ``p`` to true."""
        return self.onto.value(self.node, p) == Literal(True)

    def label(self, cls: URIRef) -> str:
        """The class's rdfs:label, else its local name."""
        text = self.onto.value(cls, RDFS.label)
        return str(text) if text is not None else local_name(cls)

    # --- writing shapes ----------------------------------------------------------------------

    def node_shape(self, suffix: str, label: str, *, checks: bool = False, **extra: Node) -> URIRef:
        """Write a node shape named by ``suffix``, expanded from the criterion (and checking it when ``checks``)."""
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
        """Write a property shape of ``owner`` with its constraints; ``bind`` names a threshold by reference."""
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
        """The path ``^rdf:type``: from a class to its instances."""
        b = BNode()
        self.shapes.add((b, SH.inversePath, RDF.type))
        return b

    def sequence(self, *steps: Node) -> Node:
        """A sequence path of ``steps`` (one step is just that step)."""
        if len(steps) == 1:
            return steps[0]
        b = BNode()
        Collection(self.shapes, b, list(steps))
        return b

    def alternatives(self, paths: tuple[tuple[URIRef, ...], ...]) -> BNode:
        """An alternative path of the sequences in ``paths``."""
        b, alts = BNode(), BNode()
        Collection(self.shapes, alts, [self.sequence(*p) for p in paths])
        self.shapes.add((b, SH.alternativePath, alts))
        return b

    def inverse(self, path: URIRef) -> BNode:
        """The path ``^path``."""
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
        """An RDF list of ``items`` in the shapes graph."""
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
        """The derived property giving the time before the request in ``threshold``'s unit."""
        unit = self.onto.value(threshold, GR.unit)
        if unit not in _ELAPSED:
            raise KnowledgeBaseError(f"rule of {self.tail}: {local_name(threshold)} must be in months, weeks or days")
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
        """Refuse ``threshold`` unless it is in ``unit``."""
        if self.onto.value(threshold, GR.unit) != unit:
            raise KnowledgeBaseError(
                f"rule of {self.tail}: {local_name(threshold)} must be in {local_name(unit).lower()}"
            )

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
        """The shared node shape of a node without a value of ``p`` (written once)."""
        s = URIRef(f"{GRS}Lacks-{local_name(p)}")
        if (s, RDF.type, SH.NodeShape) not in self.shapes:
            self.shapes.add((s, RDF.type, SH.NodeShape))
            self.shapes.add((s, RDFS.label, Literal(f"Lacks {local_name(p)}", lang="en")))
            p_shape = URIRef(f"{s}-value")
            self.shapes.add((s, SH.property, p_shape))
            self.shapes.add((p_shape, RDF.type, SH.PropertyShape))
            self.shapes.add((p_shape, SH.path, p))
            self.shapes.add((p_shape, SH.maxCount, Literal(0)))
            self.shapes.add((p_shape, SH.severity, SH.Info))
        return s


def local_name(iri: Node) -> str:
    """The last segment of an IRI, for messages and generated names."""
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]

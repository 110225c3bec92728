"""Which history facts a policy can see, decided from the knowledge base's shapes once per policy.

Most of a long record is history no criterion of the policy reads: injections of another kind,
findings of tests the policy never names. Building such facts as RDF, enriching and
validating them is most of the cost of a long history, yet cannot change the determination.
:func:`for_policy` works out, per kind of history fact, whether a fact of that kind can matter
only through its classes, and through which (a :class:`Relevance`, cached per knowledge base);
the JSON intake's sieve (reasoner/intake/sieve.py) then leaves out the facts that cannot matter
(they still count in the determination id, a digest of the whole case). Reads only the knowledge
base.

The shapes read are those that can run under the policy: the roots of all its criteria, their
qualifying, documentation and prerequisite shapes, and everything those reach. A kind can be
left out only when all of these hold there:

- no ``sh:closed``, SPARQL, SHACL rule or custom constraint component, and no case node named;
- nothing reaches its facts but their link from the case (``cv:priorProcedure``, ...): no target
  class of the kind (or a superclass), no target or inverse step over a predicate they carry,
  and ``^rdf:type``, ``^gr:sessionOf`` or ``^gr:derivation`` only as the first step from
  ``sh:targetNode`` classes or derivations (reaching instances of those classes, the sessions
  made of them, or the derived node of a derivation: the facts they are made of are kept; a
  ``^gr:derivation`` step from anywhere else keeps what every derivation reads);
- the link appears only as the last step of paths (alone, or ending a sequence or an
  alternative), on property shapes that only count: a ``sh:minCount`` (the first few facts
  are kept) or a qualified count over a shape whose classes can be worked out (``sh:class``
  through ``sh:node``, ``sh:and`` and ``sh:or``); a fact without those classes never counts.

A fact of such a kind is kept when it has a class those counts need, a class a shape targets or
reaches by ``^rdf:type``, a class a criterion considers (the explanation lists those) or a class
of a pathway step (enrichment marks the steps done), or every class of a set a derivation of the
policy reads (reasoner/knowledge/derivations.py ``needs_of``: the facts of a ``gr:SelectFact``'s
class and method class, whose components come with them; the series of a
``gr:WindowedSeriesAggregate``'s class, whose samples come with them and whose device the intake
keeps), or when it is among the first few. The
sieve also keeps every procedure that could address a finding it keeps, since enrichment marks
findings addressed. Anything else keeps every fact of the kind. ``tests/test_relevance.py``
checks every example, and every example with the history of all of them pooled in, under every
policy against the whole case, and has a shape for each hazard above that must stop it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.knowledge import derivations
from reasoner.knowledge.shape_paths import LAST, NEVER, ends_in, path_nodes
from reasoner.shacl.shape_bundles import reachable
from reasoner.vocab import CASE_DATA, CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase
    from reasoner.knowledge.entities import Policy

#: Each kind of history fact: its link from the case, its class, and every predicate one of its
#: facts can carry once built and enriched. Not gr:completesStep: enrichment writes it only on facts
#: of a pathway step's class, and those always matter.
KINDS: dict[URIRef, tuple[URIRef, frozenset[URIRef]]] = {
    CV.priorProcedure: (
        CV.PriorProcedure,
        frozenset(
            {
                *(CV.code, CV.procedure, CV.date, CV.laterality, CV.purpose, CV.injectate, CV.outcome, CV.level),
                *(CV.percentRelief, CV.reliefMonths, CV.functionalImprovement, CV.functionalImprovementMonths),
                *(GR.daysBeforeRequest, GR.weeksBeforeRequest, GR.monthsBeforeRequest, GR.addOnCode),
                *(
                    GR.sameRegionAsRequest,
                    GR.sameSideAsRequest,
                    GR.sameLevelAsRequest,
                    GR.latestAtSite,
                ),
            }
        ),
    ),
    CV.conservativeCare: (CV.ConservativeCare, frozenset({CV.careKind, CV.weeks, CV.outcome})),
    CV.examFinding: (CV.ExamFinding, frozenset({CV.test, CV.result, CV.laterality})),
    CV.imagingFinding: (
        CV.ImagingFinding,
        frozenset({CV.findingKind, CV.level, CV.addressed, GR.addressed, GR.sameLevelAsRequest}),
    ),
    CV.condition: (CV.Condition, frozenset({CV.code, CV.conditionKind, CV.clinicalStatus, CV.onset})),
    CV.observation: (
        CV.Observation,
        frozenset(
            {
                *(CV.code, CV.observationKind, CV.method, CV.value, CV.unit, CV.valueCode, CV.valueBoolean),
                *(CV.date, CV.start, CV.end, CV.component),
            }
        ),
    ),
    CV.treatment: (CV.Treatment, frozenset({CV.code, CV.treatmentKind, CV.start, CV.end, CV.outcome})),
    CV.device: (CV.Device, frozenset({CV.code, CV.start, CV.end, CV.outcome})),
    CV.usageSeries: (
        CV.UsageSeries,
        frozenset({CV.code, CV.observationKind, CV.unit, CV.forDevice, CV.start, CV.end, CV.sample}),
    ),
}
# What the enrich stage may write on any fact: its unstated values and the classes those make possible.
_EVERY_FACT = frozenset({RDF.type, CV.source, GR.unstated, GR.possibleType, GR.uncertainBecause})
_DOCUMENT_PREDICATES = frozenset({RDF.type, CV.document, CV.source, CV.identifier, CV.documentKind, CV.date, CV.title})

# What a property shape over a kind's link may say besides its qualified count.
_ANNOTATIONS = frozenset(
    {SH.path, SH.name, SH.description, SH.message, SH.severity, SH.order, SH.group, SH.resultMessage}
)
_QUALIFIED = frozenset(
    {SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint}
)
_SH = str(SH)
_TARGETS = frozenset({SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target})
# Whatever reads more than its paths show: closed shapes read every predicate, SPARQL and rules anything.
_OPAQUE = frozenset({SH.closed, SH.sparql, SH.select, SH.ask, SH.rule, SH.target, SH.SPARQLConstraint, SH.SPARQLTarget})


@dataclass(frozen=True)
class KindRelevance:
    """Which facts of a skippable kind matter.

    Any with a class of ``any_of``, any with every class of one set in ``all_of``, and the first
    ``first`` of them whatever their classes.
    """

    any_of: frozenset[URIRef]
    all_of: tuple[frozenset[URIRef], ...]
    first: int


@dataclass(frozen=True)
class DocumentRelevance:
    """Which documents matter besides those a kept fact cites: those of a kind in ``kinds``, and the first ``first``."""

    kinds: frozenset[URIRef]
    first: int


@dataclass(frozen=True)
class Relevance:
    """For one policy: the kinds of history fact (by link) that may be left out, and which of them matter.

    ``documents`` is None when every document matters.
    """

    kinds: dict[URIRef, KindRelevance]
    documents: DocumentRelevance | None = None

    def needed(self, link: URIRef, classes: frozenset[URIRef], position: int) -> bool:
        """Whether the ``position``-th fact linked by ``link``, with these classes (superclasses included), matters."""
        kind = self.kinds.get(link)
        if kind is None or position < kind.first or not kind.any_of.isdisjoint(classes):
            return True
        return any(needs <= classes for needs in kind.all_of)

    def document_needed(self, kind: URIRef, position: int, cited: bool) -> bool:
        """Whether the ``position``-th document, of this kind, matters (``cited``: a kept fact names it)."""
        docs = self.documents
        return docs is None or cited or position < docs.first or kind in docs.kinds


NOTHING_SKIPPED = Relevance({})


def for_policy(kb: KnowledgeBase, policy: Policy) -> Relevance:
    """What the policy's shapes, criteria and pathway can see of a case's history (cached)."""
    return _for_policy(kb, policy.iri)


@per_knowledge_base(maxsize=4096, ahead=lambda kb: [(p.iri,) for p in kb.policies.values()])
def _for_policy(kb: KnowledgeBase, policy: URIRef) -> Relevance:
    roots, seen = inputs(kb, policy)
    return analyse(kb.shapes, roots, seen, lambda cls: kb.types_of([cls]), derivations.needs_of(kb))


def inputs(kb: KnowledgeBase, policy: URIRef) -> tuple[frozenset[Node], frozenset[URIRef]]:
    """What :func:`analyse` reads for a policy: its root shapes, and the classes (and derivations) read outside them."""
    index = kb.shape_index
    steps = kb.steps_of(policy)
    ids = {c.iri for c in kb.criteria.values() if c.policy == policy}
    ids |= {s.completion_criterion for s in steps if s.completion_criterion is not None}
    criteria = [kb.criteria[i] for i in ids if i in kb.criteria]
    roots = set(index.criteria_roots(frozenset(ids))) | index.prerequisite_roots
    roots |= {s for c in criteria for s in c.qualifying_shapes}
    roots |= index.documentation_roots(frozenset().union(*(c.needs for c in criteria)) if criteria else frozenset())
    considers = {cls for c in criteria for cls in c.considers}
    read = {d.iri for d in derivations.for_criteria(kb, ids)}  # enrichment derives them: their facts are read
    seen = considers | read | {cls for s in steps for cls in s.procedure_classes}
    return frozenset(roots), frozenset(seen)


def analyse(
    shapes: Graph,
    roots: frozenset[Node],
    seen: frozenset[URIRef],
    closure: Callable[[URIRef], frozenset[URIRef]],
    derived: Mapping[URIRef, tuple[frozenset[URIRef], ...]] | None = None,
) -> Relevance:
    """The relevance of history facts to the shapes reachable from ``roots`` (see the module docstring).

    ``seen`` holds the classes whose instances are read outside the shapes, and the derivations
    computed; ``closure`` gives a class with its superclasses; ``derived`` gives every derivation
    the facts it reads (:func:`reasoner.knowledge.derivations.needs_of`; none: there are none).
    """
    derived = derived or {}
    if (None, RDF.type, SH.ConstraintComponent) in shapes:  # its parameters are not SHACL's: unknowable here
        return NOTHING_SKIPPED
    reach = reachable(shapes, roots)
    triples = [(s, p, o) for s in reach for p, o in shapes.predicate_objects(s)]
    named = {t for s, p, o in triples for t in (p, o) if isinstance(t, URIRef)}
    if not named.isdisjoint(_OPAQUE) or any(t.startswith(str(CASE_DATA)) for t in named):
        return NOTHING_SKIPPED
    # Facts reached other than through their link: by class, or back along a predicate they carry.
    any_of = set(seen) | {o for s, p, o in triples if p == SH.targetClass and isinstance(o, URIRef)}
    # Predicates whose subjects a target or an inverse step reaches; objects a target reaches.
    reaching = {o for s, p, o in triples if p == SH.targetSubjectsOf}
    targeted_objects = {o for s, p, o in triples if p == SH.targetObjectsOf}
    reaching |= targeted_objects
    read = [needs for d in seen & derived.keys() for needs in derived[d]]  # what the derived facts read
    for s, p, o in triples:
        if p == SH.inversePath:
            _inverse(shapes, s, o, derived, (any_of, reaching, read))
    # Nodes inside path expressions: a kind's link may appear there (checked path by path below).
    paths = [(s, o) for s, p, o in triples if p == SH.path]
    inside = set().union(*(path_nodes(shapes, path) for _, path in paths)) if paths else set()
    named_outside = {t for s, p, o in triples if s not in inside and p != SH.path for t in (s, p, o)}
    ends = _Ends(shapes)
    kinds = {}
    for link, (kind, carried) in KINDS.items():
        if not any_of.isdisjoint(closure(kind)) or not reaching.isdisjoint(carried | _EVERY_FACT):
            continue
        if link in targeted_objects or link in named_outside:  # targeted, or named by a constraint (sh:hasValue...)
            continue
        all_of = list(dict.fromkeys(read))
        first = 0
        for prop, path in paths:
            where = ends.where(path, link)
            if where == NEVER:
                continue
            use = _use_of_link(shapes, prop) if where == LAST else None
            if use is None:
                break
            if isinstance(use, int):
                first = max(first, use)
            elif any(needs <= closure(kind) for needs in use):  # counts every fact of the kind
                break
            else:
                all_of.extend(use)
        else:
            kinds[link] = KindRelevance(frozenset(any_of), tuple(all_of), first)
    return Relevance(kinds, _documents(shapes, triples, any_of, reaching, closure))


class _Ends:
    """:func:`ends_in` for each path and kind's link, a path's walk shared by the links it does not name."""

    _NO_LINK = URIRef("urn:guideline-reasoner:no-link")

    def __init__(self, shapes: Graph) -> None:
        self._shapes = shapes
        self._seen: dict[Node, tuple[set[Node], int]] = {}

    def where(self, path: Node, link: URIRef) -> int:
        """Where ``path``'s values can be facts of ``link``'s kind (``ends_in``)."""
        found = self._seen.get(path)
        if found is None:
            g = self._shapes
            named = {o for n in path_nodes(g, path) for o in g.objects(n) if isinstance(o, URIRef)} | {path}
            # A link the path does not name compares unequal at every step, as this one does.
            found = self._seen[path] = (named, ends_in(g, path, self._NO_LINK, 0))
        return ends_in(self._shapes, path, link, 0) if link in found[0] else found[1]


def _inverse(
    shapes: Graph,
    step: Node,
    predicate: Node,
    derived: Mapping[URIRef, tuple[frozenset[URIRef], ...]],
    into: tuple[set[URIRef], set[Node], list[frozenset[URIRef]]],
) -> None:
    """What an inverse step over ``predicate`` reaches, added to ``into``: (any_of, reaching, read).

    ``^rdf:type`` reaches a class's instances; ``^gr:sessionOf`` its sessions, made of its instances;
    ``^gr:derivation`` a derivation's derived node, made of the facts it reads. From anywhere but
    ``sh:targetNode`` IRIs it reaches what it cannot tell.
    """
    any_of, reaching, read = into
    targets = _instances_of_targets(shapes, step) if predicate in (RDF.type, GR.sessionOf, GR.derivation) else None
    if predicate == GR.derivation:  # derived nodes carry nothing of a fact: only what they are made of matters
        read.extend(n for d in (derived if targets is None else targets & derived.keys()) for n in derived[d])
    elif targets is not None:
        any_of |= targets
    else:
        reaching |= reachable(shapes, {predicate})
        if predicate == GR.sessionOf:  # sessions of classes it cannot tell: any procedure may make one
            reaching |= KINDS[CV.priorProcedure][1]


def _documents(
    shapes: Graph,
    triples: list[tuple[Node, Node, Node]],
    any_of: set[URIRef],
    reaching: set[Node],
    closure: Callable[[URIRef], frozenset[URIRef]],
) -> DocumentRelevance | None:
    """Which documents matter besides those kept facts cite; None when all may.

    A document is reached from a fact that cites it, or from the case along ``cv:document``: by
    a ``sh:minCount`` (the first few then suffice) or by ``(cv:document cv:documentKind)`` with
    ``sh:hasValue`` (the documents of that kind suffice). Anything else keeps every document.
    """
    if not any_of.isdisjoint(closure(CV.SourceDocument)) or not reaching.isdisjoint(_DOCUMENT_PREDICATES):
        return None
    kinds: set[URIRef] = set()
    first = 0
    for s, p, o in triples:
        if CV.document not in (s, p, o):
            continue
        if p == SH.path and o == CV.document:
            use = _use_of_link(shapes, s)
            if not isinstance(use, int):
                return None
            first = max(first, use)
            continue
        users = list(shapes.subject_predicates(s))
        if p != RDF.first or not users or any(q != SH.path for _, q in users):
            return None
        if list(shapes.items(s)) != [CV.document, CV.documentKind]:
            return None
        for prop, _ in users:
            shacl = {q for q in shapes.predicates(prop) if isinstance(q, URIRef) and q.startswith(_SH)}
            if not shacl <= _ANNOTATIONS | {SH.hasValue}:
                return None
            kinds |= {v for v in shapes.objects(prop, SH.hasValue) if isinstance(v, URIRef)}
    return DocumentRelevance(frozenset(kinds), first)


def _use_of_link(shapes: Graph, shape: Node) -> tuple[frozenset[URIRef], ...] | int | None:
    """What a property shape whose path ends in a kind's link needs of its facts, when that is all it does.

    For a qualified count, the classes a fact must have to count (any one of the sets); for a
    ``sh:minCount``, how many facts it needs to see; None for anything else (the kind then
    cannot be skipped).
    """
    said = set(shapes.predicates(shape))
    shacl = {p for p in said if isinstance(p, URIRef) and p.startswith(_SH)}  # a predicate is an IRI
    if shacl <= _ANNOTATIONS | {SH.minCount}:
        # (an IRI's toPython() is itself)
        counts = [o.toPython() if isinstance(o, Literal) else o for o in shapes.objects(shape, SH.minCount)]
        return counts[0] if len(counts) == 1 and isinstance(counts[0], int) else None
    if not shacl <= _ANNOTATIONS | _QUALIFIED:
        return None
    qualified = list(shapes.objects(shape, SH.qualifiedValueShape))
    return _needs(shapes, qualified[0], 0) if len(qualified) == 1 else None


def _needs(shapes: Graph, shape: Node, depth: int) -> tuple[frozenset[URIRef], ...] | None:
    """The classes a node must have to conform to ``shape``, as alternatives (any one set); None if none are needed.

    Read from ``sh:class``, ``sh:node``, ``sh:and`` and ``sh:or`` (``sh:xone`` as ``sh:or``);
    anything else adds no need, which errs towards keeping facts.
    """
    if depth > 16 or (shape, SH.deactivated, None) in shapes:  # a deactivated shape holds for every node
        return None
    alternatives = [frozenset(c for c in shapes.objects(shape, SH["class"]) if isinstance(c, URIRef))]
    conjuncts = [*shapes.objects(shape, SH.node)]
    for lst in shapes.objects(shape, SH["and"]):
        conjuncts.extend(shapes.items(lst))
    for member in conjuncts:
        needs = _needs(shapes, member, depth + 1)
        if needs is not None:
            alternatives = [a | n for a in alternatives for n in needs]
    for lst in [*shapes.objects(shape, SH["or"]), *shapes.objects(shape, SH.xone)]:
        options = [_needs(shapes, member, depth + 1) for member in shapes.items(lst)]
        known = [o for o in options if o is not None]
        if options and len(known) == len(options):
            alternatives = [a | n for a in alternatives for o in known for n in o]
    found = tuple(a for a in alternatives if a)
    return found if len(found) == len(alternatives) and found else None


def _instances_of_targets(shapes: Graph, path: Node) -> set[URIRef] | None:
    """The classes an ``^rdf:type`` step reaches the instances of, when that is all it can reach; else None.

    That is when it is the whole path, or the first step, of property shapes whose focus nodes
    are ``sh:targetNode`` classes and nothing else.
    """
    out: set[URIRef] = set()
    for holder, p in shapes.subject_predicates(path):
        if p == RDF.first and not any(True for _ in shapes.subjects(RDF.rest, holder)):
            users = [s for s, q in shapes.subject_predicates(holder) if q == SH.path]  # a sequence it starts
            if len(users) != sum(1 for _ in shapes.subject_predicates(holder)):
                return None
        elif p == SH.path:
            users = [holder]
        else:
            return None
        for prop in users:
            focus = _focus(shapes, prop, 0)
            if focus is None:
                return None
            out |= focus
    return out


def _focus(shapes: Graph, shape: Node, depth: int) -> set[URIRef] | None:
    """The ``sh:targetNode`` IRIs a shape is applied to, when it is applied to nothing else; else None."""
    said = set(shapes.predicates(shape))
    if depth > 16 or said & _TARGETS - {SH.targetNode}:
        return None
    out = {t for t in shapes.objects(shape, SH.targetNode) if isinstance(t, URIRef)}
    for parent, p in shapes.subject_predicates(shape):
        if p == RDF.first:  # a member of an sh:and, sh:or or sh:xone list of a node shape
            head = parent
            while (earlier := next(shapes.subjects(RDF.rest, head), None)) is not None:
                head = earlier
            owners = list(shapes.subject_predicates(head))
            if not owners or any(q not in (SH["and"], SH["or"], SH.xone) for _, q in owners):
                return None
            parents = [owner for owner, _ in owners]
        elif p == SH.property or p in (SH.node, SH["not"]):
            parents = [parent]
        else:
            return None
        for owner in parents:
            if (owner, SH.path, None) in shapes:  # applied to a property's values
                return None
            focus = _focus(shapes, owner, depth + 1)
            if focus is None:
                return None
            out |= focus
    return out

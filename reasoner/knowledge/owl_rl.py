"""OWL 2 RL for the files that ask for it: owlrl's rules over the triples their axioms read.

A file asks for OWL 2 RL in its ontology header (``gr:entailmentRegime`` with the W3C regime
``<http://www.w3.org/ns/entailment/OWL-RL>``); every other file is closed under RDFS
(reasoner/knowledge/closure.py). Its axioms are the OWL statements in it (an equivalence, an
inverse, a property chain, a restriction...) with the blank nodes and lists they are built of.

Why not owlrl's OWL 2 RL over the whole knowledge base: it took 3.7 s for the bundled knowledge
base against 0.4 s for the RDFS closure, since its rules walk every triple on every pass, and most
of what it adds (``owl:sameAs`` of every resource with itself, ``owl:Thing`` typing) nobody reads
(bench/README.md, issue 23). Here it runs twice over small graphs: once over the axioms alone, for
what they entail of the schema (an equivalence makes two subclass axioms), which then joins the
RDFS closure; and then over the axioms with the closed triples that use a term they name, for what
they entail of the instances, until nothing new follows.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner import _disk_cache
from reasoner._rdf import literals
from reasoner.vocab import GR

if TYPE_CHECKING:
    import owlrl  # imported where it runs: a load from the cache folder never closes anything

#: The W3C entailment regimes a file's ``gr:entailmentRegime`` names (SPARQL 1.1 Entailment Regimes).
RDFS_REGIME = URIRef("http://www.w3.org/ns/entailment/RDFS")
OWL_RL = URIRef("http://www.w3.org/ns/entailment/OWL-RL")
REGIMES = frozenset({RDFS_REGIME, OWL_RL})

#: OWL terms that declare or annotate and entail nothing: allowed under either regime.
DECLARATIONS = frozenset(
    {OWL.Ontology, OWL.versionIRI, OWL.imports, OWL.versionInfo, OWL.priorVersion, OWL.deprecated}
    | {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual}
    | {OWL.Thing, OWL.Nothing}
    | {OWL.disjointWith, OWL.AllDisjointClasses}  # constraints, not entailments: reasoner/knowledge/disjointness.py
    | {OWL.members}  # of an owl:AllDisjointClasses; an owl:AllDifferent's type is a construct
)
_SCHEMA = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range})
VOCABULARIES = (str(RDF), str(RDFS), str(OWL), "http://www.w3.org/2001/XMLSchema#")


def regime(graph: Graph) -> URIRef:
    """The entailment regime a file's ontology header names (RDFS when it names none)."""
    for ontology in graph.subjects(RDF.type, OWL.Ontology):
        for named in graph.objects(ontology, GR.entailmentRegime):
            if named == OWL_RL:
                return OWL_RL
    return RDFS_REGIME


def is_construct(term: Node) -> bool:
    """Whether ``term`` is an OWL term that entails something (not a declaration or annotation)."""
    return isinstance(term, URIRef) and str(term).startswith(str(OWL)) and term not in DECLARATIONS


def axioms(graph: Graph) -> Graph:
    """The OWL axioms of one file: statements with an OWL construct, and the blank nodes and lists they use."""
    out = Graph()
    nodes: set[Node] = set()
    for s, p, o in graph:
        if is_construct(p) or (p == RDF.type and is_construct(o)):
            out.add((s, p, o))
            nodes.update(t for t in (s, o) if isinstance(t, BNode))
    stack = list(nodes)
    while stack:  # the restrictions and lists the axioms are made of, and what refers to them
        node = stack.pop()
        for triple in (*graph.triples((node, None, None)), *graph.triples((None, None, node))):
            out.add(triple)
            for t in (triple[0], triple[2]):
                if isinstance(t, BNode) and t not in nodes:
                    nodes.add(t)
                    stack.append(t)
    return out


def named_terms(axiom_graph: Graph) -> frozenset[URIRef]:
    """The classes and properties the axioms name (not the RDF, RDFS, OWL or XSD vocabularies)."""
    return frozenset(
        t for triple in axiom_graph for t in triple if isinstance(t, URIRef) and not str(t).startswith(VOCABULARIES)
    )


_Triple = tuple[Node, Node, Node]
_REMEMBERED: dict[frozenset[_Triple], frozenset[_Triple]] = {}
_REMEMBERED_LOCK = threading.Lock()
#: How many closures a process remembers (the newest): a reload, ``impact`` or a test of an edited
#: copy closes the same schema, and the same triples the axioms read, again.
REMEMBER = 16


_Triples = frozenset[_Triple]


def remembered(given: _Triples, close: Callable[[_Triples], _Triples]) -> _Triples:
    """``close(given)``, remembered by the triples given (owlrl's closures take tenths of a second).

    In this process, and in the user's cache folder (reasoner/_disk_cache.py, with every module of
    the engine and owlrl's version in the key): an edit that leaves the schema as it was, a label
    or a threshold's value, closes nothing again in the next command.
    """
    with _REMEMBERED_LOCK:
        found = _REMEMBERED.get(given)
    if found is None:
        key = _disk_key(given, close)
        found = _disk_cache.kept(_KIND, key, frozenset)
        if found is None:
            found = close(given)
            _disk_cache.keep(_KIND, key, found, most=KEEP_ON_DISK)
        with _REMEMBERED_LOCK:
            while len(_REMEMBERED) >= REMEMBER:
                _REMEMBERED.pop(next(iter(_REMEMBERED)))
            _REMEMBERED[given] = found
    return found


_KIND = "closures"
#: How many closures the cache folder keeps (the newest).
KEEP_ON_DISK = 32


def _disk_key(given: _Triples, close: Callable[[_Triples], _Triples]) -> str:
    # Blank nodes by their labels: a file parsed again gives new ones, and then this is only a miss.
    lines = sorted(" ".join(t.n3() for t in triple) for triple in given)
    subject = hashlib.sha256("\n".join([f"{close.__module__}.{close.__qualname__}", *lines]).encode()).hexdigest()
    return _disk_cache.key(subject, None)


def _closed(given: frozenset[_Triple]) -> frozenset[_Triple]:
    work = Graph(store="SimpleMemory")  # no contexts: owlrl reads it a tenth faster
    for triple in given:
        work.add(triple)
    expand(work)
    return frozenset(work)


def schema_entailments(axiom_graph: Graph) -> frozenset[_Triple]:
    """What the axioms entail of the schema: subclass, subproperty, domain and range axioms between named terms."""
    return frozenset(
        (s, p, o)
        for s, p, o in remembered(frozenset(axiom_graph), _closed)
        if p in _SCHEMA and isinstance(s, URIRef) and isinstance(o, URIRef) and s != o and not _vocabulary(s, o)
    )


def instance_entailments(closed: Graph, axiom_graph: Graph, named: frozenset[URIRef]) -> set[tuple[Node, Node, Node]]:
    """What the axioms entail of the closed knowledge base's instances that it does not already hold."""
    work = _scoped(closed, axiom_graph, named)
    return {t for t in work if t not in closed and _kept(t)}


#: The OWL 2 RL constructs owlrl can find contradicted (rules cax-dw, prp-irp, prp-asyp, eq-diff1...).
CONSTRAINTS = frozenset(
    {OWL.AsymmetricProperty, OWL.IrreflexiveProperty, OWL.FunctionalProperty, OWL.InverseFunctionalProperty}
    | {OWL.AllDisjointProperties, OWL.propertyDisjointWith, OWL.complementOf}
    | {OWL.differentFrom, OWL.AllDifferent, OWL.NegativePropertyAssertion, OWL.maxCardinality}
    | {OWL.maxQualifiedCardinality, OWL.hasKey, OWL.Nothing}
)


def constrains(axiom_graph: Graph) -> bool:
    """Whether the axioms use a construct that can be contradicted (else :func:`inconsistencies` finds nothing)."""
    return any(p in CONSTRAINTS or o in CONSTRAINTS for _s, p, o in axiom_graph)


def inconsistencies(closed: Graph, axiom_graph: Graph) -> list[str]:
    """What owlrl finds the axioms contradicted by, in the closed knowledge base (an asymmetric property both ways...).

    Its own words, which name the terms by IRI; ill-typed literals are left to lint's own check.
    """
    work = _scoped(closed, axiom_graph, named_terms(axiom_graph))
    import owlrl

    messages = {str(o) for _s, p, o in work if p == owlrl.Namespaces.ERRNS.error}
    return sorted(m for m in messages if not m.startswith("Lexical value"))


def _scoped(closed: Graph, axiom_graph: Graph, named: frozenset[URIRef]) -> frozenset[_Triple]:
    """The axioms with the closed triples that use a term they name, closed by owlrl under OWL 2 RL."""
    given = set(axiom_graph)
    for s, p, o in closed:
        if p in named or (p == RDF.type and o in named) or (p in _SCHEMA and s in named and o in named):
            given.add((s, p, o))
    return remembered(frozenset(given), _closed)


def _kept(triple: tuple[Node, Node, Node]) -> bool:
    """An entailment of the instances that the reasoner or the SPARQL endpoint reads."""
    s, p, o = triple
    if isinstance(s, (Literal, BNode)) or isinstance(p, BNode) or isinstance(o, BNode):
        return False  # typing by a restriction, facts about the axioms' own blank nodes
    if str(s).startswith(VOCABULARIES) or p in _SCHEMA:
        return False  # the schema came from schema_entailments and the RDFS closure
    if p == OWL.sameAs:
        return s != o
    return not (p == RDF.type and str(o).startswith(VOCABULARIES))  # owl:Thing, rdfs:Resource, owl:Class...


def _vocabulary(*terms: Node) -> bool:
    return any(str(t).startswith(VOCABULARIES) for t in terms)


def expand(graph: Graph, semantics: type[owlrl.Core] | None = None) -> None:
    """Close ``graph`` in place by owlrl (OWL 2 RL, or ``owlrl.RDFS_Semantics``), without axiomatic triples.

    Without owlrl's "improved datatypes": with them it swaps rdflib's process-wide literal converters
    for its own while it runs, and a request parsed meanwhile (a server reloading its knowledge base)
    would have its numbers converted without the caps (reasoner/_rdf/literals.py, docs/threats.md).
    """
    import owlrl

    closure = owlrl.DeductiveClosure(
        semantics or owlrl.OWLRL_Semantics,
        improved_datatypes=False,
        rdfs_closure=False,
        axiomatic_triples=False,
        datatype_axioms=False,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # owlrl warns of literals it reads as ill-typed; lint has its own check
            closure.expand(graph)
    finally:
        literals.restore()  # were owlrl ever to put rdflib's own converters back, the caps would be lifted


def rl_axioms(files: Iterable[Graph]) -> Graph:
    """The axioms of those of the files (each parsed alone) that ask for OWL 2 RL, in one graph."""
    out = Graph()
    for graph in files:
        if regime(graph) == OWL_RL:
            out += axioms(graph)
    return out

"""A shape of the knowledge base as Turtle, for people reading why a criterion is met or not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD

from reasoner._memo import per_knowledge_base
from reasoner.vocab import BASE, CPT, DX, EV, FIND, GRS, HCPCS, ICD10CM, KB, LOINC, OBS, PROC, UNIT

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_PREFIXES = {
    "gr": Namespace(BASE + "core#"),
    "cv": Namespace(BASE + "case#"),
    "grs": GRS,
    "kb": KB,
    "proc": PROC,
    "dx": DX,
    "find": FIND,
    "obs": OBS,
    "ev": EV,
    "unit": UNIT,
    "cpt": CPT,
    "hcpcs": HCPCS,
    "icd10cm": ICD10CM,
    "loinc": LOINC,
    "sh": SH,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "skos": SKOS,
    "xsd": XSD,
}


@per_knowledge_base(maxsize=1024)
def shape_turtle(kb: KnowledgeBase, shape: URIRef) -> str:
    """The shape's triples and those of every node it reaches that is blank or a shape, as Turtle.

    "" for no such shape. Named nodes outside the shapes namespace (criteria, classes, codes) are
    not followed: their triples are in the ontology, not in the shape.
    """
    out = Graph(bind_namespaces="none")
    for prefix, ns in _PREFIXES.items():
        out.bind(prefix, ns)
    todo: list[URIRef | BNode] = [shape]
    seen: set[URIRef | BNode] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in kb.shapes.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode) or (isinstance(o, URIRef) and o.startswith(GRS) and o != node):
                todo.append(o)
    return out.serialize(format="turtle") if len(out) else ""

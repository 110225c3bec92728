"""A determination as RDF, with PROV-O provenance.

The graph says which knowledge base version and policy the determination was generated from,
and which case facts each criterion result rests on. It carries no timestamp, so it is as
reproducible as the JSON form.
"""

from __future__ import annotations

from rdflib import PROV, RDF, Graph, Literal, URIRef

from reasoner.model import Determination, Status
from reasoner.vocab import BASE, GR, KB

_STATUS = {Status.MET: GR.Met, Status.NOT_MET: GR.NotMet, Status.UNKNOWN: GR.Unknown}


def determination_graph(d: Determination) -> Graph:
    """The determination as an RDF graph (serialise it as Turtle or JSON-LD)."""
    g = Graph()
    g.bind("gr", str(GR.Determination).rsplit("#", 1)[0] + "#")
    g.bind("prov", PROV)
    g.bind("grk", KB)
    det = URIRef(f"{BASE}determination/{d.determinationId}")
    activity = URIRef(f"{det}#activity")
    kb_version = URIRef(f"{BASE}kb-version/{d.knowledgeBase.removeprefix('sha256:')}")
    policy = KB[d.policy.id]
    g.add((det, RDF.type, GR.Determination))
    g.add((det, GR.outcome, Literal(d.outcome.value)))
    g.add((det, PROV.wasGeneratedBy, activity))
    g.add((det, PROV.wasDerivedFrom, kb_version))
    g.add((det, PROV.wasDerivedFrom, policy))
    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, PROV.used, kb_version))
    g.add((activity, PROV.used, policy))
    g.add((kb_version, RDF.type, GR.KnowledgeBaseVersion))
    g.add((kb_version, GR.contentHash, Literal(d.knowledgeBase)))
    for i, c in enumerate(d.criteria, start=1):
        result = URIRef(f"{det}#criterion-{i}")
        g.add((det, GR.criterionResult, result))
        g.add((result, RDF.type, GR.CriterionResult))
        g.add((result, GR.criterion, KB[c.id]))
        g.add((result, GR.status, _STATUS[c.status]))
        g.add((result, GR.finding, Literal(c.finding)))
        g.add((result, GR.advisory, Literal(c.advisory)))
        if c.verification is not None:
            g.add((result, GR.verification, URIRef(f"{BASE}core#Verification{c.verification}")))
        for fact in c.facts:
            node = URIRef(fact.node)
            g.add((result, PROV.wasDerivedFrom, node))
            g.add((activity, PROV.used, node))
    return g

"""What a criterion's root shapes count: sessions or distinct tests (the explanation groups a count's facts by it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import RDF, SH, URIRef

from reasoner._memo import per_knowledge_base
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@per_knowledge_base(maxsize=8, ahead=lambda _kb: [()])
def group_counts(kb: KnowledgeBase) -> dict[URIRef, tuple[tuple[URIRef, URIRef, str], ...]]:
    """For each criterion, its root shapes' qualified counts of sessions or of distinct tests, with their unit.

    A count of sessions walks ``^gr:sessionOf``; a count of tests ends its path in ``cv:test``.
    """
    shapes, index = kb.shapes, kb.shape_index
    out: dict[URIRef, list[tuple[URIRef, URIRef, str]]] = {}
    for root, criteria in index.checks.items():
        for part in shapes.objects(root, SH.property):
            path = shapes.value(part, SH.path)
            if path is None or (part, SH.qualifiedValueShape, None) not in shapes:
                continue
            if shapes.value(path, SH.inversePath) == GR.sessionOf:
                unit = "session"
            elif (path, RDF.first, None) in shapes and list(shapes.items(path))[-1:] == [CV.test]:
                unit = "distinct test"
            else:
                continue
            for c in criteria:
                # rules.py names every property shape it writes (an IRI)
                out.setdefault(c, []).append((root, part, unit))  # type: ignore[arg-type]
    return {c: tuple(sorted(v)) for c, v in out.items()}

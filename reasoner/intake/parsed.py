"""What intake hands on: the case graph, and a digest of the case as submitted when intake has one."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph


@dataclass(frozen=True, slots=True)
class ParsedCase:
    """A case after intake.

    ``digest``: of the validated JSON case (a JSON or FHIR case), cheaper than hashing a long
    history's triples; the determination id is made from it. None for Turtle and JSON-LD, whose id
    is made from the triples. Later stages write derived facts into a copy, never into ``graph``.
    """

    graph: Graph
    digest: str | None = None

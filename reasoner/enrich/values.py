"""What the enrich stage hands on: the case graph with derived facts, and the requested lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rdflib import Graph, URIRef
from rdflib.term import Node

from reasoner.knowledge.applicability import Applicable
from reasoner.knowledge.entities import Policy

if TYPE_CHECKING:
    from reasoner.intake.diagnosis_codes import Pend


@dataclass(frozen=True, slots=True)
class Line:
    """A requested line after enrichment."""

    node: Node
    code: URIRef
    units: int
    status: URIRef
    classes: frozenset[URIRef]


@dataclass(frozen=True)
class EnrichedCase:
    """The case graph with derived facts, and what applies to it under the policy."""

    graph: Graph
    case: Node
    request: Node
    policy: Policy
    request_date: date
    lines: tuple[Line, ...]
    applicable: Applicable
    pends: tuple[Pend, ...] = ()  # codes on the request it cannot be decided with (a category, say)

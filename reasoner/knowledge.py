"""Typed, read-only views of the guideline knowledge, built once when the knowledge base loads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rdflib import URIRef

from .vocab import BASE, GR

COVERAGE = URIRef(BASE + "core#CategoryCoverage")
COUNT = URIRef(BASE + "core#Count")
#: Texts a reader sees that may name thresholds as ``{key}`` (the key is the threshold IRI's last part).
TEXT_PROPERTIES = (GR.statement, GR.action, GR.notMetText, GR.missingText)
PLACEHOLDER = re.compile(r"\{([a-z0-9-]+)\}")


def threshold_key(iri: URIRef) -> str:
    """The key a text uses for a threshold: the last part of its IRI (``lbb-min-count``)."""
    return str(iri).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


#: Placeholders of a not-met text that a determination fills: the requested codes a criterion fails
#: on ("CPT 64772"), and the case facts it fails on (each by kind, date and source document).
FACT_PLACEHOLDERS = frozenset({"codes", "facts"})


def fill_thresholds(text: str, values: Mapping[str, str], *, keep: frozenset[str] = frozenset()) -> str:
    """``text`` with every ``{key}`` replaced by the threshold value of that key (``keep``: left for later).

    Raises:
        KeyError: the first key that has no value (the caller names the resource).
    """

    def value(m: re.Match[str]) -> str:
        key = m.group(1)
        return m.group(0) if key in keep and key not in values else values[key]

    return PLACEHOLDER.sub(value, text)


def fill_facts(text: str, codes: list[str], facts: list[str]) -> str:
    """A not-met text with ``{codes}`` and ``{facts}`` filled (``none`` when there are none)."""
    said = {"codes": ", ".join(codes) or "no requested code", "facts": "; ".join(facts) or "none"}
    return PLACEHOLDER.sub(lambda m: said.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True, slots=True)
class Reference:
    """A cited source."""

    iri: URIRef
    id: str
    label: str
    publisher: str
    year: str
    identifiers: tuple[str, ...]
    verification: str


@dataclass(frozen=True, slots=True)
class Grade:
    """An evidence grade in a named scheme."""

    iri: URIRef
    notation: str
    scheme: str


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number a criterion compares against, with its unit, source and verification tag."""

    iri: URIRef
    key: str
    label: str
    value: Decimal
    unit: str
    unit_iri: URIRef
    verification: str
    references: tuple[URIRef, ...]

    def display(self) -> str:
        """The value as a person writes it (50, not 50.0)."""
        return format(self.value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A graded recommendation of a guideline."""

    iri: URIRef
    label: str
    text: str
    grade: Grade | None
    references: tuple[URIRef, ...]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion of a policy, with everything the explain stage reads."""

    iri: URIRef
    id: str
    policy: URIRef
    label: str
    statement: str
    not_met_text: str
    category: str
    category_iri: URIRef
    required: bool
    order: int
    applies_to: frozenset[URIRef]
    thresholds: tuple[URIRef, ...]
    needs: frozenset[URIRef]
    considers: tuple[URIRef, ...]
    qualifying_shapes: frozenset[URIRef]
    recommendation: URIRef | None
    references: tuple[URIRef, ...]
    scope_shapes: frozenset[URIRef] = frozenset()  # a listed fact surely outside one is not counted

    @property
    def is_coverage(self) -> bool:
        """Whether the criterion asks if the policy covers the requested codes at all."""
        return self.category_iri == COVERAGE


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a policy's pathway."""

    iri: URIRef
    policy: URIRef
    label: str
    order: int
    action: str
    procedure_classes: frozenset[URIRef]
    requires: frozenset[URIRef]
    completion_criterion: URIRef | None
    recommendation: URIRef | None
    thresholds: tuple[URIRef, ...]


@dataclass(frozen=True, slots=True)
class CoverageRule:
    """A policy's coverage position on one code."""

    iri: URIRef
    policy: URIRef
    code: URIRef
    status: URIRef
    label: str
    references: tuple[URIRef, ...]


@dataclass(frozen=True, slots=True)
class Code:
    """A CPT, HCPCS or ICD-10-CM code."""

    iri: URIRef
    notation: str
    system: str
    label: str
    denotes: URIRef | None
    add_on_to: frozenset[URIRef] = frozenset()
    levels_per_unit: int = 0
    region: URIRef | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A payer's or guideline body's rule set."""

    iri: URIRef
    id: str
    label: str
    publisher: str
    version: str
    effective_date: str
    scope_note: str
    references: tuple[URIRef, ...]
    fallback_codes: frozenset[URIRef] = frozenset()

"""Typed, read-only views of the guideline knowledge, built once when the knowledge base loads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from rdflib import URIRef

from reasoner.vocab import BASE, GR, ICD10CM

COVERAGE = URIRef(BASE + "core#CategoryCoverage")
COUNT = URIRef(BASE + "core#Count")
#: Texts a reader sees that may name thresholds as ``{key}`` (the key is the threshold IRI's last part).
TEXT_PROPERTIES = (GR.statement, GR.action, GR.notMetText, GR.metText, GR.missingText)
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
class Tag:
    """A verification tag (V, V2, S, U) as the knowledge base ranks it (core.ttl: gr:strength, gr:decidesDenial)."""

    iri: URIRef
    label: str
    strength: int
    decides: bool
    """A required criterion whose weakest tag this is can deny a request by itself (V, V2); else it is advisory."""


def weakest(tags: Iterable[Tag | None]) -> Tag | None:
    """The weakest of some tags (``None`` when there are none): what rests on several facts carries it.

    >>> v, s = Tag(URIRef("urn:v"), "V", 4, True), Tag(URIRef("urn:s"), "S", 2, False)
    >>> weakest([v, None, s]).label, weakest([]) is None
    ('S', True)
    """
    present = [t for t in tags if t is not None]
    return min(present, key=lambda t: (t.strength, t.label)) if present else None


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
    verified_content: str = ""
    """For a reference tagged V: what in it was checked against the source itself."""


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
    met_text: str
    """Why it is met when no case fact is behind it ("" when the knowledge base does not say)."""
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
    tag: Tag | None = None
    """The weakest tag of what the criterion rests on when the knowledge base loads: its own fact
    (gr:verification) and every threshold it uses; a coverage criterion without a rule adds, in each
    determination, the coverage rules of the codes it judges."""
    reads_coverage: bool = False
    """A coverage criterion without a gr:rule: its verdict is the coverage rules' of the requested codes."""
    decides_because: str = ""
    """Why the criterion decides a denial though its tag is S or U (gr:decidesBecause); empty: it does not."""

    def advisory(self, tag: Tag | None) -> bool:
        """Whether, with this tag, the criterion only flags a failure for the clinician reviewer.

        A required criterion resting on a single-source or unverified fact (its weakest tag does
        not decide a denial) is advisory unless it states why it decides (``decides_because``).
        """
        return self.required and tag is not None and not tag.decides and not self.decides_because

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
    tag: Tag | None = None
    """Its verification tag; the one-triple gr:excludesCode form states none and is unverified (U)."""
    decides_because: str = ""
    """Why a criterion failing on this rule decides a denial though the rule's tag is S or U (gr:decidesBecause)."""


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
    deleted_on: str | None = None  # ISO date the code left its code set (gr:deletedOn)
    replaced_by: frozenset[URIRef] = frozenset()  # gr:replacedBy: the codes that took a deleted one's place
    official: str | None = None  # an ICD-10-CM code's official description, when the release has it as billable


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


@dataclass(frozen=True, slots=True)
class DiagnosisEntry:
    """One entry of a diagnosis list: a code, a range of codes, or a family (by notation)."""

    iri: URIRef
    code: str | None = None
    first: str | None = None
    last: str | None = None
    prefix: str | None = None

    def holds(self, notation: str) -> bool:
        """Whether the ICD-10-CM code with this notation is in the entry."""
        if self.code is not None:
            return notation == self.code
        return _selects(notation, self.prefix, self.first, self.last)


@dataclass(frozen=True, slots=True)
class CodeFamily:
    """ICD-10-CM codes named as a family (a category and all under it) or a range, and the class each denotes."""

    iri: URIRef
    label: str
    denotes: URIRef
    prefix: str | None = None
    first: str | None = None
    last: str | None = None

    def holds(self, notation: str) -> bool:
        """Whether the ICD-10-CM code with this notation is in the family."""
        return _selects(notation, self.prefix, self.first, self.last)

    @property
    def width(self) -> int:
        """How wide the family is, the less the longer what names it: the narrowest classifies a code first."""
        return -len(self.prefix if self.prefix is not None else self.first or "")


def _selects(notation: str, prefix: str | None, first: str | None, last: str | None) -> bool:
    """A family holds every code that starts with its prefix; a range, the codes as long as both ends, between them."""
    if prefix is not None:
        return notation.startswith(prefix)
    if first is None or last is None:
        return False
    return len(notation) == len(first) == len(last) and first <= notation <= last


def icd10cm_notation(code: object, codes: Mapping[URIRef, Code]) -> str | None:
    """The ICD-10-CM notation of a case's diagnosis code: the knowledge base's, else the IRI's last part.

    None when the IRI is no ICD-10-CM code (a Turtle case may name anything).
    """
    if not isinstance(code, URIRef):
        return None
    known = codes.get(code)
    if known is not None:
        return known.notation or None
    text = str(code)
    if not text.startswith(str(ICD10CM)):
        return None
    return text[len(str(ICD10CM)) :].upper() or None

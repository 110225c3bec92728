"""Schemas of the API's own answers (the reasoner's models document determinations and knowledge views).

Health and version answers are validated against these as they are sent. The CDS Hooks and FHIR
answers are built as JSON by the reasoner, so these models document them (the tests check real
answers against them); they name what a client relies on and let the rest through, since CDS
Hooks and FHIR both allow more than a client needs to read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Health(_Closed):
    """Liveness."""

    status: Literal["ok"]


class PolicyVersion(_Closed):
    """A policy and its version."""

    id: str
    version: str


class RefusedReload(_Open):
    """The last reload that was refused, with why."""

    error: str
    problems: list[str]
    liveKnowledgeBase: str
    liveGeneration: int


class VersionInfo(_Closed):
    """What answers: the application, the knowledge base (hash and generation) and its policies."""

    version: str = Field(description="the application version")
    knowledgeBase: str = Field(description="the knowledge base's content hash, as in X-Knowledge-Base")
    generation: int = Field(description="the generation being served, as in X-Knowledge-Base-Generation")
    published: str = Field(description="when the generation was published (ISO 8601)")
    worker: int = Field(description="the process id of the worker that answered")
    policies: list[PolicyVersion]
    refusedReload: RefusedReload | None = Field(None, description="present when a reload was refused since")


class CdsService(_Open):
    """A CDS service in the discovery document."""

    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


class CdsDiscovery(_Open):
    """CDS Hooks 2.0 discovery: the services and the prefetch each declares."""

    services: list[CdsService]


class CardSource(_Open):
    """Who the card's guidance comes from."""

    label: str


class Card(_Open):
    """A CDS Hooks card (Da Vinci CRD card type ``guideline``)."""

    summary: str = Field(max_length=140)
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    uuid: str | None = None
    detail: str | None = None


class FhirResource(_Open):
    """A FHIR R4 resource (only its type is named here)."""

    resourceType: str


class SystemAction(_Open):
    """An action the EHR applies without the user: an ``update`` of an order with the coverage information."""

    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1, description="what the action does (required by CDS Hooks 2.0)")
    resource: FhirResource


class CdsResponse(_Open):
    """A CDS Hooks response: cards, and the system actions."""

    cards: list[Card]
    systemActions: list[SystemAction] = Field(default_factory=list)


class BundleEntry(_Open):
    """An entry of a Bundle."""

    fullUrl: str | None = None
    resource: FhirResource


class FhirBundle(_Open):
    """A FHIR R4 Bundle: for a PAS request, the response Bundle with the ClaimResponse first."""

    resourceType: Literal["Bundle"]
    type: str
    entry: list[BundleEntry]


class CapabilityOperation(_Open):
    """An operation the server offers on a resource type (``$`` left out of the name)."""

    name: str
    definition: str


class CapabilityResource(_Open):
    """A resource type the server offers something for."""

    type: str
    operation: list[CapabilityOperation] = Field(default_factory=list)


class CapabilityRest(_Open):
    """What the server offers over FHIR's RESTful API."""

    mode: Literal["server"]
    resource: list[CapabilityResource]


class CapabilityStatement(_Open):
    """A FHIR R4 CapabilityStatement of this server (``GET /metadata``)."""

    resourceType: Literal["CapabilityStatement"]
    status: Literal["active"]
    date: str
    kind: Literal["instance"]
    fhirVersion: Literal["4.0.1"]
    format: list[str]
    rest: list[CapabilityRest]


class ReviewOut(_Closed):
    """A clinician's review of a kept determination."""

    id: str
    action: Literal["uphold", "overturn", "modify"]
    reviewer: str
    at: str = Field(description="when (ISO 8601, UTC)")
    digest: str = Field(description="the digest of the determination reviewed")
    outcome: str = Field(description="the outcome the review gives")
    reason: str | None = Field(None, description="the reviewer's reason (for the reviewer role only)")


class Record(_Closed):
    """Where a kept determination stands."""

    status: Literal["awaiting-review", "automated", "upheld", "overturned", "modified"]
    finalOutcome: str | None = Field(description="the engine's when automated, the reviewer's once reviewed")
    finalOutcomeLabel: str | None
    storedAt: str
    decidedAt: str | None
    digest: str = Field(description="SHA-256 of the determination's JSON form as kept; a review names it")
    reviews: list[ReviewOut]


class RecordOut(Record):
    """A kept determination's record, with a link to it."""

    determination: str = Field(description="the path of the determination")


class KeptSummary(_Closed):
    """One kept determination in a list."""

    id: str
    href: str
    policy: str
    outcome: str
    status: str
    finalOutcome: str | None
    storedAt: str
    decidedAt: str | None


class KeptPage(_Closed):
    """A page of kept determinations, the latest first."""

    items: list[KeptSummary]
    limit: int
    offset: int
    more: bool = Field(description="whether a next page has items")

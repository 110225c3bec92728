"""The determination store's one interface, written once over SPARQL for every backend.

Layout of the dataset (IRIs under ``https://w3id.org/guideline-reasoner/determination/``):

- ``<id>``: a named graph that holds the determination of the same IRI as an analyst may see it:
  its RDF with PROV-O (reasoner.render.rdf) without what quotes the case (findings, the facts
  each result rests on), when and by whom it was asked for, the engine, the policy version, the
  requested codes, the SHA-256 of its JSON form (``st:digest``), and where it stands
  (``st:status``, ``st:finalOutcome``, ``st:decidedAt``). A put with ``defer`` writes the RDF later
  (:meth:`DeterminationStore.project`); until then the graph says ``st:pending true``.
- ``<id>/case``: what carries patient data: the case facts (one literal: a reviewer reads them
  whole, nobody queries them, and one literal costs a hundredth of 170 quads to write), the
  determination's JSON form (it quotes the facts), the PAS claim's key (it holds the patient's
  identifier) and each review's reason. Only a role allowed to see patient data is given these
  graphs: every graph whose name ends ``/case``.
- ``<id>/review/<n>``: one clinician review (action, reviewer, time, the digest it read, outcome).

A backend supplies five primitives (:meth:`_commit`, :meth:`_select`, :meth:`_update`,
:meth:`_dump`, :meth:`_load`); everything else is here, so every backend behaves alike.
"""

from __future__ import annotations

import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime

import pyoxigraph as ox
from rdflib import Graph

import reasoner
from reasoner.model import Determination
from reasoner.render.rdf import determination_iri, determination_terms
from reasoner.store.records import (
    REVIEWED,
    KeptCase,
    Review,
    ReviewAction,
    ReviewIn,
    ReviewStatus,
    Stored,
    StoreError,
    check_review,
    initial_status,
)
from reasoner.store.terms import (
    JSON_DT,
    NTRIPLES,
    PREFIXES,
    PROV,
    RDF_TYPE,
    ST,
    TRUE,
    iri,
    literal,
    ntriples,
    sha256,
    st_iri,
    term_literal,
    when,
)
from reasoner.vocab import BASE

_CASE_DATATYPES = {
    "application/json": ox.NamedNode(JSON_DT),
    NTRIPLES: ox.NamedNode(str(ST.NTriples)),
    "application/fhir+json": ox.NamedNode(str(ST.FhirJSON)),  # a PAS request that gave no case, as received
}

Row = Mapping[str, str]


def graph_of(ident: str) -> str:
    """The IRI of the named graph holding a determination (the determination's own IRI)."""
    return str(determination_iri(checked(ident)))


def case_graph_of(ident: str) -> str:
    """The IRI of the named graph holding a determination's case facts and review reasons."""
    return graph_of(ident) + "/case"


def is_private_graph(name: str) -> bool:
    """Whether a graph of the store holds patient data (case facts, review reasons)."""
    return name.startswith(BASE + "determination/") and name.endswith("/case")


def checked(ident: str) -> str:
    """A determination id is hexadecimal: anything else cannot name one (and never reaches a query)."""
    if not ident or len(ident) > 64 or not all(c in "0123456789abcdef" for c in ident):
        raise ValueError(f"not a determination id: {ident!r}")
    return ident


class DeterminationStore(ABC):
    """Determinations kept with their case facts and reviews (see the module's docstring for the layout)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # put and review read, then write: one at a time per process

    # -- the primitives a backend supplies -------------------------------------------------------

    @abstractmethod
    def _commit(self, drop: list[str], quads: list[ox.Quad]) -> None:
        """Drop the named graphs ``drop`` and add ``quads``; durable (survives SIGKILL) on return."""

    @abstractmethod
    def _select(self, query: str) -> list[dict[str, str]]:
        """The rows of a SELECT, each variable's value as a string (unbound ones absent)."""

    @abstractmethod
    def _update(self, update: str) -> None:
        """Run a SPARQL Update as one transaction; durable on return."""

    @abstractmethod
    def _dump(self) -> bytes:
        """Every named graph as N-Quads."""

    @abstractmethod
    def _load(self, data: bytes) -> None:
        """Add N-Quads (one transaction)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the backend."""

    # -- the interface ----------------------------------------------------------------------------

    def put(
        self,
        d: Determination,
        case: KeptCase | Graph | None = None,
        *,
        by: str | None = None,
        claim: str | None = None,
        now: datetime | None = None,
        defer: bool = False,
    ) -> Stored:
        """Keep ``d`` (and the case facts, apart), asked for by ``by``; durable on return.

        The same determination asked for again (same id, same JSON) keeps its first time and its
        review and gains the new asker; with another JSON (a new engine) it is replaced and awaits
        a review of its own. ``defer``: leave its RDF (PROV-O, criteria results) to a later
        :meth:`project`, as a server does after answering; until then the determination is marked
        ``st:pending`` (its record and JSON are kept, and :meth:`project_pending` finishes it).
        """
        text = d.model_dump_json()
        digest = sha256(text)
        now = (now or datetime.now(UTC)).astimezone(UTC)
        g = graph_of(d.determinationId)
        home = ox.NamedNode(g)
        with self._lock:
            before = self._head(d.determinationId)
            if before is not None and before[0] == digest:
                quads = _extras(home, by, claim)
                if quads:
                    self._commit([], quads)
                found = self.get(d.determinationId)
                assert found is not None
                return found
            status = initial_status(d.outcome.value)
            private = ox.NamedNode(g + "/case")
            quads = [ox.Quad(home, st_iri("pending"), TRUE, home)] if defer else _rdf(d, home)
            activity = ox.NamedNode(g + "#activity")
            engine = ox.NamedNode(f"{BASE}engine/{reasoner.__version__}")
            quads += [
                ox.Quad(home, st_iri("digest"), ox.Literal(digest), home),
                ox.Quad(home, st_iri("policy"), ox.Literal(d.policy.id), home),
                ox.Quad(home, st_iri("policyVersion"), ox.Literal(d.policy.version), home),
                ox.Quad(home, st_iri("outcome"), ox.Literal(d.outcome.value), home),
                ox.Quad(home, st_iri("storedAt"), when(now), home),
                ox.Quad(home, st_iri("status"), ox.Literal(status.value), home),
                ox.Quad(activity, ox.NamedNode(PROV + "endedAtTime"), when(now), home),
                ox.Quad(activity, ox.NamedNode(PROV + "wasAssociatedWith"), engine, home),
                ox.Quad(activity, ox.NamedNode(PROV + "used"), private, home),
                ox.Quad(engine, ox.NamedNode(RDF_TYPE), ox.NamedNode(PROV + "SoftwareAgent"), home),
                ox.Quad(engine, st_iri("version"), ox.Literal(reasoner.__version__), home),
                # The JSON form quotes the case (findings, facts): it goes with the case, apart.
                ox.Quad(home, st_iri("json"), ox.Literal(text, datatype=ox.NamedNode(JSON_DT)), private),
            ]
            quads += [ox.Quad(home, st_iri("code"), ox.Literal(line.code), home) for line in d.requested]
            if status == ReviewStatus.AUTOMATED:
                quads.append(ox.Quad(home, st_iri("finalOutcome"), ox.Literal(d.outcome.value), home))
                quads.append(ox.Quad(home, st_iri("decidedAt"), when(now), home))
            quads += _extras(home, by, claim)
            if case is not None:
                kept = case if isinstance(case, KeptCase) else KeptCase(NTRIPLES, ntriples(case))
                facts = ox.Literal(kept.text, datatype=_CASE_DATATYPES[kept.media_type])
                quads.append(ox.Quad(home, st_iri("caseFacts"), facts, private))
            self._commit([g, g + "/case"] if before is not None else [], quads)
        return Stored(
            d.determinationId,
            d.policy.id,
            d.outcome.value,
            digest,
            now,
            text,
            status,
            d.outcome.value if status == ReviewStatus.AUTOMATED else None,
            now if status == ReviewStatus.AUTOMATED else None,
            (by,) if by else (),
            (claim,) if claim else (),
        )

    def project(self, d: Determination) -> bool:
        """Write the RDF of ``d``, kept with ``defer``, unless done or replaced meanwhile; whether it wrote.

        Two transactions, the RDF then the end of ``st:pending``: a kill between them leaves it
        pending, and writing the same quads again is harmless.
        """
        g = graph_of(d.determinationId)
        with self._lock:
            rows = self._select(f"SELECT ?x WHERE {{ GRAPH <{g}> {{ <{g}> <{ST.pending}> true ; <{ST.digest}> ?x }} }}")
            if not rows or rows[0]["x"] != sha256(d.model_dump_json()):
                return False
            self._commit([], _rdf(d, ox.NamedNode(g)))
            self._update(f"DELETE DATA {{ GRAPH <{g}> {{ <{g}> <{ST.pending}> true }} }}")
        return True

    def project_pending(self) -> int:
        """Write the RDF of every determination left pending (its writer stopped first); how many."""
        rows = self._select(f"SELECT ?d WHERE {{ GRAPH ?d {{ ?d <{ST.pending}> true }} }}")
        done = 0
        for row in rows:
            stored = self.get(row["d"].rsplit("/", 1)[-1])
            done += stored is not None and self.project(stored.determination())
        return done

    def get(self, ident: str) -> Stored | None:
        """The determination kept under ``ident``, if any."""
        found = self._find(f"VALUES ?d {{ <{graph_of(ident)}> }}", limit=None, offset=0)
        return found[0] if found else None

    def case(self, ident: str) -> KeptCase | None:
        """The case kept with a determination (only for a reader allowed to see patient data)."""
        rows = self._select(
            f"SELECT ?f (DATATYPE(?f) AS ?t) WHERE {{ GRAPH <{case_graph_of(ident)}> {{ ?d <{ST.caseFacts}> ?f }} }}"
        )
        if not rows:
            return None
        media = {str(dt.value): m for m, dt in _CASE_DATATYPES.items()}
        return KeptCase(media[rows[0]["t"]], rows[0]["f"])

    def find(
        self,
        *,
        policy: str | None = None,
        outcome: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        by: str | None = None,
        claim: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Stored]:
        """Kept determinations, the latest stored first, filtered by each field given; paged."""
        filters = [
            f"?d <{ST[name]}> {literal(value)} ."
            for name, value in (("policy", policy), ("outcome", outcome), ("status", status), ("submittedBy", by))
            if value is not None
        ]
        where = f"GRAPH ?d {{ {' '.join(filters)} }}" if filters else ""
        if claim is not None:  # kept with the case (module docstring): only there is ?d its subject
            where += f" GRAPH ?claimed {{ ?d <{ST.claim}> {literal(claim)} }}"
        if since is not None:
            where += f" FILTER(?at >= {when(since)})"
        return self._find(where, limit=max(0, limit), offset=max(0, offset))

    def review(self, ident: str, review: ReviewIn, *, now: datetime | None = None) -> Stored:
        """Record a clinician's review; the determination's final status and outcome become the reviewer's.

        Raises:
            StoreError: ``not-found``, or a review that cannot stand (:func:`check_review`): another
                digest than the stored one, no reason to overturn or modify, no or an unknown outcome.
        """
        now = (now or datetime.now(UTC)).astimezone(UTC)
        with self._lock:
            stored = self.get(ident)
            if stored is None:
                raise StoreError("not-found", f"no determination {ident} is stored")
            final = check_review(review, stored)
            g = graph_of(ident)
            r = f"{g}/review/{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
            status = REVIEWED[review.action]
            reason = f"GRAPH <{g}/case> {{ <{r}> st:reason {literal(review.reason)} }}" if review.reason else ""
            # Bound to the digest in the WHERE clause: a determination replaced meanwhile is not touched.
            self._update(
                PREFIXES + f"DELETE {{ GRAPH <{g}> {{ <{g}> st:status ?s ; st:finalOutcome ?f ; st:decidedAt ?t }} }}\n"
                f"INSERT {{ GRAPH <{g}> {{ <{g}> st:status {literal(status.value)} ; "
                f"st:finalOutcome {literal(final)} ; st:decidedAt {when(now)} }}\n"
                f"  GRAPH <{r}> {{ <{r}> a st:Review , prov:Activity ; st:reviewOf <{g}> ; prov:used <{g}> ; "
                f"st:action {literal(review.action.value)} ; st:reviewer {literal(review.reviewer)} ; "
                f"st:at {when(now)} ; st:digest {literal(review.digest)} ; st:outcome {literal(final)} }}\n"
                f"  {reason} }}\n"
                f"WHERE {{ GRAPH <{g}> {{ <{g}> st:digest {literal(review.digest)} ; st:status ?s "
                f"OPTIONAL {{ <{g}> st:finalOutcome ?f }} OPTIONAL {{ <{g}> st:decidedAt ?t }} }} }}"
            )
            after = self.get(ident)
        if after is None or after.digest != review.digest:
            raise StoreError(
                "digest-mismatch", "the determination was replaced while it was being reviewed: read it again"
            )
        return after

    def reviews(self, ident: str, *, reasons: bool = False) -> list[Review]:
        """The reviews of the determination as it is stored now (of its digest), oldest first.

        ``reasons``: with each reviewer's reason (clinical text, read with the case facts).
        """
        g = graph_of(ident)
        reason = f"OPTIONAL {{ GRAPH <{g}/case> {{ ?r st:reason ?reason }} }}" if reasons else ""
        rows = self._select(
            PREFIXES + "SELECT ?r ?action ?reviewer ?at ?digest ?outcome ?reason WHERE { "
            f"GRAPH <{g}> {{ <{g}> st:digest ?digest }} "
            f"GRAPH ?r {{ ?r st:reviewOf <{g}> ; st:action ?action ; st:reviewer ?reviewer ; st:at ?at ; "
            f"st:digest ?digest ; st:outcome ?outcome }} {reason} }} ORDER BY ?at ?r"
        )
        return [
            Review(
                row["r"].rsplit("/", 1)[-1],
                ReviewAction(row["action"]),
                row["reviewer"],
                datetime.fromisoformat(row["at"]),
                row["digest"],
                row["outcome"],
                row.get("reason"),
            )
            for row in rows
        ]

    def count(self) -> int:
        """How many determinations are kept."""
        rows = self._select(f"SELECT (COUNT(?d) AS ?n) WHERE {{ GRAPH ?d {{ ?d <{ST.storedAt}> ?x }} }}")
        return int(rows[0]["n"]) if rows else 0

    def export(self) -> bytes:
        """Everything kept, as N-Quads (case facts included: handle the file as patient data)."""
        return self._dump()

    def import_(self, data: bytes) -> int:
        """Add N-Quads written by :meth:`export`; returns how many determinations are kept after."""
        try:
            self._load(data)
        except (SyntaxError, ValueError) as exc:
            raise StoreError("invalid-nquads", f"not N-Quads: {exc}") from None
        return self.count()

    # -- shared helpers ---------------------------------------------------------------------------

    def _head(self, ident: str) -> tuple[str, datetime] | None:
        """The digest and first time of the determination stored under ``ident``, if any."""
        g = graph_of(ident)
        rows = self._select(f"SELECT ?x ?at WHERE {{ GRAPH <{g}> {{ <{g}> <{ST.digest}> ?x ; <{ST.storedAt}> ?at }} }}")
        return (rows[0]["x"], datetime.fromisoformat(rows[0]["at"])) if rows else None

    def _find(self, where: str, *, limit: int | None, offset: int) -> list[Stored]:
        page = f" LIMIT {limit} OFFSET {offset}" if limit is not None else ""
        rows = self._select(
            PREFIXES + "SELECT ?d ?policy ?outcome ?digest ?at ?json ?status ?final ?decided "
            "(GROUP_CONCAT(DISTINCT ?by; separator='\\u0001') AS ?bys) "
            "(GROUP_CONCAT(DISTINCT ?claim; separator='\\u0001') AS ?claims) WHERE { "
            f"{where} GRAPH ?d {{ ?d st:policy ?policy ; st:outcome ?outcome ; st:digest ?digest ; st:storedAt ?at ; "
            "st:status ?status OPTIONAL { ?d st:finalOutcome ?final } "
            "OPTIONAL { ?d st:decidedAt ?decided } OPTIONAL { ?d st:submittedBy ?by } } "
            "GRAPH ?case { ?d st:json ?json OPTIONAL { ?d st:claim ?claim } } } "
            "GROUP BY ?d ?policy ?outcome ?digest ?at ?json ?status ?final ?decided "
            f"ORDER BY DESC(?at) ?d{page}"
        )
        return [_stored(row) for row in rows]


def _stored(row: Row) -> Stored:
    decided = row.get("decided")
    return Stored(
        row["d"].rsplit("/", 1)[-1],
        row["policy"],
        row["outcome"],
        row["digest"],
        datetime.fromisoformat(row["at"]),
        row["json"],
        ReviewStatus(row["status"]),
        row.get("final"),
        datetime.fromisoformat(decided) if decided else None,
        tuple(sorted(x for x in row.get("bys", "").split("\x01") if x)),
        tuple(sorted(x for x in row.get("claims", "").split("\x01") if x)),
    )


def _rdf(d: Determination, home: ox.NamedNode) -> list[ox.Quad]:
    """The determination's RDF as its graph keeps it (what an analyst may read: no case facts)."""
    return [ox.Quad(s, p, o, home) for s, p, o in determination_terms(d, iri, term_literal, case_facts=False)]


def _extras(home: ox.NamedNode, by: str | None, claim: str | None) -> list[ox.Quad]:
    quads = []
    if by:
        quads.append(ox.Quad(home, st_iri("submittedBy"), ox.Literal(by), home))
    if claim:
        # A claim's key holds the patient's identifier: kept with the case.
        quads.append(ox.Quad(home, st_iri("claim"), ox.Literal(claim), ox.NamedNode(home.value + "/case")))
    return quads

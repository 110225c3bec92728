"""Determinations kept on disk in an embedded Oxigraph store (issue 18, its first part).

Each determination is two named graphs. ``<BASE>determination/<id>`` holds the determination as
RDF (reasoner.render.rdf.determination_graph: the PROV-O activity, the policy, the knowledge-base
version and each criterion's result), its JSON form, the SHA-256 of that JSON and when it was
stored. ``<BASE>determination/<id>/case`` holds the case facts, apart, so that a reader who may
not see patient data is given the first graph only. :meth:`EmbeddedStore.put` writes both in one
transaction and returns only after Oxigraph has flushed it to disk. The same id stored again (the
same case under the same knowledge base and policy) replaces the earlier graphs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from reasoner.model import Determination
from reasoner.render.rdf import determination_graph
from reasoner.vocab import BASE

#: What the store says of a determination besides its RDF form.
ST = Namespace(BASE + "store#")
_JSON_DT = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


@dataclass(frozen=True, slots=True)
class Stored:
    """A kept determination: its id, what it decided and its JSON form as stored."""

    id: str
    policy: str
    outcome: str
    digest: str
    stored_at: datetime
    json: str


def graph_of(ident: str) -> str:
    """The IRI of the named graph holding a determination."""
    return f"{BASE}determination/{ident}"


class EmbeddedStore:
    """An Oxigraph database in ``folder`` (created on first use)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._db = ox.Store(str(folder))

    def put(
        self, d: Determination, case: Graph | None = None, *, now: datetime | None = None, flush: bool = True
    ) -> Stored:
        """Keep ``d`` (and the case facts, apart); durable on return.

        Committed, a put survives the process's death (SIGKILL) whatever ``flush`` says: Oxigraph's
        write-ahead log is in the operating system's cache. ``flush`` also writes it to disk, so
        that it survives the machine's (about 8 ms on this machine; ``python -m bench.store``).
        """
        text = d.model_dump_json()
        stored = Stored(d.determinationId, d.policy.id, d.outcome.value, _sha256(text), now or datetime.now(UTC), text)
        home = det = ox.NamedNode(graph_of(stored.id))  # the determination names its own graph
        facts = ox.NamedNode(graph_of(stored.id) + "/case")
        quads = [_quad(t, home) for t in determination_graph(d)]
        quads += [
            ox.Quad(det, ox.NamedNode(ST.json), ox.Literal(text, datatype=ox.NamedNode(_JSON_DT)), home),
            ox.Quad(det, ox.NamedNode(ST.digest), ox.Literal(stored.digest), home),
            ox.Quad(det, ox.NamedNode(ST.policy), ox.Literal(stored.policy), home),
            ox.Quad(det, ox.NamedNode(ST.outcome), ox.Literal(stored.outcome), home),
            ox.Quad(det, ox.NamedNode(ST.storedAt), _when(stored.stored_at), home),
        ]
        quads += [_quad(t, facts) for t in case or ()]
        for g in (home, facts):  # a determination stored again replaces its graphs
            if self._db.contains_named_graph(g):
                self._db.remove_graph(g)
        self._db.extend(quads)
        if flush:
            self._db.flush()
        return stored

    def get(self, ident: str) -> Stored | None:
        """The determination kept under ``ident``, if any."""
        found = list(self._select(f"VALUES ?d {{ <{graph_of(_checked(ident))}> }}"))
        return found[0] if found else None

    def case(self, ident: str) -> Graph | None:
        """The case facts kept with a determination (a reader must be allowed to see them)."""
        name = ox.NamedNode(graph_of(_checked(ident)) + "/case")
        if not self._db.contains_named_graph(name):
            return None
        g = Graph()
        for q in self._db.quads_for_pattern(None, None, None, name):
            g.add((_node(q.subject), _node(q.predicate), _node(q.object)))
        return g

    def find(
        self,
        *,
        policy: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Stored]:
        """Kept determinations, the latest stored first, filtered by policy, outcome and time stored."""
        filters = []
        if policy is not None:
            filters.append(f"FILTER(?policy = {_string(policy)})")
        if outcome is not None:
            filters.append(f"FILTER(?outcome = {_string(outcome)})")
        if since is not None:
            filters.append(f'FILTER(?at >= "{since.astimezone(UTC).isoformat()}"^^<{_DATETIME}>)')
        return list(self._select(" ".join(filters), limit=max(0, limit), offset=max(0, offset)))

    def close(self) -> None:
        """Flush and let go of the database (it is closed when no reference is left)."""
        self._db.flush()
        del self._db

    def _select(self, where: str, *, limit: int | None = None, offset: int = 0) -> Iterator[Stored]:
        page = f" LIMIT {limit} OFFSET {offset}" if limit is not None else ""
        query = (
            f"SELECT ?d ?policy ?outcome ?digest ?at ?json WHERE {{ {where} GRAPH ?d {{ ?d <{ST.policy}> ?policy ; "
            f"<{ST.outcome}> ?outcome ; <{ST.digest}> ?digest ; <{ST.storedAt}> ?at ; <{ST.json}> ?json }} }} "
            f"ORDER BY DESC(?at) ?d{page}"
        )
        for row in self._db.query(query):  # type: ignore[union-attr]  # a SELECT gives solutions
            ident = str(row["d"].value).rsplit("/", 1)[-1]
            at = datetime.fromisoformat(row["at"].value)
            yield Stored(ident, row["policy"].value, row["outcome"].value, row["digest"].value, at, row["json"].value)


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _checked(ident: str) -> str:
    """A determination id is hexadecimal: anything else cannot name one (and never reaches a query)."""
    if not ident or not all(c in "0123456789abcdef" for c in ident):
        raise ValueError(f"not a determination id: {ident!r}")
    return ident


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _when(at: datetime) -> ox.Literal:
    return ox.Literal(at.astimezone(UTC).isoformat(), datatype=ox.NamedNode(_DATETIME))


def _term(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(t, URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, BNode):
        return ox.BlankNode(str(t))
    if isinstance(t, Literal):
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype))) if t.datatype else ox.Literal(str(t))
    raise TypeError(f"not an RDF term: {t!r}")


def _quad(t: tuple[Node, Node, Node], graph: ox.NamedNode) -> ox.Quad:
    s, p, o = (_term(x) for x in t)
    assert not isinstance(s, ox.Literal) and isinstance(p, ox.NamedNode)  # rdflib's graphs hold RDF triples
    return ox.Quad(s, p, o, graph)


def _node(t: object) -> Node:
    if isinstance(t, ox.NamedNode):
        return URIRef(t.value)
    if isinstance(t, ox.BlankNode):
        return BNode(t.value)
    assert isinstance(t, ox.Literal)
    if t.language:
        return Literal(t.value, lang=t.language)
    return Literal(t.value, datatype=URIRef(t.datatype.value))

"""The determination store in a SPARQL 1.1 server, over HTTP: what several server workers share.

Any server that speaks the SPARQL 1.1 Protocol (query and update) and the Graph Store HTTP
Protocol on the whole dataset will do. The endpoints default to Oxigraph server's layout
(``{url}/query``, ``{url}/update``, ``{url}/store``); another server's are given one by one.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox

from reasoner.store.base import DeterminationStore
from reasoner.store.records import StoreError

_RESULTS_JSON = "application/sparql-results+json"
_NQUADS = "application/n-quads"
_FORM = "application/x-www-form-urlencoded"
# A keep-alive connection the server closed while idle fails on its next request before any answer.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class RemoteStore(DeterminationStore):
    """Determinations kept in the SPARQL store at ``url`` (``http://`` or ``https://``).

    A put is one SPARQL Update, so one transaction on the server; it is as durable on return as the
    server makes an update (Oxigraph server: it survives the server's SIGKILL, not the machine's
    crash). The server's own access control is not used: whoever reaches the URL reads everything,
    case facts included, so keep it on a private network. Each thread keeps one connection.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        query_url: str | None = None,
        update_url: str | None = None,
        store_url: str | None = None,
    ) -> None:
        super().__init__()
        base = url.rstrip("/")
        self.url = base
        self.query_url = query_url or f"{base}/query"
        self.update_url = update_url or f"{base}/update"
        self.store_url = store_url or f"{base}/store"
        for endpoint in (self.query_url, self.update_url, self.store_url):
            if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
                raise ValueError(f"not an http:// or https:// URL: {endpoint!r}")
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()

    # -- the primitives ---------------------------------------------------------------------------

    def _commit(self, drop: list[str], quads: list[ox.Quad]) -> None:
        if drop or quads:
            self._update(_drop_and_insert(drop, quads))

    def _select(self, query: str) -> list[dict[str, str]]:
        results = json.loads(self.query(query))
        return [{name: term["value"] for name, term in row.items()} for row in results["results"]["bindings"]]

    def _update(self, update: str) -> None:
        # The protocol's direct POST: no URL-encoding of a put's ~50 kB on either side.
        self._send("POST", self.update_url, update.encode(), {"Content-Type": "application/sparql-update"})

    def _dump(self) -> bytes:
        return self._send("GET", self.store_url, None, {"Accept": _NQUADS})

    def _load(self, data: bytes) -> None:
        self._send("POST", self.store_url, data, {"Content-Type": _NQUADS}, refused=ValueError)

    # -- beyond the interface ---------------------------------------------------------------------

    def query(
        self,
        query: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
        accept: str = _RESULTS_JSON,
    ) -> bytes:
        """The server's answer to a SPARQL query (SPARQL JSON results by default), in the dataset given.

        ``default_graph`` and ``named_graphs`` are the protocol's ``default-graph-uri`` and
        ``named-graph-uri``: given either, the server builds the query's dataset of those graphs
        alone (unlike the embedded store, a missing ``default_graph`` then means an empty one).
        """
        fields = [("query", query)]
        fields += [("default-graph-uri", g) for g in default_graph or ()]
        fields += [("named-graph-uri", g) for g in named_graphs or ()]
        return self._send("POST", self.query_url, urlencode(fields).encode(), {"Content-Type": _FORM, "Accept": accept})

    def close(self) -> None:
        """Close every connection this store opened (a store used again opens new ones)."""
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    # -- HTTP -------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        *,
        refused: type[Exception] | None = None,
    ) -> bytes:
        """The body of a 2xx answer; anything else is a StoreError (``refused``: what a 400 raises instead)."""
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in range(2):
            connection, reused = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except _STALE as exc:
                connection.close()
                if not reused or attempt:
                    raise _unavailable(url, type(exc).__name__) from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                # Neither the request nor the server's words go into the message: they may hold case data.
                raise _unavailable(url, type(exc).__name__) from None
        if 200 <= response.status < 300:
            return data
        if response.status == 400 and refused is not None:
            raise refused(data.decode("utf-8", "replace").strip())
        raise _unavailable(url, f"{response.status} {response.reason}")

    def _connection(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to ``netloc``, and whether it was used before."""
        connections: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault("by", {})
        connection = connections.get((scheme, netloc))
        if connection is not None and connection.sock is not None:
            return connection, True
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        fresh = kind(netloc, timeout=self.timeout)
        connections[(scheme, netloc)] = fresh
        with self._connections_lock:
            if connection in self._connections:
                self._connections.remove(connection)  # closed: the server or an error ended it
            self._connections.append(fresh)
        return fresh, False


def _unavailable(url: str, why: str) -> StoreError:
    return StoreError("store-unavailable", f"the SPARQL store at {url} cannot be used: {why}")


def _drop_and_insert(drop: list[str], quads: list[ox.Quad]) -> str:
    """One SPARQL Update that drops the graphs ``drop``, then adds ``quads``.

    A term's str() is its N-Triples form, which SPARQL reads as the same term.
    """
    by_graph: dict[str, list[str]] = defaultdict(list)
    for q in quads:
        by_graph["" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name)].append(
            f"{q.subject} {q.predicate} {q.object} ."
        )
    parts = [f"DROP SILENT GRAPH <{name}>" for name in drop]
    if by_graph:
        blocks = [
            "\n".join(triples) if not graph else f"GRAPH {graph} {{\n" + "\n".join(triples) + "\n}"
            for graph, triples in by_graph.items()
        ]
        parts.append("INSERT DATA {\n" + "\n".join(blocks) + "\n}")
    return " ;\n".join(parts)

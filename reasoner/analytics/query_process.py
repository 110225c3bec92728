"""The query process of the determinations endpoint: vet one query, run it on a snapshot, write the result.

Forked from the SPARQL forkserver (reasoner/sparql/service.py), which has rdflib's parser warm; it
runs at a lower CPU priority and under an address-space limit, and the server kills it at the
request's deadline. It opens a RocksDB checkpoint of the embedded store read-only (opening the
live folder while the server writes it is undefined behaviour), and replies as
reasoner/sparql/worker.py's ``run_query`` does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyoxigraph as ox

from reasoner.analytics.dataset import analyst_graphs
from reasoner.analytics.results import write
from reasoner.errors import QueryRejected, UpdateRefused
from reasoner.sparql.formats import Unrepresentable
from reasoner.sparql.vetting import MediaTypes, QueryForm, formats, prepare
from reasoner.sparql.worker import QUERY_NICENESS, _limit_memory

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def acceptable(media_types: MediaTypes, form: QueryForm) -> list[str]:
    """The media types the client accepts for ``form`` that the endpoint writes, best first."""
    chosen = media_types.get(form)
    wanted = [chosen] if isinstance(chosen, str) else list(chosen or ())
    return [m for m in wanted if m in formats(form)]


def run_on_snapshot(
    conn: Connection[tuple[object, ...], object],
    snapshot: str | None,
    kb_graph: str,
    text: str,
    media_types: MediaTypes,
    max_rows: int,
    budget_bytes: int,
) -> None:
    """Vet ``text``; with a ``snapshot`` folder, run it there on the analyst's dataset and write it.

    Sends ``("ok", media type, body, truncated)``, ``("vetted", form, media types)`` (no snapshot:
    the caller runs it), ``("rejected", reason, line, column)``, ``("update",)``,
    ``("not-acceptable", form, reason, tried)``, ``("memory",)`` or ``("error", exception type)``.
    """
    reply: tuple[object, ...]
    try:
        os.nice(QUERY_NICENESS)
        # The snapshot is opened before the budget is set: opening it maps the database and starts
        # the storage engine's threads, whose address space (arenas, stacks) is no query's doing
        # and varies with the machine's load; counting it ended queries at random.
        store = ox.Store.read_only(snapshot) if snapshot is not None else None
        _limit_memory(budget_bytes)
        form, _ = prepare(text)  # SELECT, ASK, CONSTRUCT, DESCRIBE; no FROM, no SERVICE, no update
        wanted = acceptable(media_types, form)
        if not wanted:
            reply = ("not-acceptable", form, None, ())
        elif store is None:
            reply = ("vetted", form, wanted)
        else:
            named = analyst_graphs([g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)])
            result = store.query(
                text, default_graph=[ox.NamedNode(kb_graph)], named_graphs=[ox.NamedNode(g) for g in named]
            )
            try:
                reply = ("ok", *write(result, form, wanted, max_rows))
            except Unrepresentable as exc:
                reply = ("not-acceptable", form, exc.reason, wanted)
    except QueryRejected as exc:
        reply = ("rejected", exc.message, exc.line, exc.column)
    except UpdateRefused:
        reply = ("update",)
    except MemoryError:
        reply = ("memory",)
    except Exception as exc:  # noqa: BLE001 - reported as a failed query, never as a crash
        reply = ("error", type(exc).__name__)
    conn.send(reply)

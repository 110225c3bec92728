"""The fixed queries over kept determinations (queries/determinations/*.rq), run directly on a store.

Directly: these queries are the project's own, so they run in this process, on the analysts'
dataset, unbounded by the endpoint's deadline (a store of millions of determinations would make
them slow, never unsafe).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from reasoner.analytics.dataset import analyst_graphs, graph_names, queries_of
from reasoner.store.base import DeterminationStore

NAMES = ("determination-rates", "criterion-outcomes", "pend-causes", "time-to-decision")
_HERE = Path(__file__).resolve().parent
# A checkout's queries/determinations, else the copy a wheel carries (pyproject.toml's force-include).
FOLDERS = (_HERE.parents[1] / "queries" / "determinations", _HERE.parent / "_queries" / "determinations")


def text(name: str) -> str:
    """The text of ``queries/determinations/<name>.rq``."""
    if name not in NAMES:
        raise ValueError(f"no such query: {name}")
    for folder in FOLDERS:
        path = folder / f"{name}.rq"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{name}.rq is in none of {', '.join(map(str, FOLDERS))}")


def run(store: DeterminationStore, name: str, kb_graph: str | None = None) -> list[dict[str, str]]:
    """The rows of the named query, each bound value as its lexical form (unbound ones absent).

    ``kb_graph``: the knowledge base's graph in the store (dataset.ensure_kb), the default graph;
    without it criteria have no labels.
    """
    named = analyst_graphs(graph_names(store))
    result = queries_of(store).query(text(name), default_graph=[kb_graph] if kb_graph else [], named_graphs=named)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]

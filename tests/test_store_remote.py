"""What only the remote store does: endpoints, errors that never carry case data, dataset queries, connections.

The rest of its behaviour is tests/test_store.py's, run on every backend.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, determine
from reasoner.store import EmbeddedStore, KeptCase, RemoteStore, StoreError, graph_of, open_store

from .conftest import EXAMPLES
from .server_process import free_port
from .store_backends import OxigraphServer, own_server

CASE = EXAMPLES / "pap-continued-not-adherent.json"


@pytest.fixture
def remote() -> Iterator[RemoteStore]:
    store = RemoteStore(own_server("main").url)
    store._update("CLEAR ALL")
    yield store
    store.close()


def test_open_store_takes_a_url_for_a_remote_store_and_anything_else_for_a_folder(tmp_path: Path) -> None:
    remote = open_store("http://127.0.0.1:7878/")
    assert isinstance(remote, RemoteStore)
    assert (remote.query_url, remote.update_url, remote.store_url) == (
        "http://127.0.0.1:7878/query", "http://127.0.0.1:7878/update", "http://127.0.0.1:7878/store")  # fmt: skip
    assert isinstance(open_store("HTTPS://example.org/ds"), RemoteStore)
    for folder in (tmp_path / "a", str(tmp_path / "b")):
        embedded = open_store(folder)
        assert isinstance(embedded, EmbeddedStore) and embedded.count() == 0
        embedded.close()
    with pytest.raises(ValueError, match="not an http"):
        RemoteStore("ftp://example.org")


def test_another_servers_endpoints_are_given_one_by_one(kb: KnowledgeBase, remote: RemoteStore) -> None:
    url = remote.url
    fuseki_like = RemoteStore("http://unused.invalid", query_url=f"{url}/query", update_url=f"{url}/update",
                              store_url=f"{url}/store")  # fmt: skip
    d = determine(CASE.read_bytes(), "json", kb)
    fuseki_like.put(d)
    assert remote.get(d.determinationId) == fuseki_like.get(d.determinationId) is not None
    assert b"medically-necessary" in fuseki_like.export()
    fuseki_like.close()


def test_an_unreachable_server_is_named_and_the_request_is_not(kb: KnowledgeBase) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = RemoteStore(url, timeout=2)
    d = determine(CASE.read_bytes(), "json", kb)
    with pytest.raises(StoreError) as refused:
        store.put(d, by="app-a")
    assert refused.value.code == "store-unavailable" and url in refused.value.message
    assert "ConnectionRefused" in refused.value.message


def test_a_refusing_server_is_named_with_its_status_and_never_the_case(kb: KnowledgeBase, remote: RemoteStore) -> None:
    d = determine(CASE.read_bytes(), "json", kb)
    wrong = RemoteStore(remote.url, update_url=f"{remote.url}/no-such-endpoint")
    with pytest.raises(StoreError) as refused:
        wrong.put(d, KeptCase("application/json", CASE.read_text()), by="app-a")
    wrong.close()
    assert refused.value.code == "store-unavailable"
    message = refused.value.message
    assert f"{remote.url}/no-such-endpoint" in message and "404" in message
    assert d.determinationId not in message and "app-a" not in message and len(message) < 200
    assert remote.count() == 0


def test_bad_nquads_are_refused_with_the_servers_words(remote: RemoteStore) -> None:
    with pytest.raises(StoreError) as refused:
        remote.import_(b'<http://a> <http://b> "unterminated .\n')
    assert refused.value.code == "invalid-nquads" and "line 1" in refused.value.message


def test_a_query_sees_only_the_dataset_given(kb: KnowledgeBase, remote: RemoteStore) -> None:
    first = determine(CASE.read_bytes(), "json", kb)
    second = determine((EXAMPLES / "bar-lap-rygb.json").read_bytes(), "json", kb)
    remote.put(first)
    remote.put(second)
    st = "https://w3id.org/guideline-reasoner/store#"

    def policies(query: str, **dataset: list[str]) -> set[str]:
        answer = json.loads(remote.query(query, **dataset))
        return {row["p"]["value"] for row in answer["results"]["bindings"]}

    named = f"SELECT ?p WHERE {{ GRAPH ?g {{ ?g <{st}policy> ?p }} }}"
    assert policies(named) == {"medicare-pap", "medicare-bariatric"}
    assert policies(named, named_graphs=[graph_of(second.determinationId)]) == {"medicare-bariatric"}
    default = f"SELECT ?p WHERE {{ ?g <{st}policy> ?p }}"
    assert policies(default) == set()  # the default graph holds nothing
    assert policies(default, default_graph=[graph_of(first.determinationId)]) == {"medicare-pap"}


def test_a_connection_the_server_dropped_is_made_again(kb: KnowledgeBase, tmp_path: Path) -> None:
    server = OxigraphServer(tmp_path / "oxigraph")
    try:
        store = RemoteStore(server.url)
        assert store.count() == 0  # a keep-alive connection is open now
        server.stop()
        server.start(server.port)
        store.put(determine(CASE.read_bytes(), "json", kb))
        assert store.count() == 1
        store.close()
    finally:
        server.stop()


def test_threads_put_at_once_each_on_its_own_connection(kb: KnowledgeBase, remote: RemoteStore) -> None:
    d = determine(CASE.read_bytes(), "json", kb)
    errors: list[BaseException] = []

    def put_some(start: int) -> None:
        try:
            for i in range(start, start + 10):
                remote.put(d.model_copy(update={"determinationId": format(i, "032x")}))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=put_some, args=(1 + 10 * n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and remote.count() == 40
    assert len(remote._connections) == 5  # the fixture's thread and each of the four
    remote.close()
    assert remote._connections == [] and remote.count() == 40  # closed, it connects again

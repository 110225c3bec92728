"""What a store acknowledged survives the death of whatever holds it (SIGKILL), 1,000 puts at a time.

Remote: the Oxigraph server is killed right after its last acknowledged put and started again on
the same folder. Embedded: a child process kills itself right after its last put.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reasoner import KnowledgeBase, determine
from reasoner.model import Determination
from reasoner.store import EmbeddedStore, RemoteStore

from .conftest import EXAMPLES
from .store_backends import OxigraphServer

N = 1000
CASE = EXAMPLES / "pap-initial-b1-hst.json"


def copies(d: Determination, n: int) -> list[Determination]:
    """``n`` determinations, each with an id of its own (one determined, the rest copies of it)."""
    return [d.model_copy(update={"determinationId": format(i, "032x")}) for i in range(1, n + 1)]


def _all_there(store: EmbeddedStore | RemoteStore) -> None:
    assert store.count() == N
    found = store.find(limit=N)
    assert {s.id for s in found} == {format(i, "032x") for i in range(1, N + 1)}
    assert {s.outcome for s in found} == {"medically-necessary"}


def test_remote_puts_survive_the_servers_sigkill(kb: KnowledgeBase, tmp_path: Path) -> None:
    server = OxigraphServer(tmp_path / "oxigraph")
    try:
        store = RemoteStore(server.url)
        for d in copies(determine(CASE.read_bytes(), "json", kb), N):
            store.put(d, by="durability")
        server.kill()  # right after the last acknowledged put
        store.close()
        server.start()
        again = RemoteStore(server.url)
        _all_there(again)
        again.close()
    finally:
        server.stop()


_CHILD = f"""
import os, sys
from pathlib import Path

from reasoner.model import Determination
from reasoner.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
d = Determination.model_validate_json(Path(sys.argv[2]).read_text())
for i in range(1, {N} + 1):
    store.put(d.model_copy(update={{"determinationId": format(i, "032x")}}), by="durability")
print("put", flush=True)
os.kill(os.getpid(), 9)  # no clean shutdown, no flush: what put acknowledged must survive
"""


def test_embedded_puts_survive_sigkill(kb: KnowledgeBase, tmp_path: Path) -> None:
    determined = tmp_path / "determination.json"  # determined here: the child needs no knowledge base
    determined.write_text(determine(CASE.read_bytes(), "json", kb).model_dump_json())
    run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "data"), str(determined)],
                         capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert run.returncode == -9 and run.stdout == "put\n", run.stderr
    store = EmbeddedStore(tmp_path / "data")
    try:
        _all_there(store)
    finally:
        store.close()

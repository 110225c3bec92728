"""A real server killed with SIGKILL right after 1,000 acknowledged determinations loses none of them."""

from __future__ import annotations

import http.client
import json
import os
import signal
from pathlib import Path

from reasoner.store import EmbeddedStore

from ..conftest import EXAMPLES, ROOT
from ..server_process import ServerProcess

N = 1000
GR = "https://w3id.org/guideline-reasoner/core#"
ST = "https://w3id.org/guideline-reasoner/store#"


def test_sigkill_after_1000_acknowledged_determinations_loses_nothing(tmp_path: Path) -> None:
    case = json.loads((EXAMPLES / "bar-bmi-33.json").read_text())
    data = str(tmp_path / "data")
    server = ServerProcess("--kb", str(ROOT), "--data", data)
    acknowledged: list[str] = []
    try:
        server.wait_ready()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for i in range(N):  # each a case of its own (its id differs), so each a determination of its own
            body = json.dumps({**case, "id": f"bar-bmi-33-{i}"}).encode()
            connection.request("POST", "/determinations", body=body, headers={"content-type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200 and answer.getheader("location"), answer.status
            acknowledged.append(answer.getheader("location") or "")
        connection.close()
        os.killpg(server.process.pid, signal.SIGKILL)  # no shutdown of any kind
        server.process.wait()
    finally:
        server.close()
    assert server.process.returncode == -signal.SIGKILL and len(set(acknowledged)) == N
    again = ServerProcess("--kb", str(ROOT), "--data", data)
    try:
        again.wait_ready()
        listed = [again.get(f"/determinations?limit=500&offset={offset}")[2]["items"] for offset in (0, 500, 1000)]
        found = {f"/determinations/{item['id']}" for page in listed for item in page}
        assert found == set(acknowledged)
        status, _, body = again.get(acknowledged[-1])
        assert status == 200 and body["record"]["status"] == "awaiting-review"
    finally:
        again.close()
    # Each one's RDF too: what the killed server had not written after answering, its restart did
    # (read from the store itself once the server is gone: an analyst's query has a deadline).
    store = EmbeddedStore(Path(data))
    try:
        rows = store._select(
            "SELECT (COUNT(DISTINCT ?d) AS ?n) (COUNT(DISTINCT ?p) AS ?pending) WHERE { GRAPH ?d { "
            f"{{ ?d <{GR}criterionResult> ?r }} UNION {{ ?p <{ST}pending> true }} }} }}"
        )
    finally:
        store.close()
    assert (rows[0]["n"], rows[0]["pending"]) == (str(N), "0")

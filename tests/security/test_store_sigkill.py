"""A real server killed with SIGKILL right after 1,000 acknowledged determinations loses none of them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import urllib.parse
from pathlib import Path

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
        # Each one's RDF too: what the killed server had not written after answering, the restart did.
        query = urllib.parse.quote(
            "SELECT (COUNT(DISTINCT ?d) AS ?n) (SUM(IF(BOUND(?p), 1, 0)) AS ?pending) WHERE { GRAPH ?d { "
            f"?d <{GR}criterionResult> ?r OPTIONAL {{ ?d <{ST}pending> ?p }} }} }}"
        )
        status, _, rows = again.request(
            "GET", f"/sparql/determinations?query={query}", headers={"accept": "application/sparql-results+json"}
        )
        counts = rows["results"]["bindings"][0]
        assert status == 200 and (counts["n"]["value"], counts["pending"]["value"]) == (str(N), "0")
    finally:
        again.close()

"""/docs and /redoc render in Chromium with no network, and the page requests nothing beyond the server.

The server and the browser run in a network namespace of their own that has only loopback
(``unshare --net``; where namespaces cannot be made, the browser alone is cut off: its DNS answers
nothing and every other connection goes to a dead proxy). Chromium (Debian's, installed by
.ci/run) loads each page headless, runs its scripts, and dumps the DOM, which must show every
operation of the OpenAPI document; its network log must show that every request the page made
went to the server. Requests Chromium makes for itself (update checks, autofill) name no page as
their initiator and are not the page's: in the namespace they fail like everything else.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from ..offline_server import CUT_OFF_FLAGS, OfflineServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed and could not be (.ci/run installs it with apt-get install chromium)",
)


@pytest.fixture(scope="module")
def offline() -> Iterator[OfflineServer]:
    with OfflineServer.running() as server:
        yield server


def _browse(server: OfflineServer, path: str, tmp: Path) -> tuple[str, list[tuple[str, str]]]:
    """The page's DOM after its scripts ran, and (url, initiator) of every request the network log records."""
    netlog = tmp / "net.json"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",  # running as root (CI)
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        *CUT_OFF_FLAGS,  # also inside the namespace: belt and braces
        f"--log-net-log={netlog}",
        "--virtual-time-budget=20000",  # let the scripts fetch the document and render
        "--dump-dom",
        server.origin + path,
    ]
    done = subprocess.run(server.inside(command), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requests = [
        (e["params"]["url"], e["params"].get("initiator", ""))
        for e in log["events"]
        if e["type"] == start_job and "url" in e.get("params", {})
    ]
    return done.stdout, requests


def _page_requests(server: OfflineServer, path: str, requests: list[tuple[str, str]]) -> list[str]:
    """The page's own requests: the navigation to it and whatever the page initiated."""
    return [url for url, initiator in requests if url == server.origin + path or initiator == server.origin]


def _operations(client: TestClient) -> list[tuple[str, str, str]]:
    document = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation["operationId"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_docs_renders_every_operation_offline(offline: OfflineServer, client: TestClient, tmp_path: Path) -> None:
    dom, requests = _browse(offline, "/docs", tmp_path)
    operations = _operations(client)
    assert len(operations) >= 9
    for _, path, _ in operations:
        assert f'data-path="{path}"' in dom, path
    assert dom.count('class="opblock-summary-method"') == len(operations)
    page = _page_requests(offline, "/docs", requests)
    assert f"{offline.origin}/openapi.json" in page and f"{offline.origin}/docs-assets/swagger-ui-bundle.js" in page
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in page), page


def test_redoc_renders_every_operation_offline(offline: OfflineServer, client: TestClient, tmp_path: Path) -> None:
    dom, requests = _browse(offline, "/redoc", tmp_path)
    for _, path, operation_id in _operations(client):
        assert f'data-section-id="operation/{operation_id}"' in dom, path
    page = _page_requests(offline, "/redoc", requests)
    assert f"{offline.origin}/openapi.json" in page and f"{offline.origin}/docs-assets/redoc.standalone.js" in page
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in page), page


def test_the_browser_has_no_network(offline: OfflineServer) -> None:
    """What 'offline' means here: nothing but the server answers (an address that would be reached otherwise)."""
    probe = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)"
    if offline.isolated:
        assert subprocess.run(offline.inside([sys.executable, "-c", probe]), capture_output=True).returncode != 0
    else:
        pytest.skip("no network namespace here: the browser is cut off by its resolver and proxy settings only")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_name_only_local_assets_and_forbid_other_origins(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "http" not in r.text.replace("http-equiv", "")  # no absolute URL: every asset is on this server
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert r.headers["x-request-id"]  # the middleware still wraps these pages
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert client.get(f"/docs-assets/{asset}").status_code == 200

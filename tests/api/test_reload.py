"""Live reload under concurrent requests: a broken edit is refused, a good one swapped in whole."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings

from ..conftest import EXAMPLES, LOOPBACK, ROOT
from .conftest import JSON

TOKEN = {"authorization": "Bearer s3cret"}
CASE = (EXAMPLES / "sij-rfa-two-blocks.json").read_bytes()  # necessary at 50 %, not at 75 %
GUIDELINE = Path("ontology") / "guidelines" / "sij-clinical-pathway.ttl"


@pytest.fixture(scope="module")
def kb_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("live")
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    return root


@pytest.fixture(scope="module")
def live(kb_copy: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(kb_dir=kb_copy, admin_token="s3cret")), client=LOOPBACK) as c:
        yield c


def _hammer(client: TestClient, stop: threading.Event, seen: list[tuple[int, str, str]]) -> None:
    while not stop.is_set():
        r = client.post("/determinations", content=CASE, headers=JSON)
        body = r.json()
        seen.append((r.status_code, body.get("knowledgeBase", ""), body.get("outcome", "")))


def _reload_under_load(client: TestClient) -> tuple[dict[str, object], list[tuple[int, str, str]], int]:
    stop, seen = threading.Event(), []  # type: ignore[var-annotated]
    threads = [threading.Thread(target=_hammer, args=(client, stop, seen)) for _ in range(4)]
    for t in threads:
        t.start()
    r = client.post("/admin/reload", headers=TOKEN)
    stop.set()
    for t in threads:
        t.join()
    return r.json(), seen, r.status_code


def test_reload_is_off_without_a_token(client: TestClient) -> None:
    r = client.post("/admin/reload", headers=TOKEN)
    assert r.status_code == 404


def test_reload_needs_the_token(live: TestClient) -> None:
    assert live.post("/admin/reload").status_code == 401
    assert live.post("/admin/reload", headers={"authorization": "Bearer wrong"}).status_code == 401


def test_broken_file_is_refused_and_the_live_base_keeps_serving(live: TestClient, kb_copy: Path) -> None:
    before = live.get("/version").json()["knowledgeBase"]
    path = kb_copy / GUIDELINE
    good = path.read_text()
    path.write_text(good + "\nsijp:broken gr:value \n")
    try:
        body, seen, status = _reload_under_load(live)
    finally:
        path.write_text(good)
    assert status == 409 and body["status"] == "refused"
    assert any(
        p.startswith("ontology/guidelines/sij-clinical-pathway.ttl:") and ": syntax: " in p for p in body["problems"]
    )
    assert seen and all(s == 200 and h == before and o == "medically-necessary" for s, h, o in seen)
    version = live.get("/version").json()
    assert version["knowledgeBase"] == before and version["refusedReload"]["error"].startswith("the knowledge base")


def test_good_edit_is_swapped_in_whole(live: TestClient, kb_copy: Path) -> None:
    before = live.get("/version").json()["knowledgeBase"]
    path = kb_copy / GUIDELINE
    text = path.read_text()
    start = text.index("sijp:lbb-min-relief\n")
    path.write_text(text[:start] + text[start:].replace('gr:value "50"^^xsd:decimal', 'gr:value "75"^^xsd:decimal', 1))
    try:
        body, seen, status = _reload_under_load(live)
        assert status == 200 and body["status"] == "reloaded" and body["knowledgeBase"] != before
        after = body["knowledgeBase"]
        assert all(s == 200 for s, _h, _o in seen)
        # Every answer comes from one knowledge base: the old one says necessary, the new one not.
        assert {(h, o) for _s, h, o in seen} <= {(before, "medically-necessary"), (after, "not-medically-necessary")}
        version = live.get("/version").json()
        assert version["knowledgeBase"] == after and "refusedReload" not in version
        now = live.post("/determinations", content=CASE, headers=JSON).json()
        assert (now["knowledgeBase"], now["outcome"]) == (after, "not-medically-necessary")
        sparql = live.get(
            "/sparql",
            params={
                "query": "SELECT ?v WHERE { <https://w3id.org/guideline-reasoner/kb/sij-clinical-pathway/"
                "lbb-min-relief> <https://w3id.org/guideline-reasoner/core#value> ?v }"
            },
        )
        assert sparql.json()["results"]["bindings"][0]["v"]["value"] in ("75", "75.0")
    finally:
        path.write_text(text)


def test_a_meta_shapes_edit_a_start_would_refuse_is_refused(live: TestClient, kb_copy: Path) -> None:
    """The ontology and shapes unchanged, a stricter meta-shape: refused, as a start on these files would be."""
    assert live.post("/admin/reload", headers=TOKEN).json()["status"] in ("reloaded", "unchanged")  # the files as live
    before = live.get("/version").json()["knowledgeBase"]
    extra = kb_copy / "shapes" / "meta" / "zz-stricter.ttl"
    extra.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix gr: <https://w3id.org/guideline-reasoner/core#> .\n"
        "<urn:test:colour> a sh:NodeShape ; sh:targetClass gr:Criterion ;\n"
        '  sh:property [ sh:path gr:colour ; sh:minCount 1 ; sh:message "meta: a criterion needs a colour" ] .\n'
    )
    try:
        r = live.post("/admin/reload", headers=TOKEN)
        assert r.status_code == 409 and r.json()["status"] == "refused"
        assert any("a criterion needs a colour" in p for p in r.json()["problems"])
    finally:
        extra.unlink()
    assert live.post("/admin/reload", headers=TOKEN).json()["status"] == "unchanged"
    assert live.get("/version").json()["knowledgeBase"] == before

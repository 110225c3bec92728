"""The review queue pages: the awaiting determinations, a letter with its case and sign-off form, a sign-off that
goes through the store's checks, same-origin posts, and the reviewer token by a sign-in cookie."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings
from api.web import review

from ..conftest import EXAMPLES, ROOT

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"content-type": "application/json"}
SAME_SITE = {**BROWSER, "origin": "http://testserver"}
_SERIAL = itertools.count(1)


def _post(c: TestClient, name: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """A determination of its own (a case id no other test uses): its id and digest."""
    case = json.loads((EXAMPLES / f"{name}.json").read_text())
    case["id"] = f"{name}-{next(_SERIAL)}"
    r = c.post("/determinations", content=json.dumps(case), headers={**JSON, **(headers or {})})
    assert r.status_code == 200, r.text
    return r.headers["location"].rsplit("/", 1)[1], r.headers["etag"].strip('"')


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app that keeps determinations, on loopback without tokens (every role but admin)."""
    settings = Settings(kb_dir=ROOT, store=True, data_dir=tmp_path_factory.mktemp("review-pages"))
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        yield c


def _sign(c: TestClient, ident: str, digest: str, **fields: str) -> httpx2.Response:
    form = {"action": "", "outcome": "", "reason": "", "reviewer": "dr-lee", "digest": digest, **fields}
    return c.post(f"/review/{ident}", data=form, headers=SAME_SITE, follow_redirects=False)


def test_the_queue_lists_the_awaiting_determinations_only(kept: TestClient) -> None:
    adverse, _ = _post(kept, "pap-continued-not-adherent")
    favourable, _ = _post(kept, "bar-lap-rygb")
    statuses = {i: kept.get(f"/determinations/{i}").headers["x-review-status"] for i in (adverse, favourable)}
    assert statuses == {adverse: "awaiting-review", favourable: "automated"}
    r = kept.get("/review", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<table id="queue">' in r.text and f'href="/review/{adverse}"' in r.text
    assert f'href="/review/{favourable}"' not in r.text
    assert "Not medically necessary" in r.text and "pap-continued-not-adherent" in r.text
    listed = kept.get("/review").json()  # any other client: the queue as JSON
    assert adverse in {i["id"] for i in listed["items"]} and favourable not in {i["id"] for i in listed["items"]}
    assert {i["status"] for i in listed["items"]} == {"awaiting-review"}


def test_the_queue_filters_by_outcome_and_policy(kept: TestClient) -> None:
    adverse, _ = _post(kept, "pap-continued-not-adherent")
    pended, _ = _post(kept, "bar-no-bmi")
    r = kept.get("/review?outcome=pended-information-needed", headers=BROWSER)
    assert r.status_code == 200 and f"/review/{pended}" in r.text and f"/review/{adverse}" not in r.text
    assert "Pended: information needed" in r.text
    r = kept.get("/review?outcome=pended-information-needed&policy=medicare-pap", headers=BROWSER)
    assert r.status_code == 200 and f"/review/{adverse}" not in r.text and 'id="queue-empty"' in r.text
    r = kept.get("/review?outcome=not-medically-necessary&policy=medicare-pap", headers=BROWSER)
    assert f"/review/{adverse}" in r.text and '<option value="not-medically-necessary" selected>' in r.text


def test_the_queue_is_newest_first_and_paged(kept: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(review, "PAGE_SIZE", 1)
    older, _ = _post(kept, "bar-stale-bmi")
    newer, _ = _post(kept, "bar-no-comorbidity")
    first = kept.get("/review", headers=BROWSER).text
    assert f"/review/{newer}" in first and f"/review/{older}" not in first
    assert 'href="/review?offset=1&amp;outcome=&amp;policy=" rel="next">Older</a>' in first
    assert 'rel="prev"' not in first
    second = kept.get("/review?offset=1", headers=BROWSER).text
    assert f"/review/{older}" in second and 'href="/review?offset=0&amp;outcome=&amp;policy=" rel="prev"' in second


def test_the_review_page_shows_the_letter_the_case_and_the_form(kept: TestClient) -> None:
    ident, digest = _post(kept, "pap-continued-not-adherent")
    r = kept.get(f"/review/{ident}", headers=BROWSER)
    assert r.status_code == 200
    text = r.text
    assert text.count("<h1>") == 1 and "<h1>Determination: Not medically necessary</h1>" in text  # the letter's
    assert "<html" in text and text.count("<html") == 1 and "/static/site.css" in text  # inside the layout
    assert "<h2>Criteria</h2>" in text and "awaiting clinician review" in text
    assert "patient-0702" in text  # the case as kept
    assert f'<input type="hidden" name="digest" value="{digest}">' in text
    for action in ("uphold", "overturn", "modify"):
        assert f'id="action-{action}" name="action" value="{action}"' in text and f'for="action-{action}"' in text
    assert 'id="reason"' in text and 'id="reviewer"' in text and 'id="sign"' in text and 'for="reason"' in text
    assert "required to overturn or modify" in text


def test_uphold_signs_it_and_it_leaves_the_queue(kept: TestClient) -> None:
    ident, digest = _post(kept, "pap-continued-not-adherent")
    r = _sign(kept, ident, digest, action="uphold")
    assert r.status_code == 303 and r.headers["location"] == f"/review/{ident}"
    assert kept.get(f"/determinations/{ident}").headers["x-review-status"] == "upheld"
    page = kept.get(f"/review/{ident}", headers=BROWSER).text
    assert "Status: <strong>upheld</strong>" in page and "<td>dr-lee</td>" in page
    assert f"/review/{ident}" not in kept.get("/review", headers=BROWSER).text


def test_overturn_without_a_reason_is_refused_keeping_what_was_typed(kept: TestClient) -> None:
    ident, digest = _post(kept, "pap-continued-not-adherent")
    r = _sign(kept, ident, digest, action="overturn", outcome="medically-necessary", reviewer="dr-typed")
    assert r.status_code == 422
    text = r.text
    assert '<p class="review-error" id="reason-error">a reason is required to overturn a determination</p>' in text
    assert 'value="overturn" required checked' in text and '<option value="medically-necessary" selected>' in text
    assert 'value="dr-typed"' in text
    assert kept.get(f"/determinations/{ident}").json()["record"]["reviews"] == []


def test_overturn_with_a_reason_records_it(kept: TestClient) -> None:
    ident, digest = _post(kept, "pap-continued-not-adherent")
    r = _sign(kept, ident, digest, action="overturn", outcome="medically-necessary", reason="adherence log received")
    assert r.status_code == 303
    record = kept.get(f"/determinations/{ident}").json()["record"]
    assert record["status"] == "overturned" and record["finalOutcome"] == "medically-necessary"
    assert record["reviews"][0]["reason"] == "adherence log received"


def test_a_stale_digest_is_409_and_shows_the_page_again(kept: TestClient) -> None:
    ident, _ = _post(kept, "pap-continued-not-adherent")
    r = _sign(kept, ident, "sha256:" + "0" * 64, action="uphold")
    assert r.status_code == 409 and "changed since you read it" in r.text
    assert kept.get(f"/determinations/{ident}").json()["record"]["reviews"] == []


@pytest.mark.parametrize("header", [{"origin": "https://evil.example"}, {"referer": "https://evil.example/x"}])
def test_a_cross_site_post_is_refused(kept: TestClient, header: dict[str, str]) -> None:
    ident, digest = _post(kept, "pap-continued-not-adherent")
    form = {"action": "uphold", "reviewer": "dr-lee", "digest": digest}
    r = kept.post(f"/review/{ident}", data=form, headers={**BROWSER, **header}, follow_redirects=False)
    assert r.status_code == 403 and r.json()["code"] == "cross-site"
    assert kept.get(f"/determinations/{ident}").headers["x-review-status"] == "awaiting-review"


def test_open_on_loopback_no_sign_in_is_needed(kept: TestClient) -> None:
    assert "open on loopback" in kept.get("/review", headers=BROWSER).text
    assert "no sign-in is needed" in kept.get("/review/sign-in", headers=BROWSER).text
    r = kept.post("/review/sign-in", data={"token": "x", "next": "/review"}, headers=SAME_SITE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review" and "set-cookie" not in r.headers


def test_a_review_page_of_nothing_kept_is_404(kept: TestClient) -> None:
    r = kept.get(f"/review/{'ab' * 16}", headers=BROWSER)
    assert r.status_code == 404 and "<h1>No such determination</h1>" in r.text
    assert kept.get(f"/review/{'ab' * 16}").json()["code"] == "not-found"


def test_without_a_store_the_page_says_so(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(kb_dir=ROOT, store=False)), client=("127.0.0.1", 50000)) as c:
        r = c.get("/review", headers=BROWSER)
        assert r.status_code == 200 and "Determinations are not kept on this server" in r.text
        assert c.get("/review").status_code == 404 and c.get("/review").json()["code"] == "not-kept"
        assert "not kept" in c.get(f"/review/{'ab' * 16}", headers=BROWSER).text


# --- tokens configured: the reviewer signs in ------------------------------------------------------------------

TOKENS = {"intake": ["app"], "dr-lee": ["reviewer"]}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    entries = [
        {"name": name, "roles": roles, "sha256": hashlib.sha256(f"token-of-{name}".encode()).hexdigest()}
        for name, roles in TOKENS.items()
    ]
    settings = Settings(
        kb_dir=ROOT, store=True, data_dir=tmp_path_factory.mktemp("review-guarded"), tokens=json.dumps(entries)
    )
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        yield c


def _signed_in(c: TestClient, token: str) -> httpx2.Response:
    form = {"token": token, "next": "/review"}
    return c.post("/review/sign-in", data=form, headers=SAME_SITE, follow_redirects=False)


def test_without_a_sign_in_a_browser_goes_to_sign_in_and_a_client_gets_401(guarded: TestClient) -> None:
    guarded.cookies.clear()
    r = guarded.get("/review", headers=BROWSER, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review/sign-in?next=/review"
    assert guarded.get("/review").status_code == 401
    form = guarded.get("/review/sign-in", headers=BROWSER).text
    assert '<label for="token">Reviewer token</label>' in form and 'type="password" id="token"' in form


def test_an_app_token_is_refused_the_review_pages(guarded: TestClient) -> None:
    guarded.cookies.clear()
    r = _signed_in(guarded, "token-of-intake")
    assert r.status_code == 403 and "set-cookie" not in r.headers
    refused = guarded.get("/review", headers={**BROWSER, "authorization": "Bearer token-of-intake"})
    assert refused.status_code == 403 and "This needs the role reviewer; the token of intake has app." in refused.text
    assert 'href="/review/sign-in"' in refused.text
    unknown = _signed_in(guarded, "not-a-token")
    assert unknown.status_code == 401 and "not a token this server knows" in unknown.text


def test_the_reviewer_signs_in_reviews_and_signs_out(guarded: TestClient) -> None:
    guarded.cookies.clear()
    ident, digest = _post(guarded, "pap-continued-not-adherent", {"authorization": "Bearer token-of-intake"})
    r = _signed_in(guarded, "token-of-dr-lee")
    assert r.status_code == 303 and r.headers["location"] == "/review"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/review" in cookie
    assert "secure" not in cookie  # plain http here; https gets Secure
    queue = guarded.get("/review", headers=BROWSER)
    assert queue.status_code == 200 and f"/review/{ident}" in queue.text and "Signed in as <strong>dr-lee" in queue.text
    page = guarded.get(f"/review/{ident}", headers=BROWSER).text
    assert 'id="reviewer" name="reviewer" readonly value="dr-lee"' in page
    signed = guarded.post(
        f"/review/{ident}",
        data={"action": "uphold", "digest": digest, "reviewer": "dr-lee"},
        headers=SAME_SITE,
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert (
        guarded.get(f"/determinations/{ident}", headers={"authorization": "Bearer token-of-dr-lee"}).json()["record"][
            "reviews"
        ][0]["reviewer"]
        == "dr-lee"
    )
    assert guarded.get("/determinations", headers=BROWSER).status_code == 401  # the cookie is for /review only
    out = guarded.post("/review/sign-out", headers=SAME_SITE, follow_redirects=False)
    assert out.status_code == 303 and 'gr_review=""' in out.headers["set-cookie"]
    assert guarded.get("/review", headers=BROWSER, follow_redirects=False).status_code == 303


def test_the_api_routes_never_read_the_cookie(guarded: TestClient) -> None:
    guarded.cookies.clear()
    cookie = {"cookie": "gr_review=token-of-dr-lee"}
    assert guarded.get("/review", headers={**cookie, "accept": "application/json"}).status_code == 200
    assert guarded.get("/determinations", headers=cookie).status_code == 401
    assert guarded.get("/review", headers={"cookie": "gr_review=token-of-intake"}).status_code == 403


def test_tokens_and_case_facts_are_never_logged(guarded: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    guarded.cookies.clear()
    ident, digest = _post(guarded, "pap-continued-not-adherent", {"authorization": "Bearer token-of-intake"})
    with caplog.at_level(logging.DEBUG):
        _signed_in(guarded, "token-of-dr-lee")
        guarded.get(f"/review/{ident}", headers=BROWSER)
        form = {"action": "overturn", "outcome": "medically-necessary", "reason": "private-reason-xyz"}
        form["digest"] = digest
        guarded.post(f"/review/{ident}", data=form, headers=SAME_SITE, follow_redirects=False)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and "token-of-dr-lee" not in logged and "patient-0702" not in logged
    assert "private-reason-xyz" not in logged

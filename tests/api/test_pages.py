"""The web face's pages: a browser gets HTML from the same URLs that answer JSON to everyone else."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient

from ..conftest import EXAMPLES

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        if found.get("id"):
            self.ids.add(found["id"] or "")


def _links(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def test_the_landing_page_lists_every_policy_and_links_each(client: TestClient) -> None:
    r = client.get("/", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    hrefs = _links(r.text).hrefs
    policies = client.get("/policies").json()
    assert policies and all(f"/policies/{p['id']}" in hrefs for p in policies)
    assert all(f"/procedures/{code}" in hrefs for p in policies for code in p["codes"])
    assert '<form class="search" action="/search"' in r.text and "/static/site.css" in r.text


def test_a_client_that_is_not_a_browser_gets_json(client: TestClient) -> None:
    for accept in (None, "*/*", "application/json"):
        r = client.get("/", headers={"accept": accept} if accept else {})
        assert r.status_code == 200 and r.json()["links"]["policies"] == "/policies", accept
        policy = client.get("/policies/sij-clinical-pathway", headers={"accept": accept} if accept else {})
        assert policy.json()["id"] == "sij-clinical-pathway", accept
    links = client.get("/").json()["links"]
    samples = {"{code}": "64635", "{id}": "ref-vanelderen-2010", "{name}": "sij-seed-neurectomy"}
    for name, template in links.items():
        url = template
        for placeholder, value in samples.items():
            url = url.replace(placeholder, value)
        if name == "criterion":
            url = "/criteria/sij-clinical-pathway/provocative-tests"
        assert client.get(url).status_code == 200, (name, url)


def test_the_policy_page_shows_codes_criteria_thresholds_and_pathway(client: TestClient) -> None:
    view = client.get("/policies/sij-clinical-pathway").json()
    r = client.get("/policies/sij-clinical-pathway", headers=BROWSER)
    assert r.status_code == 200 and f"<h1>{view['label']}</h1>" in r.text
    hrefs = _links(r.text).hrefs
    assert all(f"/criteria/{c['id']}" in hrefs for c in view["criteria"])
    assert all(f"/procedures/{c['code']}" in hrefs for c in view["procedures"])
    cited = {ref for c in view["criteria"] for ref in c["references"]} | set(view["references"])
    assert cited and all(f"/references/{ref}" in hrefs for ref in cited)
    threshold = next(t for c in view["criteria"] for t in c["thresholds"])
    assert f"<strong>{threshold['value']}</strong> {threshold['unit']}" in r.text
    assert all(s["step"] in r.text for s in view["pathway"]) and "Verification tags:" in r.text
    assert view["version"] in r.text and r.text.count('class="badge coverage-') == len(view["procedures"])


def test_the_code_search_goes_to_the_code(client: TestClient) -> None:
    r = client.get("/search?code= 64635", follow_redirects=False)
    assert r.status_code == 422  # a code is letters, digits and dots, nothing else
    r = client.get("/search?code=g0260", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/procedures/G0260"
    r = client.get("/search?code=../admin", follow_redirects=False)
    assert r.status_code == 422


def test_an_unknown_policy_is_a_404_in_html_too(client: TestClient) -> None:
    r = client.get("/policies/no-such-policy", headers=BROWSER)
    assert r.status_code == 404 and "no-such-policy" in r.text


def test_the_stylesheet_is_served_from_the_package(client: TestClient) -> None:
    r = client.get("/static/site.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css") and "--brand" in r.text
    assert client.get("/static/../main.py").status_code == 404


def test_the_policy_page_draws_the_pathway(client: TestClient) -> None:
    view = client.get("/policies/sij-clinical-pathway").json()
    r = client.get("/policies/sij-clinical-pathway", headers=BROWSER)
    assert r.status_code == 200
    figure = r.text[r.text.index('<figure class="pathway">') : r.text.index("</figure>")]
    assert figure.count("<svg") == 1 and 'role="img"' in figure and "<figcaption" in figure
    assert figure.count('<g class="step"') == len(view["pathway"]) == 7
    assert figure.count('<path class="edge"') == sum(len(s["requires"]) for s in view["pathway"])
    assert {"pathway-title", "pathway-desc"} <= _links(r.text).ids
    assert "Evidence 2 B+" in figure  # the cooled RFA's grade


def test_a_policy_without_a_pathway_has_no_figure(client: TestClient) -> None:
    assert client.get("/policies/medicare-pap").json()["pathway"] == []
    r = client.get("/policies/medicare-pap", headers=BROWSER)
    assert r.status_code == 200 and "<svg" not in r.text and 'class="pathway"' not in r.text


def test_the_html_letter_marks_the_pathway(client: TestClient) -> None:
    case = (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()
    r = client.post(
        "/determinations?policy=sij-clinical-pathway",
        content=case,
        headers={"content-type": "application/json", "accept": "text/html"},
    )
    assert r.status_code == 200 and r.text.count("<svg") == 1
    assert 'data-mark="requested"' in r.text and 'data-mark="done"' in r.text and "Required first" in r.text

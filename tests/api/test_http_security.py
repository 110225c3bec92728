"""Hostile input over HTTP: docs/threats.md section I, items 1-5, 7 and 9, against POST /determinations.

* 1: a loopback canary listener; every test that could make the server fetch something asserts
  that the canary accepted no connection (and an audit hook that no watched file was opened).
* 2: the JSON-LD context matrix (exp23): remote, file, path, array, ``@import``, scoped and nested
  contexts, ``/dev/zero`` -> 4xx; the inline and the vendored context -> 200.
* 3: bodies that are a location (URL, path, ``file:`` URL, ``-``) -> 400 quickly.
* 4: limits: 2 MB bodies (declared and streamed), 50 000 triples, nesting 5000, a 100 000-digit
  integer.
* 5 (A6, H): a PHI marker in valid and invalid cases is in no error response and no log record.
* 7 (B5, for this endpoint): an injection payload in the case id or case IRI is refused, or
  answered for that case only; it never becomes a triple of the RDF output.
* 9 (C1, D1, D2): semantic injection is refused, never answered differently, and the knowledge
  base is the same after mixed benign and hostile traffic; facts the case does not link to do not
  count.

No response in this module may be a 5xx (checked for every request by an autouse fixture).
The SPARQL endpoint is covered elsewhere.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef

from reasoner.intake.jsonld import CONTEXT_URL, vendored_context

from ..conftest import EXAMPLES
from ..security.conftest import (  # noqa: F401 - the fixtures are used by name
    OPENED,
    WATCHED,
    Canary,
    canary_fixture,
    watch_opens_fixture,
)
from .conftest import JSON, TURTLE

JSONLD = {"content-type": "application/ld+json"}
PROBLEM = "application/problem+json"
SEED_JSON_TEXT = (EXAMPLES / "sij-seed-neurectomy.json").read_text()
SEED_TTL_TEXT = (EXAMPLES / "sij-seed-neurectomy.ttl").read_text()
SEED_NODES: list[dict[str, Any]] = json.loads(
    Graph().parse(data=SEED_TTL_TEXT, format="turtle").serialize(format="json-ld")
)
SEED_OUTCOME = "not-medically-necessary"
CASE_NS = "https://w3id.org/guideline-reasoner/case-data/sij-seed-neurectomy/"


# --- the canary listener and the audit hook: tests/security/conftest.py ------------------------------


@pytest.fixture(autouse=True)
def no_server_errors(client: TestClient) -> Iterator[list[tuple[str, str, int]]]:
    """Every response in this module is checked: none may be a 5xx."""
    seen: list[tuple[str, str, int]] = []

    def hook(response: httpx2.Response) -> None:
        seen.append((response.request.method, str(response.request.url.path), response.status_code))

    hooks = client.event_hooks["response"]
    hooks.append(hook)
    try:
        yield seen
    finally:
        hooks.remove(hook)
    assert not [s for s in seen if s[2] >= 500], f"server errors: {[s for s in seen if s[2] >= 500]}"


def assert_problem(r: httpx2.Response, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """A 4xx problem+json response (with the given status and code, when given)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].split(";")[0] == PROBLEM
    body = r.json()
    assert body["status"] == r.status_code and isinstance(body["code"], str)
    if code is not None:
        assert body["code"] == code, body
    return body


def post(client: TestClient, body: bytes | str, headers: dict[str, str]) -> httpx2.Response:
    return client.post("/determinations", content=body, headers=headers)


def test_canary_counts_connections() -> None:
    """The canary itself works: a real fetch from it is counted (so zero hits elsewhere means something)."""
    c = Canary()
    try:
        assert c.hits == 0
        with httpx2.Client(trust_env=False, timeout=5) as http:
            reply = http.get(c.url())
        assert reply.status_code == 200 and "attacker.example" in reply.text
        assert c.hits == 1
    finally:
        c.close()


def test_audit_hook_sees_opens(tmp_path: Path) -> None:
    """The open() watch works, so an empty record elsewhere means something."""
    secret = tmp_path / "watched.txt"
    secret.write_text("x")
    WATCHED.add(str(secret))
    try:
        start = len(OPENED)
        secret.read_text()
        assert OPENED[start:] == [str(secret)]
    finally:
        WATCHED.discard(str(secret))


# --- 2. the JSON-LD context matrix ---------------------------------------------------------


@pytest.fixture
def context_file(tmp_path: Path) -> Path:
    """A context a vulnerable server would read from disk: it remaps the case to a LEAKED vocabulary."""
    path = tmp_path / "secret_ctx.json"
    path.write_text(json.dumps({"@context": {"@vocab": "http://local-file.example/LEAKED#"}}))
    return path


def _hostile_jsonld(name: str, canary_url: str, ctx_file: Path) -> dict[str, Any]:
    nodes = copy.deepcopy(SEED_NODES)
    inline = vendored_context()
    knows_node = {"@id": CASE_NS + "case", "knows": {"@id": CASE_NS + "patient"}}
    docs: dict[str, dict[str, Any]] = {
        "remote-http-context": {"@context": canary_url, "@graph": nodes},
        "file-url-context": {"@context": ctx_file.as_uri(), "@graph": nodes},
        "bare-path-context": {"@context": str(ctx_file), "@graph": nodes},
        "context-array-with-url": {"@context": [inline, canary_url], "@graph": nodes},
        "vendored-then-remote-in-array": {"@context": [CONTEXT_URL, canary_url], "@graph": nodes},
        "nested-array-with-url": {"@context": [[canary_url]], "@graph": nodes},
        "import": {"@context": {"@version": 1.1, "@import": canary_url}, "@graph": nodes},
        "import-beside-vendored": {
            "@context": [CONTEXT_URL, {"@version": 1.1, "@import": canary_url}],
            "@graph": nodes,
        },
        "scoped-context-in-term": {
            "@context": {**inline, "knows": {"@id": "urn:knows", "@context": canary_url}},
            "@graph": [*nodes, knows_node],
        },
        "type-scoped-context": {
            "@context": {**inline, "Case": {"@id": "cv:Case", "@context": canary_url}},
            "@graph": nodes,
        },
        "import-in-scoped-context": {
            "@context": {**inline, "knows": {"@id": "urn:knows", "@context": {"@version": 1.1, "@import": canary_url}}},
            "@graph": [*nodes, knows_node],
        },
        "nested-node-context": {"@context": inline, "@graph": [{**nodes[0], "@context": canary_url}, *nodes[1:]]},
        "context-in-value-object": {
            "@context": inline,
            "@graph": [*nodes, {"@id": CASE_NS + "case", "cv:title": {"@context": canary_url, "@value": "x"}}],
        },
        "lookalike-of-vendored-url": {"@context": canary_url + "?" + CONTEXT_URL, "@graph": nodes},
        "dev-zero-context": {"@context": "/dev/zero", "@graph": nodes},
    }
    return docs[name]


HOSTILE_CONTEXTS = [
    "remote-http-context",
    "file-url-context",
    "bare-path-context",
    "context-array-with-url",
    "vendored-then-remote-in-array",
    "nested-array-with-url",
    "import",
    "import-beside-vendored",
    "scoped-context-in-term",
    "type-scoped-context",
    "import-in-scoped-context",
    "nested-node-context",
    "context-in-value-object",
    "lookalike-of-vendored-url",
    "dev-zero-context",
]


@pytest.mark.parametrize("name", HOSTILE_CONTEXTS)
def test_hostile_jsonld_context_is_refused_without_fetching(
    client: TestClient,
    canary: Canary,
    context_file: Path,
    watch_opens: Callable[[str | Path], None],
    name: str,
) -> None:
    watch_opens(context_file)
    watch_opens("/dev/zero")
    doc = _hostile_jsonld(name, canary.url(), context_file)
    r = post(client, json.dumps(doc), JSONLD)
    assert_problem(r)
    assert "LEAKED" not in r.text and "attacker.example" not in r.text
    assert canary.hits == 0


@pytest.mark.parametrize(
    "context",
    [
        pytest.param(lambda: vendored_context(), id="inline-context"),
        pytest.param(lambda: CONTEXT_URL, id="vendored-context-url"),
        pytest.param(lambda: [CONTEXT_URL], id="vendored-context-url-in-array"),
    ],
)
def test_benign_jsonld_contexts_are_accepted(client: TestClient, canary: Canary, context: Callable[[], Any]) -> None:
    doc = {"@context": context(), "@graph": copy.deepcopy(SEED_NODES)}
    r = post(client, json.dumps(doc), JSONLD)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["outcome"] == SEED_OUTCOME
    assert canary.hits == 0


# --- 3. bodies that are locations --------------------------------------------------------------


@pytest.fixture
def secret_case(tmp_path: Path) -> Path:
    """A readable file holding a valid case: a server that read it would answer 200."""
    path = tmp_path / "secret_case.ttl"
    path.write_text("# SECRET-FILE-CONTENT\n" + SEED_TTL_TEXT)
    return path


HOSTNAME = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").is_file() else ""
LOCATIONS = ["canary-url", "etc-hostname", "file-url-etc-hostname", "stdin-dash", "secret-path", "secret-file-url"]


@pytest.mark.parametrize("headers", [TURTLE, JSONLD, JSON], ids=["turtle", "json-ld", "json"])
@pytest.mark.parametrize("where", LOCATIONS)
def test_body_that_is_a_location_is_a_parse_error(
    client: TestClient,
    canary: Canary,
    secret_case: Path,
    watch_opens: Callable[[str | Path], None],
    where: str,
    headers: dict[str, str],
) -> None:
    body = {
        "canary-url": canary.url("case.ttl"),
        "etc-hostname": "/etc/hostname",
        "file-url-etc-hostname": "file:///etc/hostname",
        "stdin-dash": "-",
        "secret-path": str(secret_case),
        "secret-file-url": secret_case.as_uri(),
    }[where]
    watch_opens("/etc/hostname")
    watch_opens(secret_case)
    r = post(client, body, headers)
    assert_problem(r, 400, "case-parse")
    assert "SECRET-FILE-CONTENT" not in r.text and "not-medically-necessary" not in r.text
    if len(HOSTNAME) >= 6:  # a short hostname could occur in any text by chance (the audit hook still checks)
        assert HOSTNAME not in r.text
    assert canary.hits == 0


# --- 4. limits ----------------------------------------------------------------------------------

TWO_MB = 2 * 1024 * 1024


@pytest.mark.parametrize("headers", [JSON, TURTLE, JSONLD], ids=["json", "turtle", "json-ld"])
def test_2mb_body_with_content_length_is_413(client: TestClient, headers: dict[str, str]) -> None:
    r = post(client, b" " * TWO_MB, headers)
    assert r.request.headers["content-length"] == str(TWO_MB)
    assert_problem(r, 413, "body-too-large")


@pytest.mark.parametrize("headers", [JSON, TURTLE, JSONLD], ids=["json", "turtle", "json-ld"])
def test_2mb_streamed_body_is_413(client: TestClient, headers: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(TWO_MB // 65536):
            yield b"#" * 65536

    r = client.post("/determinations", content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(r, 413, "body-too-large")


def test_50000_triples_in_turtle_is_413(client: TestClient) -> None:
    body = "@prefix : <urn:x:> .\n" + "".join(f":s :p :o{i} .\n" for i in range(50_000))
    assert len(body.encode()) < 1_000_000  # under the byte limits: the triple cap must be what stops it
    assert_problem(post(client, body, TURTLE), 413, "case-too-large")


def test_50000_triples_in_jsonld_is_413(client: TestClient) -> None:
    # rdflib's JSON-LD parser adds through its own ConjunctiveGraph: the cap must hold there too.
    doc = {
        "@context": {"p": {"@id": "urn:p", "@type": "@id"}},
        "@id": "urn:s",
        "p": [f"urn:{i}" for i in range(50_000)],
    }
    body = json.dumps(doc, separators=(",", ":"))
    assert len(body.encode()) < 1_000_000
    assert_problem(post(client, body, JSONLD), 413, "case-too-large")


NESTED = {
    "json-arrays": (JSON, "[" * 5000 + "]" * 5000),
    "json-objects": (JSON, '{"a":' * 5000 + "1" + "}" * 5000),
    "jsonld-arrays": (JSONLD, "[" * 5000 + "]" * 5000),
    "jsonld-objects": (JSONLD, '{"urn:a":' * 5000 + "1" + "}" * 5000),
    "turtle-blank-nodes": (TURTLE, "@prefix : <urn:x:> .\n:a :b " + "[ :b " * 5000 + ":c" + " ]" * 5000 + " .\n"),
    "turtle-collections": (TURTLE, "@prefix : <urn:x:> .\n:a :b " + "( " * 5000 + ")" * 5000 + " .\n"),
}


@pytest.mark.parametrize("name", list(NESTED))
def test_nesting_5000_is_a_4xx(client: TestClient, name: str) -> None:
    headers, body = NESTED[name]
    assert_problem(post(client, body, headers))


BIG_INT = "9" * 100_000


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (TURTLE, f"@prefix : <urn:x:> .\n:a :b {BIG_INT} .\n"),
        (JSON, SEED_JSON_TEXT.replace('"units": 6', f'"units": {BIG_INT}')),
        (JSONLD, json.dumps({"@id": "urn:a", "urn:b": 1}).replace("1}", BIG_INT + "}")),
    ],
    ids=["turtle", "json", "json-ld"],
)
def test_100000_digit_integer_is_400(client: TestClient, headers: dict[str, str], body: str) -> None:
    assert BIG_INT in body
    r = post(client, body, headers)
    assert_problem(r, 400, "case-parse")
    assert "9" * 50 not in r.text


# --- 5. PHI in responses and logs (A6, H) ---------------------------------------------------------

MARKER = "PHIMARK" + uuid.uuid4().hex[:10].upper()
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "rdflib", "pyshacl", "guideline_reasoner")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[logging.LogRecord]]]:
    """Every log record of the test: the root logger at DEBUG, plus a handler on the named loggers."""
    caplog.set_level(logging.DEBUG)
    handler = _Collect()
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    try:
        yield lambda: [*caplog.records, *handler.records]
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def _record_text(record: logging.LogRecord) -> str:
    parts = [str(record.msg), repr(record.args), record.exc_text or "", record.stack_info or ""]
    try:
        parts.append(record.getMessage())
    except Exception as exc:  # noqa: BLE001 - a broken record still gets checked by its parts
        parts.append(repr(exc))
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


def _json_case(**changes: Any) -> str:
    case = json.loads(SEED_JSON_TEXT)
    case["patient"] = MARKER
    case["documents"][0]["title"] = f"Notes on {MARKER}"
    for path, value in changes.items():
        target = case
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return json.dumps(case)


def _ttl_case(extra: str = "", replace: dict[str, str] | None = None) -> str:
    text = SEED_TTL_TEXT.replace('"patient-0001"', f'"{MARKER}"').replace('"Pain clinic notes"', f'"Notes on {MARKER}"')
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    return text + extra


def _jsonld_case(old: str | None = None, new: str | None = None) -> str:
    text = json.dumps({"@context": CONTEXT_URL, "@graph": SEED_NODES}).replace("patient-0001", MARKER)
    if old is not None and new is not None:
        assert old in text
        text = text.replace(old, new)
    return text


def _phi_cases() -> list[Any]:
    date = '"2025-11-17"^^xsd:date'
    cases = [
        # valid cases: 200 (the case's own data may come back; logs must not carry it)
        ("json-valid", JSON, _json_case(), 200),
        ("turtle-valid", TURTLE, _ttl_case(), 200),
        ("jsonld-valid", JSONLD, _jsonld_case(), 200),
        # JSON: wrong values, bad dates, malformed syntax
        ("json-wrong-enum", JSON, _json_case(**{"request.laterality": MARKER}), 422),
        ("json-wrong-enum-nested", JSON, _json_case(**{"examFindings.0.result": MARKER}), 422),
        ("json-bad-date", JSON, _json_case(**{"request.date": MARKER}), 422),
        ("json-bad-date-document", JSON, _json_case(**{"documents.1.date": MARKER}), 422),
        ("json-wrong-type", JSON, _json_case(**{"request.codes.0.units": MARKER}), 422),
        ("json-bad-diagnosis", JSON, _json_case(**{"request.diagnoses": [MARKER.lower()]}), 422),
        ("json-unknown-class", JSON, _json_case(**{"conservativeCare.0.kind": MARKER.capitalize()}), 422),
        ("json-undeclared-source", JSON, _json_case(**{"examFindings.0.source": MARKER}), 422),
        ("json-title-too-long", JSON, _json_case(**{"documents.0.title": MARKER * 30}), 422),
        ("json-malformed", JSON, _json_case()[: _json_case().index(MARKER) + len(MARKER) + 3], 400),
        ("json-malformed-after-marker", JSON, _json_case().replace(f'"{MARKER}",', f'"{MARKER}" oops', 1), 400),
        # Turtle: ill-typed values, values outside the vocabulary, malformed syntax
        ("turtle-bad-date", TURTLE, _ttl_case(replace={date: f'"{MARKER}"^^xsd:date'}), 422),
        (
            "turtle-bad-decimal",
            TURTLE,
            _ttl_case(replace={"cv:reliefMonths 1.0": f'cv:reliefMonths "{MARKER}"^^xsd:decimal'}),
            422,
        ),
        (
            "turtle-wrong-enum-literal",
            TURTLE,
            _ttl_case(
                replace={"cv:laterality cv:Bilateral ;\n    cv:level": f'cv:laterality "{MARKER}" ;\n    cv:level'}
            ),
            422,
        ),
        (
            "turtle-wrong-enum-iri",
            TURTLE,
            _ttl_case(replace={"cv:imageGuidance cv:DirectVisualization": f"cv:imageGuidance case:{MARKER}"}),
            422,
        ),
        ("turtle-unknown-predicate", TURTLE, _ttl_case(f'\ncase:patient <urn:x:ssn> "{MARKER}" .\n'), 422),
        ("turtle-unknown-type", TURTLE, _ttl_case(f"\ncase:{MARKER} a <urn:x:Person> .\n"), 422),
        # a stray node outside the case: ignored (200) or refused; either way no echo in an error
        ("turtle-foreign-subject", TURTLE, _ttl_case(f'\n<urn:mrn:{MARKER}> cv:identifier "x" .\n'), None),
        ("turtle-malformed", TURTLE, _ttl_case(f'\ncase:patient cv:title "{MARKER}" garbage here .\n'), 400),
        ("turtle-unterminated-string", TURTLE, _ttl_case(f'\ncase:patient cv:title "{MARKER}\n'), 400),
        ("turtle-unquoted-value", TURTLE, _ttl_case(f"\ncase:patient cv:title {MARKER}:Doe .\n"), 400),
        ("turtle-bad-utf8", TURTLE, _ttl_case(f'\ncase:patient cv:title "{MARKER}').encode() + b'\xff\xfe" .\n', 400),
        # JSON-LD
        ("jsonld-malformed", JSONLD, _jsonld_case()[: _jsonld_case().index(MARKER) + len(MARKER) + 2], 400),
        ("jsonld-bad-date", JSONLD, _jsonld_case('"2025-11-17"', f'"{MARKER}"'), 422),
        (
            "jsonld-unknown-predicate",
            JSONLD,
            _jsonld_case('"@graph": [', f'"@graph": [{{"@id": "urn:a", "urn:ssn": "{MARKER}"}}, '),
            422,
        ),
        ("jsonld-context-url", JSONLD, _jsonld_case(f'"{CONTEXT_URL}"', f'"http://{MARKER}.example/ctx"'), 422),
        ("jsonld-not-jsonld", JSONLD, json.dumps({"@context": {}, "@id": MARKER, "@type": 5}), "4xx"),
    ]
    return [pytest.param(headers, body, status, id=name) for name, headers, body, status in cases]


@pytest.mark.parametrize(("headers", "body", "status"), _phi_cases())
def test_phi_marker_is_in_no_error_response_and_no_log(
    client: TestClient,
    canary: Canary,
    all_logs: Callable[[], list[logging.LogRecord]],
    headers: dict[str, str],
    body: str | bytes,
    status: int | str | None,
) -> None:
    """``status``: the expected status; "4xx": any client error; None: 200 or any client error."""
    assert MARKER in (body if isinstance(body, str) else body.decode("utf-8", "replace"))
    r = post(client, body, headers)
    if status == 200 or (status is None and r.status_code == 200):
        assert r.status_code == 200, r.text[:300]
    else:
        assert_problem(r, status if isinstance(status, int) else None)
        assert MARKER not in r.text, r.text[:500]
        assert MARKER.lower() not in r.text.lower()
    assert MARKER not in str(r.headers)
    records = all_logs()
    assert any(rec.name == "guideline_reasoner.access" for rec in records), "the log capture saw nothing"
    leaked = [rec.name + ": " + _record_text(rec)[:200] for rec in records if MARKER in _record_text(rec)]
    assert not leaked
    assert canary.hits == 0


# --- 7, 9. semantic injection (C1, D1, D2) -----------------------------------------------------------

INJECTION_CANARY = "INJECTED-CANARY-" + uuid.uuid4().hex[:8]
_PREFIXES = """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix gr: <https://w3id.org/guideline-reasoner/core#> .
"""


def _injected(extra: str) -> str:
    return SEED_TTL_TEXT + _PREFIXES + extra


def _same_as_chain(n: int) -> str:
    return "".join(f"case:n{i} owl:sameAs case:n{i + 1} .\n" for i in range(n))


def _injection_variants(canary_url: str) -> dict[str, tuple[dict[str, str], str]]:
    shape = f"""
case:evil a sh:NodeShape ;
    sh:targetClass cv:Case ;
    sh:property [ sh:path cv:identifier ; sh:maxCount 0 ; sh:message "{INJECTION_CANARY}" ] ;
    sh:sparql [ sh:select "SELECT $this WHERE {{ $this ?p ?o }}" ; sh:message "{INJECTION_CANARY}" ] ;
    sh:rule [ a sh:TripleRule ; sh:subject sh:this ; sh:predicate gr:eligible ; sh:object true ] .
"""
    jsonld_nodes = [
        *copy.deepcopy(SEED_NODES),
        {"@id": CASE_NS + "line-1", "http://www.w3.org/2002/07/owl#sameAs": {"@id": CASE_NS + "line-2"}},
        {
            "@id": "https://w3id.org/guideline-reasoner/case#Case",
            "http://www.w3.org/2000/01/rdf-schema#subClassOf": {
                "@id": "https://w3id.org/guideline-reasoner/case#Patient"
            },
        },
    ]
    return {
        "tbox-subclass-of-case": (TURTLE, _injected("cv:Case rdfs:subClassOf cv:Patient .\n")),
        "tbox-equivalent-class": (TURTLE, _injected("cv:Case owl:equivalentClass cv:Patient .\n")),
        "tbox-subproperty": (TURTLE, _injected("cv:priorProcedure rdfs:subPropertyOf cv:examFinding .\n")),
        "tbox-code-hierarchy": (TURTLE, _injected("cpt:64772 rdfs:subClassOf cpt:64999 .\n")),
        "sameas-lines": (TURTLE, _injected("case:line-1 owl:sameAs case:line-2 .\n")),
        "sameas-codes": (TURTLE, _injected("cpt:64772 owl:sameAs cpt:27096 .\n")),
        "statement-about-policy": (TURTLE, _injected('grk:sij-clinical-pathway cv:identifier "x" .\n')),
        "statement-about-code": (TURTLE, _injected("cpt:64772 cv:code cpt:27096 .\n")),
        "type-outside-case-vocabulary": (TURTLE, _injected("case:case a gr:Determination .\n")),
        "label-with-canary": (TURTLE, _injected(f'case:case rdfs:label "{INJECTION_CANARY}" .\n')),
        "embedded-shape-with-canary": (TURTLE, _injected(shape)),
        "owl-imports-canary": (TURTLE, _injected(f"case:case owl:imports <{canary_url}> .\n")),
        "sameas-chain-200": (TURTLE, _injected(_same_as_chain(200))),
        "jsonld-sameas-and-subclass": (JSONLD, json.dumps({"@context": CONTEXT_URL, "@graph": jsonld_nodes})),
    }


INJECTIONS = [
    "tbox-subclass-of-case",
    "tbox-equivalent-class",
    "tbox-subproperty",
    "tbox-code-hierarchy",
    "sameas-lines",
    "sameas-codes",
    "statement-about-policy",
    "statement-about-code",
    "type-outside-case-vocabulary",
    "label-with-canary",
    "embedded-shape-with-canary",
    "owl-imports-canary",
    "sameas-chain-200",
    "jsonld-sameas-and-subclass",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_semantic_injection_is_refused(client: TestClient, canary: Canary, name: str) -> None:
    headers, body = _injection_variants(canary.url())[name]
    r = post(client, body, headers)
    assert r.status_code != 200, "a hostile case was judged"
    assert_problem(r)
    assert INJECTION_CANARY not in r.text  # refused before any reasoning: bench/hostile_input.py times it
    assert canary.hits == 0


def _kb_fingerprint(client: TestClient) -> tuple[str, int, int, str]:
    """/version's content hash and a digest of the live graphs (the content hash is computed at load only)."""
    kb = client.app_state["live"].kb
    digest = hashlib.sha256()
    for graph in (kb.ontology, kb.shapes):
        for line in sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in graph):
            digest.update(line.encode())
    return client.get("/version").json()["knowledgeBase"], len(kb.ontology), len(kb.shapes), digest.hexdigest()


def test_knowledge_base_unchanged_after_mixed_traffic(client: TestClient, canary: Canary) -> None:
    before = _kb_fingerprint(client)
    benign = [(JSON, SEED_JSON_TEXT), (TURTLE, SEED_TTL_TEXT)]
    baselines = [post(client, body, headers).text for headers, body in benign]  # ids differ by form
    assert all(json.loads(b)["outcome"] == SEED_OUTCOME for b in baselines)
    hostile = list(_injection_variants(canary.url()).values())
    for i in range(200):
        if i % 2 == 0:
            headers, body = benign[(i // 2) % len(benign)]
            r = post(client, body, headers)
            assert r.status_code == 200, (i, r.text[:300])
            assert r.text == baselines[(i // 2) % len(benign)], f"request {i}: a benign case got a different answer"
        else:
            headers, body = hostile[(i // 2) % len(hostile)]
            r = post(client, body, headers)
            assert 400 <= r.status_code < 500, (i, r.status_code)
            assert INJECTION_CANARY not in r.text
    assert _kb_fingerprint(client) == before
    assert canary.hits == 0


@pytest.mark.parametrize("subject", ["case:stray", "<urn:x:stray>"])
def test_facts_not_linked_to_the_case_do_not_change_the_answer(client: TestClient, subject: str) -> None:
    """A qualifying block that the case does not point to is not counted (it would be, linked)."""
    stray = (
        f'{subject} a cv:PriorProcedure ; cv:code cpt:64451 ; cv:level "S1"^^xsd:string, "S2"^^xsd:string, '
        '"S3"^^xsd:string ; cv:percentRelief 75.0 ; cv:outcome cv:Positive ; cv:date "2026-01-12"^^xsd:date ; '
        "cv:source case:doc-lbb-note .\n"
    )

    def answer(text: str) -> tuple[str, dict[str, str]]:
        r = post(client, text, TURTLE)
        assert r.status_code == 200, r.text[:300]
        return r.json()["outcome"], {c["id"]: c["status"] for c in r.json()["criteria"]}

    baseline = answer(SEED_TTL_TEXT)
    assert answer(SEED_TTL_TEXT + stray) == baseline
    linked = answer(SEED_TTL_TEXT + stray + f"case:case cv:priorProcedure {subject} .\n")
    assert (
        linked[1]["sij-clinical-pathway/lateral-branch-blocks"]
        != baseline[1]["sij-clinical-pathway/lateral-branch-blocks"]
    )


# --- 7. injection through the case id (B5, for POST /determinations) -----------------------------

CASE_IRI = CASE_NS + "case"
ID_PAYLOAD = "sij-seed-neurectomy> <urn:injected> <urn:evil> . ?c ?p ?o } #"


def _id_injections() -> list[Any]:
    seed_jsonld = json.dumps({"@context": CONTEXT_URL, "@graph": SEED_NODES})
    variants = [
        # the literal id: judged as the seed case, with the payload only ever a literal
        (
            "turtle-identifier",
            TURTLE,
            SEED_TTL_TEXT.replace('"sij-seed-neurectomy"^^xsd:string', json.dumps(ID_PAYLOAD)),
        ),
        ("json-id", JSON, SEED_JSON_TEXT.replace('"id": "sij-seed-neurectomy"', f'"id": {json.dumps(ID_PAYLOAD)}')),
        ("jsonld-identifier", JSONLD, seed_jsonld.replace('"sij-seed-neurectomy"', json.dumps(ID_PAYLOAD))),
        # the case IRI: an IRI cannot hold '>' (not even escaped); refused or judged, never spliced
        (
            "turtle-escaped-iri",
            TURTLE,
            SEED_TTL_TEXT.replace(
                "case:case a cv:Case", f"<{CASE_IRI}\\u003E <urn:injected> <urn:evil> . <urn:x> a cv:Case"
            ),
        ),
        (
            "jsonld-iri",
            JSONLD,
            seed_jsonld.replace(json.dumps(CASE_IRI), json.dumps(CASE_IRI + "> <urn:injected> <urn:evil> . <urn:x")),
        ),
    ]
    for name, _, body in variants:
        assert body not in (SEED_TTL_TEXT, SEED_JSON_TEXT, seed_jsonld), name
    return [pytest.param(headers, body, id=name) for name, headers, body in variants]


@pytest.mark.parametrize("accept", ["application/json", "text/turtle", "application/ld+json"])
@pytest.mark.parametrize(("headers", "body"), _id_injections())
def test_injection_in_the_case_id_answers_for_that_case_only(
    client: TestClient, headers: dict[str, str], body: str, accept: str
) -> None:
    other = (EXAMPLES / "sij-rfa-two-blocks.json").read_text()
    assert post(client, other, JSON).status_code == 200  # another case judged just before
    r = post(client, body, {**headers, "accept": accept})
    if r.status_code != 200:
        assert_problem(r)
        return
    assert "sij-rfa-two-blocks" not in r.text
    if accept == "application/json":
        seed = post(client, SEED_JSON_TEXT, JSON).json()
        assert (r.json()["outcome"], r.json()["criteria"]) == (seed["outcome"], seed["criteria"])
    else:
        out = Graph().parse(data=r.text, format="turtle" if accept == "text/turtle" else "json-ld")
        iris = {term for triple in out for term in triple if isinstance(term, URIRef)}
        assert not iris & {URIRef("urn:injected"), URIRef("urn:evil"), URIRef("urn:x")}

"""Attacks on the SPARQL endpoint's deadline and queue (issue 13, item 3).

A query that is slow to parse used to be parsed in the server process, outside the deadline and
under a global lock: one 20,000-character query held the endpoint 11.5 s, and a trivial ``ASK {}``
behind four of them waited 36 s. Now no query text is parsed in the server process; the query
process parses, vets, negotiates and runs it by a deadline that counts from the request's
arrival, waiting for a slot included; a request that gets no slot by then is refused.

No test here reads a clock: each asserts outcomes (statuses, codes, answers, and which requests
were still in flight when another was answered), so they hold on a machine whose cores are busy
with other work. The timings are in bench/sparql_abuse.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pyparsing
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from rdflib.plugins.sparql import parser as rdflib_parser
from rdflib.plugins.sparql import processor as rdflib_processor

import reasoner._rdf.sparql
import reasoner.sparql.vetting
from api import create_app
from api.settings import Settings
from reasoner.errors import QueryBusy, QueryRejected, QueryTimeout
from reasoner.sparql.service import ResultNotAcceptable, SparqlService

from ..conftest import EXAMPLES, LOOPBACK, ROOT

DEADLINE_S = 4.0  # the app's deadline: well above a trivial query's time on a busy machine, and
#                   far below the abusive queries' (their parse alone takes 15 s or more of CPU here)
SLOTS = 4
PREFIXES = (
    "PREFIX gr: <https://w3id.org/guideline-reasoner/core#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)
CODES = PREFIXES + "SELECT ?n WHERE { ?code a gr:Code ; skos:notation ?n } ORDER BY ?n"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 10^11 rows
SEED = (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()
SEED_OUTCOME = "not-medically-necessary"
MEDIA = {
    "SELECT": "application/sparql-results+json",
    "ASK": "application/sparql-results+json",
    "CONSTRUCT": "text/turtle",
    "DESCRIBE": "text/turtle",
}


def _filled(head: str, item: str, tail: str, size: int = 20_000) -> str:
    """``head`` + ``item`` repeated + ``tail``, as long as fits in ``size`` characters."""
    return head + item * ((size - len(head) - len(tail)) // len(item)) + tail


# The slowest shape to parse that bench/sparql_abuse.py --probe found: a function call with ten
# thousand arguments. This one also runs for hours if it ever gets past the parser, so that on a
# machine fast enough to parse it within the deadline it is still stopped.
SLOW_TO_PARSE = _filled(
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i FILTER(COALESCE(1", ",1", ")) }"
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(kb_dir=ROOT, sparql_timeout_s=DEADLINE_S, sparql_max_rows=100, sparql_concurrency=SLOTS)
    with TestClient(create_app(settings), client=LOOPBACK) as c:
        yield c


def sparql(client: TestClient, query: str, accept: str | None = None) -> Response:
    headers = {"content-type": "application/sparql-query", **({"accept": accept} if accept else {})}
    return client.post("/sparql", content=query.encode(), headers=headers)


def outcome(r: Response) -> str:
    return "200" if r.status_code == 200 else f"{r.status_code} {r.json().get('code')}"


class Background:
    """Requests sent from threads at once; their responses, and whether each is still in flight."""

    def __init__(self, send: Callable[[], Response], count: int) -> None:
        self.responses: list[Response] = []
        self.threads = [threading.Thread(target=lambda: self.responses.append(send())) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def in_flight(self) -> int:
        return sum(thread.is_alive() for thread in self.threads)

    def join(self) -> list[Response]:
        for thread in self.threads:
            thread.join(120)
        assert self.in_flight() == 0
        return self.responses


def _serve_alongside(client: TestClient, abusers: Background) -> dict[str, Any]:
    """While the abusers are in flight: /health and a determination in turn (at least 3 of each)."""
    seen: dict[str, Any] = {"health": [], "determinations": [], "during": 0}
    while abusers.in_flight() or len(seen["health"]) < 3:
        seen["during"] += abusers.in_flight() > 0
        health = client.get("/health")
        seen["health"].append((health.status_code, health.json()))
        r = client.post("/determinations", content=SEED, headers={"content-type": "application/json"})
        seen["determinations"].append((r.status_code, r.json().get("outcome")))
        time.sleep(0.05)
    return seen


# --- no query is parsed in the server process ---------------------------------------------------


@pytest.fixture
def parser_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every use of rdflib's SPARQL parser (or any pyparsing grammar) in this process.

    The test client runs the app in this process; query processes are forks of the forkserver,
    another process, which this does not reach.
    """
    calls: list[str] = []

    def spying(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        return spy

    parse_string = pyparsing.ParserElement.parse_string
    monkeypatch.setattr(pyparsing.ParserElement, "parse_string", spying("parse_string", parse_string))
    monkeypatch.setattr(pyparsing.ParserElement, "parseString", spying("parseString", parse_string))
    for module in (rdflib_parser, rdflib_processor, reasoner._rdf.sparql):
        monkeypatch.setattr(module, "parseQuery", spying("parseQuery", rdflib_parser.parseQuery))
    monkeypatch.setattr(rdflib_parser, "parseUpdate", spying("parseUpdate", rdflib_parser.parseUpdate))
    return calls


def test_the_spy_sees_a_parse_in_this_process(parser_spy: list[str]) -> None:
    reasoner.sparql.vetting.vet("ASK {}")
    assert "parseQuery" in parser_spy and "parse_string" in parser_spy


def test_the_server_process_parses_no_query(client: TestClient, parser_spy: list[str]) -> None:
    """Every verdict that needs the query parsed (rows, refusals, the form's formats) comes from the query process."""
    rows = sparql(client, CODES)
    assert rows.status_code == 200
    assert {"64772", "27279"} <= {b["n"]["value"] for b in rows.json()["results"]["bindings"]}
    refusals = {
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }": (400, "SERVICE is not allowed"),
        "SELECT * FROM <http://127.0.0.1:9/x.ttl> WHERE { ?s ?p ?o }": (400, "FROM and FROM NAMED are not allowed"),
        "DROP ALL": (403, "read-only"),
        "SELECT * WHERE { ?s ?p }": (400, "line 1, column 18"),
    }
    for query, (status, reason) in refusals.items():
        r = sparql(client, query, accept="image/png")  # an unusable Accept too: the query's verdict comes first
        assert r.status_code == status and reason in r.json()["detail"], r.text
    construct = sparql(client, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1", accept="text/csv")
    assert construct.status_code == 406 and construct.json()["available"][0] == "text/turtle"
    unwritable = sparql(client, 'SELECT ?v WHERE { BIND("\\u0001" AS ?v) }', accept="application/sparql-results+xml")
    assert unwritable.status_code == 406 and "XML 1.0" in unwritable.json()["detail"]
    ask_tsv = sparql(client, "ASK {}", accept="text/tab-separated-values")
    assert (ask_tsv.status_code, ask_tsv.text) == (200, "?_askResult\ntrue\n")
    assert (
        sparql(client, "ASK {}", accept="application/xml")
        .headers["content-type"]
        .startswith("application/sparql-results+xml")
    )
    assert parser_spy == []


# --- the deadline covers parsing; the server keeps serving ----------------------------------------


def test_slow_queries_are_stopped_at_the_deadline_while_the_server_serves(client: TestClient) -> None:
    """Two queries slow to parse and one slow to run take three of the four slots: /health, determinations
    and a trivial query are answered while all three are still in flight, and all three are stopped."""
    slow = Background(lambda: sparql(client, SLOW_TO_PARSE), 2)
    runaway = Background(lambda: sparql(client, RUNAWAY), 1)
    time.sleep(0.5)  # let them reach the server first (the outcome does not depend on it; a parse in this
    #                  process, as before issue 13, would make the trivial query wait behind them)
    trivial = sparql(client, "ASK {}")
    in_flight_when_answered = slow.in_flight() + runaway.in_flight()
    seen = _serve_alongside(client, slow)
    responses = slow.join() + runaway.join()
    assert (trivial.status_code, trivial.json()) == (200, {"head": {}, "boolean": True})
    assert in_flight_when_answered == 3  # not queued behind a parse
    assert seen["during"] >= 1
    assert {status for status, _ in seen["health"]} == {200}
    assert set(seen["determinations"]) == {(200, SEED_OUTCOME)}
    for r in responses:
        assert (r.status_code, r.json()["code"], r.headers.get("retry-after")) == (503, "sparql-timeout", "1")
        assert "stopped" in r.json()["detail"]


def test_eight_abusive_queries_do_not_hold_the_queue(client: TestClient) -> None:
    """Twice as many slow-to-parse queries as slots: each is stopped or refused by its deadline, /health and
    determinations go on, an over-long query is still refused before any queueing, and a trivial query is
    answered, or refused as busy, never left waiting behind them."""
    abusers = Background(lambda: sparql(client, SLOW_TO_PARSE), 8)
    asker = Background(lambda: sparql(client, "ASK {}"), 1)
    too_long = sparql(client, SLOW_TO_PARSE.ljust(20_001))
    too_long_while_flooded = abusers.in_flight() == 8
    seen = _serve_alongside(client, abusers)
    outcomes = Counter(outcome(r) for r in abusers.join())
    (ask,) = asker.join()
    assert (too_long.status_code, too_long.json()["code"]) == (400, "sparql-rejected")
    assert "longer than 20000 characters" in too_long.json()["detail"] and too_long_while_flooded
    assert set(outcomes) <= {"503 sparql-timeout", "503 sparql-busy"} and sum(outcomes.values()) == 8, outcomes
    assert outcomes["503 sparql-timeout"] >= 1  # some ran, and were stopped mid-parse
    assert outcome(ask) in {"200", "503 sparql-busy", "503 sparql-timeout"}
    if ask.status_code == 200:
        assert ask.json()["boolean"] is True
    assert seen["during"] >= 1
    assert {status for status, _ in seen["health"]} == {200}
    assert set(seen["determinations"]) == {(200, SEED_OUTCOME)}
    after = sparql(client, CODES)  # every slot is free again
    assert after.status_code == 200 and len(after.json()["results"]["bindings"]) > 5


# --- size caps ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (_filled("ASK {} #", "x", "", 20_001), "longer than 20000 characters"),
        (_filled("ASK {} #", "\u00e9", "", 10_001 + len("ASK {} #")), "larger than 20000 bytes"),  # 10,009 chars
        (_filled("ASK {} #", "\U0001f600", "", 5_001 + len("ASK {} #")), "larger than 20000 bytes"),
    ],
    ids=["characters", "two-byte", "four-byte"],
)
def test_size_caps_name_the_limit(client: TestClient, query: str, limit: str) -> None:
    assert len(query) <= 20_001
    for r in (
        sparql(client, query),
        client.get("/sparql", params={"query": query}),
        client.post("/sparql", data={"query": query}, headers={"content-type": "application/x-www-form-urlencoded"}),
    ):
        assert (r.status_code, r.json()["code"]) == (400, "sparql-rejected")
        assert limit in r.json()["detail"] and query[-20:] not in r.text


def test_a_query_of_exactly_20000_bytes_runs(client: TestClient) -> None:
    query = _filled("ASK {} #", "\u00e9", "", 10_004)
    assert len(query.encode()) == 20_000
    r = sparql(client, query)
    assert (r.status_code, r.json()["boolean"]) == (200, True)


# --- the queue, at the service: a request that gets no slot by its deadline is refused ------------


@pytest.fixture(scope="module")
def one_slot() -> SparqlService:
    """A service with one slot and a 3 s deadline (the forkserver is the one the app started)."""
    service = SparqlService(str(ROOT), timeout=3.0, concurrency=1)
    service.start()
    return service


def test_no_slot_by_the_deadline_is_busy_and_size_is_checked_first(one_slot: SparqlService) -> None:
    results: dict[str, object] = {}

    async def attempt(name: str, text: str, arrived: float | None = None) -> None:
        try:
            results[name] = await one_slot.run(text, MEDIA, arrived=arrived)
        except (QueryBusy, QueryRejected, QueryTimeout, ResultNotAcceptable) as exc:
            results[name] = exc

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(attempt, "runaway", RUNAWAY)  # takes the only slot until its deadline
            await anyio.sleep(0.1)
            # arrived 2.5 s ago: half a second left, and the slot is held for at least 2.9 s more
            group.start_soon(attempt, "queued", "ASK {}", time.monotonic() - 2.5)
            group.start_soon(attempt, "late", "ASK {}", time.monotonic() - 3.5)  # its deadline has passed
            group.start_soon(attempt, "too-long", "ASK {} #" + "x" * 20_000)

    anyio.run(main)
    assert isinstance(results["runaway"], QueryTimeout)
    assert isinstance(results["queued"], QueryBusy) and "3 s" in results["queued"].message
    assert isinstance(results["late"], QueryBusy)
    assert isinstance(results["too-long"], QueryRejected) and "20000 characters" in results["too-long"].message


def test_the_memory_budget_covers_the_query_process() -> None:
    """64 MB: sorting a cartesian product of the knowledge base runs out long before a 60 s deadline."""
    service = SparqlService(str(ROOT), timeout=60.0, concurrency=1, memory_mb=64)
    service.start()
    greedy = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d"

    async def main() -> None:
        with pytest.raises(QueryTimeout, match="memory"):
            await service.run(greedy, MEDIA)
        assert (await service.run("ASK {}", MEDIA)).body.startswith(b'{"head"')

    anyio.run(main)

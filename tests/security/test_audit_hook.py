"""The audit hook of reasoner/intake/limits.py stops file, network and process access on its own.

These tests go around the vetting (they reach out directly, or switch the JSON-LD vetting off)
and check that the hook still refuses, that a refusal cannot be swallowed, and that code imports
and the rest of the process are unaffected.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reasoner import CaseVocabularyError
from reasoner.errors import ExternalAccessRefused
from reasoner.intake import limits as untrusted
from reasoner.intake.jsonld import vendored_context
from reasoner.intake.limits import untrusted_input

from ..conftest import ROOT
from .cases import JSONLD, post, problem, seed_jsonld
from .conftest import Canary


def test_a_direct_urllib_fetch_is_refused(canary: Canary) -> None:
    before = untrusted.refusals()
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        urllib.request.urlopen(canary.url(), timeout=5)
    assert canary.hits == 0
    assert untrusted.refusals() > before


def test_a_direct_socket_connection_is_refused(canary: Canary) -> None:
    with socket.socket() as sock, pytest.raises(ExternalAccessRefused), untrusted_input():
        sock.connect(("127.0.0.1", canary.port))
    assert canary.hits == 0


def test_a_name_lookup_is_refused() -> None:
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        socket.getaddrinfo("localhost", 80)


def test_another_thread_given_the_parse_context_is_not_the_parser() -> None:
    """An event loop runs a callback scheduled from a parse with the parse's context (Dask's worker does this).

    Its traffic is the loop's, not the parser's: refusing it failed a legitimate case, at random,
    under ``replay``.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: list[str] = []
    done = threading.Event()

    def callback() -> None:
        seen.append(str(untrusted.active()))
        socket.getaddrinfo("localhost", 80)
        done.set()

    try:
        with untrusted_input():  # raises ExternalAccessRefused on leaving if the callback's lookup was refused
            loop.call_soon_threadsafe(callback)
            assert done.wait(10), "the callback's name lookup was refused"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert seen == ["False"]


def test_a_garbage_collection_callback_is_not_the_parser(tmp_path: Path) -> None:
    """A collection can start in any allocation of a parse; Dask's callback reads /proc then (it failed replays)."""
    stats = tmp_path / "stats"
    stats.write_text("1 2 3")
    read: list[str] = []

    def housekeeping(phase: str, info: dict[str, int]) -> None:
        with stats.open() as f:
            read.append(f.read())

    gc.callbacks.append(housekeeping)
    try:
        with untrusted_input():
            gc.collect()
    finally:
        gc.callbacks.remove(housekeeping)
    assert read == ["1 2 3", "1 2 3"]  # start and stop
    with pytest.raises(ExternalAccessRefused), untrusted_input():  # the parse itself still may not
        stats.open().close()


def test_starting_a_process_is_refused() -> None:
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        subprocess.run(["true"], check=False)


@pytest.mark.parametrize("which", ["existing", "missing", "dev-zero"])
def test_opening_a_file_is_refused_whether_or_not_it_exists(
    which: str, tmp_path: Path, watch_opens: Callable[[str | Path], None]
) -> None:
    existing = tmp_path / "secret.txt"
    existing.write_text("secret")
    path = {"existing": existing, "missing": tmp_path / "missing.txt", "dev-zero": Path("/dev/zero")}[which]
    watch_opens(path)
    with pytest.raises(ExternalAccessRefused) as info, untrusted_input():
        open(path, "rb").read(16)  # the open itself is what is refused
    assert info.value.message == ExternalAccessRefused().message  # the same whichever file


def test_a_swallowed_refusal_still_fails_the_parse(canary: Canary) -> None:
    """A library that catches the hook's exception cannot turn a refused fetch into a result."""
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        try:
            urllib.request.urlopen(canary.url(), timeout=5)
        except Exception:  # noqa: BLE001 - what a careless library would do
            pass
    assert canary.hits == 0


def test_a_replaced_refusal_is_reported_as_the_refusal(canary: Canary) -> None:
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        try:
            urllib.request.urlopen(canary.url(), timeout=5)
        except Exception as exc:
            raise ValueError("a library's own error") from exc


def test_the_hook_is_idle_outside_a_parse(tmp_path: Path) -> None:
    path = tmp_path / "ordinary.txt"
    path.write_text("x")
    assert path.read_text() == "x"  # outside untrusted_input: untouched
    with pytest.raises(ExternalAccessRefused), untrusted_input():
        path.read_text()
    assert path.read_text() == "x"  # and idle again afterwards


def test_importing_code_is_allowed_while_parsing() -> None:
    with untrusted_input():
        import importlib

        module = importlib.import_module("email.mime.audio")  # not imported anywhere else here
    assert module.__name__ == "email.mime.audio"


def test_jsonld_with_the_vetting_switched_off_is_still_refused(
    client: TestClient,
    canary: Canary,
    tmp_path: Path,
    watch_opens: Callable[[str | Path], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The defence works independently of jsonld.resolved(): with it a no-op, rdflib reaches out and is stopped."""
    import reasoner.intake.jsonld

    monkeypatch.setattr(reasoner.intake.jsonld, "resolved", lambda document: document)
    existing = tmp_path / "ctx.json"
    existing.write_text('{"@context": {"@vocab": "http://local-file.example/LEAKED#"}}')
    watch_opens(existing)
    watch_opens("/dev/zero")
    before = untrusted.refusals()
    answers = []
    for target in (canary.url(), str(existing), str(tmp_path / "missing.json"), "/dev/zero"):
        doc = seed_jsonld()
        doc["@context"] = [vendored_context(), {"@context": target}]
        answers.append(problem(post(client, json.dumps(doc), JSONLD), 422, "case-vocabulary"))
    assert all(a == answers[0] for a in answers), answers
    assert canary.hits == 0
    assert untrusted.refusals() >= before + 4  # the hook, not the vetting, stopped each one


def test_the_refusal_is_a_case_vocabulary_error() -> None:
    assert issubclass(ExternalAccessRefused, CaseVocabularyError)


FRESH = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    root = Path(sys.argv[1])
    from reasoner import KnowledgeBase, parse_case
    from reasoner.intake import limits as untrusted
    from reasoner.intake.fhir.hooks import read_hook
    from reasoner.intake.fhir.pas import read_pas
    kb = KnowledgeBase.load(root)
    cases, fhir = root / "examples" / "cases", root / "examples" / "fhir"
    from rdflib import Graph
    from reasoner.intake.jsonld import CONTEXT_URL, vendored_context
    graph = Graph().parse(cases / "sij-seed-neurectomy.ttl", format="turtle")
    doc = json.loads(graph.serialize(format="json-ld", context=vendored_context(), auto_compact=True))
    doc["@context"] = CONTEXT_URL
    sizes = {
        "turtle": len(parse_case((cases / "sij-seed-neurectomy.ttl").read_bytes(), "turtle", kb).graph),
        "json": len(parse_case((cases / "sij-seed-neurectomy.json").read_bytes(), "json", kb).graph),
        "json-ld": len(parse_case(json.dumps(doc).encode(), "json-ld", kb).graph),
        "fhir": len(parse_case((fhir / "sij-seed-neurectomy.pas.json").read_bytes(), "fhir", kb).graph),
        "hook": len(read_hook((fhir / "sij-seed-neurectomy.order-sign.json").read_bytes(), kb,
                              service_hook="order-sign").orders),
    }
    print(json.dumps({"sizes": sizes, "refusals": untrusted.refusals()}))
    """
)


def test_the_first_parse_of_each_format_in_a_fresh_process_works() -> None:
    """Lazy imports (rdflib's parser plugins, fhir.resources' models) still work under the hook."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH, str(ROOT)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["refusals"] == 0
    assert all(n > 0 for n in report["sizes"].values()), report

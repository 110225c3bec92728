"""What a hostile case costs: CPU seconds and peak memory of a fresh process per payload.

Each payload is a seed example (about 7 KB of Turtle, JSON or JSON-LD; the FHIR examples as they
are) with one value or context made hostile. It runs in its own child process, which loads the
knowledge base, judges the benign seed case once (imports, caches), then judges the payload and
reports the CPU time that took and the answer (an error code or the outcome); the parent reads the
child's whole rusage with ``os.wait4`` (peak RSS, CPU). A child is stopped after ``--timeout``
seconds and has a 4 GiB address-space limit, so a payload that would run the machine out of
memory is reported, not suffered. The budget (issue 13): at most 1 s of CPU and 200 MiB for the
payload.

    python -m bench.hostile_input [--timeout 60] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "examples" / "cases"
FHIR = ROOT / "examples" / "fhir"
HUGE = "1e400000000"
TINY = "1e-400000000"
CONTEXT_URL = "https://w3id.org/guideline-reasoner/contexts/case.jsonld"
XSD = "http://www.w3.org/2001/XMLSchema#"
CV = "https://w3id.org/guideline-reasoner/case#"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
BUDGET_CPU_S = 1.0
BUDGET_MIB = 200
ADDRESS_SPACE = 4 << 30


def _ttl(old: str, new: str) -> tuple[str, bytes]:
    text = (CASES / "sij-seed-neurectomy.ttl").read_text()
    assert old in text
    return "turtle", text.replace(old, new, 1).encode()


def _jsonld(edit: Callable[[list[dict[str, Any]]], Any], context: Any = CONTEXT_URL) -> tuple[str, bytes]:
    """The seed case in JSON-LD, compacted with the published context, then named by ``context``."""
    from rdflib import Graph

    from reasoner.intake.jsonld import vendored_context

    graph = Graph().parse(CASES / "sij-seed-neurectomy.ttl", format="turtle")
    doc = json.loads(graph.serialize(format="json-ld", context=vendored_context(), auto_compact=True))
    doc["@context"] = context
    edit(doc["@graph"])
    return "json-ld", json.dumps(doc).encode()


def _relief(nodes: list[dict[str, Any]], value: Any) -> None:
    for node in nodes:
        if "percentRelief" in node:
            node["percentRelief"] = value
            return
    raise AssertionError("no percentRelief in the seed case")


def _json(old: str, new: str) -> tuple[str, bytes]:
    text = (CASES / "sij-seed-neurectomy.json").read_text()
    assert old in text
    return "json", text.replace(old, new, 1).encode()


def _fhir(kind: str, old: str, new: str) -> tuple[str, bytes]:
    name = {"pas": "sij-seed-neurectomy.pas.json", "hook": "sij-seed-neurectomy.order-sign.json"}[kind]
    text = json.dumps(json.loads((FHIR / name).read_text()))
    assert old in text
    return kind, text.replace(old, new, 1).encode()


def payloads(port: int) -> dict[str, tuple[str, bytes]]:
    """Each hostile payload by name: (format, bytes). ``port`` is a listener that never answers."""
    stall = f"http://127.0.0.1:{port}/ctx.jsonld"
    return {
        "benign-turtle": _ttl("cv:reliefMonths 1.0", "cv:reliefMonths 1.0"),
        "benign-json-ld": _jsonld(lambda n: None),
        "benign-pas": _fhir("pas", '"quantity": {"value": 6}', '"quantity": {"value": 6}'),
        "benign-hook": _fhir("hook", '"quantityQuantity": {"value": 6}', '"quantityQuantity": {"value": 6}'),
        "turtle-decimal-huge-exponent": _ttl("cv:reliefMonths 1.0", f'cv:reliefMonths "{HUGE}"^^xsd:decimal'),
        "turtle-decimal-tiny-exponent": _ttl("cv:reliefMonths 1.0", f'cv:reliefMonths "{TINY}"^^xsd:decimal'),
        "turtle-double-huge-exponent": _ttl("cv:reliefMonths 1.0", f"cv:reliefMonths {HUGE}"),
        "turtle-decimal-rdflib-parser": _ttl(
            "cv:reliefMonths 1.0", f'cv:reliefMonths "{HUGE}"^^xsd:decimal ; cv:title "a" , <relative>'
        ),
        "turtle-integer-4000-digits": _ttl("cv:reliefMonths 1.0", f'cv:reliefMonths "{"9" * 4000}"^^xsd:integer'),
        "jsonld-decimal-value-object": _jsonld(lambda n: _relief(n, {"@value": HUGE, "@type": XSD + "decimal"})),
        "jsonld-decimal-coerced-term": _jsonld(lambda n: _relief(n, HUGE)),
        "jsonld-decimal-term-of-its-own": _jsonld(
            lambda n: _relief(n, []) or n.append({"@id": "urn:x", "relief": HUGE}),
            [CONTEXT_URL, {"relief": {"@id": CV + "percentRelief", "@type": XSD + "decimal"}}],
        ),
        "jsonld-nested-context-dev-zero": _jsonld(lambda n: None, {"@context": "/dev/zero"}),
        "jsonld-nested-context-stalling-server": _jsonld(lambda n: None, {"@context": stall}),
        "json-number-huge-exponent": _json('"percentRelief": 80', f'"percentRelief": {HUGE}'),
        "json-string-huge-exponent": _json('"percentRelief": 80', f'"percentRelief": "{HUGE}"'),
        "pas-quantity-string-huge-exponent": _fhir(
            "pas", '"quantity": {"value": 6}', f'"quantity": {{"value": "{HUGE}"}}'
        ),
        "pas-quantity-string-1e40000": _fhir("pas", '"quantity": {"value": 6}', '"quantity": {"value": "1e40000"}'),
        "pas-observation-string-huge-exponent": _fhir(
            "pas", '"valueQuantity": {"value": 5', f'"valueQuantity": {{"value": "{HUGE}"'
        ),
        "hook-quantity-string-huge-exponent": _fhir(
            "hook", '"quantityQuantity": {"value": 6}', f'"quantityQuantity": {{"value": "{HUGE}"}}'
        ),
        # Once timed tests (tests/test_intake.py, tests/api/test_http_security.py): refused before the work.
        "turtle-2-megabytes": ("turtle", b"# " + b"x" * 2_000_000 + b"\n"),
        "json-2-megabytes": ("json", b'{"id": "' + b"x" * 2_000_000 + b'"}'),
        "turtle-50000-triples": ("turtle", b"".join(b"<urn:s%d> <urn:p> <urn:o> .\n" % i for i in range(50_000))),
        "turtle-integer-100000-digits": ("turtle", b"<urn:a> <urn:p> " + b"9" * 100_000 + b" .\n"),
        "turtle-body-is-a-path": ("turtle", b"/etc/hostname"),
        "json-body-is-a-dash": ("json", b"-"),
        "turtle-same-as-chain-200": (
            "turtle",
            (CASES / "sij-seed-neurectomy.ttl").read_bytes()
            + "".join(f"<urn:n{i}> <{OWL_SAME_AS}> <urn:n{i + 1}> .\n" for i in range(200)).encode(),
        ),
    }


def _judge(fmt: str, payload: bytes, kb: Any) -> str:
    """The answer as the HTTP API would give it: the outcome, or the error's status and code."""
    import datetime as dt

    from reasoner import FhirError, ReasonerError, determine
    from reasoner.intake.fhir.hooks import read_hook
    from reasoner.intake.fhir.pas import read_pas
    from reasoner.interop.cds_hooks import respond
    from reasoner.interop.pas import judge

    try:
        if fmt == "pas":
            return judge(read_pas(payload, kb), kb, policy="sij-clinical-pathway").outcome.value
        if fmt == "hook":
            call = read_hook(payload, kb, service_hook="order-sign")
            cards = respond(call, kb, policy=None, base_url="http://localhost/", today=dt.date(2026, 1, 1))["cards"]
            return f"{len(cards)} cards"
        return determine(payload, fmt, kb, policy="sij-clinical-pathway").outcome.value  # type: ignore[arg-type]
    except FhirError as exc:
        return f"{exc.status} {exc.code}"
    except ReasonerError as exc:
        return exc.code
    except BaseException as exc:  # noqa: BLE001 - what a server would turn into a 500
        return f"500 {type(exc).__name__}"


def child(name: str, port: int) -> None:
    """Run one payload (in the child process) and print what it cost and the answer."""
    from reasoner import KnowledgeBase

    every = payloads(port)
    fmt, payload = every[name]
    kb = KnowledgeBase.load(ROOT)
    benign = {"json-ld": "benign-json-ld", "pas": "benign-pas", "hook": "benign-hook"}.get(fmt, "benign-turtle")
    _judge(*every[benign], kb)  # warm: the format's imports and caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    answer = _judge(fmt, payload, kb)
    cpu = time.process_time() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"answer": answer, "cpu": cpu, "grew_kib": after - before, "bytes": len(payload)}))


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def measure(name: str, port: int, timeout: float) -> dict[str, Any]:
    """Run ``name`` in a child; its report, plus its whole CPU time and peak RSS from ``os.wait4``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_input", "--child", name, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit,  # noqa: PLW1509 - the child has no threads yet
    )
    timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    timer.cancel()
    report: dict[str, Any] = {
        "name": name,
        "peak_mib": usage.ru_maxrss / 1024,
        "child_cpu": usage.ru_utime + usage.ru_stime,
    }
    lines = out.decode().strip().splitlines()
    if proc.returncode == 0 and lines:
        report.update(json.loads(lines[-1]))
    else:
        killed = proc.returncode == -signal.SIGKILL
        report.update(answer=f"killed after {timeout:.0f} s" if killed else f"exit {proc.returncode}", cpu=None)
    return report


def _silent_listener() -> tuple[socket.socket, int]:
    """A loopback listener that accepts connections and never answers (a stalling context server)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, sock.getsockname()[1]


def run(timeout: float, only: list[str] | None = None, echo: bool = True) -> list[str]:
    """Every payload (or ``only`` those): a Markdown table, a row each (printed as it comes with ``echo``).

    A row is ok when the payload cost at most the budget and was answered without a server error.
    """
    sock, port = _silent_listener()
    try:
        names = [n for n in payloads(port) if not only or n in only]
        rows = [
            "| payload | bytes | answer | payload CPU s | child peak MiB | payload grew MiB | ok |",
            "|---|---|---|---|---|---|---|",
        ]
        if echo:
            print("\n".join(rows), flush=True)
        for name in names:
            r = measure(name, port, timeout)
            cpu = "" if r.get("cpu") is None else f"{r['cpu']:.3f}"
            grew = r.get("grew_kib")
            ok = (
                r.get("cpu") is not None
                and r["cpu"] <= BUDGET_CPU_S
                and grew / 1024 <= BUDGET_MIB
                and not str(r["answer"]).startswith("500")
            )
            rows.append(
                f"| {name} | {r.get('bytes', '')} | {r['answer']} | {cpu} | {r['peak_mib']:.0f} | "
                f"{'' if grew is None else f'{grew / 1024:.0f}'} | {'yes' if ok else 'NO'} |"
            )
            if echo:
                print(rows[-1], flush=True)
        return rows
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a child is stopped")
    parser.add_argument("--only", nargs="*", help="payload names")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=9, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.port)
        return 0
    rows = run(args.timeout, args.only)
    return 0 if all(not r.endswith("| NO |") for r in rows[2:]) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The collector paused while determinations run (reasoner/_collector.py), and why that is safe."""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.queues
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from bench.generated import case_with_relevant_history
from reasoner import KnowledgeBase, _collector, determine
from reasoner.enrich.stage import enrich
from reasoner.errors import UnknownPolicyError
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.turtle import CaseFormat
from reasoner.interop.pas import review
from reasoner.pipeline import determine_parsed, parse_case

from .conftest import ROOT

CASES = sorted(p for p in (ROOT / "examples" / "cases").iterdir() if ".expected." not in p.name)
FORMATS: dict[str, CaseFormat] = {".json": "json", ".ttl": "turtle"}  # JSON-LD below


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_determination_runs_with_the_collector_paused_and_resumes_it(
    kb: KnowledgeBase, collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return enrich(*args, **kwargs)

    monkeypatch.setattr("reasoner.pipeline.enrich", spy)
    d = determine((ROOT / "examples/cases/sij-seed-neurectomy.json").read_bytes(), "json", kb)
    assert d.outcome.value == "not-medically-necessary"
    assert seen == [False]
    assert gc.isenabled()


def test_an_error_in_a_determination_resumes_the_collector(kb: KnowledgeBase, collector_on: None) -> None:
    seed = (ROOT / "examples/cases/sij-seed-neurectomy.json").read_bytes()
    with pytest.raises(UnknownPolicyError, match="no-such-policy"):
        determine(seed, "json", kb, policy="no-such-policy")  # found in the pause, by resolve_policy
    assert gc.isenabled()


def test_a_turtle_case_is_parsed_before_the_pause(kb: KnowledgeBase, collector_on: None) -> None:
    """rdflib's parsers, the fallback of Turtle's and JSON-LD's, leave what they parse in cycles."""
    seen: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return parse_case(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("reasoner.pipeline.parse_case", spy)
        d = determine((ROOT / "examples/cases/sij-seed-neurectomy.ttl").read_bytes(), "turtle", kb)
    assert d.outcome.value == "not-medically-necessary"
    assert seen == [True]


def test_a_collector_the_host_disabled_stays_disabled(kb: KnowledgeBase) -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        determine((ROOT / "examples/cases/sij-seed-neurectomy.json").read_bytes(), "json", kb)
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def _holding(started: threading.Event, release: threading.Event) -> threading.Thread:
    @_collector.paused
    def hold() -> None:
        started.set()
        release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    assert started.wait(60)
    return thread


def test_a_pause_lasts_as_long_as_the_determination_that_made_it(collector_on: None) -> None:
    first, second = (threading.Event(), threading.Event()), (threading.Event(), threading.Event())
    owner = _holding(*first)
    joined = _holding(*second)  # begins in the owner's pause
    try:
        assert not gc.isenabled()
        _collector.paused(lambda: None)()  # begins and ends in it too
        assert not gc.isenabled()
        first[1].set()
        owner.join(60)
        assert gc.isenabled()  # the owner returned: what still runs in other threads runs with the collector
    finally:
        first[1].set()
        second[1].set()
        owner.join(60)
        joined.join(60)
    assert gc.isenabled()


def test_calls_nest_in_the_thread_that_owns_the_pause(collector_on: None) -> None:
    inner = _collector.paused(gc.isenabled)
    assert _collector.paused(lambda: (inner(), gc.isenabled()))() == (False, False)
    assert gc.isenabled()


def test_a_determination_beginning_after_too_many_objects_collects_first(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_collector, "MOST_UNCOLLECTED", 1_000)
    started, release = threading.Event(), threading.Event()
    thread = _holding(started, release)
    try:
        garbage = [_Cycle() for _ in range(5_000)]
        probe = weakref.ref(garbage[0])
        del garbage
        assert probe() is not None  # in a cycle: only the collector frees it, and it is paused
        _collector.paused(lambda: None)()
        assert probe() is None
        assert not gc.isenabled()  # the pause goes on
    finally:
        release.set()
        thread.join(60)


def _report_collector(out: multiprocessing.queues.Queue[tuple[bool, bool, bool]]) -> None:
    at_start = gc.isenabled()
    inside = _collector.paused(gc.isenabled)()
    out.put((at_start, inside, gc.isenabled()))


def test_a_process_forked_during_a_pause_starts_with_the_collector_on(collector_on: None) -> None:
    started, release = threading.Event(), threading.Event()
    thread = _holding(started, release)
    try:
        context = multiprocessing.get_context("fork")
        out: multiprocessing.queues.Queue[tuple[bool, bool, bool]] = context.Queue()
        child = context.Process(target=_report_collector, args=(out,))
        child.start()
        reported = out.get(timeout=60)
        child.join(60)
        assert reported == (True, False, True)  # on, paused by its own determination, on again
        assert not gc.isenabled()  # the parent's pause goes on
    finally:
        release.set()
        thread.join(60)
    assert gc.isenabled()


def _cycles_after(run: Callable[[], object]) -> int:
    """How many objects a second call of ``run`` leaves in reference cycles (the first fills caches)."""
    run()
    was = gc.isenabled()
    gc.collect()
    gc.freeze()  # what is alive now is not counted, and the next pass does not walk it
    gc.disable()
    try:
        run()
        return gc.collect()
    finally:
        gc.unfreeze()
        if was:
            gc.enable()


@pytest.mark.parametrize("case", [p for p in CASES if p.suffix in FORMATS], ids=lambda p: p.name)
def test_a_determination_leaves_nothing_for_the_collector(kb: KnowledgeBase, case: Path) -> None:
    """What makes the pause safe: a determination's objects all go with their reference counts."""
    payload, fmt = case.read_bytes(), FORMATS[case.suffix]
    assert _cycles_after(lambda: determine_parsed(parse_case(payload, fmt, kb), kb)) == 0


def test_a_json_ld_case_leaves_for_the_collector_only_what_rdflib_s_parser_does(kb: KnowledgeBase) -> None:
    graph = Graph().parse(ROOT / "examples/cases/sij-seed-neurectomy.ttl")
    parsed = parse_case(graph.serialize(format="json-ld").encode(), "json-ld", kb)
    assert _cycles_after(lambda: determine_parsed(parsed, kb)) == 0
    # rdflib's JSON-LD parser flattens with a closure that calls itself: a cycle, collected after the pause
    assert _cycles_after(lambda: parse_case(graph.serialize(format="json-ld").encode(), "json-ld", kb)) > 0


def test_a_long_history_and_a_pas_review_leave_nothing_for_the_collector(kb: KnowledgeBase) -> None:
    payload = case_with_relevant_history(200)
    assert _cycles_after(lambda: determine(payload, "json", kb, policy="medicare-facet-lcd")) == 0
    pas = read_pas((ROOT / "examples/fhir/sij-seed-neurectomy.pas.json").read_bytes(), kb)
    assert _cycles_after(lambda: review(pas, kb, policy=None)) == 0

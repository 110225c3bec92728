"""``guideline-reasoner replay`` as a user runs it: on its own LocalCluster, and on a scheduler started apart.

The history is the examples (JSON, Turtle and FHIR PAS Bundles) and a few hundred generated
cases, in one folder; both runs must give the same summary and the same tables.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from distributed import Client

from bench import mix
from reasoner.authoring.impact import impact
from reasoner.knowledge.base import KnowledgeBase
from reasoner.store.keeping import determine_and_keep

from ..conftest import EXAMPLES, ROOT

BIN = Path(sys.executable).parent
CLI = str(BIN / "guideline-reasoner")


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}  # a scheduler that is not there
    return subprocess.run([CLI, "replay", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    for case in EXAMPLES.iterdir():
        if case.suffix in (".json", ".ttl") and not case.name.endswith(".expected.json"):
            shutil.copy(case, folder / case.name)
    shutil.copy(ROOT / "examples/fhir/sij-seed-neurectomy.pas.json", folder / "sij-seed-neurectomy.pas.json")
    for generated in mix.cases(120, seed=5):
        (folder / f"{generated['id']}.json").write_text(json.dumps(generated))
    return folder


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Dask scheduler and two worker processes on loopback, started apart from any replay."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    procs = [
        subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--scheduler-file", str(file), "--port", "0", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while not file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    procs.append(
        subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(file), "--nworkers", "2", "--nthreads", "1",
             "--memory-limit", "0", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=folder,
        )
    )  # fmt: skip
    try:
        with Client(scheduler_file=str(file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)  # both, so that the replay is split as the test says
        yield file
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def _tables(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted(pq.read_table(out / f"{name}.parquet").to_pylist(), key=lambda r: json.dumps(r, sort_keys=True))
        for name in ("changes", "criteria", "failures")
    }


@pytest.fixture(scope="module")
def local(history: Path, edited: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    run = _cli(str(history), "--to", str(edited), "--out", str(out), "--workers", "1", "--partition", "40")
    assert run.returncode == 0, run.stderr
    assert "# Replay: what changes" in run.stdout
    assert f"replayed {len(list(history.iterdir())):,} of {len(list(history.iterdir())):,} cases" in run.stderr
    return out


def test_the_examples_change_exactly_as_impact_says(local: Path, edited: Path) -> None:
    own = {p.name: json.loads(p.read_text())["policy"] for p in EXAMPLES.glob("*.json") if "expected" not in p.name}
    expected = sorted(
        (c.case, c.policy, c.outcome[0], c.outcome[1], [cid for cid, _, _ in c.criteria])
        for c in impact(ROOT, edited).changes
        if c.policy == own.get(c.case, "sij-clinical-pathway")
    )
    found = sorted(
        (r["case"], r["policy"], r["before"], r["after"], r["criteria"])
        for r in _tables(local)["changes"]
        if not r["case"].startswith("gen-")
    )
    assert found == expected and len(found) == 2
    summary = json.loads((local / "summary.json").read_text())
    assert summary["cases"] == len(own) + 2 + 120  # the Turtle seed and the PAS Bundle
    assert summary["run"]["workers"] == 1 and len(summary["run"]["peakMemoryMB"]) == 1
    assert {f["code"] for f in summary["failures"]} == {"case-schema", "unknown-policy"}  # bad generated; the Bundle


def test_a_scheduler_started_apart_gives_identical_results(
    local: Path, history: Path, edited: Path, scheduler: Path, tmp_path: Path
) -> None:
    address = json.loads(scheduler.read_text())["address"]
    run = _cli(str(history), "--to", str(edited), "--out", str(tmp_path), "--scheduler", address, "-f", "json")
    assert run.returncode == 0, run.stderr
    theirs, ours = json.loads(run.stdout), json.loads((local / "summary.json").read_text())
    assert theirs.pop("run")["workers"] == 2 and ours.pop("run")
    assert theirs == ours
    assert _tables(tmp_path) == _tables(local)


def test_the_store_compares_with_what_it_kept(scheduler: Path, edited: Path, tmp_path: Path, kb: KnowledgeBase) -> None:
    data = tmp_path / "data"
    kept = ["facet-rfa-one-positive-block", "facet-rfa-initial", "bar-bmi-33"]
    for name in kept:
        determine_and_keep((EXAMPLES / f"{name}.json").read_bytes(), "json", kb, policy=None, where=data, by="t")
    run = _cli("store:", "--data", str(data), "--to", str(edited), "--out", str(tmp_path / "out"),
               "--scheduler", str(scheduler), "-f", "json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["before"] == {"name": "stored determinations", "knowledgeBase": None}
    assert summary["cases"] == 3 and summary["changed"] == 1
    (change,) = _tables(tmp_path / "out")["changes"]
    assert (change["before"], change["after"]) == ("not-medically-necessary", "medically-necessary")


def test_an_unknown_policy_is_named(scheduler: Path, tmp_path: Path) -> None:
    run = _cli(str(EXAMPLES), "--to", ".", "--policy", "nope", "--scheduler", str(scheduler), "--out", str(tmp_path))
    assert run.returncode == 2 and "unknown policy 'nope'; valid policies: evicore-sij," in run.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["no-such-folder", "--to", "."], 2, "no-such-folder: not a folder of case files"),
        ([str(EXAMPLES), "--to", "no-such-revision"], 2, "no-such-revision: not a folder and not a git revision"),
        (
            [str(EXAMPLES), "--to", ".", "--out", str(ROOT / "README.md")],
            2,
            "README.md: cannot write the results there",
        ),
        ([str(EXAMPLES), "--to", ".", "--scheduler", "tcp://127.0.0.1:9"], 4, "no Dask scheduler answers at"),
    ],
)
def test_what_cannot_run_says_why(args: list[str], code: int, words: str, tmp_path: Path) -> None:
    out = [] if "--out" in args else ["--out", str(tmp_path / "out")]
    run = _cli(*args, *out, "--quiet")
    assert run.returncode == code, run.stderr
    assert words in run.stderr and "Traceback" not in run.stderr

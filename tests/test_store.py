"""The embedded determination store (reasoner/store/embedded.py): what is put is found, durably, apart from the case."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rdflib import Graph

from reasoner import KnowledgeBase, determine
from reasoner.model import Determination
from reasoner.pipeline import parse_case
from reasoner.store import EmbeddedStore

from .conftest import EXAMPLES

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _decide(kb: KnowledgeBase, name: str) -> tuple[Determination, Graph]:
    payload = (EXAMPLES / f"{name}.json").read_bytes()
    return determine(payload, "json", kb), parse_case(payload, "json", kb).graph


def test_a_determination_put_is_got_back_whole(kb: KnowledgeBase, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "data")
    d, case = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, case, now=T0)
    got = store.get(d.determinationId)
    assert got == kept and got.outcome == "not-medically-necessary" and got.policy == "medicare-pap"
    assert json.loads(got.json) == json.loads(d.model_dump_json())
    assert got.digest.startswith("sha256:") and got.stored_at == T0
    assert store.get("0" * 32) is None


def test_the_case_facts_are_kept_apart(kb: KnowledgeBase, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "data")
    d, case = _decide(kb, "bar-lap-rygb")
    store.put(d, case, now=T0)
    kept = store.case(d.determinationId)
    assert kept is not None and len(kept) == len(case)
    assert set(kept) == set(case)  # every fact, as given (a JSON case has no blank nodes)
    assert store.case("0" * 32) is None


def test_find_filters_and_pages_latest_first(kb: KnowledgeBase, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "data")
    names = ["pap-initial-b1-hst", "pap-initial-rdi-3", "bar-bmi-33", "pap-continued-adherent"]
    for i, name in enumerate(names):
        store.put(_decide(kb, name)[0], now=T0 + timedelta(minutes=i))
    assert [s.outcome for s in store.find()] == [
        "medically-necessary",
        "not-medically-necessary",
        "not-medically-necessary",
        "medically-necessary",
    ]
    assert [s.policy for s in store.find(policy="medicare-bariatric")] == ["medicare-bariatric"]
    assert len(store.find(policy="medicare-pap", outcome="medically-necessary")) == 2
    assert len(store.find(since=T0 + timedelta(minutes=2))) == 2
    assert [s.id for s in store.find(limit=2, offset=1)] == [s.id for s in store.find()[1:3]]
    assert store.find(policy='x" } } DROP ALL #') == []  # a value is a literal, never query text


def test_the_same_determination_again_replaces_it(kb: KnowledgeBase, tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "data")
    d, case = _decide(kb, "pap-initial-b1-hst")
    store.put(d, case, now=T0)
    store.put(d, case, now=T0 + timedelta(hours=1))
    (only,) = store.find()
    assert only.stored_at == T0 + timedelta(hours=1)
    assert len(store.case(d.determinationId) or ()) == len(case)


def test_an_id_that_is_not_one_is_refused(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "data")
    with pytest.raises(ValueError, match="not a determination id"):
        store.get("> } DROP ALL {")


_CHILD = """
import os, sys
from pathlib import Path
from rdflib import Graph

from reasoner import KnowledgeBase, determine
from reasoner.model import Determination
from reasoner.store import EmbeddedStore
kb = KnowledgeBase.load(Path(sys.argv[2]))
store = EmbeddedStore(Path(sys.argv[1]))
d = determine(Path(sys.argv[3]).read_bytes(), "json", kb)
store.put(d, flush=sys.argv[4] == "flush")
print(d.determinationId, flush=True)
os.kill(os.getpid(), 9)  # no clean shutdown: what put acknowledged must be on disk
"""


@pytest.mark.parametrize("flush", ["flush", "no-flush"])
def test_a_put_survives_sigkill(tmp_path: Path, flush: str) -> None:
    from .conftest import ROOT

    case = EXAMPLES / "pap-initial-b1-hst.json"
    run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "data"), str(ROOT), str(case), flush],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == -9, run.stderr
    ident = run.stdout.strip()
    found = EmbeddedStore(tmp_path / "data").get(ident)
    assert found is not None and found.outcome == "medically-necessary"

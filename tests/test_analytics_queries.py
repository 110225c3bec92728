"""queries/determinations/*.rq over a seeded store, run directly; the report built from them, and its command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reasoner.cli as cli
from reasoner import KnowledgeBase
from reasoner.analytics import queries
from reasoner.analytics.dataset import ensure_kb
from reasoner.analytics.report import report
from reasoner.sparql.vetting import vet
from reasoner.store import EmbeddedStore, Stored

from .analytics_seed import seed
from .conftest import ROOT

KBI = "https://w3id.org/guideline-reasoner/kb/"
PAP_UNKNOWN = [  # what a continued-rental request that does not say its rental phase leaves unknown
    "adherence",
    "adherence-reviewed",
    "reevaluation-timing",
    "requalification-evaluation",
    "requalification-retest",
    "symptoms-improved",
]


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase
) -> Iterator[tuple[EmbeddedStore, dict[str, Stored]]]:
    store = EmbeddedStore(tmp_path_factory.mktemp("analytics") / "data")
    try:
        yield store, seed(store, kb)
    finally:
        store.close()


@pytest.fixture(scope="module")
def kb_graph(seeded: tuple[EmbeddedStore, dict[str, Stored]], kb: KnowledgeBase) -> str:
    return ensure_kb(seeded[0], kb)


def test_every_determination_query_is_documented_and_accepted_by_the_endpoint() -> None:
    readme = (ROOT / "queries" / "README.md").read_text(encoding="utf-8")
    for name in queries.NAMES:
        text = queries.text(name)
        assert text.startswith("#") and f"determinations/{name}.rq" in readme
        assert vet(text) == "SELECT"  # no SERVICE, no FROM


def test_determination_rates(seeded: tuple[EmbeddedStore, dict[str, Stored]], kb_graph: str) -> None:
    rows = queries.run(seeded[0], "determination-rates", kb_graph)
    assert [
        (
            r["policy"],
            r["determinations"],
            r["approved"],
            r["denied"],
            r["pended"],
            r["awaitingReview"],
            r["overturned"],
        )
        for r in rows
    ] == [("medicare-bariatric", "2", "1", "1", "0", "0", "1"), ("medicare-pap", "3", "1", "1", "1", "1", "0")]
    rates = [tuple(Decimal(r[k]) for k in ("approvedRate", "deniedRate", "pendedRate", "overturnedRate")) for r in rows]
    assert rates == [
        (Decimal("0.5"), Decimal("0.5"), Decimal(0), Decimal("0.5")),
        (Decimal("0.333"), Decimal("0.333"), Decimal("0.333"), Decimal(0)),
    ]


def test_criterion_outcomes_join_the_knowledge_base(
    seeded: tuple[EmbeddedStore, dict[str, Stored]], kb_graph: str
) -> None:
    rows = {r["criterion"].removeprefix(KBI): r for r in queries.run(seeded[0], "criterion-outcomes", kb_graph)}
    assert len(rows) == 19 and {r["policy"] for r in rows.values()} == {"medicare-bariatric", "medicare-pap"}
    figures = {c: (r["met"], r["notMet"], r["unknown"], r["notMetOverturned"]) for c, r in rows.items()}
    assert figures["medicare-bariatric/bmi"] == ("1", "1", "0", "1")  # the denial a reviewer overturned
    assert figures["medicare-bariatric/comorbidity"] == ("2", "0", "0", "0")
    assert figures["medicare-pap/adherence"] == ("1", "1", "1", "0")  # met, not met (upheld), unknown (pended)
    assert figures["medicare-pap/code-covered"] == ("3", "0", "0", "0")
    assert rows["medicare-bariatric/bmi"]["label"] == "BMI of at least 35 (B13)"  # from the knowledge base graph


def test_pend_causes(seeded: tuple[EmbeddedStore, dict[str, Stored]], kb_graph: str) -> None:
    rows = queries.run(seeded[0], "pend-causes", kb_graph)
    assert [(r["criterion"], r["policy"], r["pends"]) for r in rows] == [
        (f"{KBI}medicare-pap/{c}", "medicare-pap", "1") for c in PAP_UNKNOWN
    ]
    assert rows[0]["label"] == "PAP used at least 4 hours on 70 % of nights (continued coverage)"


def test_time_to_decision(seeded: tuple[EmbeddedStore, dict[str, Stored]], kb_graph: str) -> None:
    store, kept = seeded
    rows = queries.run(store, "time-to-decision", kb_graph)
    ids = {s.id: name for name, s in kept.items()}
    assert [
        (ids[r["determination"].rsplit("/", 1)[-1]], r["status"], r.get("finalOutcome"), r["codes"], r.get("duration"))
        for r in rows
    ] == [
        ("pap-continued-not-adherent", "upheld", "not-medically-necessary", "E0601", "PT30M"),
        ("pap-continued-adherent", "automated", "medically-necessary", "E0601", "PT0S"),
        ("pap-rental-phase-not-stated", "awaiting-review", None, "E0601", None),
        ("bar-bmi-33", "overturned", "medically-necessary", "43644", "PT2H"),
        ("bar-lap-rygb", "automated", "medically-necessary", "43644", "PT0S"),
    ]


TOTALS = {
    "determinations": 5,
    "approved": 2,
    "denied": 2,
    "pended": 1,
    "overturned": 1,
    "awaitingReview": 1,
    "decided": 4,
    "medianSecondsToDecision": 900.0,  # of 0, 0, 30 min and 2 h
    "p90SecondsToDecision": 7200.0,
}


def test_the_report_counts_and_times(seeded: tuple[EmbeddedStore, dict[str, Stored]]) -> None:
    figures = report(seeded[0])
    assert figures["since"] is None and figures["totals"] == TOTALS
    policies = {p["policy"]: p for p in figures["policies"]}
    assert (
        policies["medicare-bariatric"]["overturned"],
        policies["medicare-bariatric"]["medianSecondsToDecision"],
    ) == (
        1,
        3600.0,
    )
    assert policies["medicare-pap"]["p90SecondsToDecision"] == 1800.0 and policies["medicare-pap"]["pended"] == 1
    assert [(c["code"], c["determinations"], c["approved"]) for c in figures["codes"]] == [
        ("43644", 2, 1),
        ("E0601", 3, 1),
    ]
    later = report(seeded[0], datetime(2026, 12, 6, 9, 25, tzinfo=UTC))  # bar-bmi-33 at 9:30, bar-lap-rygb at 9:40
    assert later["totals"]["determinations"] == 2 and later["totals"]["overturned"] == 1
    assert [p["policy"] for p in later["policies"]] == ["medicare-bariatric"]


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, ["report", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_the_report_command(seeded: tuple[EmbeddedStore, dict[str, Stored]]) -> None:
    folder = seeded[0].folder
    code, out, _ = _cli("--data", folder, "--format", "json")
    assert code == 0 and json.loads(out)["totals"] == TOTALS
    code, out, _ = _cli("--data", folder, "--since", "2026-12-06T09:25:00Z")
    assert code == 0 and "| **Total** | 2 | 1 | 1 | 0 | 1 | 0 | 1 h | 2 h |" in out
    assert "| policy medicare-pap |" not in out and "| code 43644 | 2 | 1 | 1 | 0 | 1 | 0 | 1 h | 2 h |" in out
    code, out, _ = _cli("--data", folder, "--format", "html")
    assert (
        code == 0 and out.startswith("<!DOCTYPE html>") and '<th scope="row">code E0601</th><td class="n">3</td>' in out
    )


def test_the_report_command_refuses_a_bad_date(tmp_path: Path) -> None:
    code, out, err = _cli("--data", tmp_path / "data", "--since", "last tuesday")
    assert code == 2 and out == "" and "--since: not a date or date-time" in err


def test_an_empty_store_reports_zero_and_no_times(tmp_path: Path) -> None:
    code, out, _ = _cli("--data", tmp_path / "data", "--format", "json")
    figures = json.loads(out)
    assert code == 0 and figures["policies"] == [] and figures["codes"] == []
    assert figures["totals"] == {
        "determinations": 0,
        "approved": 0,
        "denied": 0,
        "pended": 0,
        "overturned": 0,
        "awaitingReview": 0,
        "decided": 0,
        "medianSecondsToDecision": None,
        "p90SecondsToDecision": None,
    }

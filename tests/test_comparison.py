"""A case under every relevant policy (``--policy all``): the policies chosen, the answers, the renderings, the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import reasoner.cli as cli
from reasoner import Comparison, KnowledgeBase, compare, determine, parse_case, render_comparison
from reasoner.compare import compare_graph, relevant_policies, requested_codes
from reasoner.pipeline import determine_parsed
from reasoner.vocab import CPT

from .conftest import EXAMPLES

SEED = EXAMPLES / "sij-seed-neurectomy.json"
EXPECTED = {"sij-clinical-pathway": "not-medically-necessary", "medicare-sij-lcd": "no-applicable-guideline"}


def _with_codes(seed_json: bytes, *codes: str) -> bytes:
    case = json.loads(seed_json)
    case["request"]["codes"] = [{"code": c, "units": 1} for c in codes]
    return json.dumps(case).encode()


@pytest.fixture(scope="module")
def seed(kb: KnowledgeBase, seed_json: bytes) -> Comparison:
    return compare(seed_json, "json", kb)


@pytest.fixture(scope="module")
def seed_ttl() -> bytes:
    return (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()


# --- which policies -------------------------------------------------------------------------------


def test_requested_codes_are_the_request_lines(kb: KnowledgeBase, seed_json: bytes) -> None:
    assert requested_codes(parse_case(seed_json, "json", kb).graph) == [CPT["64772"], CPT["64999"]]


def test_relevant_policies_by_coverage_rule_or_fallback(kb: KnowledgeBase, seed_json: bytes) -> None:
    case = parse_case(seed_json, "json", kb).graph
    ids = [p.id for p in relevant_policies(case, kb)]
    assert {"sij-clinical-pathway", "medicare-sij-lcd"} <= set(ids)
    assert ids == sorted(ids)
    # The Medicare SIJ LCD has no coverage rule for either code: it is relevant through gr:fallbackCode only.
    medicare = kb.policy("medicare-sij-lcd")
    assert not any((medicare.iri, code) in kb.coverage for code in requested_codes(case))
    assert medicare.fallback_codes >= {CPT["64772"], CPT["64999"]}
    # Every policy chosen names a requested code; none left out does.
    codes = set(requested_codes(case))
    for policy in kb.policies.values():
        names = policy.fallback_codes & codes or any((policy.iri, c) in kb.coverage for c in codes)
        assert bool(names) == (policy.id in ids), policy.id


def test_no_policy_for_codes_nobody_addresses(kb: KnowledgeBase, seed_json: bytes) -> None:
    assert relevant_policies(parse_case(_with_codes(seed_json, "99213"), "json", kb).graph, kb) == []


# --- the answers ----------------------------------------------------------------------------------


def test_seed_under_each_policy_matches_the_single_policy_path(
    kb: KnowledgeBase, seed_json: bytes, seed: Comparison
) -> None:
    by_policy = {d.policy.id: d for d in seed.determinations}
    assert set(EXPECTED) <= set(by_policy)
    for policy_id, outcome in EXPECTED.items():
        single = determine(seed_json, "json", kb, policy=policy_id)
        assert single.outcome.value == outcome
        assert by_policy[policy_id].outcome == single.outcome
        assert [(c.id, c.status) for c in by_policy[policy_id].criteria] == [(c.id, c.status) for c in single.criteria]
    for d in seed.determinations:  # every policy, also those being added: the same answer as alone
        assert d == determine(seed_json, "json", kb, policy=d.policy.id)


def test_determinations_and_summary_in_policy_order(seed: Comparison) -> None:
    ids = [d.policy.id for d in seed.determinations]
    assert ids == sorted(ids) == [s.policy for s in seed.summary]
    assert seed.case == "sij-seed-neurectomy" and seed.note is None
    assert [(r.system, r.code, r.units) for r in seed.requested] == [("CPT", "64772", 6), ("CPT", "64999", 1)]


def test_summary_rows_come_from_the_determinations(seed: Comparison) -> None:
    for row, d in zip(seed.summary, seed.determinations, strict=True):
        assert (row.outcome, row.outcomeLabel, row.label) == (d.outcome, d.outcomeLabel, d.policy.label)
        assert row.reasons == d.rationale and row.determinationId == d.determinationId
        assert [(v.code, v.coverage) for v in row.coverage] == [(r.code, r.coverage) for r in d.requested]
        assert (row.met, row.notMet, row.unknown) == tuple(
            sum(c.status.value == s for c in d.criteria) for s in ("met", "not-met", "unknown")
        )
    rows = {r.policy: r for r in seed.summary}
    assert [v.coverage for v in rows["sij-clinical-pathway"].coverage] == ["not covered", "unlisted"]
    assert [v.fallback for v in rows["medicare-sij-lcd"].coverage] == [True, True]
    assert rows["sij-clinical-pathway"].notMet >= 1 and rows["medicare-sij-lcd"].met == 0


def test_differences_explain_the_seed(seed: Comparison) -> None:
    diff = seed.differences
    assert diff.outcomesDiffer
    assert {d.code for d in diff.coverage} == {"64772", "64999"}
    covered = {d.key: {s.policy: s.status for s in d.statuses} for d in diff.criteria}
    assert covered["code-covered"]["sij-clinical-pathway"] == "not-met"
    assert covered["code-covered"]["medicare-sij-lcd"] is None  # not assessed: no criteria for these codes
    assert covered["lateral-branch-blocks"]["medicare-sij-lcd"] is None
    for d in diff.criteria:
        statuses = {s.status for s in d.statuses}
        assert len(statuses) > 1 and statuses & {"not-met", "unknown"}


def test_same_criterion_under_two_policies_is_one_row(kb: KnowledgeBase) -> None:
    # A diagnostic injection without an exam: both policies leave their own provocative-tests criterion unknown,
    # so it is one criterion with the same status under both, and not a difference.
    c = compare((EXAMPLES / "medicare-diagnostic-no-exam.json").read_bytes(), "json", kb)
    status = {
        d.policy.id: next(x.status for x in d.criteria if x.id.endswith("/provocative-tests"))
        for d in c.determinations
        if d.policy.id in EXPECTED
    }
    assert status == {"medicare-sij-lcd": "unknown", "sij-clinical-pathway": "unknown"}
    keys = [d.key for d in c.differences.criteria]
    assert len(keys) == len(set(keys)) and "provocative-tests" not in keys


def test_parsed_graph_is_not_modified(kb: KnowledgeBase, seed_json: bytes) -> None:
    parsed = parse_case(seed_json, "json", kb)
    case = parsed.graph
    before = set(case)
    first = determine_parsed(parsed, kb, policy="sij-clinical-pathway")
    assert set(case) == before
    assert first == determine(seed_json, "json", kb, policy="sij-clinical-pathway")
    # A graph is identified by its triples, a submitted JSON case by its fields: only the ids differ.
    as_graph, as_json = compare_graph(case, kb), compare(seed_json, "json", kb)
    assert as_graph.comparisonId == compare_graph(case, kb).comparisonId != as_json.comparisonId
    unnamed = [row.model_copy(update={"determinationId": ""}) for row in as_graph.summary]
    assert unnamed == [row.model_copy(update={"determinationId": ""}) for row in as_json.summary]
    assert as_graph.differences == as_json.differences
    assert set(case) == before


def test_comparison_id_is_reproducible(kb: KnowledgeBase, seed_json: bytes, seed_ttl: bytes, seed: Comparison) -> None:
    assert compare(seed_json, "json", kb).comparisonId == seed.comparisonId
    assert compare(seed_json.replace(b'"units": 6', b'"units": 5'), "json", kb).comparisonId != seed.comparisonId
    assert seed.knowledgeBase == kb.content_hash
    assert [d.outcome for d in compare(seed_ttl, "turtle", kb).determinations] == [
        d.outcome for d in seed.determinations
    ]


def test_no_relevant_policy_is_an_empty_comparison_with_a_note(kb: KnowledgeBase, seed_json: bytes) -> None:
    c = compare(_with_codes(seed_json, "99213"), "json", kb)
    assert c.determinations == [] and c.summary == [] and c.differences.criteria == []
    assert c.note is not None and "99213" in c.note and "clinician" in c.note
    assert c.comparisonId != compare(_with_codes(seed_json, "99214"), "json", kb).comparisonId
    text = render_comparison(c, "markdown")
    assert c.note in text and "## Side by side" not in text


# --- rendering ------------------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _table(text: str, heading: str) -> list[list[str]]:
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return [_cells(line) for line in section.splitlines() if line.startswith("|")]


def test_markdown_side_by_side_has_a_row_per_aspect_and_a_column_per_policy(seed: Comparison) -> None:
    text = render_comparison(seed, "markdown")
    assert text.startswith(f"# Comparison: sij-seed-neurectomy under {len(seed.summary)} policies\n")
    table = _table(text, "## Side by side")
    header, _rule, *rows = table
    assert all(len(r) == len(seed.summary) + 1 for r in table)
    for s in seed.summary:
        assert any(f"`{s.policy}`" in cell for cell in header)
    aspects = [r[0] for r in rows]
    assert aspects == [
        "Outcome",
        "Coverage of CPT 64772",
        "Coverage of CPT 64999",
        "Criteria met",
        "Criteria not met",
        "Criteria unknown",
        "Reasons",
        "Information needed",
        "First next step",
    ]
    column = {s.policy: i + 1 for i, s in enumerate(seed.summary)}
    outcome = dict(zip(aspects, rows, strict=True))["Outcome"]
    assert "Not medically necessary" in outcome[column["sij-clinical-pathway"]]
    assert "No applicable guideline" in outcome[column["medicare-sij-lcd"]]
    coverage = dict(zip(aspects, rows, strict=True))["Coverage of CPT 64772"]
    assert coverage[column["sij-clinical-pathway"]].startswith("not covered")
    assert "falls back to general review" in coverage[column["medicare-sij-lcd"]]


def test_markdown_explains_why_the_answers_differ(seed: Comparison) -> None:
    text = render_comparison(seed, "markdown")
    order = [text.index(h) for h in ("## Side by side", "## Why the answers differ", "## SIJ clinical pathway")]
    assert order == sorted(order)
    why = text.split("## Why the answers differ", 1)[1].split("\n## ", 1)[0]
    assert "different outcomes" in why
    for s in seed.summary:
        assert f"- **{s.label}**: {s.outcomeLabel}." in why and s.reasons[0] in why
    criteria = _table(why, "### Criteria not met under one policy")
    assert len(criteria) == 2 + len(seed.differences.criteria)
    row = next(r for r in criteria if r[1] == "Requested code covered")
    column = 2 + [s.policy for s in seed.summary].index("sij-clinical-pathway")
    assert row[column] == "**not met** [U]" and "not assessed" in row  # the pathway's 64772 exclusion is unverified
    evicore = 2 + [s.policy for s in seed.summary].index("evicore-sij")
    assert row[evicore] == "**not met** [U] (advisory)"  # reading 64772 as eviCore's exclusion is an inference
    for d in seed.determinations:
        assert f"## {d.policy.label}\n" in text and f"`{d.determinationId}`" in text


def test_html_is_escaped(kb: KnowledgeBase, seed_ttl: bytes) -> None:
    marked = seed_ttl.replace(b'cv:identifier "sij-seed-neurectomy"', b'cv:identifier "<script>x</script>"')
    assert marked != seed_ttl
    c = compare(marked, "turtle", kb)
    assert c.case == "<script>x</script>"
    html = render_comparison(c, "html")
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert html.count('<section id="policy-') == len(c.determinations)
    assert "<h2>Why the answers differ</h2>" in html


def test_json_validates_as_the_model(seed: Comparison) -> None:
    text = render_comparison(seed, "json")
    assert Comparison.model_validate_json(text) == seed
    data = json.loads(text)
    assert {"comparisonId", "case", "knowledgeBase", "summary", "determinations", "differences"} <= set(data)
    assert data["note"] is None and [d["policy"]["id"] for d in data["determinations"]] == [
        s["policy"] for s in data["summary"]
    ]


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def invoke(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The CLI in-process on the session's knowledge base (as in test_cli.py)."""
    monkeypatch.setattr(cli, "KnowledgeBase", SimpleNamespace(load=lambda root=None: kb))
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli.app, [str(a) for a in args], input=input)


def test_cli_policy_all_json(invoke: Callable[..., Any], seed: Comparison) -> None:
    res = invoke("determine", SEED, "--policy", "all")
    assert res.exit_code == 0, res.stderr
    assert Comparison.model_validate_json(res.stdout) == seed


def test_cli_policy_all_markdown(invoke: Callable[..., Any], seed: Comparison) -> None:
    res = invoke("determine", SEED, "-p", "all", "--format", "markdown")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == render_comparison(seed, "markdown")


def test_cli_policy_all_reads_turtle_from_stdin(invoke: Callable[..., Any], seed_ttl: bytes) -> None:
    res = invoke("determine", "-", "--policy", "all", input=seed_ttl)
    assert res.exit_code == 0, res.stderr
    outcomes = {s["policy"]: s["outcome"] for s in json.loads(res.stdout)["summary"]}
    assert EXPECTED.items() <= outcomes.items()


def test_cli_policy_all_without_relevant_policy_exits_0(
    invoke: Callable[..., Any], seed_json: bytes, tmp_path: Path
) -> None:
    case = tmp_path / "office-visit.json"
    case.write_bytes(_with_codes(seed_json, "99213"))
    res = invoke("determine", case, "--policy", "all")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["determinations"] == [] and "99213" in out["note"]


def test_cli_policy_all_bad_input_exits_2(invoke: Callable[..., Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", ')
    res = invoke("determine", bad, "--policy", "all")
    assert res.exit_code == 2 and res.stderr.startswith(f"error: {bad}")


def test_cli_help_names_all(invoke: Callable[..., Any]) -> None:
    res = invoke("determine", "--help")
    assert res.exit_code == 0
    assert "'all'" in re.sub(r"\s+", " ", res.stdout)

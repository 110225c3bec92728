"""A replay's parts in one process: sources, each partition's comparison, tallies the same however split."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import mix
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.render.replay import to_html, to_markdown
from reasoner.replay.answers import Answer
from reasoner.replay.cases import Case
from reasoner.replay.output import DifferenceWriter
from reasoner.replay.partition import Rows, replay
from reasoner.replay.progress import Bar, Lines, progress
from reasoner.replay.sources import SourceError, batches, open_source
from reasoner.replay.summary import Version, summary
from reasoner.replay.tally import Tally

from ..conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def files(edited: Path) -> tuple[KnowledgeFiles, KnowledgeFiles]:
    return KnowledgeFiles.read(ROOT), KnowledgeFiles.read(edited)


def _run(cases: list[Case], files: tuple[KnowledgeFiles, KnowledgeFiles], size: int) -> tuple[Tally, list[Rows]]:
    tally, rows = Tally(), []
    for batch in batches(cases, size):
        done = replay(batch, *files)
        tally += done.tally
        rows.append(done.rows)
    return tally, rows


def _changed(rows: list[Rows]) -> dict[str, tuple[str, str, list[str]]]:
    return {case: (before, after, criteria) for r in rows for case, _policy, before, after, criteria in r.changes}


def test_no_edit_changes_nothing(files: tuple[KnowledgeFiles, KnowledgeFiles]) -> None:
    """(tests/replay/test_cluster.py checks the edit's changes against ``impact``.)"""
    source = open_source(str(EXAMPLES))
    tally, rows = _run(list(source.cases), (files[0], files[0]), 50)
    assert tally.changed == 0 and not _changed(rows) and not tally.failures
    assert (
        tally.cases
        == source.total
        == len(list(EXAMPLES.glob("*.ttl")))
        + len([p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")])
    )


def test_a_tally_is_the_same_however_the_cases_are_split(files: tuple[KnowledgeFiles, KnowledgeFiles]) -> None:
    cases = [mix.line_case_of(c) for c in mix.cases(240, seed=7)]
    one, _ = _run(cases, files, 240)
    many, rows = _run(list(reversed(cases)), files, 17)
    args = {"source": "s", "before": Version("a", "x"), "after": Version("b", "y"), "labels": {}, "run": {}}
    assert summary(one, **args) == summary(many, **args)  # type: ignore[arg-type]
    assert one.changed == len(_changed(rows)) > 0
    assert all(len(ids) <= 3 for ids in one.transition_examples.values())
    assert one.failures, "the generator makes a few malformed cases"
    assert one.undetermined == sum(one.failures.values()) // 2  # malformed: refused under both versions
    assert {code for _, code in one.failures} == {"case-schema"}


def test_a_stored_determination_stands_for_the_version_before(files: tuple[KnowledgeFiles, KnowledgeFiles]) -> None:
    payload = (EXAMPLES / "facet-rfa-one-positive-block.json").read_bytes()
    stored = Answer("not-medically-necessary", (("medicare-facet-lcd/rfa-diagnostic-blocks", "not-met"),), "x")
    done = replay([Case("kept-1", "json", payload, "medicare-facet-lcd", stored)], None, files[1])
    assert [before for _, _, before, _, _ in done.rows.changes] == ["not-medically-necessary"]
    assert [after for _, _, _, after, _ in done.rows.changes] == ["medically-necessary"]
    gone = replay([Case("kept-2", "json", payload, "medicare-facet-lcd")], None, files[1])
    assert gone.tally.failures == {("stored", "no-stored-determination"): 1}


def test_sources_give_the_same_cases(tmp_path: Path) -> None:
    generated = list(mix.cases(30, seed=3))
    lines = tmp_path / "cases.jsonl"
    lines.write_text("".join(json.dumps(c) + "\n" for c in generated) + "\nnot json\n")
    table = tmp_path / "cases.parquet"
    pq.write_table(pa.table({"id": [c["id"] for c in generated], "case": [json.dumps(c) for c in generated]}), table)
    from_lines = list(open_source(str(lines)).cases)
    from_table = list(open_source(str(table)).cases)
    assert [c.id for c in from_lines] == [c["id"] for c in generated] + ["line-32"]
    assert from_lines[-1].error == "case-parse" and from_lines[-1].payload == b""
    assert [(c.id, c.payload) for c in from_table] == [(c.id, c.payload) for c in from_lines[:-1]]
    assert open_source(str(lines)).total == 31  # blank lines are not cases
    fhir = open_source(str(ROOT / "examples" / "fhir"))
    assert {c.fmt for c in fhir.cases} == {"fhir"}


@pytest.mark.parametrize(
    ("name", "words"),
    [("nothing-here", "not a folder of case files"), ("cases.csv", "not a folder of case files")],
)
def test_a_source_that_is_none_of_the_kinds_is_refused(tmp_path: Path, name: str, words: str) -> None:
    if name.endswith(".csv"):
        (tmp_path / name).write_text("id,case\n")
    with pytest.raises(SourceError, match=words):
        open_source(str(tmp_path / name))


def test_a_parquet_source_needs_a_case_column(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["a"], "payload": ["{}"]}), tmp_path / "x.parquet")
    with pytest.raises(SourceError, match="needs a column named case"):
        open_source(str(tmp_path / "x.parquet"))


def test_tables_and_summaries(files: tuple[KnowledgeFiles, KnowledgeFiles], tmp_path: Path) -> None:
    cases = [mix.line_case_of(c) for c in mix.cases(120, seed=11)]
    tally, rows = _run(cases, files, 50)
    with DifferenceWriter(tmp_path) as writer:
        for r in rows:
            writer.write(r)
    changes = pq.read_table(tmp_path / "changes.parquet").to_pylist()
    assert len(changes) == tally.changed and {r["case"] for r in changes} == set(_changed(rows))
    assert pq.read_table(tmp_path / "failures.parquet").column_names == ["case", "version", "code"]
    s = summary(
        tally, source="gen", before=Version("before", "sha256:1"), after=Version("after", "sha256:2"),
        labels={"medicare-facet-lcd/rfa-diagnostic-blocks": "Two positive blocks"}, run={},
    )  # fmt: skip
    lost = sum(t["cases"] for t in s["transitions"] if t["before"] == "medically-necessary" != t["after"])
    gained = sum(t["cases"] for t in s["transitions"] if t["before"] != "medically-necessary" == t["after"])
    assert (s["approvalsLost"], s["approvalsGained"]) == (lost, gained) and gained > 0
    md, html = to_markdown(s), to_html(s)
    assert f"**{lost:,}** approved before would no longer be approved; {gained:,} not approved before would be" in md
    for moved in (t for t in s["transitions"] if not t["unchanged"]):
        assert f"**{moved['after']}** | {moved['cases']:,} | {', '.join(moved['examples'])}" in md
    assert "Two positive blocks" in md and "<h2>Outcomes that change</h2>" in html
    assert "patient-" not in md + html, "a summary names cases by id, never by what they hold"


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert isinstance(progress(10), Bar)
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    shown = progress(2_000)
    assert isinstance(shown, Lines)
    with shown:
        shown.advance(1_500)  # less than 10 s since the start: nothing yet
        assert plain.getvalue() == ""
        shown.advance(500)
    assert plain.getvalue().startswith("replayed 2,000 of 2,000 cases (")
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    with progress(5, quiet=True) as silent:
        silent.advance(5)
    assert quiet.getvalue() == ""

"""guideline-reasoner impact: the worked example of AUTHORING.md (lateral branch block relief 50 % -> 75 %)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from reasoner.authoring.casetests import case_files, expectations
from reasoner.authoring.impact import impact, materialise
from reasoner.errors import VersionError

from .conftest import ROOT


@pytest.fixture(scope="module")
def raised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the knowledge base with the lateral branch block threshold raised to 75 %."""
    root = tmp_path_factory.mktemp("kb75")
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    path = root / "ontology" / "guidelines" / "sij-clinical-pathway.ttl"
    text = path.read_text()
    start = text.index("sijp:lbb-min-relief\n")
    edited = text[:start] + text[start:].replace('gr:value "50"^^xsd:decimal', 'gr:value "75"^^xsd:decimal', 1)
    assert edited != text
    path.write_text(edited)
    return root


def _expectations() -> int:
    return sum(len(expectations(case)) for case in case_files(ROOT / "examples" / "cases"))


def test_worked_example_lists_exactly_the_changed_cases(raised: Path) -> None:
    report = impact(ROOT, raised)
    assert [(c.case, c.policy, c.outcome) for c in report.changes] == [
        ("sij-fusion-two-weeks-of-care.json", "sij-clinical-pathway", ("not-medically-necessary",) * 2),
        ("sij-neurectomy-after-failed-rfa.json", "sij-clinical-pathway", ("not-medically-necessary",) * 2),
        ("sij-rfa-two-blocks.json", "sij-clinical-pathway", ("medically-necessary", "not-medically-necessary")),
    ]
    for change in report.changes:
        assert change.criteria == (("sij-clinical-pathway/lateral-branch-blocks", "met", "not-met"),)
    assert report.unchanged == _expectations() - 3 and report.skipped == ()


def test_no_edit_no_change() -> None:
    report = impact(ROOT, ROOT)
    assert report.changes == () and report.unchanged == _expectations()


def test_git_revision_and_folder(raised: Path, tmp_path: Path) -> None:
    exported = materialise("HEAD", ROOT, tmp_path)
    assert (exported / "ontology" / "core.ttl").is_file() and (exported / "examples" / "cases").is_dir()
    with pytest.raises(VersionError, match="not a folder and not a git revision"):
        materialise("no-such-revision-xyz", ROOT, tmp_path)


def test_cli_prints_changes_and_a_summary(raised: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(app, ["impact", "--from", "HEAD", "--to", str(raised)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert "sij-rfa-two-blocks.json [sij-clinical-pathway]: medically-necessary -> not-medically-necessary" in lines
    assert "    sij-clinical-pathway/lateral-branch-blocks: met -> not-met" in lines
    assert lines[-1] == f"3 changed, {_expectations() - 3} unchanged, 0 skipped"
    bad = CliRunner().invoke(app, ["impact", "--from", "no-such-revision-xyz"])
    assert bad.exit_code == 2 and "not a folder and not a git revision" in bad.stderr


def test_a_skipped_case_says_why_and_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version without a policy cannot determine its cases: each is listed with that reason, and counted."""
    before = tmp_path / "before"
    shutil.copytree(ROOT / "ontology", before / "ontology")
    shutil.copytree(ROOT / "shapes", before / "shapes")
    (before / "ontology" / "guidelines" / "medicare-esi-lcd.ttl").unlink()
    (before / "shapes" / "criteria" / "medicare-esi-lcd.ttl").unlink()
    cases = case_files(ROOT / "examples" / "cases")
    esi = sum(e["policy"] == "medicare-esi-lcd" for case in cases for e in expectations(case))
    assert esi > 0
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(app, ["impact", "--from", str(before), "--to", str(ROOT)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    skipped = [line for line in lines if line.startswith("skipped: ")]
    assert len(skipped) == esi
    why = "[medicare-esi-lcd]: the version before has no policy medicare-esi-lcd"
    assert all(line.endswith(why) for line in skipped)
    assert lines[-1] == f"0 changed, {_expectations() - esi} unchanged, {esi} skipped"
    assert res.stderr.count("knowledge base ") == 2  # each version loaded is named

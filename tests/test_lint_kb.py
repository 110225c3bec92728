"""``guideline-reasoner lint``: the bundled knowledge base is clean, and every check catches its fixture.

Each fixture in tests/fixtures/lint/ is added as a new file to a copy of the knowledge base; its
first line names the check it must trip and where (see tests/fixtures/lint/README.md).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import SH
from typer.testing import CliRunner, Result

from api.cli import app
from reasoner import _disk_cache
from reasoner.knowledge import lint_cache
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.knowledge.lint import Finding, LintReport, lint

from .conftest import FIXTURES, ROOT

LINT_FIXTURES = FIXTURES / "lint"
FIXTURE_FILES = sorted(LINT_FIXTURES.glob("*.ttl"))
# Where a fixture goes in the copy, by the part of its name before "--".
DESTINATIONS = {"ontology": "ontology/guidelines", "shapes": "shapes/criteria"}
# Checks made in code, not by a meta-shape.
CODE_CHECKS = {
    "syntax",
    "shacl",
    "threshold-binding",
    "undeclared",
    "rule",
    "rule-unit",
    "owl-construct",
    "inverse-sequence-path",
    "placeholder",
    "code-exists",
    "family-exists",
    "disjoint-classes",
    "owl-profile",
    "entailment-regime",
    "owl-inconsistency",
    "observation-kind",
    "threshold-tag",
    "unit-code",
}

_EXPECT = re.compile(r"^# expect (?P<check>[a-z]+(?:-[a-z]+)*) at line (?P<line>\d+), column (?P<column>\d+): \S")
_CHECK_PREFIX = re.compile(r"^([a-z]+(?:-[a-z]+)*): ")
_FINDING_LINE = re.compile(r"^[^:\s]+\.ttl:\d+:\d+: [a-z]+(?:-[a-z]+)*: .+$")


def _expectation(fixture: Path) -> tuple[str, int, int]:
    """(check, line, column) from the fixture's first line."""
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    m = _EXPECT.match(first)
    assert m, f"{fixture.name}: the first line must be '# expect <check> at line <N>, column <C>: ...'"
    return m["check"], int(m["line"]), int(m["column"])


def _destination(fixture: Path) -> str:
    """The fixture's path inside the knowledge base copy, as lint names it."""
    where, sep, _ = fixture.name.partition("--")
    assert sep and where in DESTINATIONS, f"{fixture.name}: the name must start with ontology-- or shapes--"
    return f"{DESTINATIONS[where]}/{fixture.name}"


def _kb_copy(dest: Path, *fixtures: Path) -> Path:
    """A copy of the bundled ontology/ and shapes/ under ``dest``, with ``fixtures`` added."""
    shutil.copytree(ROOT / "ontology", dest / "ontology")
    shutil.copytree(ROOT / "shapes", dest / "shapes")
    for fixture in fixtures:
        shutil.copyfile(fixture, dest / _destination(fixture))
    return dest


def _fixture(name: str) -> Path:
    path = LINT_FIXTURES / name
    assert path.is_file(), path
    return path


def _meta_checks() -> set[str]:
    """The check names of the meta-shapes: the prefixes of their sh:message."""
    meta = Graph()
    for path in sorted((ROOT / "shapes" / "meta").glob("*.ttl")):
        meta.parse(path, format="turtle")
    checks = set()
    for message in meta.objects(None, SH.message):
        m = _CHECK_PREFIX.match(str(message))
        assert m, f"meta-shape message without a check prefix: {message!r}"
        checks.add(m[1])
    return checks


# --- (a) the bundled knowledge base ----------------------------------------------------------------


def test_bundled_kb_lints_clean() -> None:
    report = lint(ROOT)
    assert report.findings == (), "\n".join(map(str, report.findings))
    assert report.unreadable == ()
    assert report.files > 0
    assert report.exit_code == 0


# --- (b) every fixture trips its check, at its place -----------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, LintReport]:
    """Lint of a copy with every syntax fixture, and of one with every other fixture (one lint each, not 30).

    A syntax error stops the semantic checks, so those fixtures go in a copy of their own. The
    fixtures use IRIs of their own, and each test looks for its finding at its own file and line.
    """
    syntax = [p for p in FIXTURE_FILES if _expectation(p)[0] == "syntax"]
    others = [p for p in FIXTURE_FILES if p not in syntax]
    return {
        True: lint(_kb_copy(tmp_path_factory.mktemp("syntax"), *syntax)),
        False: lint(_kb_copy(tmp_path_factory.mktemp("semantic"), *others)),
    }


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_trips_its_check(fixture: Path, reports: dict[bool, LintReport]) -> None:
    check, line, column = _expectation(fixture)
    report = reports[check == "syntax"]
    expected = [f for f in report.findings if f.check == check]
    assert expected, f"no {check} finding; got:\n" + "\n".join(map(str, report.findings))
    where = _destination(fixture)
    assert any((f.file, f.line, f.column) == (where, line, column) for f in expected), (
        f"expected {check} at {where}:{line}:{column}; got:\n" + "\n".join(map(str, expected))
    )
    assert report.unreadable == ()
    assert report.exit_code == 1


# --- (c) every syntax error is reported, not only the first file's ---------------------------------


def test_every_syntax_error_is_reported(tmp_path: Path) -> None:
    fixtures = [_fixture("ontology--syntax.ttl"), _fixture("shapes--syntax.ttl")]
    report = lint(_kb_copy(tmp_path, *fixtures))
    syntax = sorted((f.file, f.line, f.column) for f in report.findings if f.check == "syntax")
    expected = sorted((_destination(p), *_expectation(p)[1:]) for p in fixtures)
    assert syntax == expected
    assert report.exit_code == 1


# --- (d) a file that cannot be read ------------------------------------------------------------------


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    kb = _kb_copy(tmp_path)
    bad = kb / "ontology" / "guidelines" / "not-utf8.ttl"
    bad.write_bytes(b'# not UTF-8\n<urn:x> <urn:y> "caf\xe9\xff" .\n')
    report = lint(kb)
    assert any(item.startswith("ontology/guidelines/not-utf8.ttl") for item in report.unreadable), report.unreadable
    assert report.exit_code == 2
    result = CliRunner().invoke(app, ["lint", "--kb", str(kb)])
    assert result.exit_code == 2, result.output
    assert "not-utf8.ttl" in result.stderr


# --- (e) the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base copy with two fixtures, in two files."""
    return _kb_copy(
        tmp_path_factory.mktemp("bad-kb"),
        _fixture("ontology--undeclared.ttl"),
        _fixture("ontology--threshold-unit.ttl"),
    )


def _where(name: str) -> str:
    """``file:line:col: check`` of a fixture's expected finding."""
    fixture = _fixture(name)
    check, line, column = _expectation(fixture)
    return f"{_destination(fixture)}:{line}:{column}: {check}: "


@pytest.fixture(scope="module")
def bad_kb_text(bad_kb: Path) -> Result:
    """``lint --kb <bad_kb>``, run once for the text and the JSON tests."""
    return CliRunner().invoke(app, ["lint", "--kb", str(bad_kb)])


def test_cli_text_lists_findings_and_exits_1(bad_kb_text: Result) -> None:
    """The findings, then the summary, on standard output; the knowledge base linted is named on standard error."""
    result = bad_kb_text
    assert result.exit_code == 1, result.output
    *lines, summary = result.stdout.splitlines()
    assert lines
    assert all(_FINDING_LINE.match(line) for line in lines), result.stdout
    for name in ("ontology--undeclared.ttl", "ontology--threshold-unit.ttl"):
        assert any(line.startswith(_where(name)) for line in lines), result.stdout
    assert summary.startswith(f"{len(lines)} findings in ")
    assert result.stderr.startswith("knowledge base ")


def test_cli_json_gives_the_findings(bad_kb: Path, bad_kb_text: Result) -> None:
    result = CliRunner().invoke(app, ["lint", "--kb", str(bad_kb), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["unreadable"] == []
    assert data["files"] > 0
    findings = [Finding(**item) for item in data["findings"]]
    assert [str(f) for f in findings] == bad_kb_text.stdout.splitlines()[:-1]
    for name in ("ontology--undeclared.ttl", "ontology--threshold-unit.ttl"):
        assert any(str(f).startswith(_where(name)) for f in findings), data


def test_cli_paths_restrict_findings_to_those_files(bad_kb: Path) -> None:
    name = "ontology--undeclared.ttl"
    target = bad_kb / "ontology" / "guidelines" / name
    result = CliRunner().invoke(app, ["lint", "--kb", str(bad_kb), str(target)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()[:-1]
    assert lines
    assert all(line.startswith(f"ontology/guidelines/{name}:") for line in lines), result.stdout
    assert any(line.startswith(_where(name)) for line in lines), result.stdout


def test_cli_clean_kb_exits_0() -> None:
    result = CliRunner().invoke(app, ["lint", "--kb", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"0 findings in \d+ files\n", result.stdout)
    assert result.stderr == f"knowledge base {ROOT} {KnowledgeFiles.read(ROOT).content_hash} (linted)\n"


def test_cli_nonexistent_path_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.ttl"
    result = CliRunner().invoke(app, ["lint", str(missing)])
    assert result.exit_code == 2, result.output
    assert "no-such-file.ttl" in result.output


# --- (f) every check has a fixture --------------------------------------------------------------------


def test_every_check_has_a_fixture() -> None:
    covered = {_expectation(p)[0] for p in FIXTURE_FILES}
    assert covered == _meta_checks() | CODE_CHECKS


def test_fixture_names_and_headers() -> None:
    assert FIXTURE_FILES
    names = {p.name for p in FIXTURE_FILES}
    assert {"ontology--syntax.ttl", "shapes--syntax.ttl"} <= names
    for fixture in FIXTURE_FILES:
        check, _line, _column = _expectation(fixture)
        assert fixture.stem.partition("--")[2] == check, f"{fixture.name} must be named after its check {check}"
        _destination(fixture)


# --- (g) a lint of the same files is remembered in the process ------------------------------------------


def test_a_lint_of_the_same_files_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reasoner.knowledge import lint as lint_module

    tiny = b"<https://w3id.org/guideline-reasoner/kb/tiny/a> <https://w3id.org/guideline-reasoner/kb/tiny/b> 1 .\n"
    files = KnowledgeFiles(tmp_path, (("ontology/tiny.ttl", tiny), ("shapes/tiny.ttl", b"")))
    first = lint_module.lint_files(files)
    assert any(f.check == "undeclared" for f in first.findings), first
    calls: list[object] = []
    real = lint_module._semantic
    monkeypatch.setattr(lint_module, "_semantic", lambda *a: calls.append(a) or real(*a))  # type: ignore[func-returns-value]
    elsewhere = KnowledgeFiles(tmp_path / "copy", files.files)
    assert lint_module.lint_files(elsewhere) == first and calls == []  # the same names and bytes: remembered
    assert lint_module.lint_files(files, only=[tmp_path / "shapes"]).findings == ()  # filtered, not checked again
    assert calls == []
    changed = KnowledgeFiles(tmp_path, (("ontology/tiny.ttl", tiny.replace(b"1 .", b"2 .")), ("shapes/tiny.ttl", b"")))
    assert lint_module.lint_files(changed).findings and len(calls) == 1  # other bytes: checked
    unread = KnowledgeFiles(tmp_path, files.files, ("ontology/gone.ttl: PermissionError",))
    assert lint_module.lint_files(unread).exit_code == 2  # another file unread: not the remembered report


def test_the_lint_command_reads_the_remembered_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unchanged knowledge base is not linted again by `guideline-reasoner lint`, in this process or another."""
    from reasoner.knowledge import lint as lint_module
    from reasoner.knowledge import lint_cache

    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path / "cache"))
    tiny = b"<https://w3id.org/guideline-reasoner/kb/tiny/a> <https://w3id.org/guideline-reasoner/kb/tiny/b> 1 .\n"
    for rel, data in (("ontology/tiny.ttl", tiny), ("shapes/tiny.ttl", b"")):
        (tmp_path / "kb" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "kb" / rel).write_bytes(data)
    first = CliRunner().invoke(app, ["lint", "--kb", str(tmp_path / "kb")])
    assert first.exit_code == 1 and "undeclared" in first.stdout
    monkeypatch.setattr(lint_cache, "_MEMORY", {})  # another process: only the cache folder remembers
    monkeypatch.setattr(lint_module, "_REPORTS", {})

    def never(*_a: object) -> LintReport:
        raise AssertionError("linted again")

    monkeypatch.setattr(lint_module, "_lint_all", never)
    again = CliRunner().invoke(app, ["lint", "--kb", str(tmp_path / "kb")])
    assert again.exit_code == 1 and again.stdout == first.stdout
    only = CliRunner().invoke(app, ["lint", "--kb", str(tmp_path / "kb"), str(tmp_path / "kb" / "shapes")])
    assert only.exit_code == 0 and "undeclared" not in only.stdout


def test_the_cache_folder_keeps_the_newest_verdicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reasoner.knowledge import lint_cache

    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lint_cache, "KEEP", 2)
    for n in range(4):
        tiny = f"<https://w3id.org/guideline-reasoner/kb/tiny/a> <https://w3id.org/guideline-reasoner/kb/tiny/b> {n} ."
        lint_cache.checked(KnowledgeFiles(tmp_path, (("ontology/tiny.ttl", tiny.encode()), ("shapes/tiny.ttl", b""))))
    assert len(list((tmp_path / "cache" / "lint").iterdir())) == 2


def test_a_remembered_verdict_names_the_files_that_could_not_be_read(tmp_path: Path) -> None:
    from reasoner.knowledge import lint_cache

    files = KnowledgeFiles(tmp_path, (("ontology/a.ttl", b""), ("shapes/a.ttl", b"")))
    unread = KnowledgeFiles(tmp_path, files.files, ("ontology/gone.ttl: PermissionError",))
    assert lint_cache._key(files) != lint_cache._key(unread)


def test_the_remembered_verdict_is_keyed_by_the_whole_engine() -> None:
    """A check in any module (owl_profile.py, reached only through lint.py's imports) makes old verdicts stale."""
    files = KnowledgeFiles.read(ROOT)
    subject = json.dumps([files.digest_of_everything, *files.unreadable])
    assert lint_cache._key(files) == _disk_cache.key(subject, None)
    assert _disk_cache.key(subject, None) != _disk_cache.key(subject, ("knowledge/lint.py",))
    assert {"knowledge/owl_profile.py", "knowledge/closure.py", "knowledge/code_lint.py"} <= set(
        _disk_cache._engine_modules()
    )

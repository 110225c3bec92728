"""The command line: determine (file, stdin, formats), its exit codes and messages, and policies."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import reasoner.cli as cli
from reasoner import KnowledgeBase
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_graph

from .conftest import BUNDLED_POLICIES, EXAMPLES, FIXTURES, ROOT

SEED = EXAMPLES / "sij-seed-neurectomy.json"
POLICIES = BUNDLED_POLICIES


@pytest.fixture
def invoke(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run the CLI in-process; the default knowledge base is the session's (loading it again costs 2 s).

    ``--kb DIR`` still goes through the real loader.
    """
    real_load = KnowledgeBase.load

    def load(root: Path | None = None) -> KnowledgeBase:
        return kb if root is None else real_load(root)

    monkeypatch.setattr(cli, "KnowledgeBase", SimpleNamespace(load=load))
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli.app, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def seed_ttl(kb: KnowledgeBase, seed_json: bytes) -> bytes:
    out = to_graph(load_json(seed_json), kb).serialize(format="turtle", encoding="utf-8")
    assert isinstance(out, bytes)
    return out


def _ok(res: Any) -> Any:
    assert res.exit_code == 0, (res.exit_code, res.stderr, repr(res.exception))
    assert res.stderr == ""
    return res


# --- determine ------------------------------------------------------------------------------------


def test_determine_seed_json(invoke: Callable[..., Any]) -> None:
    out = json.loads(_ok(invoke("determine", SEED)).stdout)
    assert out["outcome"] == "not-medically-necessary"
    assert out["case"] == "sij-seed-neurectomy"
    assert out["policy"]["id"] == "sij-clinical-pathway"


def test_determine_markdown(invoke: Callable[..., Any]) -> None:
    res = _ok(invoke("determine", SEED, "--format", "markdown"))
    assert res.stdout.startswith("# Determination: Not medically necessary")


def test_determine_json_from_stdin(invoke: Callable[..., Any], seed_json: bytes) -> None:
    from_file = _ok(invoke("determine", SEED)).stdout
    from_stdin = _ok(invoke("determine", "-", input=seed_json)).stdout
    assert json.loads(from_stdin)["outcome"] == "not-medically-necessary"
    assert from_stdin == from_file


@pytest.mark.parametrize("flags", [(), ("--input-format", "turtle")], ids=["auto", "explicit"])
def test_determine_turtle_from_stdin(invoke: Callable[..., Any], seed_ttl: bytes, flags: tuple[str, ...]) -> None:
    out = json.loads(_ok(invoke("determine", "-", *flags, input=seed_ttl)).stdout)
    assert out["outcome"] == "not-medically-necessary"
    assert out["case"] == "sij-seed-neurectomy"


def test_determine_turtle_file(invoke: Callable[..., Any], seed_ttl: bytes, tmp_path: Path) -> None:
    path = tmp_path / "seed.ttl"
    path.write_bytes(seed_ttl)
    out = json.loads(_ok(invoke("determine", path)).stdout)
    assert out["outcome"] == "not-medically-necessary"


def test_determine_json_file_without_extension(invoke: Callable[..., Any], seed_json: bytes, tmp_path: Path) -> None:
    path = tmp_path / "case"
    path.write_bytes(seed_json)
    assert json.loads(_ok(invoke("determine", path)).stdout)["outcome"] == "not-medically-necessary"


def test_policy_option_overrides_the_case(invoke: Callable[..., Any]) -> None:
    out = json.loads(_ok(invoke("determine", SEED, "--policy", "medicare-sij-lcd")).stdout)
    assert out["policy"]["id"] == "medicare-sij-lcd"


def test_same_input_twice_gives_identical_bytes(invoke: Callable[..., Any], seed_json: bytes) -> None:
    first = _ok(invoke("determine", SEED)).stdout_bytes
    second = _ok(invoke("determine", SEED)).stdout_bytes
    third = _ok(invoke("determine", "-", input=seed_json)).stdout_bytes
    assert first == second == third
    assert first.endswith(b"\n")


def test_same_markdown_twice(invoke: Callable[..., Any]) -> None:
    first = _ok(invoke("determine", SEED, "--format", "markdown")).stdout_bytes
    assert _ok(invoke("determine", SEED, "--format", "markdown")).stdout_bytes == first


# --- bad input: exit 2 ----------------------------------------------------------------------------


def _failed(res: Any, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.stdout[:300], res.stderr, repr(res.exception))
    assert res.stdout == ""
    assert res.stderr.startswith("error: ")
    assert "Traceback" not in res.stderr
    return res.stderr


def test_malformed_turtle_file_names_file_line_and_column(invoke: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.ttl"
    path.write_bytes(b"<urn:a> <urn:p> <urn:o> .\n<urn:b> <urn:p> <urn:o> %% .\n")
    err = _failed(invoke("determine", path), 2)
    assert f"{path}:2:25: " in err


def test_malformed_turtle_on_stdin_names_line_and_column(invoke: Callable[..., Any]) -> None:
    err = _failed(invoke("determine", "-", input=b"@prefix cv: <urn:x#> .\n\n  foo:bar <urn:p> <urn:o> .\n"), 2)
    assert "<stdin>:3:3: " in err


def test_malformed_json_file_names_file_line_and_column(invoke: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{\n  "id": "x",\n  "request": {,}\n}')
    err = _failed(invoke("determine", path), 2)
    assert f"{path}:3:15: " in err


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'<urn:a> <urn:p> "abc', id="unterminated-string-at-eof"),
        pytest.param(b'<urn:a> <urn:p> "abc"^^ .\n', id="missing-datatype"),
        pytest.param(b"<urn:a> <urn:p> " + b"[ <urn:p> " * 3000, id="deep-nesting"),
        pytest.param(b"<urn:a> <urn:p> " + b"9" * 100_000 + b" .\n", id="huge-integer"),
        pytest.param(b'<urn:a> <urn:p> "\xff" .\n', id="invalid-utf8"),
        pytest.param(b"/etc/hostname", id="a-path"),
    ],
)
def test_any_malformed_turtle_file_exits_2(payload: bytes, invoke: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.ttl"
    path.write_bytes(payload)
    _failed(invoke("determine", path), 2)


def test_missing_json_field_exits_2_naming_it(invoke: Callable[..., Any], seed_json: bytes, tmp_path: Path) -> None:
    case = json.loads(seed_json)
    del case["request"]["date"]
    path = tmp_path / "no-date.json"
    path.write_text(json.dumps(case))
    err = _failed(invoke("determine", path), 2)
    assert "request.date" in err


def test_unknown_policy_exits_2_listing_the_policies(invoke: Callable[..., Any]) -> None:
    err = _failed(invoke("determine", SEED, "--policy", "no-such-policy"), 2)
    for policy in POLICIES:
        assert policy in err


def test_nonexistent_file_exits_2(invoke: Callable[..., Any], tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    err = _failed(invoke("determine", missing), 2)
    assert str(missing) in err


def test_directory_as_case_exits_2(invoke: Callable[..., Any], tmp_path: Path) -> None:
    _failed(invoke("determine", tmp_path), 2)


def test_unknown_input_format_is_a_usage_error(invoke: Callable[..., Any]) -> None:
    res = invoke("determine", SEED, "--input-format", "rdfxml")
    assert res.exit_code == 2
    assert res.stdout == ""


# --- knowledge base cannot load: exit 3 -----------------------------------------------------------


def test_empty_kb_directory_exits_3(invoke: Callable[..., Any], tmp_path: Path) -> None:
    empty = tmp_path / "kb"
    empty.mkdir()
    _failed(invoke("determine", SEED, "--kb", empty), 3)
    _failed(invoke("policies", "--kb", empty), 3)


def test_malformed_kb_exits_3_naming_the_file(invoke: Callable[..., Any], tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "ontology").mkdir(parents=True)
    (root / "shapes").mkdir()
    (root / "ontology" / "broken.ttl").write_bytes(b"<urn:a> <urn:p> .\n")
    (root / "shapes" / "case.ttl").write_bytes(b"<urn:a> <urn:p> <urn:o> .\n")
    err = _failed(invoke("determine", SEED, "--kb", root), 3)
    assert "ontology/broken.ttl:1:" in err


def test_kb_with_lint_findings_exits_3_listing_them(invoke: Callable[..., Any], tmp_path: Path) -> None:
    """Fail closed: a knowledge base that loads but does not lint clean is not used by any command."""
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    shutil.copy(FIXTURES / "lint" / "ontology--placeholder.ttl", root / "ontology" / "guidelines")
    for args in (("determine", SEED), ("policies",), ("test",)):
        err = _failed(invoke(*args, "--kb", root), 3)
        assert "lint findings, so it is not used" in err
        assert "ontology/guidelines/ontology--placeholder.ttl:11:1: placeholder: {lbb-min-count}" in err


# --- policies -------------------------------------------------------------------------------------


def test_policies_markdown_lists_both(invoke: Callable[..., Any]) -> None:
    out = _ok(invoke("policies")).stdout
    assert out.startswith("| id |")
    rows = [line.split("|")[1].strip() for line in out.splitlines()[2:] if line.startswith("|")]
    assert set(rows) == POLICIES


def test_policies_json_lists_both(invoke: Callable[..., Any]) -> None:
    rows = json.loads(_ok(invoke("policies", "--format", "json")).stdout)
    assert {r["id"] for r in rows} == POLICIES
    by_id = {r["id"]: r for r in rows}
    assert "64772" in by_id["sij-clinical-pathway"]["codes"]
    assert "27096" in by_id["medicare-sij-lcd"]["codes"]


def test_test_command_passes_on_the_examples(invoke: Callable[..., Any]) -> None:
    res = invoke("test")
    assert res.exit_code == 0, res.stdout
    assert res.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")
    assert "PASS sij-seed-neurectomy.json [sij-clinical-pathway]" in res.stdout


def test_test_command_reports_a_diff_and_fails(invoke: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_bytes(SEED.read_bytes())
    expected = json.loads((EXAMPLES / "sij-seed-neurectomy.expected.json").read_text())
    wrong = expected["expectations"][0]
    wrong["outcome"] = "medically-necessary"
    wrong["criteria"]["sij-clinical-pathway/provocative-tests"] = "not-met"
    (tmp_path / "seed.expected.json").write_text(json.dumps({"expectations": [wrong]}))
    res = invoke("test", "--cases", tmp_path)
    assert res.exit_code == 1
    assert "FAIL seed.json [sij-clinical-pathway]" in res.stdout
    assert "outcome: expected medically-necessary, got not-medically-necessary" in res.stdout
    assert "criterion sij-clinical-pathway/provocative-tests: expected not-met, got met" in res.stdout
    assert res.stdout.strip().endswith("0 passed, 1 failed")


def test_test_command_with_unknown_policy_exits_2(invoke: Callable[..., Any]) -> None:
    res = invoke("test", "--policy", "nope")
    assert res.exit_code == 2 and "valid policies" in res.stderr


def test_jsonld_file_by_extension(invoke: Callable[..., Any], seed_ttl: bytes, tmp_path: Path) -> None:
    from rdflib import Graph

    from reasoner.intake.jsonld import CONTEXT_URL

    graph = Graph().parse(data=seed_ttl, format="turtle")
    doc = {"@context": CONTEXT_URL, "@graph": json.loads(graph.serialize(format="json-ld"))}
    path = tmp_path / "seed.jsonld"
    path.write_text(json.dumps(doc))
    out = json.loads(_ok(invoke("determine", path)).stdout)
    assert out["outcome"] == "not-medically-necessary"


def test_a_determine_on_an_unchanged_knowledge_base_imports_only_what_it_needs(tmp_path: Path) -> None:
    """A command pays for the imports it runs (issue 21): no server, no checks, no closure, no letters for JSON."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from reasoner.cli import app\n"
        "try:\n"
        f"    app(['determine', {str(EXAMPLES / 'sij-seed-neurectomy.json')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'pyshacl', 'owlrl', 'jinja2')"
        " or m == 'reasoner.knowledge.lint'))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "GR_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    for _ in range(2):  # the first prepares the knowledge base and lints it; the second reads both from the cache
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"

"""The command line tells the truth about itself: its version, its help, the knowledge base it loaded.

``--version``; help without typer's ``{case}`` and ``<bool>`` placeholders; ``--kb``'s help saying
which knowledge base is used without one (the current folder's, if it has one, before the installed
copy) and a line on standard error naming the one loaded (its folder and content hash); ``test``
on folders given as arguments, and from an installed package (a wheel in a fresh virtual
environment, run from a folder that is no checkout).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reasoner
from api.cli import app
from reasoner.knowledge.files import KnowledgeFiles

from .conftest import EXAMPLES, ROOT

COMMANDS = [
    "determine",
    "policies",
    "lint",
    "impact",
    "test",
    "serve",
    "schema",
    "token",
    "token new",
    "show",
    "review",
    "export",
    "import",
]
HASH = KnowledgeFiles.read(ROOT).content_hash


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"guideline-reasoner {reasoner.__version__}\n"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_no_placeholders_of_the_framework(command: str | None) -> None:
    args = ["--help"] if command is None else [*command.split(), "--help"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.stdout
    assert not re.search(r"\{[a-z_]+\}", text), text  # typer's {case} for a required argument
    assert not re.search(r"<(bool|str|int|list\[[A-Za-z]+\]|Path|path)>", text), text
    assert re.search(r"--help +Show this message and exit\.", text)


def test_the_usage_lines_name_the_arguments() -> None:
    usage = {"determine": "[OPTIONS] CASE\n", "lint": "[OPTIONS] [PATHS]...", "test": "[OPTIONS] [FOLDERS]..."}
    for command, pieces in usage.items():
        text = CliRunner().invoke(app, [command, "--help"], prog_name="guideline-reasoner").stdout
        assert f"Usage: guideline-reasoner {command} {pieces}" in "\n".join(line.strip() for line in text.splitlines())


def test_the_kb_help_says_what_really_happens() -> None:
    text = " ".join(CliRunner().invoke(app, ["determine", "--help"], env={"COLUMNS": "400"}).stdout.split())
    assert "the bundled one" not in text
    assert "$GUIDELINE_REASONER_KB if set, else the current folder if it holds ontology/ and shapes/" in text
    assert "else the copy installed with the package" in text


def test_each_load_names_the_knowledge_base_on_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["policies", "--kb", str(ROOT)])
    assert result.exit_code == 0
    assert result.stderr == f"knowledge base {ROOT} {HASH} (7 policies)\n"
    assert result.stdout.startswith("| id |")  # the answer alone on standard output


def test_the_current_folder_wins_over_the_installed_copy_as_the_help_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "ontology", tmp_path / "ontology")
    shutil.copytree(ROOT / "shapes", tmp_path / "shapes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GUIDELINE_REASONER_KB", raising=False)
    result = CliRunner().invoke(app, ["determine", str(EXAMPLES / "sij-seed-neurectomy.json")])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"knowledge base {tmp_path} {HASH} (7 policies)\n"


def test_test_takes_folders_as_arguments(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, name in ((first, "sij-seed-neurectomy"), (second, "esi-axial-pain")):
        folder.mkdir()
        for suffix in (".json", ".expected.json"):
            shutil.copy(EXAMPLES / f"{name}{suffix}", folder / f"{name}{suffix}")
    result = CliRunner().invoke(app, ["test", str(first), str(second), "--kb", str(ROOT)])
    assert result.exit_code == 0, result.stdout
    assert "PASS sij-seed-neurectomy.json [sij-clinical-pathway]" in result.stdout
    assert "PASS esi-axial-pain.json [medicare-esi-lcd]" in result.stdout
    missing = CliRunner().invoke(app, ["test", str(tmp_path / "nope"), "--kb", str(ROOT)])
    assert missing.exit_code == 2 and "no such folder" in missing.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the project's wheel, not the checkout, and the test run's dependencies."""
    tmp = tmp_path_factory.mktemp("installed")
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from this run's environment, as a plain path: its .pth files (this
    # checkout's editable install among them) are not read, so `reasoner` can only be the wheel's.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("guideline_reasoner-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    (venv / "bin" / "guideline-reasoner").write_text(
        f"#!{python}\nimport sys\nfrom api.cli import app\nsys.exit(app())\n"
    )
    (venv / "bin" / "guideline-reasoner").chmod(0o755)
    return venv


def test_test_runs_from_an_installed_package_on_given_folders(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GUIDELINE_REASONER_KB", "PYTHONPATH")}
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import reasoner; print(reasoner.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed)), where  # the wheel's code, not the checkout's
    done = subprocess.run(
        [str(installed / "bin" / "guideline-reasoner"), "test", str(EXAMPLES)],
        cwd=tmp_path,  # no examples/ and no knowledge base here
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    assert re.search(r"^\d+ passed, 0 failed$", done.stdout, re.MULTILINE)
    [line] = done.stderr.splitlines()
    assert line.startswith(f"knowledge base {installed}") and "/reasoner/_kb " in line
    assert line.split()[3] == HASH  # the installed copy is the same knowledge base
    without = subprocess.run(
        [str(installed / "bin" / "guideline-reasoner"), "test"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert without.returncode == 2 and "name the folders of cases to run" in without.stderr

"""The store's commands, run as a user would: determine --store, show, review, export and import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

from .conftest import EXAMPLES, ROOT

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_determine_store_show_review_export_import(tmp_path: Path) -> None:
    data, restored = str(tmp_path / "data"), str(tmp_path / "restored")
    case = str(EXAMPLES / "pap-continued-not-adherent.json")
    code, out, err = _run("determine", case, "--store", "--data", data, "--kb", str(ROOT))
    assert code == 0, err
    ident = json.loads(out)["determinationId"]
    assert f"kept {ident} (awaiting-review; digest sha256:" in err
    code, out, err = _run("show", ident, "--data", data, "--format", "json")
    record = json.loads(out)["record"]
    assert code == 0 and record["status"] == "awaiting-review" and f"digest {record['digest']}" in err
    # An overturn without a reason is refused, saying so; with one, it stands.
    review = ["review", ident, "--data", data, "--action", "overturn", "--reviewer", "dr-lee"]
    code, _, err = _run(*review, "--digest", record["digest"], "--outcome", "medically-necessary")
    assert code == 2 and "a reason is required to overturn" in err
    code, _, err = _run(*review, "--digest", "sha256:0", "--outcome", "medically-necessary", "--reason", "log")
    assert code == 2 and "read it again" in err
    code, out, _ = _run(*review, "--digest", record["digest"], "--outcome", "medically-necessary", "--reason", "log")
    assert code == 0 and out.strip() == f"{ident}: overturned; final outcome medically-necessary"
    code, out, _ = _run("show", ident, "--data", data)
    assert code == 0 and "overturned by dr-lee" in out
    backup = tmp_path / "backup.nq"
    assert _run("export", "--data", data, "--output", str(backup))[0] == 0
    code, _, err = _run("import", str(backup), "--data", restored)
    assert code == 0 and "1 determinations kept" in err
    code, out, _ = _run("show", ident, "--data", restored, "--format", "json")
    assert json.loads(out)["record"]["finalOutcome"] == "medically-necessary"
    code, out, _ = _run("show", ident, "--data", restored, "--case")
    assert code == 0 and json.loads(out)["id"] == "pap-continued-not-adherent"


def test_bad_input_exits_2_naming_it(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    code, _, err = _run("show", "0" * 32, "--data", data)
    assert code == 2 and "no determination" in err
    junk = tmp_path / "junk.nq"
    junk.write_text("not n-quads\n")
    code, _, err = _run("import", str(junk), "--data", data)
    assert code == 2 and "not N-Quads" in err and "line 1" in err
    code, _, err = _run("import", str(tmp_path / "missing.nq"), "--data", data)
    assert code == 2 and "no such file" in err


def test_a_folder_a_server_holds_is_named(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from reasoner.store import EmbeddedStore; "
         "EmbeddedStore(Path(sys.argv[1])); print('open', flush=True); time.sleep(60)", str(tmp_path / "data")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, _, err = _run("show", "0" * 32, "--data", str(tmp_path / "data"))
        assert code == 2 and "in use by another process" in err
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

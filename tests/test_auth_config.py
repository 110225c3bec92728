"""Token configuration (api/tokens.py), ``token new`` and ``serve``'s refusals, without a server.

Every wrong configuration is refused whole, naming the file or variable and the entry; ``serve``
refuses it, and no tokens on an address other machines reach, before it binds or loads anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import api.cli
import api.server
from api import create_app
from api.auth import Role, is_loopback
from api.settings import Settings
from api.tokens import Credentials, TokenConfigError, load, sha256

from .conftest import ROOT

APP_TOKEN, REVIEWER_TOKEN = "app-token-123", "reviewer-token-456"


def _hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _entry(name: str, roles: list[str], token: str) -> dict[str, Any]:
    return {"name": name, "roles": roles, "sha256": _hex(token)}


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    return path


def _toml(name: str, roles: list[str], digest: str) -> str:
    return f'[[tokens]]\nname = "{name}"\nroles = {json.dumps(roles)}\nsha256 = "{digest}"\n'


def _error(settings: Settings) -> str:
    with pytest.raises(TokenConfigError) as caught:
        load(settings)
    return caught.value.message


@pytest.fixture(autouse=True)
def _no_tokens_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GR_TOKENS", "GR_TOKENS_FILE", "GR_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# --- parsing ---------------------------------------------------------------------------------------


def test_file_and_environment_entries_together(tmp_path: Path) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)))
    env = json.dumps([_entry("dr-jones", ["reviewer", "analyst"], REVIEWER_TOKEN)])
    credentials = load(Settings(tokens_file=path, tokens=env))
    assert not credentials.open
    intake = credentials.find(APP_TOKEN.encode())
    jones = credentials.find(REVIEWER_TOKEN.encode())
    assert intake is not None and (intake.name, intake.roles) == ("intake", {Role.APP})
    assert jones is not None and (jones.name, jones.roles) == ("dr-jones", {Role.REVIEWER, Role.ANALYST})
    assert credentials.find(b"nope") is None and credentials.find(_hex(APP_TOKEN).encode()) is None
    assert credentials.grants({Role.ANALYST}) and not credentials.grants({Role.ADMIN})
    assert credentials.describe() == "2 tokens configured (roles app, reviewer, analyst)"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)))
    monkeypatch.setenv("GR_TOKENS_FILE", str(path))
    monkeypatch.setenv("GR_TOKENS", json.dumps([_entry("dr-jones", ["reviewer"], REVIEWER_TOKEN)]))
    credentials = load(Settings())
    assert [h.name for h in credentials.holders] == ["intake", "dr-jones"]


def test_no_configuration_is_open_on_loopback() -> None:
    credentials = load(Settings())
    assert credentials.open and credentials == Credentials()
    assert credentials.describe() == "no tokens configured: open to loopback clients, roles app, reviewer, analyst"
    assert not credentials.grants({Role.ADMIN})


def test_the_older_admin_token_leaves_the_api_open_on_loopback() -> None:
    credentials = load(Settings(admin_token="s3cret"))
    assert credentials.open and credentials.grants({Role.ADMIN})
    holder = credentials.find(b"s3cret")
    assert holder is not None and holder.roles == {Role.ADMIN}
    assert "GR_ADMIN_TOKEN set (the older form)" in credentials.describe()
    assert "s3cret" not in credentials.describe()


def test_the_mode_line_never_has_a_token_or_a_digest(tmp_path: Path) -> None:
    credentials = load(Settings(tokens=json.dumps([_entry("intake", ["app"], APP_TOKEN)]), admin_token="s3cret"))
    line = credentials.describe()
    assert line.startswith("1 token configured (roles app)")
    assert not any(secret in line for secret in (APP_TOKEN, _hex(APP_TOKEN), "s3cret", sha256(b"s3cret").hex()))


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([{"name": "x", "roles": ["boss"], "sha256": _hex("t")}], "GR_TOKENS, entry 1 ('x'): unknown role 'boss'"),
        ([{"name": "x", "roles": ["app"], "sha256": "t0ken"}], "GR_TOKENS, entry 1 ('x'): sha256 must be 64 hex"),
        ([{"name": "x", "roles": ["app"], "sha256": "g" * 64}], "GR_TOKENS, entry 1 ('x'): sha256 must be 64 hex"),
        ([{"name": "x", "roles": [], "sha256": _hex("t")}], "GR_TOKENS, entry 1 ('x'): roles must be a non-empty"),
        ([{"name": "", "roles": ["app"], "sha256": _hex("t")}], "GR_TOKENS, entry 1: name must be a non-empty"),
        (
            [{"name": "x", "role": ["app"], "sha256": _hex("t")}],
            "GR_TOKENS, entry 1: unknown key 'role'; missing roles",
        ),
        ([_entry("a", ["app"], "t1"), _entry("a", ["analyst"], "t2")], "GR_TOKENS, entry 2 ('a'): duplicate name"),
        ([_entry("a", ["app"], "t1"), _entry("b", ["analyst"], "t1")], "GR_TOKENS, entry 2 ('b'): duplicate sha256"),
        ({"name": "a"}, "GR_TOKENS: must be a list of entries"),
        (["intake"], "GR_TOKENS, entry 1: must be a table"),
    ],
)
def test_a_bad_entry_in_the_environment_is_named(entries: object, expected: str) -> None:
    message = _error(Settings(tokens=json.dumps(entries)))
    assert message.startswith(expected), message


def test_bad_json_is_named() -> None:
    assert _error(Settings(tokens="[{name: 'x'}]")).startswith("GR_TOKENS: is not valid JSON")


def test_a_bad_entry_in_the_file_is_named_with_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)) + _toml("ops", ["root"], _hex("t")))
    assert _error(Settings(tokens_file=path)) == (
        f"GR_TOKENS_FILE {path}, entry 2 ('ops'): unknown role 'root' (roles: app, reviewer, analyst, admin)"
    )


def test_a_name_in_the_file_and_the_environment_is_a_duplicate(tmp_path: Path) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)))
    message = _error(Settings(tokens_file=path, tokens=json.dumps([_entry("intake", ["app"], "other")])))
    assert message == f"GR_TOKENS, entry 1 ('intake'): duplicate name, also GR_TOKENS_FILE {path}, entry 1 ('intake')"


def test_the_older_admin_token_may_not_be_a_configured_token_too() -> None:
    message = _error(Settings(tokens=json.dumps([_entry("intake", ["app"], APP_TOKEN)]), admin_token=APP_TOKEN))
    assert message == "GR_ADMIN_TOKEN: duplicate sha256, also GR_TOKENS, entry 1 ('intake')"


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    assert (
        _error(Settings(tokens_file=missing)) == f"GR_TOKENS_FILE {missing}: cannot be read: No such file or directory"
    )


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    path = _file(tmp_path, "[[tokens]\nname = 'x'\n")
    assert _error(Settings(tokens_file=path)).startswith(f"GR_TOKENS_FILE {path}: is not valid TOML")


def test_a_file_with_other_tables_is_named(tmp_path: Path) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)).replace("[[tokens]]", "[[token]]"))
    assert _error(Settings(tokens_file=path)).startswith(f"GR_TOKENS_FILE {path}: unknown key 'token'")


def test_a_bad_configuration_fails_at_app_start() -> None:
    with pytest.raises(TokenConfigError, match=r"GR_TOKENS, entry 1 \('x'\): unknown role 'boss'"):
        create_app(Settings(kb_dir=ROOT, tokens=json.dumps([{"name": "x", "roles": ["boss"], "sha256": _hex("t")}])))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("203.0.113.9", False),
        ("0.0.0.0", False),
        ("::", False),
        ("testclient", False),
        (None, False),
    ],
)
def test_loopback_addresses(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- token new ---------------------------------------------------------------------------------------


def _new(*args: str) -> Any:
    return CliRunner().invoke(api.cli.app, ["token", "new", *args])


def test_token_new_prints_a_token_and_its_toml_entry(tmp_path: Path) -> None:
    result = _new("--name", "intake app", "--role", "reviewer", "--role", "app")
    assert result.exit_code == 0, result.stderr
    prefix = "token for intake app (shown once, stored nowhere): "
    assert result.stderr.startswith(prefix) and result.stderr.endswith("\n")
    token = result.stderr.removeprefix(prefix).strip()
    assert len(token) == 43  # secrets.token_urlsafe(32)
    [entry] = tomllib.loads(result.stdout)["tokens"]
    assert entry == {"name": "intake app", "roles": ["app", "reviewer"], "sha256": _hex(token)}
    assert token not in result.stdout
    credentials = load(Settings(tokens_file=_file(tmp_path, result.stdout)))  # appended as printed, it configures
    holder = credentials.find(token.encode())
    assert holder is not None and (holder.name, holder.roles) == ("intake app", {Role.APP, Role.REVIEWER})


def test_token_new_prints_the_json_entry_for_gr_tokens() -> None:
    result = _new("--name", "ops", "--role", "admin", "--format", "json")
    assert result.exit_code == 0, result.stderr
    token = result.stderr.split(": ", 1)[1].strip()
    entry = json.loads(result.stdout)
    assert entry == {"name": "ops", "roles": ["admin"], "sha256": _hex(token)}
    holder = load(Settings(tokens=json.dumps([entry]))).find(token.encode())
    assert holder is not None and holder.roles == {Role.ADMIN}


def test_two_tokens_differ() -> None:
    first, second = (_new("--name", "a", "--role", "app").stderr for _ in range(2))
    assert first != second


def test_token_new_refuses_an_unknown_role() -> None:
    result = _new("--name", "x", "--role", "boss")
    assert result.exit_code == 2
    assert "'boss' is not one of" in result.stderr and result.stdout == ""


def test_token_new_needs_a_role() -> None:
    result = _new("--name", "x")
    assert result.exit_code == 2 and "Missing option '--role'" in result.stderr


# --- serve ----------------------------------------------------------------------------------------


@pytest.fixture
def never_served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``serve`` runs its checks; the knowledge base is not loaded and nothing binds (the calls are recorded)."""
    served: list[dict[str, Any]] = []
    for name in ("GR_KB_DIR", "GR_STATE_DIR", "GR_TOKENS_FILE"):  # serve sets them for its workers: undone after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(api.server, "serve", lambda **kw: served.append(kw))
    monkeypatch.setattr(api.cli, "KnowledgeBase", SimpleNamespace(from_files=lambda files: None))
    return served


def _serve(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(api.cli.app, ["serve", "--kb", str(ROOT), "--state-dir", str(tmp_path), *args])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.org"])
def test_serve_refuses_a_network_address_without_tokens(
    host: str, tmp_path: Path, never_served: list[dict[str, Any]]
) -> None:
    result = _serve(tmp_path, "--host", host)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: no tokens are configured, so the API is open to loopback clients only, and {host}"
    )
    assert "guideline-reasoner token new --name NAME --role ROLE" in result.stderr and "GR_TOKENS_FILE" in result.stderr
    assert never_served == [] and not any(tmp_path.iterdir())  # nothing published, nothing bound


def test_serve_refuses_a_network_address_with_only_the_older_admin_token(
    tmp_path: Path, never_served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR_ADMIN_TOKEN", "s3cret")
    result = _serve(tmp_path, "--host", "0.0.0.0")
    assert result.exit_code == 2 and "no tokens are configured" in result.stderr and never_served == []


def test_serve_refuses_a_bad_configuration_before_starting(
    tmp_path: Path, never_served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR_TOKENS", json.dumps([{"name": "x", "roles": ["app"], "sha256": "nope"}]))
    result = _serve(tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: GR_TOKENS, entry 1 ('x'): sha256 must be 64 hex digits")
    assert never_served == []


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_serve_on_loopback_without_tokens(host: str, tmp_path: Path, never_served: list[dict[str, Any]]) -> None:
    result = _serve(tmp_path, "--host", host)
    assert result.exit_code == 0, result.stderr
    assert [s["host"] for s in never_served] == [host]


def test_serve_on_a_network_address_with_tokens(
    tmp_path: Path, never_served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path, _toml("intake", ["app"], _hex(APP_TOKEN)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GR_TOKENS_FILE", "tokens.toml")
    result = _serve(tmp_path / "state", "--host", "0.0.0.0")
    assert result.exit_code == 0, result.stderr
    assert [s["host"] for s in never_served] == ["0.0.0.0"]
    assert os.environ["GR_TOKENS_FILE"] == str(path)  # the workers find it wherever they run


def test_token_new_help_has_no_placeholders() -> None:
    result = CliRunner().invoke(api.cli.app, ["token", "new", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert re.search(r"--role +ROLE ", result.stdout) and re.search(r"--format +toml\|json ", result.stdout)
    assert "<" not in result.stdout
    group = CliRunner().invoke(api.cli.app, ["token", "--help"], env={"COLUMNS": "200"})
    assert group.exit_code == 0 and "new" in group.stdout and "<" not in group.stdout

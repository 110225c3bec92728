"""Roles and bearer tokens over HTTP (api/auth.py): 401, 403 naming the role, open on loopback only.

Routes made for these tests need each role (``require``); the knowledge routes stay open, and
POST /admin/reload needs the admin role. Two apps: one with tokens configured, one without.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from api import create_app
from api.auth import Principal, Role, require
from api.settings import Settings

from ..conftest import LOOPBACK, ROOT

REMOTE = ("203.0.113.9", 1234)
TOKENS = {
    "intake": ("app-7f3a", ["app"]),
    "dr-jones": ("rev-91c2", ["reviewer"]),
    "stats": ("ana-55d0", ["analyst"]),
    "ops": ("adm-0b7e", ["admin"]),
    "desk": ("multi-4e21", ["app", "reviewer"]),
}
PROBLEM = "application/problem+json"


def bearer(name: str) -> dict[str, str]:
    return {"authorization": f"Bearer {TOKENS[name][0]}"}


def _with_test_routes(app: FastAPI) -> FastAPI:
    """One route per role, and one any of app or analyst may call; each answers with the principal."""

    def route(*roles: Role) -> Any:
        needed = require(*roles)

        # A default, not Annotated: this module's annotations are strings, and FastAPI reads them in its globals.
        async def whoami(principal: Principal = Depends(needed)) -> dict[str, Any]:  # noqa: B008
            return {"name": principal.name, "roles": sorted(principal.roles), "open": principal.open}

        return whoami

    for role in Role:
        app.add_api_route(f"/test-auth/{role.value}", route(role), methods=["GET"])
    app.add_api_route("/test-auth/app-or-analyst", route(Role.APP, Role.ANALYST), methods=["GET"])
    return app


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def logged() -> Iterator[_Lines]:
    """Every line the app logs while this module's apps run (a module fixture cannot use caplog)."""
    handler = _Lines()
    logger = logging.getLogger("guideline_reasoner")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def secured(logged: _Lines) -> Iterator[TestClient]:
    entries = [
        {"name": name, "roles": roles, "sha256": hashlib.sha256(token.encode()).hexdigest()}
        for name, (token, roles) in TOKENS.items()
    ]
    app = _with_test_routes(create_app(Settings(kb_dir=ROOT, tokens=json.dumps(entries))))
    with TestClient(app, client=LOOPBACK) as c:
        yield c


@pytest.fixture(scope="module")
def open_app(logged: _Lines) -> Iterator[tuple[TestClient, TestClient]]:
    """No tokens configured: a loopback client, and a remote one on the same started app."""
    app = _with_test_routes(create_app(Settings(kb_dir=ROOT)))
    with TestClient(app, client=LOOPBACK) as local:
        remote = TestClient(app, client=REMOTE)
        remote.app_state.update(local.app_state)  # the state the lifespan started (knowledge base, tokens)
        yield local, remote


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == code and body["status"] == status
    return body


# --- tokens configured ------------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(secured: TestClient) -> None:
    r = secured.get("/test-auth/reviewer")
    body = _problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "a bearer token with the role reviewer is required"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong", "Bearer " + hashlib.sha256(b"app-7f3a").hexdigest(), "Basic YXBwLTdmM2E6", "Bearer", "app-7f3a"],
)
def test_an_unknown_token_is_401(secured: TestClient, authorization: str) -> None:
    r = secured.get("/test-auth/app", headers={"authorization": authorization})
    body = _problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "the bearer token is not one this server knows"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_token_reaches_its_route(secured: TestClient, role: Role) -> None:
    name = next(n for n, (_t, roles) in TOKENS.items() if roles == [role.value])
    r = secured.get(f"/test-auth/{role.value}", headers=bearer(name))
    assert r.status_code == 200
    assert r.json() == {"name": name, "roles": [role.value], "open": False}


def test_a_token_without_the_role_is_403_naming_it(secured: TestClient) -> None:
    body = _problem(secured.get("/test-auth/reviewer", headers=bearer("intake")), 403, "forbidden")
    assert body["detail"] == "this needs the role reviewer; the token of intake has app"
    assert body["requiredRoles"] == ["reviewer"]
    body = _problem(secured.get("/test-auth/app-or-analyst", headers=bearer("dr-jones")), 403, "forbidden")
    assert body["detail"] == "this needs one of the roles app, analyst; the token of dr-jones has reviewer"
    assert body["requiredRoles"] == ["app", "analyst"]


def test_the_scheme_is_case_insensitive(secured: TestClient) -> None:
    r = secured.get("/test-auth/app", headers={"authorization": f"bearer {TOKENS['intake'][0]}"})
    assert r.status_code == 200 and r.json()["name"] == "intake"


def test_a_token_with_several_roles(secured: TestClient) -> None:
    for path in ("/test-auth/app", "/test-auth/reviewer", "/test-auth/app-or-analyst"):
        r = secured.get(path, headers=bearer("desk"))
        assert r.status_code == 200 and r.json() == {"name": "desk", "roles": ["app", "reviewer"], "open": False}
    body = _problem(secured.get("/test-auth/analyst", headers=bearer("desk")), 403, "forbidden")
    assert body["detail"] == "this needs the role analyst; the token of desk has app, reviewer"


def test_any_one_of_the_roles_suffices(secured: TestClient) -> None:
    for name in ("intake", "stats"):
        assert secured.get("/test-auth/app-or-analyst", headers=bearer(name)).json()["name"] == name


def test_loopback_is_not_open_once_tokens_are_configured(secured: TestClient) -> None:
    _problem(secured.get("/test-auth/app"), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/policies", "/health", "/version", "/metadata", "/docs", "/openapi.json"])
def test_the_knowledge_routes_stay_open(secured: TestClient, path: str) -> None:
    assert secured.get(path).status_code == 200


def test_sparql_on_the_knowledge_base_stays_open(secured: TestClient) -> None:
    r = secured.get(
        "/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"accept": "application/sparql-results+json"}
    )
    assert r.status_code == 200 and r.json()["boolean"] is True


def test_reload_with_an_admin_role_token(secured: TestClient) -> None:
    r = secured.post("/admin/reload", headers=bearer("ops"))
    assert r.status_code == 200 and r.json()["status"] == "unchanged"


def test_reload_refuses_other_roles_and_no_token(secured: TestClient) -> None:
    body = _problem(secured.post("/admin/reload", headers=bearer("desk")), 403, "forbidden")
    assert body["requiredRoles"] == ["admin"]
    assert _problem(secured.post("/admin/reload"), 401, "unauthorized")["detail"] == (
        "a bearer token with the role admin is required"
    )


def test_tokens_are_never_logged(secured: TestClient, logged: _Lines) -> None:
    for name in TOKENS:
        secured.get("/test-auth/app", headers=bearer(name))
    secured.get("/test-auth/app", headers={"authorization": "Bearer not-a-token-xyz"})
    text = "\n".join(logged.lines)
    assert "GET /test-auth/app 403" in text and "GET /test-auth/app 401" in text  # the access log saw them
    secrets = [t for t, _r in TOKENS.values()] + ["not-a-token-xyz"]
    assert not any(s in text or hashlib.sha256(s.encode()).hexdigest() in text for s in secrets)


def test_the_start_says_how_many_tokens(secured: TestClient, logged: _Lines) -> None:
    assert "5 tokens configured (roles app, reviewer, analyst, admin)" in logged.lines


# --- no tokens: open on loopback ----------------------------------------------------------------------


def test_loopback_is_local_with_every_role_but_admin(open_app: tuple[TestClient, TestClient]) -> None:
    local, _ = open_app
    for role in ("app", "reviewer", "analyst"):
        r = local.get(f"/test-auth/{role}")
        assert r.status_code == 200
        assert r.json() == {"name": "local", "roles": ["analyst", "app", "reviewer"], "open": True}


def test_loopback_never_gets_admin(open_app: tuple[TestClient, TestClient]) -> None:
    local, _ = open_app
    body = _problem(local.get("/test-auth/admin"), 403, "forbidden")
    assert body["detail"] == "this needs the role admin, which no configured token has"
    assert _problem(local.post("/admin/reload"), 404, "not-found")


def test_a_remote_client_is_refused_saying_why(open_app: tuple[TestClient, TestClient]) -> None:
    _, remote = open_app
    body = _problem(remote.get("/test-auth/app"), 403, "forbidden")
    assert body["detail"].startswith("no tokens are configured: the API is open to loopback clients only")
    assert "www-authenticate" not in remote.get("/test-auth/app").headers
    assert remote.get("/policies").status_code == 200  # the knowledge routes are open to all
    assert _problem(remote.post("/admin/reload"), 404, "not-found")


def test_a_presented_token_is_checked_even_when_open(open_app: tuple[TestClient, TestClient]) -> None:
    local, _ = open_app
    _problem(local.get("/test-auth/app", headers={"authorization": "Bearer stale"}), 401, "unauthorized")


def test_the_start_says_the_api_is_open_on_loopback(open_app: tuple[TestClient, TestClient], logged: _Lines) -> None:
    assert "no tokens configured: open to loopback clients, roles app, reviewer, analyst" in logged.lines

"""Server settings, from the environment (prefix ``GR_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one server process."""

    model_config = SettingsConfigDict(env_prefix="GR_", frozen=True)

    kb_dir: Path | None = None
    state_dir: Path | None = None  # shared by the workers of one server (knowledge-base generations)
    max_body_bytes: int = 1_048_576
    header_timeout_s: float = 10.0  # from connection (or the last response) to the end of a request's headers
    body_timeout_s: float = 30.0  # from the end of the headers to the end of the body
    body_idle_timeout_s: float = 5.0  # the longest pause inside a body (a Content-Length that lies)
    sparql_timeout_s: float = 10.0  # a query's whole time from the request's arrival, waiting for a slot included
    sparql_max_rows: int = 10_000
    sparql_memory_mb: int = 1024
    sparql_concurrency: int = 4
    tokens_file: Path | None = None  # TOML: [[tokens]] with name, roles, sha256 (api/tokens.py)
    tokens: str | None = None  # a JSON list of the same entries; none here or in the file: open to loopback only
    admin_token: str | None = None  # the older form: one plain admin token (POST /admin/reload)
    # Determinations kept (reasoner/store): a remote SPARQL store's URL, else an embedded one in data_dir.
    data_dir: Path | None = None  # default: reasoner.store.location.default_data_dir()
    store_url: str | None = None
    store: bool = True  # False: nothing is kept, and the routes that read what was kept answer 404

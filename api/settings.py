"""Server settings, from the environment (prefix ``GR_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one server process."""

    model_config = SettingsConfigDict(env_prefix="GR_", frozen=True)

    kb_dir: Path | None = None
    max_body_bytes: int = 1_048_576
    sparql_timeout_s: float = 10.0
    sparql_max_rows: int = 10_000
    sparql_memory_mb: int = 1024
    sparql_concurrency: int = 4
    sparql_queue_wait_s: float = 30.0
    admin_token: str | None = None  # POST /admin/reload is off unless a token is configured

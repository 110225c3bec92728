"""The configured bearer tokens: who holds which roles, known by each token's SHA-256 alone.

Entries come from the TOML file named by ``GR_TOKENS_FILE`` (``[[tokens]]`` tables) and the JSON
list in ``GR_TOKENS``, each ``{name, roles, sha256}``; ``GR_ADMIN_TOKEN``, the older form, is one
plain token with the admin role. A configuration that is wrong in any way is refused whole, naming
where and which entry, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .roles import LOCAL_ROLES, Role, words
from .settings import Settings

FILE_VAR, ENV_VAR, ADMIN_VAR = "GR_TOKENS_FILE", "GR_TOKENS", "GR_ADMIN_TOKEN"
KEYS = ("name", "roles", "sha256")
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class TokenConfigError(Exception):
    """The token configuration cannot be used; ``message`` names the file or variable and the entry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Holder:
    """One configured token: its holder's name, roles and the token's SHA-256."""

    name: str
    roles: frozenset[Role]
    digest: bytes
    where: str  # for messages: "GR_TOKENS_FILE /etc/gr/tokens.toml, entry 2"


def sha256(token: bytes) -> bytes:
    """The digest a token is known by."""
    return hashlib.sha256(token).digest()


@dataclass(frozen=True)
class Credentials:
    """Every configured token; ``open`` when none is (``GR_ADMIN_TOKEN`` alone leaves the API open on loopback)."""

    holders: tuple[Holder, ...] = ()
    admin: Holder | None = None  # GR_ADMIN_TOKEN

    @property
    def open(self) -> bool:
        """No role tokens configured: loopback clients are ``local``, everyone else is refused."""
        return not self.holders

    def find(self, token: bytes) -> Holder | None:
        """The holder of ``token``, comparing its digest with every configured one in constant time."""
        digest = sha256(token)
        found = None
        for holder in self._all():
            if hmac.compare_digest(digest, holder.digest):  # no early exit: every digest is compared
                found = holder
        return found

    def grants(self, roles: Iterable[Role]) -> bool:
        """Whether some configured token has one of ``roles``."""
        wanted = set(roles)
        return any(holder.roles & wanted for holder in self._all())

    def describe(self) -> str:
        """The mode, for the start-up log line (counts and roles, never a token or a digest)."""
        if self.open:
            line = f"no tokens configured: open to loopback clients, roles {words(LOCAL_ROLES)}"
        else:
            count = len(self.holders)
            roles = words(r for h in self.holders for r in h.roles)
            line = f"{count} token{'s' if count != 1 else ''} configured (roles {roles})"
        return line + (f"; {ADMIN_VAR} set (the older form): POST /admin/reload accepts it" if self.admin else "")

    def _all(self) -> tuple[Holder, ...]:
        return self.holders + ((self.admin,) if self.admin else ())


def _entry(raw: object, where: str) -> Holder:
    if not isinstance(raw, Mapping):
        raise TokenConfigError(f"{where}: must be a table with {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    missing = [key for key in KEYS if key not in raw]
    if unknown or missing:
        parts = ([f"unknown key {', '.join(map(repr, unknown))}"] if unknown else []) + (
            [f"missing {', '.join(missing)}"] if missing else []
        )
        raise TokenConfigError(f"{where}: {'; '.join(parts)} (an entry has {', '.join(KEYS)})")
    name, roles, digest = raw["name"], raw["roles"], raw["sha256"]
    if not isinstance(name, str) or not name.strip():
        raise TokenConfigError(f"{where}: name must be a non-empty string")
    where = f"{where} ({name!r})"
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise TokenConfigError(f"{where}: roles must be a non-empty list of role words ({words(Role)})")
    bad = [r for r in roles if r not in {role.value for role in Role}]
    if bad:
        raise TokenConfigError(f"{where}: unknown role {', '.join(map(repr, bad))} (roles: {words(Role)})")
    if not isinstance(digest, str) or not HEX_SHA256.fullmatch(digest):
        raise TokenConfigError(f"{where}: sha256 must be 64 hex digits (the SHA-256 of the token, not the token)")
    return Holder(name, frozenset(Role(r) for r in roles), bytes.fromhex(digest), where)


def _entries(raw: object, source: str) -> list[Holder]:
    if not isinstance(raw, list):
        raise TokenConfigError(f"{source}: must be a list of entries with {', '.join(KEYS)}")
    return [_entry(item, f"{source}, entry {i}") for i, item in enumerate(raw, start=1)]


def read_file(path: Path) -> list[Holder]:
    """The entries of a tokens file (``[[tokens]]`` tables)."""
    source = f"{FILE_VAR} {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TokenConfigError(f"{source}: cannot be read: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise TokenConfigError(f"{source}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TokenConfigError(f"{source}: is not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"tokens"})
    if extra:
        raise TokenConfigError(
            f"{source}: unknown key {', '.join(map(repr, extra))} (the file holds [[tokens]] tables)"
        )
    return _entries(data.get("tokens", []), source)


def read_env(value: str) -> list[Holder]:
    """The entries of ``GR_TOKENS`` (a JSON list)."""
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise TokenConfigError(f"{ENV_VAR}: is not valid JSON: {exc.msg} at character {exc.pos}") from None
    return _entries(data, ENV_VAR)


def _no_duplicates(holders: list[Holder]) -> None:
    names: dict[str, Holder] = {}
    digests: dict[bytes, Holder] = {}
    for holder in holders:
        if holder.name in names:
            raise TokenConfigError(f"{holder.where}: duplicate name, also {names[holder.name].where}")
        if holder.digest in digests:
            raise TokenConfigError(f"{holder.where}: duplicate sha256, also {digests[holder.digest].where}")
        names[holder.name], digests[holder.digest] = holder, holder


def load(settings: Settings) -> Credentials:
    """The credentials ``settings`` configure.

    Raises:
        TokenConfigError: a file that cannot be read or parsed, an unknown role, a sha256 that is
            not 64 hex digits, a name or a token configured twice.
    """
    holders = (read_file(settings.tokens_file) if settings.tokens_file else []) + (
        read_env(settings.tokens) if settings.tokens else []
    )
    admin = None
    if settings.admin_token:
        admin = Holder(ADMIN_VAR, frozenset({Role.ADMIN}), sha256(settings.admin_token.encode()), ADMIN_VAR)
    _no_duplicates(holders + ([admin] if admin else []))
    return Credentials(tuple(holders), admin)

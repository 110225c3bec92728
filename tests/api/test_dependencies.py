"""The web stack is at or above the versions that fix its known advisories (docs/threats.md F, C3)."""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version

import pytest


def _v(text: str) -> tuple[int, ...]:
    return tuple(int("".join(c for c in part if c.isdigit()) or 0) for part in text.split(".")[:3])


@pytest.mark.parametrize(
    ("package", "floor"),
    [("starlette", "1.3.1"), ("h11", "0.16.0"), ("fastapi", "0.109.1"), ("uvicorn", "0.11.7")],
)
def test_floor_versions(package: str, floor: str) -> None:
    assert _v(version(package)) >= _v(floor), f"{package} {version(package)} is below {floor}"


def test_no_javascript_engine_for_shacl_js() -> None:
    assert importlib.util.find_spec("pyduktape2") is None  # SHACL-JS would run code from shapes


def test_python_multipart_absent_or_patched() -> None:
    try:
        installed = version("python-multipart")
    except PackageNotFoundError:
        return
    assert _v(installed) >= _v("0.0.32")

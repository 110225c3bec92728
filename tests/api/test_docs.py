"""Every problem code the API can answer with is documented in docs/errors.md."""

from __future__ import annotations

import re

from ..conftest import ROOT


def test_every_http_problem_code_is_documented() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "api").rglob("*.py"))
    codes = set(re.findall(r'(?:Problem|problem_response)\(\s*\d+,\s*"([a-z-]+)"', source))
    codes |= set(re.findall(r"\d{3}: \"([a-z-]+)\"", source)) | {"http-error"}
    assert {"body-too-large", "unsupported-media-type", "not-acceptable"} <= codes
    for code in codes:
        assert f"## {code}\n" in doc or f"`{code}`" in doc, code

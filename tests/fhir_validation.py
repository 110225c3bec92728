"""An independent FHIR R4 validator for the tests: FHIR.js, run by node, a whole batch in one call.

``tests/fhir_validator/`` holds the npm package (``fhir``, pinned by its package-lock.json) and
``validate.js``; ``.ci/run`` installs it with ``npm ci``. FHIR.js checks each resource against
the R4 definitions: elements, types, cardinalities, required bindings, reference targets (an
element R4 does not define is an error). To those messages this adds two rules of FHIR's JSON
form that FHIR.js does not check: no ``null``, ``""``, ``[]`` or ``{}`` anywhere, and an extension
has a value or sub-extensions, never both and never neither (ext-1).

Use the ``fhir_validator`` fixture (tests/conftest.py): ``fhir_validator.validate([r1, r2, ...])``
returns one list of :class:`Message` per resource; :func:`errors` keeps the errors. Where node or
the package is missing the fixture skips, saying how to install it, except under CI (``CI`` set),
where it fails: there ``.ci/run`` has installed it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "fhir_validator"
SCRIPT = HERE / "validate.js"
PACKAGE = HERE / "node_modules" / "fhir" / "package.json"
INSTALL = "npm ci --prefix tests/fhir_validator"


@dataclass(frozen=True)
class Message:
    """One finding about one resource: where, how bad (fatal, error, warning, info), what."""

    location: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.location or '(resource)'}: {self.message}"


def unavailable() -> str | None:
    """Why the validator cannot run here, or None when it can."""
    node = shutil.which("node")
    if node is None:
        return f"node is not installed, so FHIR.js cannot validate (.ci/run installs node and runs `{INSTALL}`)"
    if not PACKAGE.is_file():
        return f"FHIR.js (the npm package fhir) is not installed: run `{INSTALL}` (as .ci/run does)"
    return None


class FhirValidator:
    """FHIR.js and the JSON-form rules, over many resources at a time (one node process a batch)."""

    def __init__(self) -> None:
        self.resources_validated = 0

    def validate(self, resources: Sequence[dict[str, Any]]) -> list[list[Message]]:
        """The messages for each resource, in order."""
        if not resources:
            return []
        node = shutil.which("node")
        assert node is not None, unavailable()
        run = subprocess.run(  # noqa: S603 - our own script, fixed arguments, no shell
            [node, str(SCRIPT)],
            input=json.dumps(list(resources)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NODE_OPTIONS": ""},
        )
        assert run.returncode == 0, f"validate.js failed ({run.returncode}): {run.stderr[-2000:]}"
        answers = json.loads(run.stdout)
        assert len(answers) == len(resources)
        self.resources_validated += len(resources)
        return [
            [Message(m.get("location", ""), m.get("severity", "error"), m.get("message", "")) for m in found]
            + json_form_problems(resource)
            for found, resource in zip(answers, resources, strict=True)
        ]


def errors(messages: Sequence[Message]) -> list[Message]:
    """The messages that make a resource invalid (fatal and error)."""
    return [m for m in messages if m.severity in ("fatal", "error")]


def json_form_problems(resource: Any) -> list[Message]:
    """FHIR JSON rules FHIR.js leaves out: no empty or null values, and ext-1 on every extension."""
    return [Message(where, "error", why) for where, why in _walk(resource, resource.get("resourceType", "$"))]


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if value is None or (isinstance(value, str | list | dict) and len(value) == 0):
        yield path, "null or empty value (FHIR JSON has none)"
        return
    if isinstance(value, dict):
        if "url" in value and _is_extension_path(path):
            has_value = any(k.startswith("value") for k in value)
            if has_value == ("extension" in value):
                yield path, "an extension has either a value[x] or sub-extensions (ext-1)"
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")


def _is_extension_path(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return last.split("[", 1)[0] in ("extension", "modifierExtension")

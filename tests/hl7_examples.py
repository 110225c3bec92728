"""Where the tests find HL7's own FHIR examples (Da Vinci CRD 2.2 and PAS 2.2.1), read unmodified.

They live outside the repository, in the team's shared folder beside the checkout
(``<repo>/../shared/fhir-examples``, where CI puts a copy too), or wherever ``GR_FHIR_EXAMPLES``
points. Tests that need them skip, saying so, when neither is there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import ROOT

ENV = "GR_FHIR_EXAMPLES"


def examples_dir() -> Path | None:
    """The folder holding ``crd-2.2/`` and ``pas-2.2.1/``, or None when there is none."""
    configured = os.environ.get(ENV)
    folder = Path(configured) if configured else ROOT.parent / "shared" / "fhir-examples"
    return folder if folder.is_dir() else None


MISSING = (
    f"HL7's FHIR examples are not here: set {ENV} to the folder holding crd-2.2/ and pas-2.2.1/ "
    "(by default ../shared/fhir-examples beside the checkout)"
)


def files(folder: str, pattern: str) -> list[Path]:
    """The example files of ``folder`` (``crd-2.2`` or ``pas-2.2.1``) matching ``pattern``, sorted; [] without them."""
    base = examples_dir()
    return sorted((base / folder).glob(pattern)) if base else []


def params(found: list[Path], folder: str) -> list[object]:
    """Example files as pytest parameters named by file stem; one skipped parameter when the examples are absent."""
    if found:
        return [pytest.param(p, id=p.stem) for p in found]
    return [pytest.param(None, id=f"{folder}-absent", marks=pytest.mark.skip(reason=MISSING))]


PAS_ANSWERED_ONLY = ("Response", "Error", "Notification", "Inquiry")


def pas_requests() -> list[Path]:
    """HL7's PAS 2.2.1 request Bundles: every example Bundle but responses, errors, notifications and inquiries."""
    return [p for p in files("pas-2.2.1", "*.json") if p.name != "package.json" and not _answer(p.name)]


def _answer(name: str) -> bool:
    return any(word in name for word in PAS_ANSWERED_ONLY)

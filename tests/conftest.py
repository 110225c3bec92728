from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from reasoner import KnowledgeBase

from .fhir_validation import FhirValidator, unavailable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "cases"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# For TestClient(client=...): its default client host, "testclient", is no address, so not loopback (api/auth.py).
LOOPBACK = ("127.0.0.1", 50000)
BUNDLED_POLICIES = frozenset(
    {
        "evicore-sij",
        "medicare-bariatric",
        "medicare-esi-lcd",
        "medicare-facet-lcd",
        "medicare-pap",
        "medicare-sij-lcd",
        "sij-clinical-pathway",
    }
)


def fhir_examples(folder: str) -> Path:
    """A folder of HL7's FHIR examples (``pas-2.2.1``, ...), read unchanged where the team keeps them.

    That is ``$GR_FHIR_EXAMPLES/<folder>`` when the variable is set, else ``../shared/fhir-examples/<folder>``
    beside the checkout. The test calling this is skipped, saying so, when the folder is absent.
    """
    base = os.environ.get("GR_FHIR_EXAMPLES")
    path = (Path(base) if base else ROOT.parent / "shared" / "fhir-examples") / folder
    if not path.is_dir():
        pytest.skip(f"HL7's FHIR examples are not at {path}: set GR_FHIR_EXAMPLES to the folder holding {folder}/")
    return path


def skip_or_fail(why: str | None) -> None:
    """Skip saying why; under CI (``CI`` set), where .ci/run installed everything, fail instead."""
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@functools.cache
def bundled_kb() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per test process (about 2 s); for modules whose ``kb`` is another."""
    return KnowledgeBase.load(ROOT)


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app a test makes keeps nothing unless the test gives it a store (``Settings(store=True, data_dir=...)``).

    An embedded store is one process's: were the test process to hold this folder, a server it
    starts could not open it. A server a test starts (``serve`` keeps by default) keeps its
    determinations here, or in a folder the test names, never in the user's.
    """
    folder = tmp_path_factory.mktemp("determinations")
    os.environ["GR_DATA_DIR"] = str(folder)
    os.environ["GR_STORE"] = "false"
    return folder


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per test session (per xdist worker)."""
    return bundled_kb()


@pytest.fixture(scope="session")
def seed_json() -> bytes:
    return (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()


@pytest.fixture(scope="session")
def fhir_validator() -> FhirValidator:
    """FHIR.js as an independent FHIR R4 validator (tests/fhir_validation.py); skips where it is not installed.

    Under CI (``CI`` set) a missing validator fails instead: ``.ci/run`` installs it.
    """
    skip_or_fail(unavailable())
    return FhirValidator()


pytest_plugins = ["tests.store_backends"]

"""A not-met finding names what it fails on: the requested codes ({codes}) or the case facts ({facts}).

Each criterion kind is tried on an example where it is not met: the sentence must name the codes
or facts the criterion is about, and nothing it is not about (issue 14, point 6).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from rdflib import URIRef

from reasoner import CriterionResult, Determination, KnowledgeBase, Status, determine
from reasoner.knowledge.entities import PLACEHOLDER

from .conftest import EXAMPLES
from .test_examples import PAIRS, _fmt, _policy


def _finding(kb: KnowledgeBase, case: str, policy: str, criterion: str) -> str:
    d = determine((EXAMPLES / f"{case}.json").read_bytes(), "json", kb, policy=policy)
    found = next(c for c in d.criteria if c.id == f"{policy}/{criterion}")
    assert found.status is Status.NOT_MET, (case, criterion, found.status)
    return found.finding


# (case, policy, criterion, the finding as a reviewer reads it)
NAMED = [
    (  # a request line: the code a coverage rule excludes
        "evicore-sij-rfa",
        "medicare-sij-lcd",
        "code-covered",
        "Not covered under the LCD and treated by Medicare as investigational: CPT 64625.",
    ),
    (  # an add-on line without its primary line
        "esi-addon-without-primary",
        "medicare-esi-lcd",
        "add-on-primary",
        "Add-on code requested without its primary code: CPT 64484 (64480 needs 64479, 64484 needs 64483).",
    ),
    (  # a result on the request: the lines the criterion judges
        "facet-block-three-levels",
        "medicare-facet-lcd",
        "levels",
        "The request (CPT 64493, CPT 64494, CPT 64495) treats more levels or regions in one session than the LCD"
        " allows.",
    ),
    (
        "evicore-ultrasound-guidance",
        "evicore-sij",
        "image-guidance",
        "The planned image guidance for CPT 27096 is not fluoroscopy or CT.",
    ),
    (  # an excluded technique: the lines of that technique
        "facet-rfa-pulsed",
        "medicare-facet-lcd",
        "thermal-only",
        "The request names a denervation technique the LCD does not cover: CPT 64635, CPT 64636.",
    ),
    (  # a session limit: the requested code, and the earlier sessions it counts (not the add-on line)
        "facet-rfa-third-in-year",
        "medicare-facet-lcd",
        "rfa-frequency",
        "The request (CPT 64635) would exceed the number of RFA sessions allowed in a rolling year; earlier sessions"
        " counted: the facet joint denervation of 2025-06-09 (procedure note rfa-note-1); the facet joint"
        " denervation of 2025-11-10 (procedure note rfa-note-2).",
    ),
    (  # a minimum interval: the earlier procedure inside it
        "evicore-therapeutic-too-soon",
        "evicore-sij",
        "therapeutic-interval",
        "The request (CPT 27096) comes too soon after the last therapeutic injection of the joint: the therapeutic"
        " intra-articular SIJ steroid injection of 2026-02-09 (procedure note ther-note).",
    ),
    (  # a count: the documented block that does not qualify, not the one that does
        "sij-rfa-one-block",
        "sij-clinical-pathway",
        "lateral-branch-blocks",
        "Fewer qualifying sacral lateral branch blocks are documented than the pathway requires; blocks that do not"
        " qualify: the sacral lateral branch block of 2026-01-12 (procedure note lbb-note-2)."
        " (1 of 2 documented qualify; at least 2 required.)",
    ),
    (  # a count with nothing documented: said once, not twice
        "sij-seed-neurectomy",
        "sij-clinical-pathway",
        "rfa-before-surgery",
        "Fewer failed radiofrequency ablations are documented than required before surgery; ablations not recorded"
        " as failed: none. (at least 2 required.)",
    ),
    (  # a repeat: the earlier procedure without the sustained relief
        "esi-repeat-short-relief",
        "medicare-esi-lcd",
        "repeat",
        "The last ESI at the requested levels and side gave neither the sustained relief nor the sustained"
        " functional gain a repeat requires: the transforaminal epidural steroid injection of 2025-11-03"
        " (procedure note esi-note). (0 of 1 documented qualifies.)",
    ),
    (  # an exclusion: the active condition, by kind and source document
        "facet-rfa-radiculopathy",
        "medicare-facet-lcd",
        "no-radiculopathy",
        "An active radiculopathy or neurogenic claudication is documented and not recorded as treated, and no facet"
        " synovial cyst at a requested level excuses it: the lumbar radiculopathy (clinic note spine-clinic).",
    ),
    (  # an exclusion read from the pain history's character
        "esi-axial-pain",
        "medicare-esi-lcd",
        "not-axial",
        "The pain is documented as purely axial, which the LCD does not cover: the pain history (clinic note"
        " spine-clinic).",
    ),
    (  # a requirement: nothing to name in the history, so the code it is required for
        "facet-therapeutic-rfa-possible",
        "medicare-facet-lcd",
        "rfa-not-possible",
        "No reason is documented why the patient cannot have RFA instead of CPT 64493.",
    ),
    (  # a pathway step: the documented injection without a positive response
        "evicore-diagnostic-low-relief",
        "sij-clinical-pathway",
        "diagnostic-injection",
        "No diagnostic intra-articular SIJ injection with a positive response is documented; diagnostic injections"
        " without a positive response: the diagnostic intra-articular SIJ injection of 2026-01-19 (procedure note"
        " diag-injection-note).",
    ),
    (  # a prerequisite step with nothing documented: the code that needs it
        "evicore-sij-rfa",
        "sij-clinical-pathway",
        "therapeutic-injection",
        "No therapeutic intra-articular SIJ steroid injection is documented; the pathway requires one before"
        " CPT 64625.",
    ),
    (  # either of two recent procedures would do: every one documented is named, none is recent enough
        "facet-repeat-rfa-stale-diagnosis",
        "medicare-facet-lcd",
        "recent-diagnosis",
        "The last RFA and the last positive diagnostic block in the region are too old: repeat the diagnostic blocks"
        " before a new RFA. RFAs and blocks that do not count: the facet joint denervation of 2023-09-11 (procedure"
        " note rfa-note); the lumbar facet joint or medial branch injection of 2023-07-10 (procedure note mbb-1-note);"
        " the lumbar facet joint or medial branch injection of 2023-08-07 (procedure note mbb-2-note).",
    ),
    (  # a value on the request: the diagnosis itself
        "sij-neurectomy-no-history",
        "sij-clinical-pathway",
        "sij-diagnosis",
        "The primary diagnosis on the request is not a sacroiliac joint diagnosis: the primary diagnosis ICD-10-CM"
        " M47.816, lumbar spondylosis without myelopathy or radiculopathy.",
    ),
]


@pytest.mark.parametrize(("case", "policy", "criterion", "expected"), NAMED, ids=[f"{p}/{c}" for _, p, c, _ in NAMED])
def test_a_not_met_finding_names_what_it_fails_on(
    kb: KnowledgeBase, case: str, policy: str, criterion: str, expected: str
) -> None:
    assert _finding(kb, case, policy, criterion) == expected


def test_every_not_met_text_names_codes_or_facts(kb: KnowledgeBase) -> None:
    texts = {c.id: set(PLACEHOLDER.findall(c.not_met_text)) for c in kb.criteria.values()}
    assert len(texts) >= 60
    assert [i for i, keys in texts.items() if not keys & {"codes", "facts"}] == []


@pytest.fixture(scope="module")
def letters(kb: KnowledgeBase) -> list[tuple[str, Determination]]:
    """Every example under each policy its expected file names."""
    out = []
    for case, index in PAIRS:
        d = determine(case.read_bytes(), _fmt(case), kb, policy=_policy(case, index))  # type: ignore[arg-type]
        out.append((case.name, d))
    return out


def _not_met_asking(
    kb: KnowledgeBase, letters: list[tuple[str, Determination]], key: str
) -> Iterator[tuple[str, Determination, CriterionResult]]:
    """Each (example, determination, criterion) not met whose text has the placeholder ``key``."""
    for name, d in letters:
        for c in d.criteria:
            if c.status is Status.NOT_MET and key in kb.criteria[_iri(kb, c.id)].not_met_text:
                yield name, d, c


def test_every_example_names_a_code_wherever_its_text_asks_for_one(
    kb: KnowledgeBase, letters: list[tuple[str, Determination]]
) -> None:
    """{codes} is never left without a code: a criterion that fails names at least the lines it judges."""
    seen = 0
    for name, d, c in _not_met_asking(kb, letters, "{codes}"):
        assert "no requested code" not in c.finding, (name, c.id, c.finding)
        requested = {f"{line.system} {line.code}" for line in d.requested}
        assert any(code in c.finding for code in requested), (name, c.id, c.finding)
        seen += 1
    assert seen >= 20


def test_the_facts_a_finding_names_are_facts_listed_under_it(
    kb: KnowledgeBase, letters: list[tuple[str, Determination]]
) -> None:
    """{facts} names only facts the letter lists beside the criterion, by their source documents."""
    seen = 0
    for name, _d, c in _not_met_asking(kb, letters, "{facts}"):
        listed = {f.source.id for f in c.facts if f.source is not None}
        cited = _CITED.findall(c.finding)
        assert {ident for _kind, ident in cited} <= listed, (name, c.id, c.finding)
        seen += len(cited)
    assert seen >= 30


# "(procedure note lbb-note-2)": a document kind and its id (not "(posterior shear)" in a test's name)
_KINDS = "procedure note|clinic note|imaging report|physical examination|patient report|request form|document"
_CITED = re.compile(rf"\(({_KINDS}) ([A-Za-z0-9_.-]+)\)")


def _iri(kb: KnowledgeBase, ident: str) -> URIRef:
    return next(c.iri for c in kb.criteria.values() if c.id == ident)

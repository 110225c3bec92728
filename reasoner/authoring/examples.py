"""The bundled example cases (a folder such as ``examples/cases`` beside the knowledge base) as a catalogue.

Each case with a ``<name>.expected.json`` is an example: its expectations say, per policy, the
outcome and each criterion's status. The index answers which examples exercise a criterion as met,
not met or unknown; it reads the expected files, never the cases, once per knowledge base and folder.
The caller names the folder: a server answers from a snapshot of the knowledge base's files, which
holds no examples, so its folder is the one beside the source the snapshot was published from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict
from rdflib import URIRef

from reasoner._memo import per_knowledge_base
from reasoner.authoring.casetests import case_files, expectations
from reasoner.errors import NotFound
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.catalogue import CriterionView, criterion_view, find_criterion
from reasoner.knowledge.shape_text import shape_turtle
from reasoner.model import Determination
from reasoner.pipeline import determine

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""What an example's name may be: a file stem, nothing that leaves the folder."""
_GROUPS = {"met": "met", "not-met": "notMet", "unknown": "unknown"}


class ExampleRef(BaseModel):
    """An example case under one policy, as a criterion's page lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    policy: str
    outcome: str
    description: str


class CriterionExamples(BaseModel):
    """The examples whose expectations give the criterion each status."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    met: list[ExampleRef]
    notMet: list[ExampleRef]
    unknown: list[ExampleRef]


class CriterionPage(CriterionView):
    """A criterion with its shapes as Turtle (by shape IRI) and the examples that exercise it."""

    shapesTurtle: dict[str, str]
    examples: CriterionExamples


@dataclass(frozen=True, slots=True)
class Example:
    """An example case and what it is expected to give under each policy it names."""

    name: str
    path: Path
    description: str
    outcomes: MappingProxyType[str, str]
    """Policy id to expected outcome, in the order of the expected file."""
    criteria: MappingProxyType[str, MappingProxyType[str, str]]
    """Policy id to (criterion id to expected status)."""


@per_knowledge_base(maxsize=4)
def example_index(kb: KnowledgeBase, folder: Path) -> MappingProxyType[str, Example]:
    """Every example in ``folder`` with expectations, by name (empty when there is no such folder).

    Read once per knowledge base: an expected file edited since is seen after the next reload.
    """
    out: dict[str, Example] = {}
    for case in case_files(folder) if folder.is_dir() else []:
        try:
            found = expectations(case)
            expected = json.loads(case.with_name(f"{case.stem}.expected.json").read_text())
            description = str(expected.get("description", ""))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a malformed expected file is guideline-reasoner test's to report, not a page's
        if not found or not NAME.match(case.stem):
            continue
        out[case.stem] = Example(
            name=case.stem,
            path=case,
            description=description,
            outcomes=MappingProxyType({str(e["policy"]): str(e["outcome"]) for e in found}),
            criteria=MappingProxyType({str(e["policy"]): MappingProxyType(dict(e["criteria"])) for e in found}),
        )
    return MappingProxyType(out)


@per_knowledge_base(maxsize=1024)
def criterion_examples(kb: KnowledgeBase, folder: Path, criterion_id: str) -> dict[str, list[dict[str, Any]]]:
    """The examples that exercise a criterion, by expected status (``met``, ``notMet``, ``unknown``), by name."""
    out: dict[str, list[dict[str, Any]]] = {g: [] for g in _GROUPS.values()}
    for ex in example_index(kb, folder).values():
        for policy, statuses in ex.criteria.items():
            group = _GROUPS.get(statuses.get(criterion_id, ""))
            if group is not None:
                out[group].append(
                    {"name": ex.name, "policy": policy, "outcome": ex.outcomes[policy], "description": ex.description}
                )
    return out


def find_example(kb: KnowledgeBase, folder: Path, name: str) -> Example:
    """The example of that name.

    Raises:
        NotFound: no example of that name (a name that is not a file stem is none).
    """
    found = example_index(kb, folder).get(name) if NAME.match(name) else None
    if found is None:
        raise NotFound(f"no example case {name!r}")
    return found


@per_knowledge_base(maxsize=256)  # the examples are few and fixed; a determination is immutable
def determine_example(kb: KnowledgeBase, folder: Path, name: str, policy: str | None) -> Determination:
    """The example determined under ``policy`` (None: the first its expected file names).

    Raises:
        NotFound: no such example, or its expected file names no such policy.
    """
    example = find_example(kb, folder, name)
    chosen = policy or next(iter(example.outcomes))
    if chosen not in example.outcomes:
        names = ", ".join(example.outcomes)
        raise NotFound(f"example {example.name!r} has no expectation under policy {chosen!r}; it has: {names}")
    fmt: CaseFormat = "json" if example.path.suffix == ".json" else "turtle"
    return determine(example.path.read_bytes(), fmt, kb, policy=chosen)


def criterion_page(kb: KnowledgeBase, folder: Path, criterion_id: str) -> dict[str, Any]:
    """:func:`criterion_view` with its shapes as Turtle and the examples that exercise it (a ``CriterionPage``).

    Raises:
        NotFound: no such criterion.
    """
    view = criterion_view(kb, find_criterion(kb, criterion_id))
    turtle = {s: shape_turtle(kb, URIRef(s)) for s in view["shapes"]}
    return {**view, "shapesTurtle": turtle, "examples": criterion_examples(kb, folder, view["id"])}

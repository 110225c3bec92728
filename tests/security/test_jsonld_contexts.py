"""A JSON-LD case dereferences nothing it names, at any depth (docs/threats.md A1).

Every form in which rdflib would resolve a context (top level, arrays, arrays in arrays, a context
object's own ``@context``, ``@import``, property- and type-scoped contexts, nested node, value,
list, ``@graph``, ``@included``, ``@nest`` and ``@reverse`` objects, relative references under
``@base``, the node objects of an expanded document, which is a top-level array) is posted with
every probe location (the canary, an existing and a missing file as a path and as a ``file:``
URL, ``/dev/zero``). Each is a 422 ``case-vocabulary`` naming the JSON path
of the reference and not the reference; nothing is connected to or opened, and the audit hook
never has to step in (the ``probes`` fixture checks all three).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from reasoner import CaseVocabularyError
from reasoner.intake.jsonld import CONTEXT_URL, resolved, verify

from .cases import CASE_IRI, JSONLD, SEED_OUTCOME, SEED_TTL, post, problem, seed_jsonld
from .conftest import Probes

Form = Callable[[str], tuple[dict[str, Any], str]]


def _with(context: Any, *extra: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc = seed_jsonld()
    doc["@context"] = context
    doc["@graph"] += list(extra)
    doc.update(top)
    return doc


def _expanded_seed() -> list[dict[str, Any]]:
    """The seed case in expanded form (no context anywhere)."""
    return json.loads(Graph().parse(data=SEED_TTL, format="turtle").serialize(format="json-ld"))


def _n() -> int:
    """The index the first node appended to the seed graph gets."""
    return len(seed_jsonld()["@graph"])


def _split(target: str) -> tuple[str, str]:
    """A base and a reference relative to it that together name ``target``."""
    if target.startswith("http"):
        base, _, name = target.rpartition("/")
        return base + "/", name
    path = PurePosixPath(target.removeprefix("file://"))
    return path.parent.as_uri() + "/", path.name


FORMS: dict[str, Form] = {
    "top-level": lambda t: (_with(t), '$["@context"]'),
    "array": lambda t: (_with([CONTEXT_URL, t]), '$["@context"][1]'),
    "array-in-array": lambda t: (_with([[CONTEXT_URL], [t]]), '$["@context"][1][0]'),
    "context-of-a-context": lambda t: (_with({"@context": t}), '$["@context"]["@context"]'),
    "context-of-a-context-in-array": lambda t: (
        _with([CONTEXT_URL, {"@context": [t]}]),
        '$["@context"][1]["@context"][0]',
    ),
    "import": lambda t: (_with([CONTEXT_URL, {"@version": 1.1, "@import": t}]), '$["@context"][1]["@import"]'),
    "import-top-level": lambda t: (_with({"@version": 1.1, "@import": t}), '$["@context"]["@import"]'),
    "property-scoped": lambda t: (
        _with(
            [CONTEXT_URL, {"knows": {"@id": "urn:knows", "@context": t}}], {"@id": CASE_IRI, "knows": {"@id": "urn:x"}}
        ),
        '$["@context"][1]["knows"]["@context"]',
    ),
    "type-scoped": lambda t: (
        _with([CONTEXT_URL, {"Case": {"@id": "cv:Case", "@context": t}}]),
        '$["@context"][1]["Case"]["@context"]',
    ),
    "import-in-scoped": lambda t: (
        _with([CONTEXT_URL, {"knows": {"@id": "urn:knows", "@context": {"@version": 1.1, "@import": t}}}]),
        '$["@context"][1]["knows"]["@context"]["@import"]',
    ),
    "scoped-in-scoped": lambda t: (
        _with([CONTEXT_URL, {"a": {"@id": "urn:a", "@context": {"b": {"@id": "urn:b", "@context": [t]}}}}]),
        '$["@context"][1]["a"]["@context"]["b"]["@context"][0]',
    ),
    "nested-node": lambda t: (_with(CONTEXT_URL, {"@id": CASE_IRI, "@context": t}), f'$["@graph"][{_n()}]["@context"]'),
    "value-object": lambda t: (
        _with(CONTEXT_URL, {"@id": CASE_IRI, "title": {"@context": t, "@value": "x"}}),
        f'$["@graph"][{_n()}]["title"]["@context"]',
    ),
    "list-member": lambda t: (
        _with(CONTEXT_URL, {"@id": CASE_IRI, "level": {"@list": [{"@context": t, "@value": "S1"}]}}),
        f'$["@graph"][{_n()}]["level"]["@list"][0]["@context"]',
    ),
    "graph-member": lambda t: (
        _with(CONTEXT_URL, {"@id": "urn:g", "@graph": [{"@context": t, "@id": "urn:x"}]}),
        f'$["@graph"][{_n()}]["@graph"][0]["@context"]',
    ),
    "included": lambda t: (
        _with(CONTEXT_URL, {"@id": "urn:y", "@included": [{"@context": t, "@id": "urn:x"}]}),
        f'$["@graph"][{_n()}]["@included"][0]["@context"]',
    ),
    "nest": lambda t: (
        _with(CONTEXT_URL, {"@id": CASE_IRI, "@nest": {"@context": t, "title": "x"}}),
        f'$["@graph"][{_n()}]["@nest"]["@context"]',
    ),
    "reverse": lambda t: (
        _with(CONTEXT_URL, {"@id": "urn:y", "@reverse": {"request": {"@context": t, "@id": CASE_IRI}}}),
        f'$["@graph"][{_n()}]["@reverse"]["request"]["@context"]',
    ),
    "json-literal": lambda t: (
        _with(CONTEXT_URL, {"@id": CASE_IRI, "title": {"@type": "@json", "@value": {"@context": t}}}),
        f'$["@graph"][{_n()}]["title"]["@value"]["@context"]',
    ),
    "relative-under-base": lambda t: (
        _with([{"@base": _split(t)[0]}, CONTEXT_URL], {"@id": CASE_IRI, "@context": _split(t)[1]}),
        f'$["@graph"][{_n()}]["@context"]',
    ),
    "lookalike-of-the-published-url": lambda t: (_with(f"{t}#{CONTEXT_URL}"), '$["@context"]'),
    # The expanded form: a top-level array of node objects (rdflib's own output), read since issue 15.
    "expanded-array-member": lambda t: (
        [*_expanded_seed(), {"@id": CASE_IRI, "@context": t}],
        f'$[{len(_expanded_seed())}]["@context"]',
    ),
    "expanded-array-nested": lambda t: (
        [{"@id": CASE_IRI, "urn:p": [{"@context": [t], "@id": "urn:x"}]}, *_expanded_seed()],
        '$[0]["urn:p"][0]["@context"][0]',
    ),
}
TARGETS = [
    "http",
    "existing-path",
    "existing-file-url",
    "missing-path",
    "missing-file-url",
    "dev-zero",
    "dev-zero-file-url",
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("form", list(FORMS))
def test_a_context_reference_is_refused_by_path_without_fetching(
    client: TestClient, probes: Probes, form: str, target: str
) -> None:
    location = probes.targets()[target]
    doc, path = FORMS[form](location)
    r = post(client, json.dumps(doc), JSONLD)
    body = problem(r, 422, "case-vocabulary")
    assert body["detail"].startswith(path + ": "), (body["detail"], path)
    name = PurePosixPath(location).name
    for leaked in (location, name, str(probes.canary.port), "LEAKED", "attacker.example"):
        assert leaked not in r.text, leaked


@pytest.mark.parametrize("form", list(FORMS))
def test_an_existing_and_a_missing_file_are_refused_alike(client: TestClient, probes: Probes, form: str) -> None:
    """No file probe: the answer is the same whether the named file exists or not."""
    answers = []
    for target in ("existing-path", "missing-path", "existing-file-url", "missing-file-url"):
        doc, _ = FORMS[form](probes.targets()[target])
        answers.append(post(client, json.dumps(doc), JSONLD).json())
    assert answers[0] == answers[1] and answers[2] == answers[3], answers


@pytest.mark.parametrize(
    ("context", "extra"),
    [
        pytest.param(CONTEXT_URL, [], id="published-url"),
        pytest.param([CONTEXT_URL], [], id="published-url-in-array"),
        pytest.param([[CONTEXT_URL]], [], id="published-url-in-array-in-array"),
        pytest.param({"@context": CONTEXT_URL}, [], id="published-url-as-a-contexts-context"),
        pytest.param([{"@base": "http://127.0.0.1:9/"}, CONTEXT_URL], [], id="base-alone"),
        pytest.param(CONTEXT_URL, [{"@id": CASE_IRI, "@context": CONTEXT_URL}], id="published-url-on-a-nested-node"),
        pytest.param(CONTEXT_URL, [{"@id": CASE_IRI, "@context": [CONTEXT_URL, None]}], id="null-in-nested-array"),
    ],
)
def test_the_published_context_is_read_from_the_package(
    client: TestClient, probes: Probes, context: Any, extra: list[dict[str, Any]]
) -> None:
    r = post(client, json.dumps(_with(context, *extra)), JSONLD)
    assert r.status_code == 200, r.text[:400]
    assert r.json()["outcome"] == SEED_OUTCOME


@pytest.mark.parametrize("value", [5, True, "", "  "], ids=["number", "boolean", "empty-string", "blank"])
def test_a_context_that_is_no_context_is_refused(client: TestClient, probes: Probes, value: Any) -> None:
    body = problem(post(client, json.dumps(_with([CONTEXT_URL, value])), JSONLD), 422, "case-vocabulary")
    assert body["detail"].startswith('$["@context"][1]: ')


def test_a_long_key_is_cut_in_the_path(client: TestClient, probes: Probes) -> None:
    key = "k" * 500
    doc = _with([CONTEXT_URL, {key: {"@id": "urn:k", "@context": probes.canary.url()}}])
    detail = problem(post(client, json.dumps(doc), JSONLD), 422, "case-vocabulary")["detail"]
    assert detail.startswith('$["@context"][1]["' + "k" * 64 + '…"]["@context"]: ')


# --- the vetting itself: resolution, then an independent verification --------------------------


def _published_as_objects(node: Any, under: bool = False) -> Any:
    """The document with each context that is the published URL replaced by an empty object."""
    if isinstance(node, dict):
        return {k: _published_as_objects(v, k == "@context") for k, v in node.items()}
    if isinstance(node, list):
        return [_published_as_objects(v, under) for v in node]
    return {} if under and node == CONTEXT_URL else node


@pytest.mark.parametrize("form", list(FORMS))
def test_verification_alone_finds_every_form(form: str) -> None:
    """verify() does not rely on resolved(): it names the same path in a document resolution never saw."""
    doc, path = FORMS[form]("http://127.0.0.1:9/ctx")
    with pytest.raises(CaseVocabularyError) as info:
        verify(_published_as_objects(doc))
    assert info.value.message.startswith(path + ": ")


def test_verification_refuses_the_published_url_unresolved() -> None:
    with pytest.raises(CaseVocabularyError):
        verify({"@context": [CONTEXT_URL]})


def _strings_under_context(node: Any, under: bool = False) -> int:
    """How many strings are a context (the value, or a member at any depth of an array, of an @context key)."""
    if isinstance(node, dict):
        return sum(_strings_under_context(v, k == "@context") for k, v in node.items())
    if isinstance(node, list):
        return sum(_strings_under_context(v, under) for v in node)
    return int(under and isinstance(node, str))


def _random_document(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON tree where @context and @import keys, the published URL and other URLs turn up anywhere."""
    roll = rng.random()
    if depth > 5 or roll < 0.25:
        return rng.choice([CONTEXT_URL, "http://127.0.0.1:9/x", "/dev/zero", "plain", 1, None, True])
    if roll < 0.45:
        return [_random_document(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["@context", "@context", "@id", "@value", "@graph", "term", "@nest", "@included", "@reverse", "@import"]
    weights = [4, 4, 2, 1, 2, 3, 1, 1, 1, 0.3]
    return {rng.choices(keys, weights)[0]: _random_document(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_resolution_leaves_no_reference_anywhere() -> None:
    """On 3,000 random documents: refused exactly when a reference other than the published URL is a context."""
    rng = random.Random(13)
    refused = accepted = 0
    for _ in range(3000):
        doc = _random_document(rng)
        before = json.dumps(doc)
        foreign = _strings_under_context(json.loads(before.replace(json.dumps(CONTEXT_URL), "null")))
        has_import = '"@import"' in before
        not_a_context = _has_non_context(doc)
        try:
            out = resolved(doc)
        except CaseVocabularyError as exc:
            refused += 1
            assert foreign or has_import or not_a_context, before
            assert "127.0.0.1" not in exc.message and "/dev/zero" not in exc.message
            continue
        accepted += 1
        assert not foreign and not has_import, before
        assert _strings_under_context(out) == 0, before
    assert refused > 500 and accepted > 500, (refused, accepted)


def _has_non_context(node: Any, under: bool = False) -> bool:
    """Whether a context is a number or a boolean somewhere (neither object, array, null nor string)."""
    if isinstance(node, dict):
        return any(_has_non_context(v, k == "@context") for k, v in node.items())
    if isinstance(node, list):
        return any(_has_non_context(v, under) for v in node)
    return under and isinstance(node, bool | int | float)

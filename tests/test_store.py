"""The determination store (reasoner/store): one suite, run on every backend (tests/store_backends.py).

What is put is found, with its case facts apart; finding filters and pages; a review binds the
digest it read and makes the final status the reviewer's; a re-determination never inherits a
review; export and import round-trip; what put acknowledged survives SIGKILL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rdflib import XSD, Graph, Literal
from rdflib.term import Node

from reasoner import KnowledgeBase, determine
from reasoner.intake.json_case.load import load_json
from reasoner.model import Determination
from reasoner.pipeline import parse_case
from reasoner.render.rdf import determination_terms
from reasoner.store import DeterminationStore, KeptCase, ReviewAction, ReviewIn, ReviewStatus, StoreError, graph_of
from reasoner.store.records import case_graph
from reasoner.store.terms import ST, sha256

from .conftest import EXAMPLES, ROOT
from .store_backends import backend_of, open_store

SHARED_SPARQL_STORE = True  # the remote backend's tests use the server .ci/run starts (tests/store_backends.py)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _decide(kb: KnowledgeBase, name: str) -> tuple[Determination, Graph]:
    payload = (EXAMPLES / f"{name}.json").read_bytes()
    return determine(payload, "json", kb), parse_case(payload, "json", kb).graph


def _json_case(name: str) -> KeptCase:
    return KeptCase("application/json", load_json((EXAMPLES / f"{name}.json").read_bytes()).model_dump_json())


def _rdf11(g: Graph) -> set[tuple[Node, Node, Node]]:
    """The triples, a string literal with and without xsd:string as one (RDF 1.1; N-Triples writes it without)."""
    return {(s, p, Literal(str(o)) if isinstance(o, Literal) and o.datatype == XSD.string else o) for s, p, o in g}


def test_a_determination_put_is_got_back_whole(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, case, by="intake-app", now=T0)
    got = store.get(d.determinationId)
    assert got == kept and got.outcome == "not-medically-necessary" and got.policy == "medicare-pap"
    assert got.determination() == d and json.loads(got.json) == json.loads(d.model_dump_json())
    assert got.digest.startswith("sha256:") and got.stored_at == T0 and got.submitted_by == ("intake-app",)
    assert got.status == ReviewStatus.AWAITING and got.final_outcome is None and got.decided_at is None
    assert store.get("0" * 32) is None


def test_a_favourable_answer_is_final_without_review(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, _ = _decide(kb, "pap-continued-adherent")
    kept = store.put(d, now=T0)
    assert kept.status == ReviewStatus.AUTOMATED and kept.final_outcome == "medically-necessary"
    assert store.get(d.determinationId) == kept and kept.decided_at == T0


def test_the_rdf_kept_is_the_determination_with_provenance(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "bar-lap-rygb")
    store.put(d, case, now=T0)
    g = graph_of(d.determinationId)
    rows = store._select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")  # the graph as kept
    kept = {(r["s"], r["p"], r["o"]) for r in rows}
    shown = set(determination_terms(d, str, lambda text, _: text, case_facts=False))
    assert shown <= kept and len(shown) > 5 * len(d.criteria)  # each criterion's result and status
    prov = "http://www.w3.org/ns/prov#"
    ended = [o for s, p, o in kept if (s, p) == (g + "#activity", prov + "endedAtTime")]
    assert [datetime.fromisoformat(t) for t in ended] == [T0]
    assert (g + "#activity", prov + "used", g + "/case") in kept
    assert not any("caseFacts" in p for _, p, _ in kept)  # the facts are in the case graph only


def test_nothing_that_quotes_the_case_is_in_the_determination_graph(
    kb: KnowledgeBase, store: DeterminationStore
) -> None:
    d, case = _decide(kb, "bar-bmi-33")
    store.put(d, case, claim="urn:claims|PAS-1|urn:members|M-77", now=T0)
    g = graph_of(d.determinationId)
    kept = store._select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
    text = " ".join(" ".join(r.values()) for r in kept)
    assert "case-data/" not in text and "M-77" not in text and "finding" not in text
    assert not any(f.text in text for c in d.criteria for f in c.facts)  # "BMI 33 kg/m2", say
    assert not any(r["p"].endswith(("#json", "#claim")) for r in kept)
    stored = store.find(claim="urn:claims|PAS-1|urn:members|M-77")
    assert [s.id for s in stored] == [d.determinationId] and stored[0].json == d.model_dump_json()
    assert stored[0].claims == ("urn:claims|PAS-1|urn:members|M-77",)


def _graph(store: DeterminationStore, d: Determination) -> set[tuple[str, str, str]]:
    g = graph_of(d.determinationId)
    return {(r["s"], r["p"], r["o"]) for r in store._select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")}


def test_a_deferred_put_is_kept_at_once_and_its_rdf_written_by_project(
    kb: KnowledgeBase, store: DeterminationStore
) -> None:
    d, case = _decide(kb, "bar-bmi-33")
    kept = store.put(d, case, by="app-a", now=T0, defer=True)
    assert store.get(d.determinationId) == kept and store.case(d.determinationId) is not None
    assert [s.id for s in store.find(status="awaiting-review")] == [d.determinationId]
    pending = _graph(store, d)
    g = graph_of(d.determinationId)
    assert (g, f"{ST}pending", "true") in pending and not any(p.endswith("#criterionResult") for _, p, _ in pending)
    assert store.project(d) is True
    written = _graph(store, d)
    assert set(determination_terms(d, str, lambda text, _: text, case_facts=False)) <= written
    assert (g, f"{ST}pending", "true") not in written
    assert store.project(d) is False and _graph(store, d) == written  # once only


def test_a_pending_rdf_is_never_written_over_a_newer_determination(
    kb: KnowledgeBase, store: DeterminationStore
) -> None:
    d, case = _decide(kb, "bar-bmi-33")
    store.put(d, case, now=T0, defer=True)
    newer = d.model_copy(update={"rationale": [*d.rationale, "(a newer engine)"]})
    store.put(newer, case, now=T0 + timedelta(hours=1))  # same id, another JSON: replaces it, RDF at once
    assert store.project(d) is False  # the old answer's RDF would mix into the new one's graph
    now = store.get(d.determinationId)
    assert store.project_pending() == 0 and now is not None and now.digest == sha256(newer.model_dump_json())


def test_what_a_stopped_writer_left_pending_is_finished(kb: KnowledgeBase, store: DeterminationStore) -> None:
    names = ["bar-bmi-33", "pap-continued-adherent", "bar-lap-rygb"]
    decided = [_decide(kb, name) for name in names]
    for d, case in decided:
        store.put(d, case, now=T0, defer=True)  # and no project: the server was killed after answering
    assert store.project_pending() == 3 and store.project_pending() == 0
    for d, _ in decided:
        assert set(determination_terms(d, str, lambda text, _: text, case_facts=False)) <= _graph(store, d)


def test_the_case_facts_are_kept_apart(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "bar-lap-rygb")
    store.put(d, case, now=T0)
    kept = store.case(d.determinationId)
    assert kept is not None and kept.media_type == "application/n-triples"
    assert _rdf11(case_graph(kept, kb)) == _rdf11(case)  # every fact, as given (a JSON case has no blank nodes)
    assert store.case("0" * 32) is None


def test_a_json_case_is_kept_as_its_json_form(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "bar-lap-rygb")
    store.put(d, _json_case("bar-lap-rygb"), now=T0)
    kept = store.case(d.determinationId)
    assert kept == _json_case("bar-lap-rygb")
    assert _rdf11(case_graph(kept, kb)) == _rdf11(case)
    assert determine(kept.text.encode(), "json", kb) == d  # judged again, the same answer


def test_find_filters_and_pages_latest_first(kb: KnowledgeBase, store: DeterminationStore) -> None:
    names = ["pap-initial-b1-hst", "pap-initial-rdi-3", "bar-bmi-33", "pap-continued-adherent"]
    for i, name in enumerate(names):
        store.put(_decide(kb, name)[0], by="app-a" if i % 2 else "app-b", now=T0 + timedelta(minutes=i))
    assert [s.outcome for s in store.find()] == [
        "medically-necessary",
        "not-medically-necessary",
        "not-medically-necessary",
        "medically-necessary",
    ]
    assert [s.policy for s in store.find(policy="medicare-bariatric")] == ["medicare-bariatric"]
    assert len(store.find(policy="medicare-pap", outcome="medically-necessary")) == 2
    assert len(store.find(since=T0 + timedelta(minutes=2))) == 2
    assert len(store.find(status="awaiting-review")) == 2 and len(store.find(status="automated")) == 2
    assert {s.submitted_by for s in store.find(by="app-a")} == {("app-a",)} and len(store.find(by="app-a")) == 2
    assert [s.id for s in store.find(limit=2, offset=1)] == [s.id for s in store.find()[1:3]]
    assert store.find(policy='x" } } DROP ALL #') == []  # a value is a literal, never query text
    assert store.count() == 4


def test_the_same_determination_again_keeps_its_first_time_and_gains_the_asker(
    kb: KnowledgeBase, store: DeterminationStore
) -> None:
    d, case = _decide(kb, "pap-initial-b1-hst")
    store.put(d, case, by="app-a", now=T0)
    again = store.put(d, case, by="app-b", claim="urn:claim|1", now=T0 + timedelta(hours=1))
    (only,) = store.find()
    assert only == again and only.stored_at == T0
    assert only.submitted_by == ("app-a", "app-b") and only.claims == ("urn:claim|1",)
    assert (kept := store.case(d.determinationId)) is not None and len(case_graph(kept, kb)) == len(case)


def test_an_id_that_is_not_one_is_refused(store: DeterminationStore) -> None:
    with pytest.raises(ValueError, match="not a determination id"):
        store.get("> } DROP ALL {")


def test_a_review_makes_the_final_status_the_reviewers(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, case, now=T0)
    overturn = ReviewIn(ReviewAction.OVERTURN, "dr-lee", kept.digest, "medically-necessary", "adherence log received")
    after = store.review(d.determinationId, overturn, now=T0 + timedelta(hours=2))
    assert after.status == ReviewStatus.OVERTURNED and after.final_outcome == "medically-necessary"
    assert after.outcome == "not-medically-necessary"  # the engine's answer is kept as it was
    assert after.decided_at == T0 + timedelta(hours=2)
    (review,) = store.reviews(d.determinationId)
    assert (review.action, review.reviewer, review.outcome, review.reason) == (
        ReviewAction.OVERTURN, "dr-lee", "medically-necessary", None)  # fmt: skip
    assert store.reviews(d.determinationId, reasons=True)[0].reason == "adherence log received"
    assert [s.id for s in store.find(status="overturned")] == [d.determinationId]
    upheld = store.review(
        d.determinationId, ReviewIn(ReviewAction.UPHOLD, "dr-kim", kept.digest), now=T0 + timedelta(hours=3)
    )
    assert upheld.status == ReviewStatus.UPHELD and upheld.final_outcome == "not-medically-necessary"
    assert len(store.reviews(d.determinationId)) == 2


@pytest.mark.parametrize(
    ("review", "code"),
    [
        (ReviewIn(ReviewAction.OVERTURN, "dr-lee", "", "medically-necessary", None), "reason-required"),
        (ReviewIn(ReviewAction.OVERTURN, "dr-lee", "", "medically-necessary", "  "), "reason-required"),
        (ReviewIn(ReviewAction.OVERTURN, "dr-lee", "", None, "why"), "outcome-required"),
        (ReviewIn(ReviewAction.OVERTURN, "dr-lee", "", "not-medically-necessary", "why"), "outcome-unchanged"),
        (ReviewIn(ReviewAction.MODIFY, "dr-lee", "", "medically-necessary", None), "reason-required"),
        (ReviewIn(ReviewAction.MODIFY, "dr-lee", "", "approved", "why"), "unknown-outcome"),
        (ReviewIn(ReviewAction.UPHOLD, "dr-lee", "", "medically-necessary", None), "outcome-mismatch"),
        (ReviewIn(ReviewAction.UPHOLD, " ", "", None, None), "reviewer-required"),
        (ReviewIn(ReviewAction.UPHOLD, "dr-lee", "sha256:" + "0" * 64, None, None), "digest-mismatch"),
    ],
)
def test_a_review_that_cannot_stand_is_refused(
    kb: KnowledgeBase, store: DeterminationStore, review: ReviewIn, code: str
) -> None:
    d, _ = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, now=T0)
    if not review.digest:
        review = ReviewIn(review.action, review.reviewer, kept.digest, review.outcome, review.reason)
    with pytest.raises(StoreError) as refused:
        store.review(d.determinationId, review)
    assert refused.value.code == code
    assert store.get(d.determinationId) == kept and store.reviews(d.determinationId) == []


def test_a_review_of_nothing_stored_is_not_found(store: DeterminationStore) -> None:
    with pytest.raises(StoreError) as refused:
        store.review("ab" * 16, ReviewIn(ReviewAction.UPHOLD, "dr-lee", "sha256:x"))
    assert refused.value.code == "not-found"


def test_a_re_determination_never_inherits_a_review(kb: KnowledgeBase, store: DeterminationStore) -> None:
    d, case = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, case, now=T0)
    store.review(d.determinationId, ReviewIn(ReviewAction.UPHOLD, "dr-lee", kept.digest))
    # The same id with another JSON: what a new engine version gives for the same case and knowledge base.
    changed = d.model_copy(update={"rationale": [*d.rationale, "a new engine explains more"]})
    again = store.put(changed, case, now=T0 + timedelta(days=1))
    assert again.status == ReviewStatus.AWAITING and again.final_outcome is None and again.digest != kept.digest
    assert store.get(d.determinationId) == again and store.reviews(d.determinationId) == []
    # A new knowledge base gives a new id: nothing of the old determination's review carries over.
    other = d.model_copy(update={"determinationId": "cd" * 16, "knowledgeBase": "sha256:" + "1" * 64})
    assert store.put(other, case).status == ReviewStatus.AWAITING


def test_export_and_import_round_trip(kb: KnowledgeBase, store: DeterminationStore, tmp_path: Path) -> None:
    d, case = _decide(kb, "pap-continued-not-adherent")
    kept = store.put(d, case, by="app-a", now=T0)
    store.review(
        d.determinationId, ReviewIn(ReviewAction.OVERTURN, "dr-lee", kept.digest, "medically-necessary", "log")
    )
    store.put(_decide(kb, "bar-lap-rygb")[0], now=T0)
    dump = store.export()
    with open_store(tmp_path / "restored", fresh=True, backend=backend_of(store)) as restored:
        assert restored.import_(dump) == 2
        assert restored.get(d.determinationId) == store.get(d.determinationId)
        assert restored.reviews(d.determinationId, reasons=True) == store.reviews(d.determinationId, reasons=True)
        assert restored.case(d.determinationId) == store.case(d.determinationId) is not None
        with pytest.raises(StoreError) as refused:
            restored.import_(b"<not n-quads")
        assert refused.value.code == "invalid-nquads" and restored.count() == 2


_CHILD = """
import os, sys
from pathlib import Path

from reasoner import KnowledgeBase, determine
from reasoner.store import EmbeddedStore
kb = KnowledgeBase.load(Path(sys.argv[2]))
store = EmbeddedStore(Path(sys.argv[1]), flush=sys.argv[4] == "flush")
d = determine(Path(sys.argv[3]).read_bytes(), "json", kb)
store.put(d)
print(d.determinationId, flush=True)
os.kill(os.getpid(), 9)  # no clean shutdown: what put acknowledged must be on disk
"""


@pytest.mark.parametrize("flush", ["flush", "no-flush"])
def test_an_embedded_put_survives_sigkill(tmp_path: Path, flush: str) -> None:
    from reasoner.store import EmbeddedStore

    case = EXAMPLES / "pap-initial-b1-hst.json"
    run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "data"), str(ROOT), str(case), flush],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == -9, run.stderr
    ident = run.stdout.strip()
    store = EmbeddedStore(tmp_path / "data")
    found = store.get(ident)
    store.close()
    assert found is not None and found.outcome == "medically-necessary"


def test_an_embedded_folder_in_use_by_another_process_is_named(tmp_path: Path) -> None:
    from reasoner.store import EmbeddedStore

    store = EmbeddedStore(tmp_path / "data")
    try:
        code = "from pathlib import Path; from reasoner.store import EmbeddedStore; EmbeddedStore(Path('data'))"
        run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    finally:
        store.close()
    assert run.returncode == 1 and "in use by another process" in run.stderr

"""A prepared knowledge base is kept in the cache folder and read back, never trusted blindly.

reasoner/knowledge/prepared_cache.py, reasoner/_disk_cache.py (``read_pickle``), docs/threats.md G1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, _disk_cache, determine, render
from reasoner.compare import compare
from reasoner.knowledge import files as files_module
from reasoner.knowledge import prepared_cache
from reasoner.knowledge.files import KnowledgeFiles

from .conftest import EXAMPLES, ROOT

CASES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GR_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def files() -> KnowledgeFiles:
    return KnowledgeFiles.read(ROOT)


def _entry(cache: Path, files: KnowledgeFiles, *, checked: bool = False) -> Path:
    return cache / "prepared" / prepared_cache.key(files, shapes_checked=checked)


def _never_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> KnowledgeBase:
        raise AssertionError("prepared again")

    monkeypatch.setattr(KnowledgeBase, "_prepared", classmethod(refuse))


def _answers(kb: KnowledgeBase) -> list[str]:
    return [render(determine(p.read_bytes(), "json", kb), "json", kb=kb) for p in CASES]


def test_a_second_load_is_read_from_the_cache_and_answers_every_example_alike(
    cache: Path, files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prepared = KnowledgeBase.from_files(files, checks="none")
    assert _entry(cache, files).is_file()
    _never_prepared(monkeypatch)
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "ontology", copy / "ontology")
    shutil.copytree(ROOT / "shapes", copy / "shapes")
    revived = KnowledgeBase.from_files(KnowledgeFiles.read(copy), checks="none")  # same files elsewhere
    assert revived.root == copy.resolve() and revived.content_hash == prepared.content_hash
    assert revived.graph_digest() == prepared.graph_digest()
    assert len(CASES) > 40
    assert _answers(revived) == _answers(prepared)


def test_an_edited_file_is_prepared_again(cache: Path, files: KnowledgeFiles, tmp_path: Path) -> None:
    KnowledgeBase.from_files(files, checks="none")
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", copy / "ontology")
    shutil.copytree(ROOT / "shapes", copy / "shapes")
    first = sorted((copy / "ontology").glob("*.ttl"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    edited = KnowledgeFiles.read(copy)
    assert prepared_cache.read(edited, shapes_checked=False) is None
    kb = KnowledgeBase.from_files(edited, checks="none")
    assert kb.content_hash == edited.content_hash != files.content_hash
    assert len(list((cache / "prepared").iterdir())) == 2


def test_unchecked_shapes_do_not_serve_a_checked_load(cache: Path, files: KnowledgeFiles) -> None:
    KnowledgeBase.from_files(files, checks="none")
    assert prepared_cache.read(files, shapes_checked=True) is None
    assert prepared_cache.read(files, shapes_checked=False) is not None


def test_another_engine_has_another_key(files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    before = prepared_cache.key(files, shapes_checked=True)
    monkeypatch.setattr(_disk_cache, "engine_digest", lambda: "another engine")
    assert prepared_cache.key(files, shapes_checked=True) != before


@pytest.mark.parametrize(
    "damage", ["flipped byte", "flipped in the pickle", "flipped in a blob", "truncated", "not a pickle"]
)
def test_a_damaged_entry_is_prepared_again_not_trusted(cache: Path, files: KnowledgeFiles, damage: str) -> None:
    KnowledgeBase.from_files(files, checks="none")
    entry = _entry(cache, files)
    data = bytearray(entry.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 2] ^= 0xFF
    elif damage == "flipped in the pickle":
        data[len(data) - len(_disk_cache.read_pickle("prepared", entry.name) or b"") + 50] ^= 0xFF
    elif damage == "flipped in a blob":  # the graphs' and groups' bytes, checked while the rest is unpickled
        data[-1] ^= 0xFF
    elif damage == "truncated":
        del data[len(data) // 2 :]
    else:
        data = bytearray(b"hello")
    entry.write_bytes(bytes(data))
    assert prepared_cache.read(files, shapes_checked=False) is None
    kb = KnowledgeBase.from_files(files, checks="none")
    assert kb.content_hash == files.content_hash
    assert prepared_cache.read(files, shapes_checked=False) is not None  # written again


@pytest.mark.parametrize("where", ["first part", "rest", "neither"])
def test_a_pickle_whose_blobs_are_checked_apart_is_read_only_if_both_parts_match(cache: Path, where: str) -> None:
    from reasoner._rdf import pickled

    value = {"blob": pickled.Deferred(data=pickled.dumps(list(range(300_000))))}  # over a megabyte: a thread checks it
    data = pickled.dumps(value)
    assert len(data) - pickled.blobs_at(data) > _disk_cache._CHECKED_APART
    _disk_cache.write_pickle("prepared", "k", data, keep=8, first=pickled.blobs_at(data))
    path = cache / "prepared" / "k"
    raw = bytearray(path.read_bytes())
    if where == "first part":
        raw[len(raw) - len(data) + 10] ^= 0xFF
    elif where == "rest":
        raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    back = _disk_cache.kept("prepared", "k", dict)
    assert (_disk_cache.read_pickle("prepared", "k") is None) is (back is None) is (where != "neither")
    if back is not None:
        assert back["blob"].get() == list(range(300_000))


def test_a_pickle_whose_blobs_cannot_be_checked_in_a_thread_is_checked_in_line(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from reasoner._rdf import pickled

    value = {"blob": pickled.Deferred(data=pickled.dumps(list(range(300_000))))}
    data = pickled.dumps(value)
    _disk_cache.write_pickle("prepared", "k", data, keep=8, first=pickled.blobs_at(data))

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    back = _disk_cache.kept("prepared", "k", dict)
    assert back is not None and back["blob"].get() == list(range(300_000))


def test_an_entry_with_the_right_digest_but_not_a_knowledge_base_is_refused(cache: Path, files: KnowledgeFiles) -> None:
    _disk_cache.write_pickle("prepared", _entry(cache, files).name, b"\x80\x05K\x07.", keep=8)  # pickle of 7
    assert _disk_cache.read_pickle("prepared", _entry(cache, files).name) is not None
    assert prepared_cache.read(files, shapes_checked=False) is None


@pytest.mark.parametrize("where", ["file", "folder"])
def test_an_entry_others_could_write_is_not_read(cache: Path, files: KnowledgeFiles, where: str) -> None:
    KnowledgeBase.from_files(files, checks="none")
    entry = _entry(cache, files)
    (entry if where == "file" else entry.parent).chmod(0o666 if where == "file" else 0o777)
    assert prepared_cache.read(files, shapes_checked=False) is None


def test_a_symbolic_link_is_not_followed(cache: Path, files: KnowledgeFiles, tmp_path: Path) -> None:
    KnowledgeBase.from_files(files, checks="none")
    entry = _entry(cache, files)
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert prepared_cache.read(files, shapes_checked=False) is None


@pytest.mark.parametrize("how", ["file others can write", "folder others can write", "symbolic link"])
def test_a_verdict_others_could_have_written_is_not_read(cache: Path, tmp_path: Path, how: str) -> None:
    """A lint verdict or a SHACL-for-SHACL pass decides what is checked: read as a pickle is (G1)."""
    _disk_cache.write("lint", "verdict", "no findings")
    entry = cache / "lint" / "verdict"
    assert _disk_cache.read("lint", "verdict") == "no findings"
    assert entry.stat().st_mode & 0o777 == 0o600 and entry.parent.stat().st_mode & 0o777 == 0o700
    if how == "file others can write":
        entry.chmod(0o666)
    elif how == "folder others can write":
        entry.parent.chmod(0o777)
    else:
        elsewhere = tmp_path / "elsewhere"
        entry.rename(elsewhere)
        entry.symlink_to(elsewhere)
    assert _disk_cache.read("lint", "verdict") is None


def test_a_cache_folder_that_cannot_be_written_only_costs_time(
    files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GR_CACHE_DIR", str(blocker / "cache"))
    kb = KnowledgeBase.from_files(files, checks="none")
    assert kb.content_hash == files.content_hash and kb.policies


def test_only_the_newest_entries_stay(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        _disk_cache.write_pickle("prepared", f"entry-{i}", b"x", keep=3)
        os.utime(cache / "prepared" / f"entry-{i}", (1000 + i, 1000 + i))
    assert sorted(p.name for p in (cache / "prepared").iterdir()) == ["entry-2", "entry-3", "entry-4"]


def test_a_lint_after_an_edit_parses_only_the_edited_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", copy / "ontology")
    shutil.copytree(ROOT / "shapes", copy / "shapes")
    monkeypatch.setattr(files_module, "_PARSED", {})  # nothing remembered in this process
    for _rel, data in KnowledgeFiles.read(copy).files:
        files_module.parsed(data)  # as a first lint or load does: each file kept in the cache folder
    edited = sorted((copy / "shapes").glob("*.ttl"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    monkeypatch.setattr(files_module, "_PARSED", {})  # a new process
    parses: list[int] = []
    real = files_module.Graph.parse

    def counted(self: files_module.Graph, *a: object, **k: object) -> files_module.Graph:
        parses.append(1)
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module.Graph, "parse", counted)
    again = KnowledgeFiles.read(copy)
    graphs = [files_module.parsed(data) for _rel, data in again.files]
    assert len(parses) == 1 and len(graphs) == len(again.files) > 20
    assert sum(len(g) for g in graphs) > 5000


def test_gr_cache_dir_off_keeps_nothing(files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GR_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    kb = KnowledgeBase.from_files(files, checks="none")
    assert kb.policies and _disk_cache.cache_dir() is None
    assert prepared_cache.read(files, shapes_checked=False) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cached_parses", [True, False])
def test_the_shapes_hold_one_object_per_term(
    files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cached_parses: bool
) -> None:
    """Rule expansion writes interned terms; files parsed afresh are interned by a copy (preparing.interned)."""
    from reasoner._rdf.terms import INTERNED

    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path / "cache") if cached_parses else "off")
    monkeypatch.setattr(files_module, "_PARSED", {})
    if cached_parses:
        for _rel, data in files.files:
            files_module.parsed(data)
        monkeypatch.setattr(files_module, "_PARSED", {})  # read back from the cache folder, interned
    kb = KnowledgeBase.from_files(files, checks="none")
    rules_wrote = [
        s for s in kb.shapes.subjects() if str(s).startswith("https://w3id.org/guideline-reasoner/shapes/rule/")
    ]
    assert len(rules_wrote) > 50
    assert all(INTERNED.get(term) is term for triple in kb.shapes for term in triple)


def test_a_revived_knowledge_base_answers_without_reading_its_graphs(
    cache: Path, files: KnowledgeFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its graphs stay in the cache folder's bytes until asked for: no determination asks (reasoner/_rdf/pickled.py)."""
    prepared = KnowledgeBase.from_files(files, checks="none")
    _never_prepared(monkeypatch)
    revived = KnowledgeBase.from_files(files, checks="none")
    assert not revived.deferred_ontology.loaded and not revived.deferred_shapes.loaded
    assert _answers(revived) == _answers(prepared)
    for kb in (prepared, revived):  # Turtle and FHIR intake, a comparison under every policy, letters
        seed = determine((EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes(), "turtle", kb)
        pas = (ROOT / "examples/fhir/bar-bmi-33.pas.json").read_bytes()
        fhir = determine(pas, "fhir", kb, policy="medicare-bariatric")
        letters = [render(d, f, kb=kb) for d in (seed, fhir) for f in ("markdown", "html")]
        compared = compare((EXAMPLES / "sij-seed-neurectomy.json").read_bytes(), "json", kb).model_dump()
        if kb is prepared:
            expected = (letters, compared)
    assert (letters, compared) == expected
    assert not revived.deferred_ontology.loaded and not revived.deferred_shapes.loaded
    # Asked for, they are the graphs prepared.
    assert revived.graph_digest() == prepared.graph_digest()
    assert revived.deferred_ontology.loaded and revived.deferred_shapes.loaded


def test_two_sets_of_files_never_share_a_digest(tmp_path: Path) -> None:
    """A file's bytes may hold NULs: one file holding another's name and bytes is not those two files."""
    head, tail = b"@prefix ex: <http://example.org/> .\n# x", b"\nex:a ex:b ex:c .\n"
    two = KnowledgeFiles(tmp_path, (("ontology/a.ttl", head), ("ontology/b.ttl", tail)), ())
    one = KnowledgeFiles(tmp_path, (("ontology/a.ttl", head + b"\0ontology/b.ttl\0" + tail),), ())
    assert two.content_hash != one.content_hash and two.digest_of_everything != one.digest_of_everything


def test_a_relative_iri_means_the_same_wherever_the_command_runs(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"@prefix ex: <http://example.org/> .\nex:a ex:b <relative> .\n"
    found = []
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        monkeypatch.setattr(files_module, "_PARSED", {})  # as a new process: the cache folder's parse, if any
        found.append({str(o) for o in files_module.parsed(data).objects()})
    assert found[0] == found[1] == {"https://w3id.org/guideline-reasoner/unresolved/relative"}

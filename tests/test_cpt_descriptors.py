"""Licensed CPT descriptors plugged in by GR_CPT_DESCRIPTORS (reasoner/knowledge/cpt_descriptors.py).

The descriptors here are placeholders written for the test, not the AMA's text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoner import KnowledgeBase, determine
from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.code_view import code_view
from reasoner.knowledge.cpt_descriptors import ENV, descriptor
from reasoner.render.text import render

from .conftest import EXAMPLES

SEED = (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()


def test_without_a_file_our_labels_are_shown(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert descriptor("64772") is None
    letter = render(determine(SEED, "json", kb), "markdown")
    assert "CPT 64772 x 6 (Extradural transection of other spinal nerve)" in letter


@pytest.mark.parametrize(
    "text",
    [
        "code,descriptor\n64772,LICENSED TEXT A, with a comma\n",  # CSV with a header, a comma in the text
        '64772,"LICENSED TEXT A, with a comma"\n',  # CSV, quoted
        "64772\tLICENSED TEXT A, with a comma\n\n",  # tab-separated, a blank line
    ],
)
def test_a_licensed_file_replaces_our_label_in_letters_and_the_code_view(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    path = tmp_path / "cpt.txt"
    path.write_text(text)
    monkeypatch.setenv(ENV, str(path))
    assert descriptor("64772") == "LICENSED TEXT A, with a comma"
    d = determine(SEED, "json", kb)
    assert "(LICENSED TEXT A, with a comma)" in render(d, "markdown")
    assert "LICENSED TEXT A, with a comma; " in render(d, "html", kb=kb)
    assert d.requested[0].label == "Extradural transection of other spinal nerve"  # the answer keeps our label
    view = code_view(kb, "cpt", "64772")
    assert (view["description"], view["label"]) == ("LICENSED TEXT A, with a comma", d.requested[0].label)


def test_a_malformed_or_missing_file_names_the_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cpt.csv"
    path.write_text("64772,fine\nnot-a-code,text\n")
    monkeypatch.setenv(ENV, str(path))
    with pytest.raises(KnowledgeBaseError, match=r"cpt.csv, line 2: expected a CPT code"):
        descriptor("64772")
    monkeypatch.setenv(ENV, str(tmp_path / "absent.csv"))
    with pytest.raises(KnowledgeBaseError, match="the CPT descriptor file cannot be read"):
        descriptor("64772")


def test_an_edited_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cpt.csv"
    path.write_text("64772,first\n")
    monkeypatch.setenv(ENV, str(path))
    assert descriptor("64772") == "first"
    path.write_text("64772,second text\n")
    assert descriptor("64772") == "second text"

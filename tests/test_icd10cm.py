"""ICD-10-CM, whole, from the simple-icd-10-cm package (reasoner/knowledge/icd10cm.py; issue 22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoner.knowledge import icd10cm

cm = icd10cm.package()  # the package's own answers, to compare with


@pytest.fixture(scope="module")
def release() -> icd10cm.Icd10Cm:
    return icd10cm.release()


def test_every_item_of_the_release_is_there(release: icd10cm.Icd10Cm) -> None:
    theirs = set(cm.get_all_codes(True))
    assert len(release) == len(theirs) > 98_000
    assert all(code in release for code in theirs)
    billable = {c for c in theirs if cm.is_leaf(c)}
    assert set(release.billable_codes()) == billable and len(billable) > 74_000


def test_a_code_a_category_and_what_is_not_a_code(release: icd10cm.Icd10Cm) -> None:
    code = release.get("M47.816")
    assert code is not None and code.billable
    assert code.description == "Spondylosis without myelopathy or radiculopathy, lumbar region"
    category = release.get("M47.8")
    assert category is not None and not category.billable and category.description == "Other spondylosis"
    assert release.get("M99.999") is None and "M99.999" not in release


def test_ancestors_and_descendants(release: icd10cm.Icd10Cm) -> None:
    assert release.ancestors("M47.816") == ["M47.81", "M47.8", "M47", "M45-M49", "13"]
    below = release.descendants("M47.81")
    assert "M47.816" in below and all(c.startswith("M47.81") for c in below)
    bmi = [c for c in release.descendants("Z68") if "Z68.35" <= c <= "Z68.45" and release.get(c).billable]  # type: ignore[union-attr]
    assert bmi == ["Z68.35", "Z68.36", "Z68.37", "Z68.38", "Z68.39", "Z68.41", "Z68.42", "Z68.43", "Z68.44", "Z68.45"]


def test_a_block_named_as_its_category_has_no_loop(release: icd10cm.Icd10Cm) -> None:
    b20 = release.get("B20")
    assert b20 is not None and b20.billable and b20.parent == "1"
    assert release.ancestors("B20") == ["1"]


def test_near_misses_are_billable_codes_close_in_spelling(release: icd10cm.Icd10Cm) -> None:
    assert release.near("M47.810") == ["M47.811", "M47.812", "M47.813"]  # its siblings, in the release's order
    near = release.near("M47.86")
    assert "M47.816" in release.near("M47.816X") and all(release.get(c).billable for c in near)  # type: ignore[union-attr]
    assert release.near("M54.5") and release.near("Q") == []


def test_a_second_process_reads_the_index_from_the_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path))
    icd10cm.release.cache_clear()
    try:
        first = icd10cm.release()
        assert list((tmp_path / "icd10cm").iterdir())
        icd10cm.release.cache_clear()

        def never() -> dict[str, tuple[str, bool, str | None]]:
            raise AssertionError("read from the package again")

        monkeypatch.setattr(icd10cm, "_read_package", never)
        again = icd10cm.release()
        assert len(again) == len(first) and again.get("M47.816") == first.get("M47.816")
    finally:
        icd10cm.release.cache_clear()


def test_the_release_is_named(release: icd10cm.Icd10Cm) -> None:
    assert icd10cm.FISCAL_YEAR == 2026 and icd10cm.EFFECTIVE.isoformat() == "2026-04-01"
    assert release.version == "1.5.0"

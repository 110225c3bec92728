"""ICD-10-CM, whole: every chapter, block, category and code of the release the simple-icd-10-cm package ships.

The package (MIT licence) carries the CDC's tabular list and code list, which are public domain,
official descriptions included (unlike CPT's). It is the only module that imports the package:
reading its XML takes more than a second, so the index built from it is kept in the cache folder
(reasoner/_disk_cache.py) by the package's version, and read from there in a few tens of
milliseconds. Nothing here is loaded as triples, and nothing on a request's path reads it until
a code is looked up.

Codes are written with their dot (``M47.816``); blocks as ranges (``M45-M49``), chapters by number.
A code is billable when it is a leaf of the classification: a category with subcategories
(``M47.8``) is not a code a claim may carry. Where a block is named as its one category (``B20``),
the category is the item of that name.
"""

from __future__ import annotations

import difflib
import functools
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from typing import Any

from reasoner import _disk_cache

DISTRIBUTION = "simple-icd-10-cm"
#: The release the package ships: the fiscal year and the date its update took effect.
FISCAL_YEAR = 2026
EFFECTIVE = date(2026, 4, 1)  # the April 1, 2026 update of FY 2026 (data/icd10c-tabular-April-1-2026.xml)
RELEASE = "ICD-10-CM FY2026 (April 1, 2026 update)"
#: The longest a code is, its dot included (``S72.001A``): anything longer is no code of any year.
LONGEST = 8
#: The dates the fiscal year's code set is in force: from 1 October to 30 September.
IN_FORCE = (date(FISCAL_YEAR - 1, 10, 1), date(FISCAL_YEAR, 9, 30))
# What decides the index kept in the cache folder, beside the package's version: this code and how it is pickled.
_BUILDING_MODULES = ("knowledge/icd10cm.py", "_rdf/pickled.py")


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the classification: a chapter, a block, a category or subcategory, or a code."""

    code: str
    description: str
    billable: bool  # a leaf: a code a claim may carry
    parent: str | None


class Icd10Cm:
    """The classification of one release, by code (with its dot)."""

    def __init__(self, items: dict[str, tuple[str, bool, str | None]], version: str) -> None:
        self._items = items
        self.version = version  # of the package the items were read from
        self._children: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._items

    def get(self, code: str) -> Item | None:
        """The item ``code`` names (``M47.816``, ``M47``, ``M45-M49``), or None when the release has none."""
        found = self._items.get(code)
        return None if found is None else Item(code, *found)

    def billable_codes(self) -> Iterator[str]:
        """Every code a claim may carry, in the classification's order."""
        return (code for code, (_d, billable, _p) in self._items.items() if billable)

    def ancestors(self, code: str) -> list[str]:
        """The items above ``code``, nearest first (``M47.81``, ``M47.8``, ``M47``, ``M45-M49``, ``13``)."""
        out = []
        parent = self._items[code][2] if code in self._items else None
        while parent is not None:
            out.append(parent)
            parent = self._items[parent][2]
        return out

    def descendants(self, code: str) -> list[str]:
        """Every item below ``code``, in the classification's order."""
        if self._children is None:
            children: dict[str, list[str]] = {}
            for child, (_d, _b, parent) in self._items.items():
                if parent is not None:
                    children.setdefault(parent, []).append(child)
            self._children = children
        out: list[str] = []
        stack = list(reversed(self._children.get(code, [])))
        while stack:
            item = stack.pop()
            out.append(item)
            stack.extend(reversed(self._children.get(item, [])))
        return out

    def billable_under(self, code: str) -> list[str]:
        """The billable codes under a category (``M47.8``: ``M47.811`` ... ``M47.899``), in order."""
        return [c for c in self.descendants(code) if self._items[c][1]]

    def near(self, code: str, most: int = 3) -> list[str]:
        """The billable codes closest to ``code`` (for a code the release does not have).

        Those sharing the longest beginning with it first (its siblings, for a mistyped last
        character), then the closest in spelling; none under 0.6 of difflib's ratio.
        """
        code = code.upper()
        if len(code) > LONGEST:
            return []  # and difflib's cost grows with the length: none is near
        pool = [c for c in self.billable_codes() if c[:3] == code[:3]] or [
            c for c in self.billable_codes() if c[:1] == code[:1]
        ]
        ratio = difflib.SequenceMatcher
        scored = [(len(os.path.commonprefix([c, code])), ratio(None, code, c).ratio(), c) for c in pool]
        ranked = sorted((s for s in scored if s[1] >= 0.6), key=lambda s: (-s[0], -s[1]))  # stable: the release's order
        return [c for _, _, c in ranked[:most]]


def absent(code: str, when: date | None = None) -> str:
    """Why ``code`` is no code of the release, with the closest codes (``when``: the date it was asked for).

    A text longer than any code is not repeated, and not matched: difflib's cost grows with it.
    """
    if len(code) > LONGEST:
        return f"not an ICD-10-CM code: longer than any ({LONGEST} characters at most, with its dot)"
    near = release().near(code)
    closest = f"; the closest codes are {', '.join(near)}" if near else ""
    held = RELEASE if when is None else f"{RELEASE}, in force on {when.isoformat()},"
    return f"{code} is not an ICD-10-CM code: {held} has no such code{closest}"


def fiscal_year(when: date) -> int:
    """The fiscal year whose code set is in force on ``when`` (FY2026 runs from 2025-10-01 to 2026-09-30)."""
    return when.year + 1 if when.month >= 10 else when.year


def in_force(when: date) -> bool:
    """Whether the release held here is the code set in force on ``when``.

    Codes the April update added are taken as in force from 1 October too: the package holds the
    update, not the October file, so the few codes new in April cannot be told apart.
    """
    return IN_FORCE[0] <= when <= IN_FORCE[1]


def package() -> Any:
    """The simple_icd_10_cm module (imported here only: it parses the tabular list's XML on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 1.5.0 reads its data with importlib.resources.read_text
        import simple_icd_10_cm

    return simple_icd_10_cm


@functools.cache
def release() -> Icd10Cm:
    """The release the installed package ships, from the cache folder when it was read before."""
    version = metadata.version(DISTRIBUTION)
    key = _disk_cache.key(f"{DISTRIBUTION}=={version}", _BUILDING_MODULES)
    found = _disk_cache.kept("icd10cm", key, dict)
    if found:
        return Icd10Cm(found, version)
    items = _read_package()
    _disk_cache.keep("icd10cm", key, items, most=2)
    return Icd10Cm(items, version)


def _read_package() -> dict[str, tuple[str, bool, str | None]]:
    cm = package()
    items: dict[str, tuple[str, bool, str | None]] = {}
    for code in cm.get_all_codes(True):
        # A block named as its one category (B20, C7A...) is listed twice: the category is kept,
        # under the block's chapter (the package gives the block itself as the category's parent).
        parent = next((a for a in cm.get_ancestors(code) if a != code), None)
        items[code] = (cm.get_description(code), bool(cm.is_leaf(code)), parent)
    return items

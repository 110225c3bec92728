"""Where a reference's identifiers lead: a PMID to PubMed, a DOI to doi.org; anything else stays text."""

from __future__ import annotations

import re
from urllib.parse import quote

_PMID = re.compile(r"^\s*PMID\s*:?\s*(\d{1,9})\s*$", re.IGNORECASE)
_DOI = re.compile(r"^\s*(?:doi\s*:\s*|https?://(?:dx\.)?doi\.org/)(10\.\d{4,9}/\S+)\s*$", re.IGNORECASE)


def identifier_url(identifier: str) -> str | None:
    """The public page of a ``PMID:n`` or ``doi:10.x/y`` identifier, or None for any other."""
    if m := _PMID.match(identifier):
        return f"https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/"
    if m := _DOI.match(identifier):
        return "https://doi.org/" + quote(m.group(1), safe="/:;()._-")
    return None

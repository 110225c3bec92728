"""Which form a case is in, from its file name and its first bytes (``determine`` and ``replay``)."""

from __future__ import annotations

from reasoner.intake.turtle import UTF8_BOM, CaseFormat


def case_format(name: str, payload: bytes) -> CaseFormat:
    """Turtle, JSON-LD, a FHIR request Bundle or the JSON case form.

    By the extension where it decides (``.ttl``, ``.jsonld``), else by the content: a FHIR
    resource names its ``resourceType``; JSON-LD is a list, or has ``@context`` or ``@graph``.
    """
    if name.endswith((".jsonld", ".json-ld")):
        return "json-ld"
    if name.endswith(".ttl"):
        return "turtle"
    first = payload.removeprefix(UTF8_BOM).lstrip()[:1]
    if not name.endswith(".json") and first not in (b"{", b"["):
        return "turtle"
    head = payload[:4096]
    if b'"resourceType"' in head:
        return "fhir"
    if first == b"[" or b'"@context"' in head or b'"@graph"' in head:
        return "json-ld"  # the JSON case form is an object without either
    return "json"

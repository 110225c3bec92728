"""FHIR R4's Bundle reference rules, written out for the tests (independently of reasoner/interop/pas_echo.py).

R4 (bundle.html, "Resolving references in Bundles"): a reference equal to an entry's ``fullUrl`` is
that entry; a relative reference (``Type/id``) is made absolute against the RESTful base of the
referring entry's ``fullUrl`` and then looked up (when no entry has it, it is the resource on that
server); a ``urn:uuid:`` or ``urn:oid:`` that no entry has resolves to nothing; any other absolute
URL no entry has is outside the Bundle. ``#id`` names a contained resource of the referring one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

RESTFUL = re.compile(r"(https?://.+/)[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")
ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:.+")
UUID_URL = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Walk:
    """Every reference of a Bundle's resources by its element path: resolved inside, external, or broken."""

    inside: dict[str, str] = field(default_factory=dict)  # path -> the fullUrl it resolves to
    external: dict[str, str] = field(default_factory=dict)  # path -> the absolute URL outside the Bundle
    broken: dict[str, str] = field(default_factory=dict)  # path -> the reference that resolves to nothing


def references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Each ``reference`` string in ``node`` (a resource), with its element path."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield f"{path}.reference", node["reference"]
        for key, value in node.items():
            if key != "reference":
                yield from references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from references(value, f"{path}[{i}]")


def walk(bundle: dict[str, Any]) -> Walk:
    """Resolve every reference of every entry of ``bundle`` by R4's rules."""
    out = Walk()
    urls = {e["fullUrl"] for e in bundle.get("entry", []) if "fullUrl" in e}
    for i, entry in enumerate(bundle.get("entry", [])):
        resource = entry["resource"]
        contained = {f"#{c.get('id')}" for c in resource.get("contained", [])}
        base = RESTFUL.fullmatch(entry.get("fullUrl", ""))
        for path, ref in references(resource, f"Bundle.entry[{i}].resource"):
            if ref.startswith("#"):
                (out.inside if ref == "#" or ref in contained else out.broken)[path] = ref
            elif ref in urls:
                out.inside[path] = ref
            elif ABSOLUTE.fullmatch(ref):
                (out.broken if ref.startswith(("urn:uuid:", "urn:oid:")) else out.external)[path] = ref
            elif base is not None:
                absolute = base.group(1) + ref
                (out.inside if absolute in urls else out.external)[path] = absolute
            else:
                out.broken[path] = ref  # relative, from an entry without a RESTful fullUrl
    return out

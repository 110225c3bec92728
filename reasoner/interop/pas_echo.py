"""The request's resources a PAS response Bundle carries, with references that resolve inside it.

FHIR R4 resolves a reference in a Bundle entry by the entry's ``fullUrl``: a reference equal to
another entry's ``fullUrl`` is that entry, and a relative one (``Patient/1``) is read against the
RESTful base of the referring entry's own ``fullUrl`` (a ``urn:uuid:`` has none). The response
Bundle uses one scheme: every entry's ``fullUrl`` is a ``urn:uuid:`` (the request's own when it
used one, else a UUID v5 of the request's ``fullUrl``), and every reference to a resource of the
response is that ``urn:uuid:``. The Patient, insurer and requestor the Claim names are carried,
and what their references reach in the request among the administrative types of :data:`ECHOED`.

A reference to something the response does not carry keeps its meaning or is left out: an
absolute URL stays (external), a relative one read from an entry with a RESTful ``fullUrl`` is
made absolute against that base (the resource on the requester's server, as in the request), and
one that pointed nowhere in the request keeps only its ``identifier``, ``display`` or ``type``, or
becomes a data-absent-reason (``unknown``) when nothing is left.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

ECHOED = frozenset({"Patient", "Organization", "Practitioner", "PractitionerRole", "Location", "Endpoint"})
"""Resource types the response carries: administrative resources only, never clinical ones."""
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: A RESTful URL of a resource: the base, then Type/id, optionally a version (FHIR R4 3.1.0.1.2).
_RESTFUL = re.compile(r"(https?://.+/)[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")
_RELATIVE = re.compile(r"([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?")


def absent() -> dict[str, Any]:
    """A Reference with nothing known of its target: the data-absent-reason extension, ``unknown``."""
    return {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}


def restful_base(full_url: str | None) -> str | None:
    """The base of a RESTful ``fullUrl`` (``http://example.org/fhir/``), None for a ``urn:`` or anything else."""
    match = _RESTFUL.fullmatch(full_url or "")
    return match.group(1) if match else None


class Echo:
    """The request Bundle's entries, and those the response carries with their new ``fullUrl``.

    Call :meth:`reference` for each reference of the response's own resource, then :meth:`entries`.
    """

    def __init__(self, bundle: dict[str, Any]) -> None:
        entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
        self._entries: list[tuple[str | None, dict[str, Any]]] = [
            (e["fullUrl"] if isinstance(e.get("fullUrl"), str) else None, e["resource"]) for e in entries
        ]
        self._by_url: dict[str, int] = {}  # fullUrl -> the first entry with it
        self._by_tail: dict[str, int] = {}  # Type/id (a fullUrl's end, or the resource's own) -> the first entry
        for i, (full, resource) in enumerate(self._entries):
            if full is not None:
                self._by_url.setdefault(full, i)
                self._by_tail.setdefault("/".join(full.rstrip("/").split("/")[-2:]), i)
            self._by_tail.setdefault(f"{resource.get('resourceType')}/{resource.get('id')}", i)
        self._urls: dict[int, str] = {}  # index of a request entry carried -> its fullUrl in the response
        self._order: list[int] = []  # the entries carried, in the order they were first referred to

    def resolve(self, reference: str, source: str | None) -> int | None:
        """The index of the request entry ``reference`` points at, read from the entry whose fullUrl is ``source``.

        By R4's rules first (a fullUrl; a relative reference against ``source``'s RESTful base), then
        as intake reads a PAS Bundle: ``Type/id`` matching the end of a fullUrl or a resource's own.
        """
        found = self._by_url.get(reference, self._by_url.get(reference.split("/_history/")[0]))
        relative = _RELATIVE.fullmatch(reference)
        if found is not None or relative is None:
            return found
        base, tail = restful_base(source), relative.group(1)
        found = self._by_url.get(base + tail) if base is not None else None
        return found if found is not None else self._by_tail.get(tail)

    def resource(self, reference: str, source: str | None) -> dict[str, Any] | None:
        """The request's resource ``reference`` points at (see :meth:`resolve`), None if none."""
        i = self.resolve(reference, source)
        return self._entries[i][1] if i is not None else None

    def reference(self, ref: object, source: str | None, *, inside: bool = False) -> dict[str, Any]:
        """``ref`` (a Reference read from the entry whose fullUrl is ``source``) as the response writes it.

        ``inside`` is for a reference within a carried resource, where ``#id`` names its own
        contained resource and stays as it is.
        """
        if not isinstance(ref, dict):
            return absent()
        out = {k: self._rewrite(v, source) for k, v in ref.items() if k != "reference"}  # an identifier's assigner
        target = ref.get("reference")
        if isinstance(target, str) and target:
            if target.startswith("#"):
                if inside:
                    out["reference"] = target
            elif (i := self.resolve(target, source)) is not None and self._carried(i):
                out["reference"] = self._url(i)
            elif target.startswith(("http://", "https://")):
                out["reference"] = target  # external: the requester's, as sent
            elif (base := restful_base(source)) is not None and _RELATIVE.fullmatch(target):
                out["reference"] = base + target  # what R4 reads it as: the resource on the requester's server
        return out or absent()

    def entries(self) -> list[dict[str, Any]]:
        """The carried entries, in the order they were first referred to, their references rewritten."""
        out: list[dict[str, Any]] = []
        while len(out) < len(self._order):  # rewriting a carried resource may carry more
            i = self._order[len(out)]
            source, resource = self._entries[i]
            out.append({"fullUrl": self._urls[i], "resource": self._rewrite(resource, source)})
        return out

    def _carried(self, i: int) -> bool:
        return self._entries[i][1].get("resourceType") in ECHOED

    def _url(self, i: int) -> str:
        if i not in self._urls:
            full, resource = self._entries[i]
            name = full or f"{resource.get('resourceType')}/{resource.get('id')}"
            url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
            if full is not None and _UUID.fullmatch(full):
                url = full  # the request's own urn:uuid
            if url in self._urls.values():  # two entries of the request with one fullUrl: each its own
                url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{name}#{i}')}"
            self._urls[i] = url
            self._order.append(i)
        return self._urls[i]

    def _rewrite(self, node: Any, source: str | None) -> Any:
        if isinstance(node, list):
            return [self._rewrite(v, source) for v in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("reference"), str):
            return self.reference(node, source, inside=True)
        return {k: self._rewrite(v, source) for k, v in node.items()}

"""The case graph's subject index as the JSON intake builds it (``Triples``), and ``code_iri``.

Shared by ``to_rdf`` (the case, its request and its spine history) and ``facts_rdf`` (the generic
facts: observations, treatments, devices and usage series).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import RDF, Namespace, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import interned, iri
from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.sieve import Sieve
from reasoner.knowledge.measures import kind_of
from reasoner.knowledge.relevance import Relevance
from reasoner.knowledge.units import ObservationKind
from reasoner.vocab import CASE_DATA, CPT, CV, FIND, GR, HCPCS, ICD10CM, LOINC, OBS

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_TYPE = RDF.type


def code_iri(code: str) -> URIRef:
    """The knowledge-base IRI of a CPT or HCPCS code (HCPCS Level II codes start with a letter)."""
    return HCPCS[code] if code[0].isalpha() else CPT[code]


Index = dict[Node, dict[Node, dict[Node, None]]]
Entry = dict[Node, dict[Node, None]]


class Triples:
    """The case graph's subject index being built, and what the facts of a case share.

    Every term is built here from validated parts, so the fast constructors are safe. The store's
    subject index is built directly, each history fact's entry as one dict: a long history makes
    tens of thousands of triples, and a call per triple was most of the cost.
    """

    __slots__ = ("kb", "base", "node", "spo", "case_po", "named", "problems", "docs", "cited", "sieve")

    def __init__(self, case: CaseIn, kb: KnowledgeBase, relevance: Relevance | None) -> None:
        self.kb = kb
        self.base = f"{CASE_DATA}{case.id}/"
        self.node = iri(self.base + "case")
        self.case_po: Entry = {}  # the case's entry: the request, then a link to each fact and document
        self.spo: Index = {self.node: self.case_po}
        self.named: dict[tuple[object, str], URIRef] = {}  # a history repeats its codes and class names
        self.problems: list[tuple[str, str]] = []
        self.docs: dict[str, URIRef] = {}
        self.cited: set[str] = set()
        self.sieve = Sieve(kb, relevance, [URIRef(FIND + m.kind) for m in case.imagingFindings])

    def add(self, triple: tuple[Node, Node, Node]) -> None:
        """Add one triple."""
        s, p, o = triple
        self.spo.setdefault(s, {}).setdefault(p, {})[o] = None

    def cls(self, ns: Namespace, name: str, where: str, root: URIRef) -> URIRef:
        """The class ``name`` of ``ns``; a problem at ``where`` unless it is a subclass of ``root``."""
        made = self.named.get((ns, name))
        if made is None:
            made = self.named[ns, name] = interned(URIRef(ns + name))
        superclasses = self.kb.superclasses
        if root not in superclasses.get(made, ()):
            known = sorted(str(c).split("#")[-1] for c, sup in superclasses.items() if root in sup and c != root)
            self.problems.append((where, "not a known class name; one of: " + ", ".join(known)))
        return made

    def code(self, value: str, diagnosis: bool = False) -> URIRef:
        """The IRI of a CPT or HCPCS code, or of an ICD-10-CM code (``diagnosis``)."""
        made = self.named.get(("code", value))
        if made is None:
            made = self.named["code", value] = interned(ICD10CM[value] if diagnosis else code_iri(value))
        return made

    def known(self, ns: Namespace, name: str, where: str, what: str) -> URIRef:
        """The class ``name`` of ``ns``; a problem at ``where`` unless the knowledge base declares it."""
        made = self.named.get((ns, name))
        if made is None:
            made = self.named[ns, name] = interned(URIRef(ns + name))
        if made not in self.kb.superclasses:
            self.problems.append((where, f"not a known class name of {what} in the knowledge base"))
        return made

    def purpose(self, word: str, where: str) -> URIRef:
        """The purpose the knowledge base declares with the JSON word ``word``; a problem at ``where`` if none."""
        found = self.kb.purpose_words.get(word)
        if found is None:
            known = ", ".join(sorted(self.kb.purpose_words))
            self.problems.append((where, f"not a purpose the knowledge base declares; one of: {known}"))
            return CV.Purpose  # never read: the problems refuse the case
        return found

    def observation(self, code: str, where: str) -> tuple[URIRef, URIRef, ObservationKind | None]:
        """(predicate, IRI, declared kind) of an observation code: a LOINC code, or an observation class name.

        A LOINC code the knowledge base does not know is kept with its code only (no kind); a class
        name it does not declare under gr:ObservationKind is a problem at ``where``.
        """
        if code[0].isdigit():
            made = self.named.get(("loinc", code))
            if made is None:
                made = self.named["loinc", code] = interned(LOINC[code])
            return CV.code, made, kind_of(self.kb, made)
        made = self.cls(OBS, code, where, GR.ObservationKind)
        return CV.observationKind, made, kind_of(self.kb, made)

    def wanted(
        self,
        link: URIRef,
        i: int,
        source: str | None,
        purposes: frozenset[URIRef] | None,
        *values: tuple[URIRef, URIRef],
    ) -> bool:
        """Whether the ``i``-th fact of a kind matters; ``values`` are its (predicate, IRI) pairs."""
        if not self.sieve.keeps(link, i, purposes, values):
            return False
        if source is not None:
            self.cited.add(source)
        return True

    def fact(self, kind: str, i: int, cls_: URIRef, link: URIRef, source: str | None) -> Entry:
        """A new history fact's entry in the subject index, to fill in; each predicate is set once."""
        f = iri(f"{self.base}{kind}-{i + 1}")
        self.case_po.setdefault(link, {})[f] = None
        po: Entry = {_TYPE: {cls_: None}}
        if source is not None:
            doc = self.docs.get(source)
            if doc is None:
                doc = self.docs[source] = iri(f"{self.base}doc-{source}")
            po[CV.source] = {doc: None}
        self.spo[f] = po
        return po

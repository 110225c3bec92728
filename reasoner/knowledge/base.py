"""Load the knowledge base (ontology/ and shapes/) once, check it, and prepare it.

Preparation: parse every Turtle file (bytes with an explicit format), hash the content, bind thresholds
into the shapes, check the shapes against SHACL-for-SHACL, compute the RDFS closure of the ontology,
and build the indexes that requests read, with what determinations would otherwise read of the
graphs (``_read_ahead``). Afterwards the knowledge base is never written to. One read back from the
cache folder unpickles its graphs only when something asks for them (the SPARQL endpoint, the
knowledge pages, lint): no determination does.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from typing import Literal as TypingLiteral

from rdflib import RDF, RDFS, SH, Graph, URIRef
from rdflib.term import Node

from reasoner._memo import KEPT, Kept, per_knowledge_base
from reasoner._rdf.pickled import Deferred
from reasoner._rdf.turtle import TurtleSyntaxError
from reasoner.errors import KnowledgeBaseError, KnowledgeBaseLintError, UnknownPolicyError
from reasoner.knowledge import _index as _kb_index
from reasoner.knowledge import derivations as _derivations
from reasoner.knowledge import lint_cache, owl_rl, prepared_cache, preparing, rules
from reasoner.knowledge import units as units_
from reasoner.knowledge.closure import close_knowledge_base
from reasoner.knowledge.entities import (
    Code,
    CodeFamily,
    CoverageRule,
    Criterion,
    DiagnosisEntry,
    Policy,
    Recommendation,
    Reference,
    Step,
    Threshold,
)
from reasoner.knowledge.files import KnowledgeFiles, parsed
from reasoner.shacl import prepared as validation
from reasoner.vocab import CV, GR

log = logging.getLogger("guideline_reasoner.kb")
"""One line per knowledge base loaded: its folder and content hash (the CLI and the server print it)."""

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the reasoner package, where a wheel puts _kb/
KB_ENV = "GUIDELINE_REASONER_KB"


def default_root() -> Path:
    """Where the knowledge base is, when none is named.

    ``$GUIDELINE_REASONER_KB`` wins; then the current folder, if it holds ontology/ and shapes/
    (an author editing a checkout lints and tests their edits, whatever was installed); then the
    source checkout the package runs from; then the copy installed inside the package.
    """
    env = os.environ.get(KB_ENV)
    if env:
        return Path(env)
    here = Path.cwd()
    if (here / "ontology").is_dir() and (here / "shapes").is_dir():
        return here
    checkout = _PACKAGE_DIR.parent
    if (checkout / "ontology").is_dir() and (checkout / "shapes").is_dir():
        return checkout
    return _PACKAGE_DIR / "_kb"


def parse_into(graph: Graph, rel: str, data: bytes) -> Graph:
    """Add one trusted Turtle file to ``graph`` and return its own graph; syntax errors name file, line and column.

    Raises:
        KnowledgeBaseError: the file is not valid Turtle.
    """
    try:
        graph += (part := parsed(data))
        return part
    except TurtleSyntaxError as exc:
        where = f"{rel}:{exc.line}:{exc.column}" if exc.line is not None else rel
        raise KnowledgeBaseError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise KnowledgeBaseError(f"{rel}: {exc}") from None


#: What a load checks: ``lint`` every lint check (cached by content) and the load's own; ``load``
#: only the load's own (for tools comparing versions and tests of those checks); ``none`` not even
#: the SHACL-for-SHACL check of the shapes, for bytes that passed both before (a published generation).
Checks = TypingLiteral["lint", "load", "none"]


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """The prepared, read-only knowledge base. Build it with :meth:`load`."""

    root: Path
    content_hash: str
    # The graphs: read from the cache folder only when first asked for (most determinations never do).
    deferred_ontology: Deferred[Graph] = field(repr=False)
    deferred_shapes: Deferred[Graph] = field(repr=False)
    # Mappings keyed by Node are looked up by any term a case states (their keys are IRIs).
    superclasses: Mapping[Node, frozenset[URIRef]] = field(repr=False)
    policies: Mapping[str, Policy] = field(repr=False)
    criteria: Mapping[URIRef, Criterion] = field(repr=False)
    steps: Mapping[URIRef, Step] = field(repr=False)
    coverage: Mapping[tuple[URIRef, URIRef], CoverageRule] = field(repr=False)
    codes: Mapping[URIRef, Code] = field(repr=False)
    thresholds: Mapping[URIRef, Threshold] = field(repr=False)
    references: Mapping[URIRef, Reference] = field(repr=False)
    recommendations: Mapping[URIRef, Recommendation] = field(repr=False)
    purposes: Mapping[URIRef, tuple[tuple[URIRef, URIRef], ...]] = field(repr=False)
    addressed_by: Mapping[Node, frozenset[URIRef]] = field(repr=False)
    shape_index: _kb_index.ShapeIndex = field(repr=False)
    validator: validation.PreparedShapes = field(repr=False)
    labels: Mapping[URIRef, str] = field(repr=False)
    classifying: frozenset[URIRef] = field(repr=False)
    indicated: Mapping[Node, frozenset[URIRef]] = field(repr=False, default_factory=dict)
    implied_purposes: Mapping[URIRef, frozenset[URIRef]] = field(repr=False, default_factory=dict)
    missing_texts: Mapping[Node, str] = field(repr=False, default_factory=dict)  # by kind of documentation
    expected: Mapping[URIRef, frozenset[URIRef]] = field(repr=False, default_factory=dict)
    derived_from: Mapping[URIRef, frozenset[URIRef]] = field(repr=False, default_factory=dict)
    diagnosis_lists: Mapping[URIRef, tuple[DiagnosisEntry, ...]] = field(repr=False, default_factory=dict)
    code_families: tuple[CodeFamily, ...] = field(repr=False, default=())  # the narrowest first
    units: Mapping[str, units_.Unit] = field(repr=False, default_factory=dict)  # by UCUM code
    observation_kinds: Mapping[URIRef, units_.ObservationKind] = field(repr=False, default_factory=dict)
    memo: dict[object, dict[Any, Any]] = field(repr=False, init=False, default_factory=dict)
    """What functions of this knowledge base remember (reasoner/_memo.py); goes with it on a reload."""

    @classmethod
    def load(cls, root: Path | None = None, *, checks: Checks = "lint") -> KnowledgeBase:
        """Load and prepare the knowledge base under ``root`` (default: :func:`default_root`).

        By default a knowledge base whose lint has findings is refused (fail closed): a typo in a
        property or a placeholder that names no threshold never reaches a reader.

        Raises:
            KnowledgeBaseLintError: lint has findings (listed, with file:line:col).
            KnowledgeBaseError: a file is missing or malformed, or the shapes are not valid SHACL.
        """
        return cls.from_files(KnowledgeFiles.read(root or default_root()), checks=checks)

    @classmethod
    def from_files(cls, files: KnowledgeFiles, *, checks: Checks = "lint") -> KnowledgeBase:
        """Load and prepare the knowledge base from files already read (see :meth:`load`).

        A knowledge base prepared from the same files by the same engine is read from the cache
        folder instead (reasoner/knowledge/prepared_cache.py); lint's verdict is still required.
        """
        files.require_complete()
        if checks == "lint":
            report = lint_cache.checked(files)
            if report.exit_code != 0:
                raise KnowledgeBaseLintError(
                    [str(f) for f in report.findings] + [f"{u}: cannot be read" for u in report.unreadable]
                )
        state = prepared_cache.read(files, shapes_checked=checks != "none")
        if state is not None:
            kb = cls._revived(state, files.root)
        else:
            kb = cls._prepared(files, checks)
            prepared_cache.write(files, kb.prepared_state(), shapes_checked=checks != "none")
        log.info("knowledge base %s %s (%d policies)", files.root, files.content_hash, len(kb.policies))
        return kb

    def prepared_state(self) -> dict[str, Any]:
        """What a prepared knowledge base is, but for its folder and what functions not ``kept`` remember."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("root", "memo")}
        # Each entry apart: a determination reads its own policy's (reasoner/_memo.py unpickles it then).
        state["memo"] = {f: {a: Kept(Deferred(v)) for a, v in e.items()} for f, e in self.memo.items() if f in KEPT}
        return state

    @classmethod
    def _revived(cls, state: dict[str, Any], root: Path) -> KnowledgeBase:
        kb = cls.__new__(cls)
        kb.__dict__.update(state, root=root, memo={f: dict(e) for f, e in (state.get("memo") or {}).items()})
        return kb

    def _read_ahead(self) -> None:
        """Work out at preparation what determinations read of the graphs, so that a revived one need not read them.

        The memoised functions registered with ``ahead`` (reasoner/_memo.py: policy relevance, counted groups).
        """
        for name in (
            "derivations",
            "derivations_used_by",
            "site_scopes",
            "purpose_words",
            "session_counts",
            "criteria_via",
            "case_vocabulary",
        ):
            getattr(self, name)
        for function, ahead in KEPT.items():
            for args in ahead(self):
                function(self, *args)  # type: ignore[operator]  # a memoised function of a knowledge base

    @classmethod
    def _prepared(cls, files: KnowledgeFiles, checks: Checks) -> KnowledgeBase:
        ontology, shapes = Graph(), Graph()
        case_shapes = Graph()
        parts = [parse_into(ontology, rel, data) for rel, data in files.ontology]
        for rel, data in files.shapes:
            parse_into(shapes, rel, data)
            if rel == "shapes/case.ttl":
                parse_into(case_shapes, rel, data)
        rules.expand_rules(preparing.Interning.of(ontology), preparing.Interning.of(shapes))
        preparing.bind_thresholds(ontology, shapes)
        ontology, shapes = preparing.interned(ontology), preparing.interned(shapes)
        if checks != "none":
            generated = frozenset(s for s in shapes.subjects(GR.expandedFrom, None) if isinstance(s, URIRef))
            generated |= frozenset(
                p for s in generated for p in shapes.objects(s, SH.property) if isinstance(p, URIRef)
            )
            validation.check_shapes_graph(shapes, skip=generated)
        closed = close_knowledge_base(ontology, owl_rl.rl_axioms(parts))
        superclasses = preparing.superclass_map(closed)
        build = _kb_index.KnowledgeIndexBuilder(closed)
        shape_index = _kb_index.build_shape_index(shapes, case_shapes)
        thresholds = build.thresholds()
        codes = build.codes()
        tags = build.tags()
        criteria = build.criteria(thresholds, tags)
        validator = validation.PreparedShapes(shapes, preparing.shape_groups(shape_index, criteria))
        kb = cls(
            root=files.root,
            content_hash=files.content_hash,
            deferred_ontology=Deferred(closed),
            deferred_shapes=validator.deferred_shapes,
            superclasses=MappingProxyType(superclasses),
            policies=MappingProxyType(build.policies()),
            criteria=MappingProxyType(criteria),
            steps=MappingProxyType(build.steps(thresholds)),
            coverage=MappingProxyType(build.coverage(tags)),
            codes=MappingProxyType(codes),
            thresholds=MappingProxyType(thresholds),
            missing_texts=MappingProxyType(build.missing_texts(thresholds)),
            references=MappingProxyType(build.references()),
            recommendations=MappingProxyType(build.recommendations()),
            purposes=MappingProxyType(build.purposes()),
            addressed_by=MappingProxyType(build.addressed_by()),
            shape_index=shape_index,
            validator=validator,
            labels=MappingProxyType(preparing.labels(closed)),
            classifying=frozenset(
                p for p in closed.subjects(RDF.type, GR.ClassifyingProperty) if isinstance(p, URIRef)
            ),
            indicated=MappingProxyType(build.indicated()),
            expected=MappingProxyType(build.expected()),
            derived_from=MappingProxyType(build.derived_from()),
            implied_purposes=MappingProxyType(build.implied_purposes()),
            diagnosis_lists=MappingProxyType(build.diagnosis_lists(codes)),
            code_families=build.code_families(),
            units=MappingProxyType(units_.read_units(closed)),
            observation_kinds=MappingProxyType(units_.read_observation_kinds(closed, superclasses)),
        )
        cls._read_ahead(kb)  # derivations among them: a malformed declaration refuses the knowledge base
        return kb

    @property
    def ontology(self) -> Graph:
        """The closed ontology: the files of ontology/, their rules expanded, with the entailments it relies on."""
        return self.deferred_ontology.get()

    @property
    def shapes(self) -> Graph:
        """The shapes graph: the files of shapes/, with the shapes rules expand to and thresholds bound."""
        return self.deferred_shapes.get()

    @cached_property
    def derivations(self) -> tuple[_derivations.Derivation, ...]:
        """The declared derivations, each after those it reads (reasoner/knowledge/derivations.py)."""
        return _derivations.read(self.ontology)

    @cached_property
    def case_vocabulary(self) -> tuple[frozenset[Node], frozenset[Node], dict[Node, Node]]:
        """The case vocabulary's properties, classes, and XSD ranges (Turtle intake reads them)."""
        return preparing.case_vocabulary(self.ontology)

    @cached_property
    def criteria_via(self) -> Mapping[tuple[Node, Node], Node | None]:
        """(term, property) -> the criterion the term names by it, for the properties of ``value_via``."""
        g = self.ontology
        return MappingProxyType(
            {(s, via): g.value(s, via) for via in set(self.shape_index.value_via.values()) for s in g.subjects(via)}
        )

    @cached_property
    def derivations_by_iri(self) -> Mapping[Node, _derivations.Derivation]:
        """The declared derivations by IRI (any term may be asked)."""
        return MappingProxyType({d.iri: d for d in self.derivations})

    @cached_property
    def derivations_used_by(self) -> Mapping[URIRef, frozenset[URIRef]]:
        """For each criterion: the derivations its rules and ``gr:considers`` name."""
        return MappingProxyType(_derivations.used_by(self.ontology))

    @cached_property
    def expected_on_kind(self) -> Mapping[URIRef, frozenset[URIRef]]:
        """For each kind of fact: the case properties expected on it (derived ones follow their inputs)."""
        out: dict[URIRef, set[URIRef]] = {}
        for prop, kinds in self.expected.items():
            if prop not in self.derived_from:
                for kind in kinds:
                    out.setdefault(kind, set()).add(prop)
        return MappingProxyType({k: frozenset(v) for k, v in out.items()})

    @cached_property
    def derived_expected(self) -> tuple[tuple[URIRef, frozenset[URIRef], frozenset[URIRef]], ...]:
        """(derived property, its inputs, the kinds of fact it is expected on), for those expected somewhere."""
        return tuple((p, inputs, self.expected[p]) for p, inputs in self.derived_from.items() if p in self.expected)

    @cached_property
    def indicated_anywhere(self) -> frozenset[URIRef]:
        """Every class a value indicates (``gr:indicates``), with its superclasses."""
        return self.types_of(c for classes in self.indicated.values() for c in classes)

    @cached_property
    def site_scopes(self) -> Mapping[URIRef, rules.SiteScope]:
        """The repeat rules that read only the most recent procedure at a site, by criterion."""
        return MappingProxyType({s.criterion: s for s in rules.site_scopes(self.ontology)})

    @cached_property
    def purpose_words(self) -> Mapping[str, URIRef]:
        """The JSON form's word for each declared purpose (``cv:Purpose``): its ``gr:caseWord``, else its label."""
        out: dict[str, URIRef] = {}
        for p in sorted(self.ontology.subjects(RDF.type, CV.Purpose), key=str):
            word = self.ontology.value(p, GR.caseWord) or self.ontology.value(p, RDFS.label)
            if isinstance(p, URIRef) and word is not None:
                out.setdefault(str(word), p)
        return MappingProxyType(out)

    @cached_property
    def addressing(self) -> frozenset[URIRef]:
        """The procedure classes that address some kind of imaging finding."""
        return frozenset().union(*self.addressed_by.values())

    def policy(self, policy_id: str) -> Policy:
        """The policy with this id (for example ``sij-clinical-pathway``).

        Raises:
            UnknownPolicyError: listing the valid ids.
        """
        try:
            return self.policies[policy_id]
        except KeyError:
            raise UnknownPolicyError(policy_id, sorted(self.policies)) from None

    def policy_by_iri(self, iri: URIRef) -> Policy | None:
        """The policy with this IRI, if any."""
        return next((p for p in self.policies.values() if p.iri == iri), None)

    def policies_addressing(self, codes: Iterable[URIRef]) -> list[Policy]:
        """Policies with a coverage rule for, or a fallback on, at least one of the codes; by id."""
        wanted = set(codes)
        return [
            p
            for _id, p in sorted(self.policies.items())
            if p.fallback_codes & wanted or any((p.iri, code) in self.coverage for code in wanted)
        ]

    def label(self, iri: URIRef) -> str:
        """A short human label for a term of the knowledge base (the IRI's tail when unlabeled)."""
        return self.labels.get(iri) or iri.split("#")[-1].split("/")[-1]

    def steps_of(self, policy: URIRef) -> tuple[Step, ...]:
        """The pathway steps of a policy, in order."""
        return _steps_of(self, policy)

    def session_classes_of(self, policy: URIRef) -> frozenset[URIRef]:
        """The procedure classes whose sessions the policy's criteria count (reasoner/enrich/sessions.py)."""
        return _session_classes_of(self, policy)

    @cached_property
    def session_counts(self) -> Mapping[Node, frozenset[URIRef]]:
        """For each root shape: the classes whose sessions it counts (a ``^gr:sessionOf`` path from a target node)."""
        out: dict[Node, set[URIRef]] = {}
        shapes, root_of = self.shapes, self.shape_index.root_of
        for path in shapes.subjects(SH.inversePath, GR.sessionOf):
            for prop in shapes.subjects(SH.path, path):
                for owner in shapes.subjects(SH.property, prop):
                    classes = {c for c in shapes.objects(owner, SH.targetNode) if isinstance(c, URIRef)}
                    out.setdefault(root_of.get(owner, owner), set()).update(classes)
        return MappingProxyType({k: frozenset(v) for k, v in out.items()})

    def types_of(self, classes: Iterable[URIRef]) -> frozenset[URIRef]:
        """The given classes with all their superclasses."""
        out: set[URIRef] = set()
        for c in classes:
            out |= self.superclasses.get(c, frozenset({c}))
        return frozenset(out)

    def purposes_of(self, stated: Iterable[Node], injectate: Iterable[Node] = ()) -> frozenset[URIRef]:
        """A fact's purposes: those stated, and those its injectate implies (``gr:impliesPurpose``)."""
        out = frozenset(p for p in stated if isinstance(p, URIRef))
        for agent in injectate:
            out |= self.implied_purposes.get(agent, frozenset())  # type: ignore[call-overload]  # IRI keys, any term asked
        return out

    def lists_holding(self, notation: str) -> frozenset[URIRef]:
        """The diagnosis lists an entry of which holds the ICD-10-CM code with this notation."""
        return _lists_holding(self, notation)

    def graph_digest(self) -> str:
        """A digest of the in-memory graphs, to prove that nothing wrote to them."""
        h = hashlib.sha256()
        for g in (self.ontology, self.shapes):
            for line in sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in g):
                h.update(line.encode())
        return h.hexdigest()


@per_knowledge_base(maxsize=4096)
def _lists_holding(kb: KnowledgeBase, notation: str) -> frozenset[URIRef]:
    return frozenset(lst for lst, entries in kb.diagnosis_lists.items() if any(e.holds(notation) for e in entries))


@per_knowledge_base(maxsize=64)
def _session_classes_of(kb: KnowledgeBase, policy: URIRef) -> frozenset[URIRef]:
    criteria = frozenset(c.iri for c in kb.criteria.values() if c.policy == policy)
    counts = kb.session_counts
    return frozenset().union(*(counts.get(root, ()) for root in kb.shape_index.criteria_roots(criteria)))


@per_knowledge_base(maxsize=64)
def _steps_of(kb: KnowledgeBase, policy: URIRef) -> tuple[Step, ...]:
    return tuple(sorted((s for s in kb.steps.values() if s.policy == policy), key=lambda s: (s.order, str(s.iri))))

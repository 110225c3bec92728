"""Load the knowledge base (ontology/ and shapes/) once, check it, and prepare it.

Preparation: parse every Turtle file (bytes with an explicit format), hash the content, bind
thresholds into the shapes, check the shapes against SHACL-for-SHACL, compute the RDFS
closure of the ontology, and build the indexes that requests read. Afterwards the knowledge
base is never written to.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from pyshacl.errors import ShapeLoadError
from rdflib import RDF, RDFS, SH, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from . import _kb_index, case_json, inference, rules, validation
from ._terms import INTERNED
from ._turtle import syntax_error_position
from .errors import KnowledgeBaseError, UnknownPolicyError
from .knowledge import Code, CoverageRule, Criterion, Policy, Recommendation, Reference, Step, Threshold
from .vocab import BASE, GR, vocabulary_terms

_PACKAGE_DIR = Path(__file__).resolve().parent
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


def knowledge_files(root: Path) -> tuple[list[Path], list[Path]]:
    """The ontology and shapes files that make up the knowledge base, in a stable order."""
    ontology = sorted((root / "ontology").rglob("*.ttl"))
    shapes = sorted(p for p in (root / "shapes").rglob("*.ttl") if "meta" not in p.relative_to(root / "shapes").parts)
    if not ontology or not shapes:
        raise KnowledgeBaseError(f"no knowledge base under {root}: expected ontology/*.ttl and shapes/*.ttl")
    return ontology, shapes


def parse_turtle_file(path: Path, graph: Graph, *, display: str) -> None:
    """Parse one trusted Turtle file into ``graph``; syntax errors name file, line and column."""
    data = path.read_bytes()
    try:
        graph.parse(data=data, format="turtle")
    except SyntaxError as exc:
        why = getattr(exc, "_why", None) or exc.msg or "syntax error"
        position = syntax_error_position(exc)
        where = f"{display}:{position[0]}:{position[1]}" if position else display
        raise KnowledgeBaseError(f"{where}: {why}") from exc
    except ValueError as exc:
        raise KnowledgeBaseError(f"{display}: {exc}") from exc


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """The prepared, read-only knowledge base. Build it with :meth:`load`."""

    root: Path
    content_hash: str
    ontology: Graph = field(repr=False)
    shapes: Graph = field(repr=False)
    superclasses: Mapping[URIRef, frozenset[URIRef]] = field(repr=False)
    policies: Mapping[str, Policy] = field(repr=False)
    criteria: Mapping[URIRef, Criterion] = field(repr=False)
    steps: Mapping[URIRef, Step] = field(repr=False)
    coverage: Mapping[tuple[URIRef, URIRef], CoverageRule] = field(repr=False)
    codes: Mapping[URIRef, Code] = field(repr=False)
    thresholds: Mapping[URIRef, Threshold] = field(repr=False)
    references: Mapping[URIRef, Reference] = field(repr=False)
    recommendations: Mapping[URIRef, Recommendation] = field(repr=False)
    purposes: Mapping[URIRef, tuple[tuple[URIRef, URIRef], ...]] = field(repr=False)
    addressed_by: Mapping[URIRef, frozenset[URIRef]] = field(repr=False)
    shape_index: _kb_index.ShapeIndex = field(repr=False)
    validator: validation.PreparedShapes = field(repr=False)
    labels: Mapping[URIRef, str] = field(repr=False)
    classifying: frozenset[URIRef] = field(repr=False)
    indicated: Mapping[URIRef, frozenset[URIRef]] = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None) -> KnowledgeBase:
        """Load and prepare the knowledge base under ``root`` (default: :func:`default_root`).

        Raises:
            KnowledgeBaseError: a file is missing or malformed, or the shapes are not valid SHACL.
        """
        root = (root or default_root()).resolve()
        ontology_files, shape_files = knowledge_files(root)
        digest = hashlib.sha256()
        ontology, shapes = Graph(), Graph()
        case_shapes = Graph()
        for path, graph in [(p, ontology) for p in ontology_files] + [(p, shapes) for p in shape_files]:
            rel = path.relative_to(root).as_posix()
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
            parse_turtle_file(path, graph, display=rel)
            if rel == "shapes/case.ttl":
                parse_turtle_file(path, case_shapes, display=rel)
        rules.expand_rules(ontology, shapes)
        _bind_thresholds(ontology, shapes)
        ontology, shapes = _interned(ontology), _interned(shapes)
        generated = frozenset(s for s in shapes.subjects(GR.expandedFrom, None) if isinstance(s, URIRef))
        generated |= frozenset(p for s in generated for p in shapes.objects(s, SH.property) if isinstance(p, URIRef))
        validation.check_shapes_graph(shapes, skip=generated)
        closed = inference.close_knowledge_base(ontology)
        superclasses = _superclass_map(closed)
        build = _kb_index.KnowledgeIndexBuilder(closed)
        shape_index = _kb_index.build_shape_index(shapes, case_shapes)
        try:
            validator = validation.PreparedShapes(shapes)
        except ShapeLoadError as exc:
            raise KnowledgeBaseError(f"the shapes cannot be loaded: {exc.args[0] if exc.args else exc}") from exc
        return cls(
            root=root,
            content_hash="sha256:" + digest.hexdigest(),
            ontology=closed,
            shapes=shapes,
            superclasses=MappingProxyType(superclasses),
            policies=MappingProxyType(build.policies()),
            criteria=MappingProxyType(build.criteria()),
            steps=MappingProxyType(build.steps()),
            coverage=MappingProxyType(build.coverage()),
            codes=MappingProxyType(build.codes()),
            thresholds=MappingProxyType(build.thresholds()),
            references=MappingProxyType(build.references()),
            recommendations=MappingProxyType(build.recommendations()),
            purposes=MappingProxyType(build.purposes()),
            addressed_by=MappingProxyType(build.addressed_by()),
            shape_index=shape_index,
            validator=validator,
            labels=MappingProxyType(_labels(closed)),
            classifying=frozenset(
                p for p in closed.subjects(RDF.type, GR.ClassifyingProperty) if isinstance(p, URIRef)
            ),
            indicated=MappingProxyType(build.indicated()),
        )

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

    def types_of(self, classes: Iterable[URIRef]) -> frozenset[URIRef]:
        """The given classes with all their superclasses."""
        out: set[URIRef] = set()
        for c in classes:
            out |= self.superclasses.get(c, frozenset({c}))
        return frozenset(out)

    def graph_digest(self) -> str:
        """A digest of the in-memory graphs, to prove that nothing wrote to them."""
        h = hashlib.sha256()
        for g in (self.ontology, self.shapes):
            for line in sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in g):
                h.update(line.encode())
        return h.hexdigest()


@lru_cache(maxsize=64)
def _steps_of(kb: KnowledgeBase, policy: URIRef) -> tuple[Step, ...]:
    return tuple(sorted((s for s in kb.steps.values() if s.policy == policy), key=lambda s: (s.order, str(s.iri))))


def _labels(graph: Graph) -> dict[URIRef, str]:
    """skos:prefLabel where there is one, else rdfs:label."""
    out = {s: str(o) for s, o in graph.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    out.update({s: str(o) for s, o in graph.subject_objects(SKOS.prefLabel) if isinstance(s, URIRef)})
    return out


def _interned(graph: Graph) -> Graph:
    """``graph`` with one object per term, the vocabulary's own where it names one.

    rdflib's parser makes a new object for every mention of an IRI, and rdflib compares two
    unequal-identity terms in Python; with one object per term, the sets and dicts built from the
    knowledge base and the case terms made from the vocabulary match by identity.
    """
    table = INTERNED
    out = Graph()
    for s, p, o in graph:
        out.add((table.setdefault(s, s), table.setdefault(p, p), table.setdefault(o, o)))
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace, override=True)
    return out


# Process-wide, so that reloads share objects too; holds only knowledge-base and vocabulary terms.
INTERNED.update({t: t for t in (*vocabulary_terms(), *case_json.VALUES.values())})


def _bind_thresholds(ontology: Graph, shapes: Graph) -> None:
    """Write each bound threshold's value into its shape as the SHACL parameter it names."""
    for binder in ontology.subjects(RDF.type, GR.ThresholdParameter):
        parameter = ontology.value(binder, GR.parameter)
        for shape, threshold in list(shapes.subject_objects(binder)):
            value = ontology.value(threshold, GR.value)
            if not isinstance(value, Literal) or parameter is None:
                raise KnowledgeBaseError(f"shape {shape} binds {threshold}, which has no gr:value")
            shapes.add((shape, parameter, value))
    if (None, SH.qualifiedValueShape, None) not in shapes:
        raise KnowledgeBaseError("the shapes graph has no criteria")


def _superclass_map(closed: Graph) -> dict[URIRef, frozenset[URIRef]]:
    out: dict[URIRef, set[URIRef]] = {}
    for sub, sup in closed.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and str(sub).startswith(BASE):
            out.setdefault(sub, {sub})
            if str(sup).startswith(BASE):
                out[sub].add(sup)
    return {k: frozenset(v) for k, v in out.items()}

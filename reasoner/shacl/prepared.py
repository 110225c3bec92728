"""SHACL validation: pyshacl, and the compiled evaluator (reasoner/shacl/compiled.py and its siblings).

Shapes are compiled once per knowledge base (:class:`PreparedShapes`); a request runs only the
root shapes it selects over its own small data graph, with no inference (the enrich stage has
already derived every fact the shapes read). Roots the compiled evaluator supports run there;
any other root runs in pyshacl. A shape-recursion warning is an error: pyshacl otherwise reports
a recursive violation as conforming (threats.md C4).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Literal, NamedTuple

import pyshacl.shape as pyshacl_shape
from pyshacl import validate as _pyshacl_validate
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
from pyshacl.constraints.constraint_component import ConstraintComponent
from pyshacl.errors import ShapeRecursionWarning
from pyshacl.monkey import apply_patches
from pyshacl.pytypes import SHACLExecutor
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.validator import assign_baked_in
from rdflib import RDF, SH, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from reasoner.errors import KnowledgeBaseError, ValidationError
from reasoner.shacl._pyshacl import THIRD_PARTY_LOCK
from reasoner.shacl.compiled import compile_shape
from reasoner.shacl.reader import Reader
from reasoner.shacl.shape import Result, Shape
from reasoner.vocab import GR

__all__ = ["PreparedShapes", "Result", "check_shapes_graph", "shacl_for_shacl", "validate_naively", "validate_with"]

Engine = Literal["compiled", "pyshacl"]


# pyshacl's result triples carry (graph, node) pairs for nodes it will later copy into a report graph.
_ReportTerm = Node | tuple[Graph, Node]
# A per-shape result of pyshacl: (description, result node, its triples).
_Report = tuple[object, Node, list[tuple[Node, Node, _ReportTerm]]]


def _node(term: _ReportTerm) -> Node:
    return term[1] if isinstance(term, tuple) else term


def _results_from_reports(reports: list[_Report]) -> tuple[Result, ...]:
    """Read pyshacl's per-shape result tuples (description, result node, triples) without building a report graph."""
    out = []
    for _description, node, triples in reports:
        # Nested results (sh:detail of sh:node failures) share this triple list: keep this result's own.
        fields = {p: _node(o) for s, p, o in triples if s == node}
        shape = fields.get(SH.sourceShape)
        if not isinstance(shape, URIRef):
            raise ValidationError("a validation result came from an unnamed shape")
        severity = fields.get(SH.resultSeverity)
        out.append(Result(shape, fields[SH.focusNode], fields.get(SH.value), severity or SH.Violation))
    return _sorted(out)


def _sorted(results: list[Result]) -> tuple[Result, ...]:
    return tuple(sorted(results, key=lambda x: (str(x.source_shape), str(x.focus), str(x.value))))


def _results(report: Graph) -> tuple[Result, ...]:
    out = []
    for r in report.objects(None, SH.result):
        shape = report.value(r, SH.sourceShape)
        if not isinstance(shape, URIRef):
            raise ValidationError("a validation result came from an unnamed shape")
        focus = report.value(r, SH.focusNode)
        assert focus is not None
        out.append(Result(shape, focus, report.value(r, SH.value), report.value(r, SH.resultSeverity) or SH.Violation))
    return _sorted(out)


@contextmanager
def _lean_results() -> Iterator[None]:
    """Skip pyshacl work whose output the reasoner never reads, for the duration of one validation.

    pyshacl writes a text description for every result, including the many that a qualified
    value shape builds and then discards, and finds constraint parameters by scanning a list;
    together a quarter of a determination (bench/README.md). Both are patched only while the
    caller holds THIRD_PARTY_LOCK, and restored afterwards whatever happens.
    """
    saved_description = ConstraintComponent.make_v_result_description
    saved_params = getattr(pyshacl_shape, "CONSTRAINT_PARAMS", None)
    saved_messages = {c: c.__dict__["make_generic_messages"] for c in _MESSAGE_MAKERS}
    # Patching pyshacl's methods and module state is outside what its types allow: hence the ignores.
    ConstraintComponent.make_v_result_description = _no_description  # type: ignore[method-assign]
    for component in saved_messages:
        component.make_generic_messages = _no_messages  # type: ignore[method-assign]
    pyshacl_shape.CONSTRAINT_PARAMS = (frozenset(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        ConstraintComponent.make_v_result_description = saved_description  # type: ignore[method-assign]
        for component, method in saved_messages.items():
            component.make_generic_messages = method  # type: ignore[method-assign]
        if saved_params is None:
            del pyshacl_shape.CONSTRAINT_PARAMS  # type: ignore[attr-defined]
        else:
            pyshacl_shape.CONSTRAINT_PARAMS = saved_params  # type: ignore[attr-defined]


def _no_description(self: object, *args: object, **kwargs: object) -> str:
    return ""


def _no_messages(self: object, *args: object, **kwargs: object) -> list[RdfLiteral]:
    return []


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out


# Every constraint component that writes generic result messages (stringifying nodes) for
# results whose shape gives no sh:message; the reasoner reads authored texts, never these.
_MESSAGE_MAKERS = tuple(
    c
    for c in _subclasses(ConstraintComponent)
    if issubclass(c, ConstraintComponent) and "make_generic_messages" in c.__dict__  # each is: typed so
)


class Outline(NamedTuple):
    """What a compiled shape is made of, for saying which values it failed on (read once per shape)."""

    qualified: Shape | None  # its compiled sh:qualifiedValueShape
    most: int | None  # sh:qualifiedMaxCount
    least: int | None  # sh:qualifiedMinCount
    is_property: bool  # has sh:path: its parts judge its values, not its focus
    parts: tuple[Node, ...]  # sh:node, sh:property and the members of sh:or and sh:and


class PreparedShapes:
    """A shapes graph compiled once; :meth:`validate` runs a selection of its root shapes."""

    def __init__(self, shapes: Graph) -> None:
        self._shapes = shapes
        self._names = _shape_nodes(shapes)
        cache: dict[Node, Shape | None] = {}
        self._compiled = {n: compile_shape(shapes, n, cache) for n in self._names}
        self._pyshacl: dict[Node, pyshacl_shape.Shape] | None = None
        self._outlines: dict[Node, Outline] = {}
        if any(c is None for c in self._compiled.values()):
            self._pyshacl_shapes()

    def compiled(self, node: Node) -> Shape | None:
        """The compiled shape ``node``; None when pyshacl runs it or it is no shape."""
        return self._compiled.get(node)

    def outline(self, node: Node) -> Outline:
        """The parts of shape ``node``, read from the shapes graph the first time they are asked for."""
        if (found := self._outlines.get(node)) is not None:
            return found
        g = self._shapes

        def count(p: URIRef) -> int | None:
            value = g.value(node, p)
            return int(value) if isinstance(value, RdfLiteral) else None

        qualified = g.value(node, SH.qualifiedValueShape)
        parts = [*g.objects(node, SH.node), *g.objects(node, SH.property)]
        for p in (SH["or"], SH["and"]):
            parts += [m for members in g.objects(node, p) for m in g.items(members)]
        found = Outline(
            self._compiled.get(qualified) if qualified is not None else None,
            count(SH.qualifiedMaxCount),
            count(SH.qualifiedMinCount),
            g.value(node, SH.path) is not None,
            tuple(parts),
        )
        self._outlines[node] = found  # a race only computes the same outline twice
        return found

    @property
    def uncompiled(self) -> frozenset[Node]:
        """Shapes the compiled evaluator does not support; pyshacl runs them."""
        return frozenset(n for n, c in self._compiled.items() if c is None)

    def validate(
        self,
        data: Graph,
        roots: frozenset[URIRef],
        *,
        engine: Engine = "compiled",
        reader: Reader | None = None,
    ) -> tuple[Result, ...]:
        """Validate ``data`` against the given root shapes (each must have a target).

        ``engine="pyshacl"`` runs every root in pyshacl (for differential tests). ``reader``: a
        reader of ``data`` to use (and fill), so that the explanation can ask it again.

        Raises:
            ValidationError: a shape recursed, or a root shape is unknown.
        """
        unknown = sorted(r for r in roots if r not in self._names)
        if unknown:
            raise ValidationError(f"unknown shape {unknown[0]}")
        reader, out, rest = reader if reader is not None else Reader(data), [], []
        try:
            for root in sorted(roots):
                shape = self._compiled[root] if engine == "compiled" else None
                if shape is None:
                    rest.append(root)
                else:
                    out.extend(shape.validate(reader))
        except Exception as exc:  # noqa: BLE001 - odd data must not become a crash
            raise ValidationError(f"validation failed on this case ({type(exc).__name__})") from None
        if any(not isinstance(r.source_shape, URIRef) for r in out):
            raise ValidationError("a validation result came from an unnamed shape")
        others = self._validate_in_pyshacl(data, rest)
        if others and reader.uncertain:
            # pyshacl knows two truth values: with anything unstated, what it finds failing may not
            # fail once the values are stated, so it is only undecided (on every unstated value).
            every = frozenset().union(*(reader.gaps(f) for f, _p in data.subject_objects(GR.unstated)))
            others = tuple(r._replace(value=None, undecided=every) for r in others)
        return _sorted(out + list(others))

    def _pyshacl_shapes(self) -> dict[Node, pyshacl_shape.Shape]:
        if self._pyshacl is None:
            # pyshacl reads shape parameters from the shapes graph on every validation; rdflib's
            # context-free store answers those lookups about a fifth faster (bench/README.md).
            lean = Graph(store="SimpleMemory")
            for triple in self._shapes:
                lean.add(triple)
            with THIRD_PARTY_LOCK:
                apply_patches()
                assign_baked_in()
                self._pyshacl = {s.node: s for s in ShapesGraph(lean).shapes}
        return self._pyshacl

    def _validate_in_pyshacl(self, data: Graph, roots: list[URIRef]) -> tuple[Result, ...]:
        if not roots:
            return ()
        shapes = self._pyshacl_shapes()
        missing = [r for r in roots if r not in shapes]
        if missing:
            raise ValidationError(f"unknown shape {missing[0]}")  # a node only the compiled evaluator took for a shape
        selected = [shapes[r] for r in roots]
        # allow_infos/allow_warnings must stay off: with them, a node that fails an sh:Info shape
        # "conforms", and qualified value shapes would count it (every result is read anyway).
        executor = SHACLExecutor(max_validation_depth=15)
        reports: list[_Report] = []
        with THIRD_PARTY_LOCK, warnings.catch_warnings(), _lean_results():
            warnings.simplefilter("error", ShapeRecursionWarning)
            try:
                for shape in selected:
                    _ok, shape_reports = shape.validate(executor, data)
                    reports.extend(shape_reports)
            except ShapeRecursionWarning as exc:
                raise ValidationError("a shape recursed on this case; the result cannot be trusted") from exc
            except Exception as exc:  # noqa: BLE001 - a pyshacl failure on odd data must not become a crash
                raise ValidationError(f"validation failed on this case ({type(exc).__name__})") from None
        return _results_from_reports(reports)


def _shape_nodes(shapes: Graph) -> frozenset[Node]:
    """Every node the shapes graph declares or uses as a shape (what pyshacl would find)."""
    found: set[Node] = set()
    for kind in (SH.NodeShape, SH.PropertyShape):
        found.update(shapes.subjects(RDF.type, kind))
    for p in (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.path):
        found.update(shapes.subjects(p, None))
    for p in (SH.node, SH["not"], SH.property, SH.qualifiedValueShape):
        found.update(shapes.objects(None, p))
    for p in (SH["or"], SH["and"], SH.xone):
        for members in shapes.objects(None, p):
            found.update(shapes.items(members))
    return frozenset(found)


def validate_naively(data: Graph, shapes: Graph, ontology: Graph) -> tuple[Result, ...]:
    """The reference evaluation: pyshacl over the case with the whole knowledge base and RDFS inference.

    Seconds per call; used by the differential tests and the benchmark, never per request.
    """
    with THIRD_PARTY_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", ShapeRecursionWarning)
        _conforms, report, _text = _pyshacl_validate(data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs")
    assert isinstance(report, Graph)
    return _results(report)


def _meta() -> Graph:
    meta = Graph()
    meta.parse(data=resources.files("pyshacl").joinpath("assets/shacl-shacl.ttl").read_bytes(), format="turtle")
    return meta


def shacl_for_shacl(shapes: Graph) -> list[tuple[Node, str]]:
    """(focus node, message) for every SHACL-for-SHACL violation of a shapes graph."""
    return validate_with(shapes, _meta())


def validate_with(data: Graph, shapes: Graph) -> list[tuple[Node, str]]:
    """(focus node, message) for every result of validating ``data`` against trusted ``shapes`` (for lint)."""
    with THIRD_PARTY_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", ShapeRecursionWarning)
        _conforms, report, _text = _pyshacl_validate(data, shacl_graph=shapes)
    assert isinstance(report, Graph)
    out = []
    for r in report.objects(None, SH.result):
        focus = report.value(r, SH.focusNode)
        assert focus is not None  # every result has one (SHACL 3.6.2)
        message = report.value(r, SH.resultMessage)
        out.append((focus, str(message) if message is not None else "does not conform"))
    return sorted(out, key=lambda x: (str(x[0]), x[1]))


def check_shapes_graph(shapes: Graph, *, skip: frozenset[URIRef] = frozenset()) -> None:
    """Check the shapes against SHACL-for-SHACL, leaving out the shapes in ``skip``.

    The knowledge base skips the shapes it writes itself from declared rules: they come from
    reasoner/knowledge/rules/, whose output a test checks against SHACL-for-SHACL, and checking them
    again at every load made the load grow with every declared rule.

    Raises:
        KnowledgeBaseError: naming the first offending shapes.
    """
    if skip:
        kept = Graph()
        for triple in shapes:
            if triple[0] not in skip:
                kept.add(triple)
        shapes = kept
    meta = Graph()
    meta.parse(data=resources.files("pyshacl").joinpath("assets/shacl-shacl.ttl").read_bytes(), format="turtle")
    with THIRD_PARTY_LOCK, _lean_results():
        conforms, report, _text = _pyshacl_validate(shapes, shacl_graph=meta, allow_warnings=True)
    if not conforms:
        assert isinstance(report, Graph)
        bad = sorted({str(report.value(r, SH.focusNode)) for r in report.objects(None, SH.result)})
        raise KnowledgeBaseError("shapes are not valid SHACL: " + ", ".join(bad[:10]))
    if any(not isinstance(s, URIRef) for s in shapes.subjects(RDF.type, SH.PropertyShape)):
        raise KnowledgeBaseError("every property shape must be IRI-named")

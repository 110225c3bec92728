"""Every touch of pyshacl: its public ``validate``, and the internals the per-request path relies on.

Why internals at all: pyshacl's public ``validate()`` rebuilds its shapes graph on every call
(150 ms with the bundled knowledge base); the reasoner loads pyshacl's ``Shape`` objects once per
knowledge base and runs only the roots a request selects, with pyshacl's own executor. The public
way would be a reusable, pre-parsed validator in pyshacl; there is none (``Validator`` re-reads its
shapes graph per run). ``tests/test_pyshacl_adapter.py`` holds each name below to the shape
relied on, so an upgrade of pyshacl that changes one fails there by name.

pyshacl's exceptions stop here: a shape recursion, a failure on odd data and a shapes graph pyshacl
cannot load leave this module as the engine's own errors (:mod:`reasoner.errors`). Everything
that patches pyshacl, or calls into it, holds THIRD_PARTY_LOCK (one lock for rdflib's SPARQL
parser, which pyshacl also uses; reasoner/_rdf/lock.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import NamedTuple, TypeAlias

import pyshacl.shape as pyshacl_shape
from pyshacl import validate as pyshacl_validate
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
from pyshacl.constraints.constraint_component import ConstraintComponent
from pyshacl.errors import ShapeLoadError, ShapeRecursionWarning
from pyshacl.monkey import apply_patches
from pyshacl.pytypes import SHACLExecutor
from pyshacl.rdfutil.compare import compare_literal
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.validator import assign_baked_in
from rdflib import SH, Graph
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from reasoner._rdf import literals
from reasoner._rdf.lock import THIRD_PARTY_LOCK
from reasoner.errors import KnowledgeBaseError, ValidationError

__all__ = [
    "THIRD_PARTY_LOCK",
    "PyshaclShape",
    "RawResult",
    "compare_literal",
    "load_shapes",
    "run_shapes",
    "shacl_shacl",
    "validate_graph",
]

PyshaclShape: TypeAlias = pyshacl_shape.Shape
# pyshacl's result triples carry (graph, node) pairs for nodes it will later copy into a report graph.
_ReportTerm = Node | tuple[Graph, Node]
# A per-shape result of pyshacl's Shape.validate: (description, result node, its triples).
_Report = tuple[object, Node, list[tuple[Node, Node, _ReportTerm]]]


class RawResult(NamedTuple):
    """One validation result as pyshacl reports it (the shape may be a blank node)."""

    source_shape: Node | None
    focus: Node
    value: Node | None
    severity: Node
    message: str | None = None  # sh:resultMessage, from validate_graph only


def load_shapes(shapes: Graph) -> dict[Node, PyshaclShape]:
    """Pyshacl's ``Shape`` objects for every shape of ``shapes``, by node (once per knowledge base).

    Raises:
        KnowledgeBaseError: pyshacl cannot load the shapes graph.
    """
    # pyshacl reads shape parameters from the shapes graph on every validation; rdflib's
    # context-free store answers those lookups about a fifth faster (bench/README.md).
    lean = Graph(store="SimpleMemory")
    for triple in shapes:
        lean.add(triple)
    with THIRD_PARTY_LOCK:
        apply_patches()  # what pyshacl.validate() does first: rdflib fixes it needs
        assign_baked_in()
        try:
            return {s.node: s for s in ShapesGraph(lean).shapes}
        except ShapeLoadError as exc:
            raise KnowledgeBaseError(f"the shapes cannot be loaded: {exc.args[0] if exc.args else exc}") from exc


def run_shapes(shapes: Sequence[PyshaclShape], data: Graph) -> list[RawResult]:
    """Every result of validating ``data`` against ``shapes`` (root shapes with targets), in pyshacl.

    Raises:
        ValidationError: a shape recursed, or pyshacl failed on this data.
    """
    # allow_infos/allow_warnings must stay off: with them, a node that fails an sh:Info shape
    # "conforms", and qualified value shapes would count it (every result is read anyway).
    executor = SHACLExecutor(max_validation_depth=15)
    reports: list[_Report] = []
    with THIRD_PARTY_LOCK, warnings.catch_warnings(), _lean_results():
        warnings.simplefilter("error", ShapeRecursionWarning)
        try:
            for shape in shapes:
                _ok, shape_reports = shape.validate(executor, data)
                reports.extend(shape_reports)
        except ShapeRecursionWarning as exc:
            raise ValidationError("a shape recursed on this case; the result cannot be trusted") from exc
        except Exception as exc:  # noqa: BLE001 - a pyshacl failure on odd data must not become a crash
            raise ValidationError(f"validation failed on this case ({type(exc).__name__})") from None
    return [_raw(node, triples) for _description, node, triples in reports]


def _raw(node: Node, triples: list[tuple[Node, Node, _ReportTerm]]) -> RawResult:
    # Nested results (sh:detail of sh:node failures) share this triple list: keep this result's own.
    fields = {p: (o[1] if isinstance(o, tuple) else o) for s, p, o in triples if s == node}
    return RawResult(
        fields.get(SH.sourceShape),
        fields[SH.focusNode],
        fields.get(SH.value),
        fields.get(SH.resultSeverity, SH.Violation),
    )


def validate_graph(
    data: Graph,
    shapes: Graph,
    *,
    ontology: Graph | None = None,
    rdfs: bool = False,
    allow_warnings: bool = False,
    lean: bool = False,
    recursion_is_error: bool = True,
) -> tuple[bool, list[RawResult], Graph]:
    """Pyshacl's public ``validate``: whether ``data`` conforms, its results and the report graph.

    ``rdfs``: RDFS inference over data and ``ontology`` first. ``lean``: skip the result texts
    (for callers that read only which nodes failed). ``recursion_is_error``: off only where a
    recursion cannot make a wrong answer pass (checking a shapes graph against SHACL-for-SHACL).

    Raises:
        ValidationError: a shape recursed (pyshacl would otherwise report it as conforming).
    """
    with THIRD_PARTY_LOCK, warnings.catch_warnings(), _lean_results() if lean else _unchanged():
        if recursion_is_error:
            warnings.simplefilter("error", ShapeRecursionWarning)
        try:
            conforms, report, _text = pyshacl_validate(
                data,
                shacl_graph=shapes,
                ont_graph=ontology,
                inference="rdfs" if rdfs else None,
                allow_warnings=allow_warnings,
            )
        except ShapeRecursionWarning as exc:
            raise ValidationError("a shape recursed; the result cannot be trusted") from exc
        finally:
            if rdfs:  # owlrl, which runs the inference, resets rdflib's literal converters when it ends
                literals.restore()
    assert isinstance(report, Graph)
    results = []
    for r in report.objects(None, SH.result):
        focus = report.value(r, SH.focusNode)
        assert focus is not None  # every result has one (SHACL 3.6.2)
        severity = report.value(r, SH.resultSeverity) or SH.Violation
        message = report.value(r, SH.resultMessage)
        results.append(
            RawResult(
                report.value(r, SH.sourceShape),
                focus,
                report.value(r, SH.value),
                severity,
                str(message) if message is not None else None,
            )
        )
    return bool(conforms), results, report


@cache
def shacl_shacl_bytes() -> bytes:
    """The Turtle of SHACL-for-SHACL as this pyshacl ships it."""
    return resources.files("pyshacl").joinpath("assets/shacl-shacl.ttl").read_bytes()


def shacl_shacl() -> Graph:
    """SHACL-for-SHACL (the shapes graph that checks a shapes graph), as pyshacl ships it; a new graph each call."""
    return Graph().parse(data=shacl_shacl_bytes(), format="turtle")


@contextmanager
def _unchanged() -> Iterator[None]:
    yield


@contextmanager
def _lean_results() -> Iterator[None]:
    """Skip pyshacl work whose output the reasoner never reads, for the duration of one validation.

    pyshacl writes a text description for every result, including the many that a qualified
    value shape builds and then discards, and finds constraint parameters by scanning a list;
    together a quarter of a determination (bench/README.md). Both are patched only while the
    caller holds THIRD_PARTY_LOCK, and restored afterwards whatever happens. The public way would
    be an option of pyshacl's to skip result messages; there is none.
    """
    saved_description = ConstraintComponent.make_v_result_description
    saved_params = getattr(pyshacl_shape, "CONSTRAINT_PARAMS", None)
    saved_messages = {c: c.__dict__["make_generic_messages"] for c in MESSAGE_MAKERS}
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
MESSAGE_MAKERS = tuple(
    c
    for c in _subclasses(ConstraintComponent)
    if issubclass(c, ConstraintComponent) and "make_generic_messages" in c.__dict__  # each is: typed so
)

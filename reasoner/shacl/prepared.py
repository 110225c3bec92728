"""SHACL validation: pyshacl, and the compiled evaluator (reasoner/shacl/compiled.py and its siblings).

Shapes are compiled once per knowledge base (:class:`PreparedShapes`); a request runs only the
root shapes it selects over its own small data graph, with no inference (the enrich stage has
already derived every fact the shapes read). Roots the compiled evaluator supports run there;
any other root runs in pyshacl. A shape-recursion warning is an error: pyshacl otherwise reports
a recursive violation as conforming (docs/threats.md C4).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

from rdflib import RDF, SH, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from reasoner._rdf.pickled import Deferred
from reasoner.errors import KnowledgeBaseError, ValidationError
from reasoner.shacl import shacl_syntax, shape_bundles
from reasoner.shacl.compiled import compile_shape
from reasoner.shacl.reader import Reader
from reasoner.shacl.shape import Result, Shape
from reasoner.shacl.shape_bundles import ShapeGraphs
from reasoner.vocab import GR

if TYPE_CHECKING:
    from reasoner.shacl import _pyshacl

# pyshacl takes a tenth of a second to import, and a determination whose shapes all compile never
# calls it: each function that does imports the adapter (reasoner/shacl/_pyshacl.py) itself.

__all__ = ["PreparedShapes", "Result", "check_shapes_graph", "shacl_for_shacl", "validate_naively", "validate_with"]

Engine = Literal["compiled", "pyshacl"]


def _results(raw: Sequence[_pyshacl.RawResult]) -> tuple[Result, ...]:
    out = []
    for r in raw:
        if not isinstance(r.source_shape, URIRef):
            raise ValidationError("a validation result came from an unnamed shape")
        out.append(Result(r.source_shape, r.focus, r.value, r.severity))
    return _sorted(out)


def _sorted(results: list[Result]) -> tuple[Result, ...]:
    return tuple(sorted(results, key=lambda x: (str(x.source_shape), str(x.focus), str(x.value))))


class Outline(NamedTuple):
    """What a compiled shape is made of, for saying which values it failed on (read once per shape)."""

    qualified: Shape | None  # its compiled sh:qualifiedValueShape
    most: int | None  # sh:qualifiedMaxCount
    least: int | None  # sh:qualifiedMinCount
    is_property: bool  # has sh:path: its parts judge its values, not its focus
    parts: tuple[Node, ...]  # sh:node, sh:property and the members of sh:or and sh:and


class PreparedShapes:
    """A shapes graph compiled once; :meth:`validate` runs a selection of its root shapes.

    Built from a shapes graph, it compiles every shape at once (a shape the compiled evaluator
    does not support then loads pyshacl's shapes, so a shapes graph pyshacl cannot load is refused
    at load), and keeps its root shapes in the groups ``group_of`` gives (one per policy:
    reasoner/shacl/shape_bundles.py). Revived from a prepared knowledge base kept on disk
    (reasoner/knowledge/prepared_cache.py), whose shapes were compiled that way before, it
    compiles each shape the first time it is asked for, from its group's graph: a start pays for
    the policies it serves, not for every policy of the knowledge base.
    """

    def __init__(self, shapes: Graph, group_of: Mapping[Node, str] | None = None) -> None:
        names = _shape_nodes(shapes)
        kept = shape_bundles.bundles(shapes, names, group_of) if group_of else {}
        self._setup(ShapeGraphs(Deferred(shapes), kept, dict(group_of or {})), Deferred(names))
        if None in [self._compile(n) for n in names]:  # every one: not any(), which stops at the first
            self._pyshacl_shapes()

    def _setup(self, graphs: ShapeGraphs, names: Deferred[frozenset[Node]]) -> None:
        self._graphs = graphs
        self._names = names
        self._compiled: dict[Node, Shape | None] = {}  # by root shape; the compiler's own cache
        self._compiling = threading.Lock()
        self._pyshacl: dict[Node, _pyshacl.PyshaclShape] | None = None
        self._outlines: dict[Node, Outline] = {}

    @classmethod
    def _revived(cls, graphs: ShapeGraphs, names: Deferred[frozenset[Node]]) -> PreparedShapes:
        made = cls.__new__(cls)
        cls._setup(made, graphs, names)
        return made

    def __reduce__(self) -> tuple[object, tuple[ShapeGraphs, Deferred[frozenset[Node]]]]:
        # Compiled shapes are closures: a pickle holds the shapes (whole and by group) and their names,
        # and compiles each shape the first time it is asked for.
        return self._revived, (self._graphs, self._names)

    @property
    def deferred_shapes(self) -> Deferred[Graph]:
        """The whole shapes graph (unpickled when first asked for, in a revived knowledge base)."""
        return self._graphs.whole

    def _is_shape(self, node: Node) -> bool:
        known = self._graphs.is_shape(node)
        return node in self._names.get() if known is None else known

    def _compile(self, node: Node) -> Shape | None:
        try:
            return self._compiled[node]
        except KeyError:
            pass
        with self._compiling:  # the compiler's cache is shared by the shapes it compiles
            return compile_shape(self._graphs.graph_for(node), node, self._compiled)

    def compiled(self, node: Node) -> Shape | None:
        """The compiled shape ``node``; None when pyshacl runs it or it is no shape."""
        return self._compile(node) if self._is_shape(node) else None

    def outline(self, node: Node) -> Outline:
        """The parts of shape ``node``, read from the shapes graph the first time they are asked for."""
        if (found := self._outlines.get(node)) is not None:
            return found
        g = self._graphs.graph_for(node)

        def count(p: URIRef) -> int | None:
            value = g.value(node, p)
            return int(value) if isinstance(value, RdfLiteral) else None

        qualified = g.value(node, SH.qualifiedValueShape)
        parts = [*g.objects(node, SH.node), *g.objects(node, SH.property)]
        for p in (SH["or"], SH["and"]):
            parts += [m for members in g.objects(node, p) for m in g.items(members)]
        found = Outline(
            self.compiled(qualified) if qualified is not None else None,
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
        return frozenset(n for n in self._names.get() if self._compile(n) is None)

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
        unknown = sorted(r for r in roots if not self._is_shape(r))
        if unknown:
            raise ValidationError(f"unknown shape {unknown[0]}")
        reader, out, rest = reader if reader is not None else Reader(data), [], []
        try:
            for root in sorted(roots):
                shape = self._compile(root) if engine == "compiled" else None
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

    def _pyshacl_shapes(self) -> dict[Node, _pyshacl.PyshaclShape]:
        from reasoner.shacl import _pyshacl

        if self._pyshacl is None:
            self._pyshacl = _pyshacl.load_shapes(self._graphs.whole.get())
        return self._pyshacl

    def _validate_in_pyshacl(self, data: Graph, roots: list[URIRef]) -> tuple[Result, ...]:
        if not roots:
            return ()
        from reasoner.shacl import _pyshacl

        shapes = self._pyshacl_shapes()
        missing = [r for r in roots if r not in shapes]
        if missing:
            raise ValidationError(f"unknown shape {missing[0]}")  # a node only the compiled evaluator took for a shape
        return _results(_pyshacl.run_shapes([shapes[r] for r in roots], data))


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
    from reasoner.shacl import _pyshacl

    owned = Graph()  # pyshacl's RDFS inference writes into the shapes graph it is given: never the knowledge base's
    for triple in shapes:
        owned.add(triple)
    _conforms, results, _report = _pyshacl.validate_graph(data, owned, ontology=ontology, rdfs=True)
    return _results(results)


def shacl_for_shacl(shapes: Graph) -> list[tuple[Node, str]]:
    """(focus node, message) for every SHACL-for-SHACL violation of a shapes graph."""
    from reasoner.shacl import _pyshacl

    return validate_with(shapes, _pyshacl.shacl_shacl())


def validate_with(data: Graph, shapes: Graph) -> list[tuple[Node, str]]:
    """(focus node, message) for every result of validating ``data`` against trusted ``shapes`` (for lint).

    Checked first without the results' texts (pyshacl takes half the time without them, and lint
    mostly passes); only data that does not conform is validated again for its messages.
    """
    from reasoner.shacl import _pyshacl

    conforms, _results, _report = _pyshacl.validate_graph(data, shapes, lean=True)
    if conforms:
        return []
    _conforms, results, _report = _pyshacl.validate_graph(data, shapes)
    return sorted(((r.focus, r.message or "does not conform") for r in results), key=lambda x: (str(x[0]), x[1]))


def _violations(shapes: Graph) -> list[Node]:
    """The focus nodes of SHACL-for-SHACL's violations in ``shapes`` (warnings allowed, no result texts)."""
    from reasoner.shacl import _pyshacl

    conforms, results, _report = _pyshacl.validate_graph(
        shapes, _pyshacl.shacl_shacl(), allow_warnings=True, lean=True, recursion_is_error=False
    )
    return [] if conforms else [r.focus for r in results]


def check_shapes_graph(shapes: Graph, *, skip: frozenset[URIRef] = frozenset()) -> None:
    """Check the shapes against SHACL-for-SHACL, leaving out the shapes in ``skip``.

    The knowledge base skips the shapes it writes itself from declared rules: they come from
    reasoner/knowledge/rules/, whose output a test checks against SHACL-for-SHACL, and checking them
    again at every load made the load grow with every declared rule.

    A pass is remembered shape by shape, in this process and in the user's cache folder
    (reasoner/shacl/shacl_syntax.py): a reload, a copy of the knowledge base whose shapes are the
    same, and every later process are not checked again, and an edit is checked for the shapes it
    changed. Only a pass is remembered.

    Raises:
        KnowledgeBaseError: naming the first offending shapes.
    """
    if skip:
        kept = Graph()
        for triple in shapes:
            if triple[0] not in skip:
                kept.add(triple)
        shapes = kept
    # A shape lint found no fault with (lint's check is the stricter) needs no check here.
    bad = shacl_syntax.checked(shapes, _violations, purpose="load", accepts=("lint",))
    if bad:
        raise KnowledgeBaseError("shapes are not valid SHACL: " + ", ".join(sorted({str(f) for f in bad})[:10]))
    if any(not isinstance(s, URIRef) for s in shapes.subjects(RDF.type, SH.PropertyShape)):
        raise KnowledgeBaseError("every property shape must be IRI-named")

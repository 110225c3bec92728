"""Lint the knowledge base: syntax of every file, SHACL-for-SHACL, meta-shapes, declared terms.

Every finding has a location, ``file:line:col``: syntax errors from the parser; other findings
at the line where the offending resource is defined (or first used), found in the Turtle text.
The meta-shapes live in ``shapes/meta/`` and run over the ontology and shapes as written.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rdflib import OWL, RDF, RDFS, SH, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.turtle import TurtleSyntaxError
from reasoner.knowledge import owl_rl, rules
from reasoner.knowledge.closure import close_knowledge_base
from reasoner.knowledge.code_lint import code_problems, range_problems
from reasoner.knowledge.disjointness import disjointness_problems
from reasoner.knowledge.entities import FACT_PLACEHOLDERS, PLACEHOLDER, TEXT_PROPERTIES, threshold_key
from reasoner.knowledge.files import META, KnowledgeFiles, parsed
from reasoner.knowledge.lint_report import Finding, LintReport
from reasoner.knowledge.owl_profile import profile_problems
from reasoner.knowledge.rule_units import observation_kind_problems, unit_code_problems, unit_problems
from reasoner.shacl import shacl_syntax
from reasoner.shacl.prepared import shacl_for_shacl, validate_with
from reasoner.vocab import BASE, GR

_IRI = re.compile(r"[a-z][a-z0-9+.-]*://[^\s,()'<>]+")  # an IRI in owlrl's words
_PREFIX = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([\w.-]*):\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE)


class _Locator:
    """Finds where a term is defined (a line starting with it) or first used, in the Turtle text."""

    def __init__(self, texts: dict[str, str], graphs: dict[str, Graph]) -> None:
        self.texts = texts
        self.graphs = graphs
        # Read from a file's text when a finding is first looked for in it: most lints find nothing.
        self._prefixes: dict[str, dict[str, str]] = {}
        self._code: dict[str, list[str]] = {}

    def code(self, name: str) -> list[str]:
        """The file's lines, comments blanked out (they are not uses; a '#' inside an IRI or a string is kept)."""
        if name not in self._code:
            self._code[name] = [_strip_comment(line) for line in self.texts[name].splitlines()]
        return self._code[name]

    def forms(self, name: str, iri: str) -> list[str]:
        if name not in self._prefixes:
            self._prefixes[name] = dict(_PREFIX.findall(self.texts[name]))
        out = [f"<{iri}>"]
        for prefix, ns in self._prefixes[name].items():
            if iri.startswith(ns) and len(iri) > len(ns):
                out.append(f"{prefix}:{iri[len(ns) :]}")
        return out

    def locate(self, term: Node) -> tuple[str, int, int]:
        if isinstance(term, BNode):
            return self._locate_blank(term)
        return self._find(str(term), list(self.texts)) or (next(iter(self.texts), "knowledge base"), 1, 1)

    def locate_in(self, name: str, term: Node) -> tuple[str, int, int]:
        """Where ``term`` is defined or first used in the file ``name`` (a blank node: where its file has it)."""
        if isinstance(term, BNode):
            return self._locate_blank(term)
        return self._find(str(term), [name]) or (name, 1, 1)

    def _locate_blank(self, node: BNode) -> tuple[str, int, int]:
        """A blank node has no name in the text: find its file, then the first named thing it mentions."""
        for name, graph in self.graphs.items():
            if (node, None, None) in graph or (None, None, node) in graph:
                parents = [s for s in graph.subjects(None, node) if isinstance(s, URIRef)]
                named = parents + sorted(o for o in graph.objects(node, None) if isinstance(o, URIRef))
                for iri in named:
                    found = self._find(str(iri), [name])
                    if found:
                        return found if parents else self._block_start(found)
                return name, 1, 1
        return next(iter(self.texts), "knowledge base"), 1, 1

    def _block_start(self, at: tuple[str, int, int]) -> tuple[str, int, int]:
        """The '[' that opens a top-level blank node, searching up from a line inside it."""
        name, line, column = at
        lines = self.code(name)
        for number in range(line, 0, -1):
            text = lines[number - 1]
            if text.startswith("["):
                return name, number, 1
            if not text.strip():
                break
        return at

    def _find(self, iri: str, names: list[str]) -> tuple[str, int, int] | None:
        first: tuple[str, int, int] | None = None
        for name in names:
            for form in self.forms(name, iri):
                pattern = re.compile(re.escape(form) + r"(?![\w\-]|\.[\w])")
                for number, line in enumerate(self.code(name), start=1):
                    m = pattern.search(line)
                    if m is None:
                        continue
                    if m.start() == 0:
                        return name, number, 1
                    if first is None:
                        first = (name, number, m.start() + 1)
        return first


def _strip_comment(line: str) -> str:
    in_string = in_iri = False
    for i, ch in enumerate(line):
        if ch == '"' and not in_iri:
            in_string = not in_string
        elif ch == "<" and not in_string:
            in_iri = True
        elif ch == ">" and not in_string:
            in_iri = False
        elif ch == "#" and not in_string and not in_iri:
            return line[:i]
    return line


def lint(root: Path, *, only: list[Path] | None = None) -> LintReport:
    """Lint the knowledge base under ``root``; with ``only``, report findings in those files only."""
    return lint_files(KnowledgeFiles.read(root), only=only)


def lint_files(kb_files: KnowledgeFiles, *, only: list[Path] | None = None) -> LintReport:
    """Lint these files; with ``only`` (paths under their root), report findings in those files only.

    The whole report is remembered in this process by the files' names and bytes and the names
    of those that could not be read (lint reads nothing else): linting the same files again, for
    other ``only`` paths, or from another root holding the same files, costs no check.
    """
    key = "\n".join((kb_files.digest_of_everything, *kb_files.unreadable))
    report = _remembered(_REPORTS, key, 32, lambda: _lint_all(kb_files))
    return report if only is None else only_in(report, kb_files, only)


def only_in(report: LintReport, kb_files: KnowledgeFiles, only: list[Path]) -> LintReport:
    """``report`` with only the findings in ``only`` (files, or folders holding them, under the files' root)."""
    root = kb_files.root
    wanted = {p.resolve() for p in only}
    keep = {
        name
        for name, _ in kb_files.files
        if (root / name).resolve() in wanted or any(q in (root / name).resolve().parents for q in wanted)
    }
    return LintReport(tuple(f for f in report.findings if f.file in keep), report.unreadable, report.files)


_REPORTS: dict[str, LintReport] = {}
_MEMORY_LOCK = threading.Lock()
_T = TypeVar("_T")


def _remembered(memory: dict[str, _T], key: str, most: int, compute: Callable[[], _T]) -> _T:
    """``memory[key]``, computed (outside the lock) when absent; the oldest goes beyond ``most`` entries."""
    with _MEMORY_LOCK:
        found = memory.get(key)
    if found is None:
        found = compute()
        with _MEMORY_LOCK:
            if len(memory) >= most:
                memory.pop(next(iter(memory)))
            memory[key] = found
    return found


def _lint_all(kb_files: KnowledgeFiles) -> LintReport:
    texts: dict[str, str] = {}
    graphs: dict[str, Graph] = {}
    findings: list[Finding] = []
    unreadable: list[str] = list(kb_files.unreadable)
    for name, data in kb_files.files:
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            unreadable.append(f"{name}: {exc.__class__.__name__}")
            continue
        try:
            graphs[name] = parsed(data)
        except TurtleSyntaxError as exc:
            findings.append(Finding(name, exc.line or 1, exc.column or 1, "syntax", str(exc)))
        except Exception as exc:  # noqa: BLE001 - rdflib also raises ValueError, IndexError... on bad files
            findings.append(Finding(name, 1, 1, "syntax", f"the file cannot be parsed ({type(exc).__name__})"))
    if not findings and not unreadable:
        findings.extend(_semantic(graphs, _Locator(texts, graphs)))
    ordered = sorted(set(findings), key=lambda f: (f.file, f.line, f.column, f.check))
    return LintReport(tuple(ordered), tuple(unreadable), len(kb_files.files) + len(kb_files.unreadable))


# Reports a finding: (the term it is about, the check, the message).
_At = Callable[[Node, str, str], None]


_CHECKED: dict[str, list[tuple[Node, str]]] = {}


def _shacl_for_shacl(graph: Graph) -> list[tuple[Node, str]]:
    """SHACL-for-SHACL results of ``graph``, remembered by its triples in this process.

    Seconds a call, for the bundled shapes; most lints (a reload, an edit of the ontology, a copy
    with one more file) check the same shapes again. Keyed by the sorted triples, which costs a
    hundredth of the check. Passes are also remembered shape by shape on disk
    (reasoner/shacl/shacl_syntax.py): after an edit, only the shapes it changed are checked.
    """
    key = hashlib.sha256("\n".join(sorted(" ".join(t.n3() for t in triple) for triple in graph)).encode()).hexdigest()
    return _remembered(_CHECKED, key, 8, lambda: shacl_syntax.checked(graph, shacl_for_shacl, purpose="lint"))


def _semantic(graphs: dict[str, Graph], where: _Locator) -> list[Finding]:
    kb, shapes, meta = Graph(), Graph(), Graph()
    for name, graph in graphs.items():
        target = meta if name.startswith(META) else shapes if name.startswith("shapes/") else kb
        target += graph
    kb += shapes
    out: list[Finding] = []

    def at(term: Node, check: str, message: str) -> None:
        name, line, column = where.locate(term)
        out.append(Finding(name, line, column, check, message))

    for graph in (shapes, meta):
        for focus, message in _shacl_for_shacl(graph):
            at(focus, "shacl", message)
    _threshold_bindings(kb, at)
    _threshold_tags(kb, at)
    if len(meta):
        for focus, message in validate_with(kb, meta):
            check, _, text = message.partition(": ")
            at(focus, check if text else "meta", text or message)
    for name, term, check, message in profile_problems(graphs):
        out.append(Finding(*where.locate_in(name, term), check, message))
    _inverse_sequences(shapes, at)
    _placeholders(kb, at)
    for criterion, message in rules.rule_problems(kb):
        at(criterion, "rule", message)
    for holder, message in unit_problems(kb):
        at(holder, "rule-unit", message)
    for kind, message in observation_kind_problems(kb):
        at(kind, "observation-kind", message)
    for unit, message in unit_code_problems(kb):
        at(unit, "unit-code", message)
    for term, check, message in code_problems(kb):
        at(term, check, message)
    for entry, message in range_problems(kb):
        at(entry, "diagnosis-entry", message)
    rl_axioms = owl_rl.rl_axioms(graphs.values())
    if owl_rl.constrains(rl_axioms):  # the bundled chain does not: no closure for it here
        for message in owl_rl.inconsistencies(close_knowledge_base(kb, rl_axioms), rl_axioms):
            iri = _IRI.search(message)  # where the first term it names is defined; else the first file's start
            at(URIRef(iri.group()) if iri else OWL.Nothing, "owl-inconsistency", message)
    for term, message in disjointness_problems(kb, rl_axioms):
        at(term, "disjoint-classes", message)
    _undeclared(kb, at)
    return out


def _threshold_bindings(kb: Graph, at: _At) -> None:
    for binder in kb.subjects(RDF.type, GR.ThresholdParameter):
        for shape, threshold in kb.subject_objects(binder):
            if not isinstance(kb.value(threshold, GR.value), Literal):
                at(
                    shape,
                    "threshold-binding",
                    f"the shape binds <{threshold}>, which is not a threshold with a gr:value",
                )


def _threshold_tags(kb: Graph, at: _At) -> None:
    """A threshold is no better verified than a criterion it drives (``gr:usesThreshold``, or a rule's parameter).

    In code, not a SPARQL meta-shape: pyshacl ran that query once per threshold, a third of a lint.
    """
    strength = {tag: value.value for tag, value in kb.subject_objects(GR.strength) if isinstance(value, Literal)}
    users: dict[Node, set[Node]] = {}
    for criterion, threshold in kb.subject_objects(GR.usesThreshold):
        users.setdefault(threshold, set()).add(criterion)
    for criterion, rule in kb.subject_objects(GR.rule):
        for threshold in kb.objects(rule, None):
            users.setdefault(threshold, set()).add(criterion)
    for threshold in _instances(kb, GR.Threshold):
        for tag in kb.objects(threshold, GR.verification):
            for criterion in sorted(users.get(threshold, ()), key=str):
                weaker = (strength.get(own) for own in kb.objects(criterion, GR.verification))
                if tag in strength and any(w is not None and strength[tag] > w for w in weaker):
                    at(
                        threshold,
                        "threshold-tag",
                        f"the threshold's gr:verification is stronger than the tag of a criterion that uses it "
                        f"({criterion}): a threshold used by several facts carries the weakest of their tags, "
                        "or is split into one threshold per fact",
                    )


def _instances(kb: Graph, cls: Node) -> list[Node]:
    """The SHACL instances of ``cls`` (typed with it or a subclass of it, as the graph says), sorted."""
    return sorted({s for c in kb.transitive_subjects(RDFS.subClassOf, cls) for s in kb.subjects(RDF.type, c)}, key=str)


def _inverse_sequences(shapes: Graph, at: _At) -> None:
    """``sh:inversePath`` of a sequence: pyshacl walks ``^(a/b)`` as ``^a/^b`` and finds nothing."""
    for shape, path in shapes.subject_objects(SH.path):
        stack, seen = [path], set()
        while stack:
            node = stack.pop()
            if not isinstance(node, BNode) or node in seen:
                continue
            seen.add(node)
            inverse = shapes.value(node, SH.inversePath)
            if isinstance(inverse, BNode) and shapes.value(inverse, RDF.first) is not None:
                at(
                    shape,
                    "inverse-sequence-path",
                    "the inverse of a sequence path is read in the wrong order by pyshacl: write each step's "
                    "inverse in reverse order, ( [ sh:inversePath b ] [ sh:inversePath a ] ) for ^(a/b)",
                )
                break
            stack.extend(o for _p, o in shapes.predicate_objects(node))


def _placeholders(kb: Graph, at: _At) -> None:
    """A ``{key}`` in a text must name a threshold the resource uses, or a reader sees the raw placeholder."""
    for prop in TEXT_PROPERTIES:
        for subject, text in kb.subject_objects(prop):
            keys = set(PLACEHOLDER.findall(str(text)))
            if not keys:
                continue
            usable = {
                threshold_key(t)
                for t in kb.objects(subject, GR.usesThreshold)
                if isinstance(t, URIRef) and isinstance(kb.value(t, GR.value), Literal)
            }
            if prop == GR.notMetText:
                usable |= FACT_PLACEHOLDERS  # filled by each determination
            for key in sorted(keys - usable):
                at(
                    subject,
                    "placeholder",
                    f"{{{key}}} in its gr:{str(prop).rsplit('#', 1)[-1]} names no threshold it uses "
                    "(gr:usesThreshold, with a gr:value): a reader would see the placeholder",
                )


def _undeclared(kb: Graph, at: _At) -> None:
    declared = {s for s in kb.subjects(RDF.type, None)}
    versions = set(kb.objects(None, OWL.versionIRI))
    seen: set[Node] = set()
    for triple in kb:
        for term in triple:
            if (
                isinstance(term, URIRef)
                and str(term).startswith(BASE)
                and term not in declared
                and term not in versions
                and term not in seen
            ):
                seen.add(term)
                at(term, "undeclared", f"<{term}> is used but never declared (a typo?)")

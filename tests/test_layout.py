"""The import graph of ``reasoner`` and ``api``: no cycle, ``TYPE_CHECKING`` imports counted.

Read from the source (ast), not by importing: an import inside a function or under
``if TYPE_CHECKING:`` is an edge like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGES = ("reasoner", "api")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in targets:
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target in modules and target != name:
                out.add(target)
    return out


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    modules = _modules()
    edges = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert len(modules) > 50 and sum(map(len, edges.values())) > 100  # the graph was read
    assert _cycles(edges) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


STAGES = ("intake", "enrich", "explain", "render", "interop", "sparql", "authoring", "pipeline", "compare", "cli")


def test_the_knowledge_base_imports_no_stage() -> None:
    # It sits below every stage (reasoner/knowledge/__init__.py says why shacl is allowed).
    modules = _modules()
    below = {
        name: _imports(name, path, modules) for name, path in modules.items() if name.startswith("reasoner.knowledge")
    }
    assert len(below) >= 8
    up = {(m, t) for m, targets in below.items() for t in targets if t.split(".")[1] in STAGES or t.startswith("api")}
    assert up == set()


def test_reasoner_imports_nothing_from_api() -> None:
    modules = _modules()
    into_api = {
        (m, t)
        for m, p in modules.items()
        if m.startswith("reasoner")
        for t in _imports(m, p, modules)
        if t.startswith("api")
    }
    assert into_api == set()


MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def oversized(source: str, name: str) -> list[str]:
    """What in ``source`` is over the size limits; a function may say why on its ``def`` line (``# long: ...``)."""
    lines = source.splitlines()
    out = [f"{name}: {len(lines)} lines"] if len(lines) > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
                out.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return out


def test_no_module_or_function_is_over_the_size_limits() -> None:
    assert [problem for name, path in _modules().items() for problem in oversized(path.read_text(), name)] == []


def test_the_size_check_sees_a_long_function() -> None:
    body = "".join(f"    x = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert oversized(f"def f():\n{body}", "m") == ["m:1 f: 81 lines"]
    assert oversized(f"def f():  # long: one table\n{body}", "m") == []
    assert oversized("x = 1\n" * (MAX_MODULE_LINES + 1), "m") == ["m: 451 lines"]

"""The package has no module-level import cycles and no late imports (``noqa: E402``).

The graph is read from the source with ``ast``: an edge ``a -> b`` is an import of ``b`` that runs when ``a``
is imported (a statement at module level or in a class body, outside ``if TYPE_CHECKING:``; imports inside
functions run later and are not edges). Importing ``a.b.c`` from outside ``a.b`` also runs the package
``a.b``, so that sub-package is an edge too; a module's own packages are not (they are already being
initialised when it runs), unless it imports a name from one (``from . import NAME``: that name must be
defined by then). The root package ``origan`` re-exports the public API and is always initialised first.
Every cycle is reported with its path. A second check imports each
module first, in a fresh interpreter, so an order-dependent partial import shows up as an ImportError.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "origan"


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run at import time: module level, class bodies, if/try/with blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _module_level_imports(node.body)
            found += _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            found += _module_level_imports(node.body)
    return found


def _runs(target: str, importer: str, modules: dict[str, Path]) -> list[str]:
    """The modules importing ``target`` runs: the sub-packages on its way that are not already being
    initialised (an ancestor of ``importer`` is), then ``target`` itself."""
    parts = target.split(".")
    ancestors = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 1)}
    chain = [".".join(parts[:i]) for i in range(2, len(parts))]
    return [m for m in chain if m in modules and m not in ancestors] + ([target] if target in modules else [])


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package modules its import runs (module-level edges only)."""
    modules = module_files(src)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from X import y`: X.y when y is a submodule; X itself when some y is a name defined in X
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            for target in targets:
                if target == ROOT or target.startswith(ROOT + "."):
                    edges.update(_runs(target, name, modules))
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's path, one per strongly connected component member set (Tarjan + a DFS path)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles = []
    for comp in components:  # report, per component, a shortest cycle through each edge's source
        members = set(comp)
        seen: set[tuple[str, ...]] = set()
        for start in comp:
            path = _shortest_cycle(graph, start, members)
            key = tuple(sorted(path[:-1]))
            if path and key not in seen:
                seen.add(key)
                cycles.append(path)
    return cycles


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside ``members`` (breadth first)."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return []


def test_graph_reader_sees_what_runs(tmp_path: Path) -> None:
    """The reader finds a cycle through a package's __init__, and ignores TYPE_CHECKING and function bodies."""
    pkg = tmp_path / ROOT / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / ROOT / "__init__.py").write_text("from .sub import thing\n")
    (pkg / "__init__.py").write_text("from .a import thing\nfrom .late import other\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import late\n"
        "def f():\n    from ..sub import late\nthing = 1\n"
    )
    (pkg / "late.py").write_text("from . import thing\nother = thing\n")
    graph = import_graph(tmp_path)
    assert graph["origan.sub.a"] == set()
    assert graph["origan.sub.late"] == {"origan.sub"}
    assert find_cycles(graph) == [["origan.sub", "origan.sub.late", "origan.sub"]]


def test_no_module_level_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_late_imports() -> None:
    late = [
        f"{path.relative_to(SRC)}:{i}"
        for path in module_files().values()
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "noqa: E402" in line
    ]
    assert not late, "imports after code (noqa: E402): " + ", ".join(late)


_IMPORT_EACH = """
import importlib, sys
import torch  # loaded once; every module of the package is imported anew below
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "origan" or m.startswith("origan.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as e:
        failed.append(f"{name}: {type(e).__name__}: {e}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_each_module_imports_first() -> None:
    """Each module imports before anything else of the package has been imported (no order-dependent import)."""
    names = [m for m in module_files() if m != "origan.__main__"]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *names], check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]

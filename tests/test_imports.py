"""Two import contracts of the package, both read from the source with ``ast`` (no import-linter needed).

**No module-level import cycles and no late imports** (``noqa: E402``). An edge ``a -> b`` is an import
of ``b`` that runs when ``a`` is imported (a statement at module level or in a class body, outside
``if TYPE_CHECKING:``; imports inside functions run later and are not edges). Importing ``a.b.c`` from
outside ``a.b`` also runs the package ``a.b``, so that sub-package is an edge too; a module's own packages
are not (they are already being initialised when it runs), unless it imports a name from one
(``from . import NAME``: that name must be defined by then). The root package ``origan`` re-exports the
public API and is always initialised first. Every cycle is reported with its path. A second check imports
each module first, in a fresh interpreter, so an order-dependent partial import shows up as an ImportError.

**Layers** (in the spirit of import-linter's "layers" contract). Here every import statement of an
``origan`` module counts, wherever it is: module level, class bodies, function and method bodies,
``try``/``if``/``with`` blocks. Imports under ``if TYPE_CHECKING:`` are type-only edges. An edge points at
exactly the module named (``from X import y`` is ``X.y`` when that is a module, else ``X``; relative
imports are resolved); the packages above it are not added, since what runs first is the first
contract's business. The rules:

- :data:`LAYERS` lists the layers, highest first. A module's layer is that of the longest dotted prefix of
  its name in the table; every module must have one, so a new top-level module forces a decision.
- A module may import modules of its own layer or of lower layers, never of a higher one; runtime and
  type-only imports alike. Peers (``a | b`` on one line) are one layer and may import each other.
- Any import of the root package itself (``import origan``, ``from origan import NAME``, or in a top-level
  module ``from . import NAME`` where ``NAME`` is no submodule) imports layer 2, the public API.
- No import cycle at all through runtime imports (module-level and function-level), and none either once
  the type-only imports are added.

Dynamic imports (``importlib.import_module``, a :class:`~origan.registry.Registry`'s ``modules=``) are
strings, not import statements, and are not read.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "origan"

# The layers, highest first (README's Layout section shows the same picture). Names are relative to
# `origan.` and cover a module and everything below it; the longest matching prefix wins (so `io.files`
# is in layer 10 while the rest of `io` is in layer 8). `origan` alone is the root package, the public API.
# Peers on one line (`a | b`) are one layer. A module imports its own layer or lower ones, never a higher.
LAYERS: tuple[str, ...] = (
    "cli | __main__",  # L1: the library never imports the CLI
    "origan",  # L2: the root package (origan/__init__.py re-exports the public API)
    "metrics | theory",  # L3
    "tablegan",  # L4
    "run",  # L5
    "latent",  # L6
    "training",  # L7
    "io | plotting",  # L8
    "gan",  # L9
    "models | data | losses | priors | io.files | config | presets | limits | distances",  # L10
    "registry | seeding | errors | version",  # L11
)


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _parse(path: Path) -> ast.Module:
    """The syntax tree of a source file, parsed once per version of the file (parsing is the slow part)."""
    stat = path.stat()
    return _parse_version(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parse_version(path: Path, mtime_ns: int, size: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


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


def _package(name: str, path: Path) -> str:
    """The package a module's relative imports start from: itself for a package, else its parent."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> list[str]:
    """The dotted names an import statement imports, relative imports resolved against ``package``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    # `from X import y`: X.y when y is a submodule; X itself when some y is a name defined in X
    subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
    return subs + ([base] if len(subs) < len(node.names) else [])


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package modules its import runs (module-level edges only)."""
    modules = module_files(src)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = _package(name, path)
        edges: set[str] = set()
        for node in _module_level_imports(_parse(path).body):
            for target in _targets(node, package, modules):
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


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``importer`` imports the package module ``target`` at ``file:line``."""

    importer: str
    target: str
    file: str  # relative to the src root, e.g. origan/data/arrays.py
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`

    def where(self) -> str:
        return f"{self.file}:{self.line}" + (" (type-only)" if self.type_only else "")


_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)


def _all_import_statements(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of a module, wherever it is, and whether it is under ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, type_only))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:  # the `else:` of `if TYPE_CHECKING:` is what runs
                visit(child, type_only)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, _HOLDS_STATEMENTS):  # an import is a statement: expressions hold none
                    visit(child, type_only)

    visit(tree, False)
    return found


def all_imports(src: Path = SRC) -> list[Import]:
    """Every import of a package module by a package module, at any depth (module level, classes, functions)."""
    modules = module_files(src)
    found = []
    for name, path in modules.items():
        package = _package(name, path)
        file = path.relative_to(src).as_posix()
        for node, type_only in _all_import_statements(_parse(path)):
            for target in _targets(node, package, modules):
                if (target == ROOT or target.startswith(ROOT + ".")) and target != name:
                    found.append(Import(name, target, file, node.lineno, type_only))
    return found


def full_graph(imports: list[Import], modules: dict[str, Path], type_only: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere; with ``type_only`` the TYPE_CHECKING imports too."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for imp in imports:
        if imp.target in graph and (type_only or not imp.type_only):
            graph[imp.importer].add(imp.target)
    return graph


def _layer_items(layers: tuple[str, ...] = LAYERS) -> list[tuple[int, str]]:
    """(layer number, 1 = highest; a name of the table) for every name of the table."""
    return [(number, item.strip()) for number, line in enumerate(layers, 1) for item in line.split("|")]


def layer_of(module: str, layers: tuple[str, ...] = LAYERS) -> tuple[int, str] | None:
    """(layer number, the table's name that matched) for a dotted module name; None when no name matches."""
    best: tuple[int, str] | None = None
    for number, item in _layer_items(layers):
        full = ROOT if item == ROOT else f"{ROOT}.{item}"
        matches = module == full or (item != ROOT and module.startswith(full + "."))
        if matches and (best is None or len(item) > len(best[1])):
            best = (number, item)
    return best


def _label(layer: tuple[int, str]) -> str:
    return f"L{layer[0]} {layer[1]}"


def layer_violations(imports: list[Import], layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Each import of a higher layer, as ``file:line imports TARGET (Lm name) from Ln name``."""
    found = []
    for imp in imports:
        mine, theirs = layer_of(imp.importer, layers), layer_of(imp.target, layers)
        if mine and theirs and theirs[0] < mine[0]:
            kind = " (type-only)" if imp.type_only else ""
            found.append(f"{imp.file}:{imp.line} imports {imp.target} ({_label(theirs)}) from {_label(mine)}{kind}")
    return found


def unmapped_modules(modules: dict[str, Path], layers: tuple[str, ...] = LAYERS) -> list[str]:
    """The modules no name of the layer table covers."""
    return [name for name in modules if layer_of(name, layers) is None]


def describe_cycles(cycles: list[list[str]], imports: list[Import]) -> str:
    """Each cycle's path, then each hop with the ``file:line`` of the imports that make it."""
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join(cycle))
        for a, b in pairwise(cycle):
            where = sorted({imp.where() for imp in imports if imp.importer == a and imp.target == b})
            lines.append(f"    {a} -> {b}: {', '.join(where)}")
    return "\n".join(lines)


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


def test_layer_checker_sees_every_import(tmp_path: Path) -> None:
    """The layer reader finds a higher layer imported inside a method, a cycle through function bodies, a
    type-only import of the root package, a cycle that needs a type-only import, and an unmapped module."""
    pkg = tmp_path / ROOT
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .run import train\n")
    (pkg / "run.py").write_text("def train():\n    from .errors import UserError\n    raise UserError\n")
    (pkg / "errors.py").write_text(
        "class UserError(Exception):\n    def hint(self):\n        try:\n            import origan.run as run\n"
        "        except ImportError:\n            return None\n        return run\n"
    )
    (pkg / "seeding.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from origan import Run\n"
        "    from . import registry\nelse:\n    from .errors import UserError as Run\n"
    )
    (pkg / "registry.py").write_text("from .seeding import Run\n")
    (pkg / "newthing.py").write_text("")
    modules = module_files(tmp_path)
    imports = all_imports(tmp_path)
    assert find_cycles(import_graph(tmp_path)) == []  # the module-level reader sees none of it
    assert layer_violations(imports) == [
        "origan/errors.py:4 imports origan.run (L5 run) from L11 errors",
        "origan/seeding.py:3 imports origan (L2 origan) from L11 seeding (type-only)",
    ]
    assert find_cycles(full_graph(imports, modules)) == [["origan.errors", "origan.run", "origan.errors"]]
    assert find_cycles(full_graph(imports, modules, type_only=True)) == [
        ["origan.errors", "origan.run", "origan.errors"],
        ["origan.registry", "origan.seeding", "origan.registry"],
    ]
    assert unmapped_modules(modules) == ["origan.newthing"]
    assert layer_of("origan.io.files") == (10, "io.files") and layer_of("origan.io.rundir") == (8, "io")
    assert layer_of("origan.cli.train") == (1, "cli") and layer_of("origan") == (2, "origan")


def test_every_module_has_a_layer() -> None:
    """Every module maps to a layer of LAYERS, and every name of LAYERS is a module of the package."""
    modules = module_files()
    unmapped = unmapped_modules(modules)
    assert not unmapped, "modules in no layer (add them to LAYERS): " + ", ".join(unmapped)
    stale = [item for _, item in _layer_items() if (ROOT if item == ROOT else f"{ROOT}.{item}") not in modules]
    assert not stale, "names in LAYERS that are no module: " + ", ".join(stale)


def test_imports_name_modules() -> None:
    """Every import of ``origan.X`` names a module of the package (a moved module leaves none behind)."""
    modules = module_files()
    missing = [f"{imp.where()} imports {imp.target}" for imp in all_imports() if imp.target not in modules]
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)


def test_layers() -> None:
    """No module imports a module of a higher layer, at module level, in a function or under TYPE_CHECKING."""
    violations = layer_violations(all_imports())
    assert not violations, "imports of a higher layer:\n" + "\n".join(violations)


def test_no_import_cycles() -> None:
    """No cycle through runtime imports: module-level and function-level alike (type-only ones aside)."""
    imports = [imp for imp in all_imports() if not imp.type_only]
    cycles = find_cycles(full_graph(imports, module_files()))
    assert not cycles, "import cycles (module- and function-level):\n" + describe_cycles(cycles, imports)


def test_no_import_cycles_with_type_only_imports() -> None:
    """No cycle either once the ``if TYPE_CHECKING:`` imports are added."""
    imports = all_imports()
    cycles = find_cycles(full_graph(imports, module_files(), type_only=True))
    assert not cycles, "import cycles (type-only imports included):\n" + describe_cycles(cycles, imports)

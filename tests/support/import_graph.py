"""The package's own import graph, read from source with ``ast`` (nothing is imported).

Every ``import`` counts: at module level, inside functions (a lazy import still runs, only
later) and under ``if TYPE_CHECKING``. Importing ``bailong.a.b`` also runs ``bailong/a/__init__``,
so a module depends on each package above what it names. ``tests/test_house.py`` uses this to
keep the house rules (no circles; analysis stands on files); ``python -m
tests.support.import_graph``
prints each module's imports and any circle, for a reviewer.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "bailong"


def module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    """``bailong/apps/eval_run.py`` → ``bailong.apps.eval_run``; a package's ``__init__.py`` → its
    name."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def own_modules(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _with_parents(name: str, modules: dict[str, Path]) -> set[str]:
    """``bailong.a.b`` and the packages above it that are ours (their __init__ runs first)."""
    parts = name.split(".")
    found = {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
    return {m for m in found if m in modules}


def imports_of(path: Path, modules: dict[str, Path], root: Path = PACKAGE_DIR) -> set[str]:
    """The package modules ``path`` imports, wherever in the file the import statement is."""
    this = module_name(path, root)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_parents(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package holding this module
                anchor = this.split(".")[: len(this.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= _with_parents(base, modules)
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                found |= _with_parents(f"{base}.{alias.name}", modules)
    found.discard(this)
    return found


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module → the package modules it imports."""
    modules = own_modules(root)
    return {name: imports_of(path, modules, root) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(groups)


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def main() -> int:
    graph = import_graph()
    for name in sorted(graph):
        print(f"{name}: {', '.join(sorted(graph[name])) or '-'}")
    found = circles(graph)
    for group in found:
        print(f"circle: {' <-> '.join(group)}")
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports, {len(found)} circles")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The language's modules import one another without a cycle.

The graph is read from the source with `ast`, counting every import, also those inside functions:
an import deferred into a function to dodge a cycle still ties the two modules together. It is
checked twice: between the modules of `spec/`, and between its top-level modules and its
sub-packages (`spec.memory`, `spec.preludes`, `spec.litmus`) taken as one node each, so a
sub-package never reaches back into a module that uses it.

`test_a_planted_cycle_is_found` shows the check failing: a memory model that imports the
checker from inside a function, while the checker imports the memory models, is a cycle between
`spec.memory` and `spec.checker`, though neither module imports the other at its top.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = "smp_explorer.spec"
Graph = dict[str, set[str]]


def spec_sources(folder: Path = ROOT / "spec") -> dict[str, str]:
    """Module name -> source text, for every module of the `spec` package."""
    sources = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        sources[".".join((PACKAGE, *parts))] = path.read_text(encoding="utf-8")
    return sources


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
              modules: set[str]) -> set[str]:
    """The modules of `modules` that one import statement loads."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = node.module or ""
        if node.level:  # relative: counted from the importing module's package
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        # `from a import b` loads the module a.b when there is one, else a
        names = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                 for alias in node.names}
    return names & modules


def import_graph(sources: dict[str, str]) -> Graph:
    """Each module -> the modules it imports, anywhere in its source."""
    modules = set(sources)
    packages = {m for m in modules if any(other.startswith(m + ".") for other in modules)}
    graph: Graph = {}
    for module, text in sources.items():
        graph[module] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module] |= _imported(node, module, module in packages, modules)
        graph[module].discard(module)
    return graph


def unit(module: str) -> str:
    """A top-level module of spec, or the sub-package a deeper module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:3])


def by_unit(graph: Graph) -> Graph:
    """The graph between spec's top-level modules and its sub-packages as single nodes."""
    collapsed: Graph = {}
    for module, targets in graph.items():
        node = unit(module)
        collapsed.setdefault(node, set()).update(unit(t) for t in targets)
        collapsed[node].discard(node)
    return collapsed


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None when the graph is acyclic."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


VIEWS = {"modules": lambda g: g, "sub-packages": by_unit}


@pytest.mark.parametrize("view", VIEWS)
def test_spec_imports_form_no_cycle(view: str) -> None:
    modules = import_graph(spec_sources())
    assert PACKAGE + ".memory.base" in modules[PACKAGE + ".elaborate"]  # the imports were read
    graph = VIEWS[view](modules)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


PLANTED = {
    PACKAGE: "",
    PACKAGE + ".checker": "from smp_explorer.spec.memory import MODELS\n",
    PACKAGE + ".memory": "from smp_explorer.spec.memory.sc import Sc\n",
    PACKAGE + ".memory.sc": "from .base import MemoryModel\n",
    PACKAGE + ".memory.base": "",
    PACKAGE + ".memory.ports": ("def add():\n"
                                "    from smp_explorer.spec.checker import SlotDecl\n"),
}


def test_a_planted_cycle_is_found() -> None:
    graph = import_graph(PLANTED)
    assert graph[PACKAGE + ".memory.sc"] == {PACKAGE + ".memory.base"}  # a relative import
    assert find_cycle(graph) is None  # no module imports itself back...
    assert find_cycle(by_unit(graph)) == [PACKAGE + ".checker", PACKAGE + ".memory",
                                          PACKAGE + ".checker"]  # ...but the packages do
    graph[PACKAGE + ".memory.base"].add(PACKAGE + ".memory.ports")
    assert find_cycle(graph) == [PACKAGE + ".checker", PACKAGE + ".memory",
                                 PACKAGE + ".memory.sc", PACKAGE + ".memory.base",
                                 PACKAGE + ".memory.ports", PACKAGE + ".checker"]

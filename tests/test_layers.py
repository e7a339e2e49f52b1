"""The packages form layers that import only downward (README, "Layout"; DESIGN.md, "Layers").

Bottom to top: `ir` (the Model: values and types, spans, expressions, properties), `spec` (the
language), `runs` (results, traces, the Model compiled to Python), then `explorer` and
`invariants` side by side (neither imports the other), and `cli` on top. Every import counts,
including those inside functions, so a cycle cannot hide behind a lazy import. The check is run
on the real tree, and on planted imports to show it fails on each kind of mistake.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

ROOT_PACKAGE = "smp_explorer"
LAYERS: dict[str, int] = {"ir": 0, "spec": 1, "runs": 2, "explorer": 3, "invariants": 3,
                          "cli": 4}
FOLDERS = tuple(LAYERS)


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module's source."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def violations(package: str, source: str, where: str = "<source>") -> list[str]:
    """What is wrong with the imports of one module of `package` (a key of LAYERS)."""
    found = []
    for line, name in imported_modules(source):
        parts = name.split(".")
        if parts[0] in FOLDERS:
            found.append(f"{where}:{line}: imports {name} outside the package name "
                         f"(use {ROOT_PACKAGE}.{name})")
            continue
        if parts[0] != ROOT_PACKAGE or len(parts) < 2 or parts[1] not in LAYERS:
            continue
        target = parts[1]
        if target == package:
            continue
        if LAYERS[target] > LAYERS[package]:
            found.append(f"{where}:{line}: {package} (layer {LAYERS[package]}) imports {name} "
                         f"from a higher layer ({target}, layer {LAYERS[target]})")
        elif LAYERS[target] == LAYERS[package]:
            found.append(f"{where}:{line}: {package} imports {name} from {target}, which sits "
                         f"beside it (layer {LAYERS[target]}): share through a lower layer")
    return found


def package_modules() -> list[tuple[str, Path]]:
    return [(folder, path) for folder in FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def test_every_module_imports_only_downward() -> None:
    problems = []
    for package, path in package_modules():
        problems += violations(package, path.read_text(encoding="utf-8"),
                               path.relative_to(ROOT).as_posix())
    assert not problems, "\n".join(problems)


def test_no_cycle_between_packages() -> None:
    """The package graph, as imported, is acyclic (implied by the layers; checked directly)."""
    edges: dict[str, set[str]] = {p: set() for p in LAYERS}
    for package, path in package_modules():
        for _, name in imported_modules(path.read_text(encoding="utf-8")):
            parts = name.split(".")
            if parts[0] == ROOT_PACKAGE and len(parts) > 1 and parts[1] in LAYERS \
                    and parts[1] != package:
                edges[package].add(parts[1])
    state: dict[str, int] = {}

    def visit(p: str, path: list[str]) -> None:
        if state.get(p) == 1:
            raise AssertionError("import cycle: " + " -> ".join(path + [p]))
        if state.get(p) == 2:
            return
        state[p] = 1
        for q in sorted(edges[p]):
            visit(q, path + [p])
        state[p] = 2

    for p in sorted(edges):
        visit(p, [])


def test_tests_and_benchmarks_use_the_package_name() -> None:
    problems = []
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, name in imported_modules(path.read_text(encoding="utf-8")):
                if name.split(".")[0] in FOLDERS:
                    problems.append(f"{path.relative_to(ROOT)}:{line}: imports {name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package,planted,complaint", [
    ("ir", "from smp_explorer.spec.errors import SpecError", "higher layer"),
    ("ir", "def f():\n    from smp_explorer.cli.report import render_run\n", "higher layer"),
    ("spec", "import smp_explorer.explorer.engines", "higher layer"),
    ("runs", "from smp_explorer.invariants.z3enc import Encoder", "higher layer"),
    ("invariants", "from smp_explorer.explorer.store import Layout", "beside it"),
    ("explorer", "from smp_explorer.invariants import bmc", "beside it"),
    ("cli", "from spec.pipeline import load_model", "outside the package name"),
])
def test_the_check_fails_on_a_planted_import(package: str, planted: str, complaint: str) -> None:
    problems = violations(package, planted)
    assert problems and complaint in problems[0], problems


@pytest.mark.parametrize("package,fine", [
    ("spec", "from smp_explorer.ir.expr import Const"),
    ("cli", "from smp_explorer.invariants.bmc import run_bmc\nimport smp_explorer.explorer"),
    ("explorer", "from smp_explorer.runs.results import RunResult"),
    ("ir", "from smp_explorer.ir.span import Span\nimport re"),
])
def test_the_check_accepts_downward_imports(package: str, fine: str) -> None:
    assert violations(package, fine) == []

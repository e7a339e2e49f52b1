"""The search engines, behind one function: `explore(cm, options, memory) -> RunResult`.

- `scalar` (`scalar.py`): one generated Python function per model expands states packed into
  ints, level by level, with a Python set of keys.
- `vector` (`vector.py`): whole frontiers at once with NumPy, keys in a NumPy hash table.
- `auto` (the default): scalar while levels are narrow, vector from the first wide level on.
- `reference` (`reference.py`): the first engine, over state tuples; the definition the others
  are tested against, and the one used when the compiled functions are wrapped (--z3-check).
"""
from __future__ import annotations

from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult


def _wrapped(cm: CompiledModel) -> bool:
    """The compiled functions were replaced (e.g. by --z3-check): only the reference engine
    calls them for every state."""
    gen = getattr(cm, "generated", None)
    return gen is None or (cm.successors, cm.invariants, cm.goals) != gen


def explore(cm: CompiledModel, options: Options | None = None, memory: str = "sc") -> RunResult:
    options = options or Options()
    engine = options.engine
    if engine == "reference" or _wrapped(cm):
        from smp_explorer.explorer.engines.reference import explore_reference
        return explore_reference(cm, options, memory)
    if engine == "scalar":
        from smp_explorer.explorer.engines.scalar import explore_scalar
        return explore_scalar(cm, options, memory)
    if engine in ("vector", "auto"):
        from smp_explorer.explorer.engines.vector import explore_vector
        return explore_vector(cm, options, memory, auto=(engine == "auto"))
    raise ValueError(f"unknown engine {engine!r}")

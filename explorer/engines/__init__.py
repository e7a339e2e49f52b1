"""The search engines, behind one function: `explore(cm, options) -> RunResult`.

All run the one breadth-first driver (`driver.py`) with a strategy per level:
- `scalar` (`scalar.py`): one generated Python function per model expands states packed into
  ints, a slice of a level at a time, with a Python set of keys.
- `vector` (`vector.py`): whole frontiers at once with NumPy, keys in a NumPy hash table.
- `auto` (the default, `packed.py`): scalar while levels are narrow, vector from the first wide
  level on.
- `reference` (`reference.py`): the first engine, over state tuples with the compiled tuple
  code only; the definition the others are tested against.
An `Options.visitor` is told what the engine that runs computed, state by state (--z3-check).
With `Options.workers` or `Options.ray_address`, the search is partitioned across Ray actors
(`explorer/distributed.py`), each running the vector engine's code, with the same results.
"""
from __future__ import annotations

from dataclasses import replace

from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult, peak_memory_bytes


def explore(cm: CompiledModel, options: Options | None = None,
            memory: str | None = None) -> RunResult:
    """Search the compiled model; the result is labelled with the memory model the Model was
    lowered under (`memory`, if given, must name that one: a result is never mislabelled)."""
    model_memory = cm.model.memory
    if memory is not None and memory != model_memory:
        raise ValueError(f"explore: the model was lowered under {model_memory}, not {memory}")
    options = options or Options()
    # partial-order reduction is not combined with the Ray partitions or symmetry reduction
    # (untested together): symmetry, whose factor is the larger on the mission's models, wins;
    # the report says so
    distributed = options.workers is not None or options.ray_address is not None
    skipped = None
    if options.reduction and distributed:
        skipped = "partial-order reduction: off (not with --workers)"
    elif options.reduction and cm.model.symmetry and options.symmetry:
        from smp_explorer.explorer.symmetry import refusal
        if refusal(cm.model) is None:
            skipped = ("partial-order reduction: off (symmetry reduction ran; the two are not "
                       "combined: --no-symmetry for partial-order reduction)")
    if skipped is not None:
        options = replace(options, reduction=False)
    engine = options.engine
    if distributed:
        from smp_explorer.explorer.distributed import explore_distributed
        result = explore_distributed(cm, options, model_memory)
    elif options.reduction:
        from smp_explorer.explorer.por import explore_reduced
        result = explore_reduced(cm, options, model_memory, engine)
    elif engine == "reference":
        from smp_explorer.explorer.engines.reference import explore_reference
        result = explore_reference(cm, options, model_memory)
    elif engine in ("scalar", "vector", "auto"):
        from smp_explorer.explorer.engines.packed import explore_packed
        result = explore_packed(cm, options, model_memory, engine)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    if skipped is not None:
        result.stats.reductions.append(skipped)
    result.stats.peak_memory = peak_memory_bytes()
    result.stats.codegen_seconds = sum(seconds for _, seconds, _ in cm.codegen)
    result.stats.code_bytes = sum(size for _, _, size in cm.codegen)
    return result

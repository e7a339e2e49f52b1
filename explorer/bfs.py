"""Breadth-first exploration of a compiled model: `explore` runs the engine the options name.

The engines (`explorer/engines/`) are interchangeable: the same counts, verdicts, shortest
traces and statistics for the same model and options; they differ in speed and memory.
"""
from __future__ import annotations

from explorer.codegen import CompiledModel
from explorer.engines import explore as _explore
from explorer.options import Options
from explorer.results import RunResult


def explore(cm: CompiledModel, options: Options | None = None, memory: str = "sc") -> RunResult:
    return _explore(cm, options or Options(), memory)

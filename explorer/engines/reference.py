"""The reference engine: breadth-first exploration of a compiled model over state tuples.

The first engine, kept as the executable definition of what every engine must produce (the
tests compare the others with it). It shares the bookkeeping of every engine (the driver's level
loop and limits, `common.Search`'s verdicts, parent links and result), but expands states only
with the tuple code of `runs.compiled` (`Search.exact_row`) and keeps the visited states as
tuples in a Python set: no packing, no generated loop, no NumPy.
"""
from __future__ import annotations

from smp_explorer.explorer.engines.common import Search, SetFrontier, Stop
from smp_explorer.explorer.engines.driver import run
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import KeySet
from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.results import RunResult

TICK = 1024   # states between two looks at the clock


class ReferenceLevels(SetFrontier):
    """Expands a level state by state with the tuple code."""

    def __init__(self, search: Search):
        self.search = search
        self.frontier: list[tuple] = list(search.initial)
        self.visited = KeySet(self.frontier)

    def level(self, pos0: int) -> str | None:
        search = self.search
        nxt: list[tuple] = []
        for i, state in enumerate(self.frontier):
            reason = search.pause() if i % TICK == 0 else search.should_stop()
            if reason:
                return reason
            try:
                search.exact_row(state, pos0 + i, self.visited, nxt)
            except Stop:
                return "max-states"
        self.frontier = nxt
        return None


def explore_reference(cm: CompiledModel, options: Options, memory: str) -> RunResult:
    search = Search(cm, options, memory, "reference")
    levels: ReferenceLevels | None = None

    def policy(width: int) -> ReferenceLevels:
        nonlocal levels
        if levels is None:
            levels = ReferenceLevels(search)
        return levels
    result = run(search, policy)
    result.stats.bytes_per_state = 0.0   # the tuples are not measured
    return result

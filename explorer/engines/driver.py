"""The one breadth-first driver: the level loop, the limits, Ctrl-C and the result.

A `Strategy` expands one whole level of the search into the shared bookkeeping
(`common.Search`): it owns the frontier and the visited set, and checks the limits that fall
inside a level (max-states, timeout, a decision that ends the run) itself, since only it knows
where a state ends. Between levels the driver checks the rest (stop-at-first, all decided,
max-depth). A `Policy` chooses the strategy for each level: always the same one (reference,
scalar, vector), or scalar while levels are narrow and vector from the first wide one (auto).
"""
from __future__ import annotations

from typing import Protocol

from smp_explorer.explorer.engines.common import Search
from smp_explorer.explorer.spill import spilled
from smp_explorer.explorer.store import VisitedSet
from smp_explorer.runs.results import RunResult


class Strategy(Protocol):
    @property
    def visited(self) -> VisitedSet: ...

    def width(self) -> int:
        """The number of states of the current frontier."""

    def snapshot(self) -> dict:
        """The frontier and visited set as plain data (for a checkpoint)."""

    def restore(self, d: dict) -> None:
        """Take the frontier and visited set of a `snapshot`."""

    def level(self, pos0: int) -> str | None:
        """Expand the frontier (its first state at breadth-first position `pos0`); the new
        states become the frontier. A stop reason ends the run; None: the level is done."""


class Policy(Protocol):
    def __call__(self, width: int) -> Strategy:
        """The strategy that expands the next level, `width` states wide (it takes over the
        previous strategy's frontier and visited set)."""


def between_levels(search: Search) -> str | None:
    """After a level that found new states: why the run ends before the next, if it does
    (a decision, the depth limit); otherwise the depth of the next level is counted."""
    reason = search.should_stop()
    if reason:
        return reason
    search.depth += 1
    max_depth = search.options.max_depth
    if max_depth is not None and search.depth >= max_depth:
        return "max-depth"
    return None


def run(search: Search, policy: Policy) -> RunResult:
    """Explore level by level from the initial states; the result of the run."""
    options = search.options
    stop_reason = "exhausted"
    strategy: Strategy | None = None
    checkpoint = options.checkpoint
    try:
        pos0, width = 0, 0
        if checkpoint is not None and checkpoint.resume is not None:
            saved = checkpoint.resume["state"]
            search.restore(saved["search"])
            pos0, width = saved["pos0"], saved["width"]
            strategy = policy(width)
            strategy.restore(saved["strategy"])
        else:
            search.initial_states()
            width = len(search.initial)
        if search.cut:
            stop_reason, width = "max-states", 0
        while width:
            if checkpoint is not None and strategy is not None and checkpoint.due():
                checkpoint.save(dict(search=search.snapshot(), strategy=strategy.snapshot(),
                                     pos0=pos0, width=width))
            strategy = policy(width)
            reason = strategy.level(pos0)
            if reason:
                stop_reason = reason
                break
            pos0 += width
            width = strategy.width()
            reason = between_levels(search) if width else None
            if reason:
                stop_reason = reason
                break
    except KeyboardInterrupt:   # Ctrl-C, or SIGTERM / SIGHUP (cli.main makes them one)
        stop_reason = "interrupted"
    except MemoryError:         # the level's temporaries are freed by now: report what we have
        stop_reason = "out of memory"
    if strategy is not None:
        search.store_bytes = strategy.visited.nbytes + search.links.nbytes()
        spilled(search, strategy.visited)
    return search.result(stop_reason, stop_reason == "exhausted")

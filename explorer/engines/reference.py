"""The reference engine: breadth-first exploration of a compiled model over state tuples.

The first engine, kept as the executable definition of what every engine must produce (the
tests compare the others with it) and used when the compiled functions have been wrapped (as
`--z3-check` does).

States are tuples; the visited set maps each to its position in `states`, which doubles as the
BFS queue. Parent positions and the action taken are kept per state, so the first violation
found of each property comes with a shortest trace.
"""
from __future__ import annotations

import time
from array import array

from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.explorer.engines.common import Verdicts, coverage_of, property_results, stats_extra
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult, Stats
from smp_explorer.runs.traces import TraceBuilder
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME


def explore_reference(cm: CompiledModel, options: Options | None = None,
                      memory: str = "sc") -> RunResult:
    options = options or Options()
    model = cm.model
    verdicts = Verdicts(cm, options)
    succ, inv, goals = cm.successors, cm.invariants, cm.goals
    inv_names, goal_names = cm.invariant_names, cm.goal_names
    done_pcs = [(p.pc_slot, p.done) for p in model.processes]
    has_processes = bool(done_pcs)
    check_deadlock = options.check_deadlock
    goals_left = bool(goal_names)

    index: dict[tuple, int] = {}
    states: list[tuple] = []
    parent = array("q")
    via = array("q")
    fired = [0] * len(model.actions)
    transitions = 0
    failure = None  # set when the first violation should stop the run

    monitors = cm.monitors
    monitor_names = [name for name, _, _ in model.monitors]
    monitors_seen: set[int] = set()
    monitors_left = bool(monitor_names)

    def undefined(pos: int, u: Undefined) -> None:
        nonlocal failure
        if verdicts.record(RUNTIME_NAME, (pos, None, u.site, u.value)):
            failure = failure or RUNTIME_NAME

    def discover_state(pos: int, state: tuple) -> None:
        nonlocal goals_left, failure, monitors_left
        for k in inv(state):
            if isinstance(k, Undefined):  # evaluating an invariant failed
                undefined(pos, k)
            elif verdicts.record(inv_names[k], (pos, None, None, None)):
                failure = failure or inv_names[k]
        if goals_left:
            for k in goals(state):
                if isinstance(k, Undefined):
                    undefined(pos, k)
                else:
                    verdicts.record(goal_names[k], (pos, None, None, None))
            goals_left = any(g in verdicts.pending for g in goal_names)
        if monitors_left:
            monitors_seen.update(k for k in monitors(state) if not isinstance(k, Undefined))
            monitors_left = len(monitors_seen) < len(monitor_names)

    start = time.perf_counter()
    stop_reason = "exhausted"
    cut = False  # --max-states reached among the initial states themselves
    for s in model.initial_states():
        if s not in index:
            if options.max_states is not None and len(states) >= options.max_states:
                cut = True
                break
            index[s] = len(states)
            states.append(s)
            parent.append(-1)
            via.append(-1)
            discover_state(len(states) - 1, s)
    initial = len(states)

    pos = 0
    depth = 0
    level_end = len(states)
    max_depth_seen = 0
    next_report = start + options.progress_every
    max_states = options.max_states
    max_depth = options.max_depth
    deadline = None if options.timeout is None else start + options.timeout
    progress = options.progress
    stop_at_first = options.stop_at_first
    try:
        if cut:
            stop_reason = "max-states"
            raise _Stop
        while pos < len(states):
            if failure is not None and stop_at_first:
                stop_reason = "first violation"
                break
            if verdicts.all_decided:
                stop_reason = "all decided"
                break
            if pos == level_end:
                depth += 1
                level_end = len(states)
            if max_depth is not None and depth >= max_depth:
                stop_reason = "max-depth"
                break
            if (pos & 1023) == 0:
                now = time.perf_counter()
                if deadline is not None and now >= deadline:
                    stop_reason = "timeout"
                    break
                if progress is not None and now >= next_report:
                    progress(len(states), transitions, depth, now - start)
                    next_report = now + options.progress_every
            state = states[pos]
            out, bad = succ(state)
            transitions += len(out)
            for ai, t in out:
                fired[ai] += 1
                if t not in index:
                    if max_states is not None and len(states) >= max_states:
                        stop_reason = "max-states"
                        raise _Stop
                    index[t] = len(states)
                    states.append(t)
                    parent.append(pos)
                    via.append(ai)
                    if depth + 1 > max_depth_seen:
                        max_depth_seen = depth + 1
                    discover_state(len(states) - 1, t)
            if bad:
                for ai, fid, value in bad:
                    fired[ai] += 1
                    name = cm.failures[fid].property
                    if verdicts.record(name, (pos, ai, fid, value)):
                        failure = failure or name
            elif not out and check_deadlock:
                if not has_processes or any(state[slot] != done for slot, done in done_pcs):
                    if verdicts.record(DEADLOCK_NAME, (pos, None, None, None)):
                        failure = failure or DEADLOCK_NAME
            pos += 1
        else:
            stop_reason = "exhausted"
    except _Stop:
        pass
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    seconds = time.perf_counter() - start
    if stop_reason == "first violation" and pos >= len(states):
        stop_reason = "exhausted"
    complete = stop_reason == "exhausted"
    decided = complete or stop_reason == "all decided"

    coverage = coverage_of(model, fired)
    notes = [model.monitors[k][2] for k in sorted(monitors_seen)]
    stats = Stats(len(states), transitions, max_depth_seen, seconds, initial, coverage, notes)
    builder = TraceBuilder(model, states, parent, via, cm.failures)
    results = property_results(verdicts, builder, decided)
    stats_extra(stats, engine="reference", storage="exact (tuples)", bytes_per_state=0.0)
    return RunResult(model.name, memory, complete, stop_reason, stats, results)


class _Stop(Exception):
    pass

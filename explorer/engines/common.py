"""What every breadth-first engine shares: verdict bookkeeping, the exact per-state step used
for rare cases, and the assembly of the result.

The engines explore level by level and number states in breadth-first order: the states of a
level in the order their first parent was expanded, and among the successors of one state in the
order the generated successor code emits them. Each engine keeps exactly that order, so the
counts, the verdicts, the first discovery of each property and its trace are the same whichever
engine ran. A discovery is recorded once per property (the first); a step that fails a check or
an undefined operation produces no successor.
"""
from __future__ import annotations

import time
from array import array
from enum import Enum
from typing import Callable, Hashable, Sequence, cast

from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import PropertyResult, RunResult, Stats
from smp_explorer.explorer.spill import MemoryBudget
from smp_explorer.explorer.store import KeySet, Layout, VisitedSet, fingerprint_note
from smp_explorer.explorer.symmetry import SymmetricTraces, reduction
from smp_explorer.runs.traces import TraceBuilder
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME, Kind


class SetFrontier:
    """A strategy's level of states and its visited set of Python keys (the reference and
    scalar strategies): its width and its checkpoint form."""

    frontier: list
    visited: KeySet

    def width(self) -> int:
        return len(self.frontier)

    def snapshot(self) -> dict:
        """States and keys as Python objects (what `VectorLevels.snapshot` gives too)."""
        return dict(frontier=list(self.frontier), visited=list(self.visited))

    def restore(self, d: dict) -> None:
        self.frontier = list(d["frontier"])
        self.visited = KeySet(d["visited"])


class Stop(Exception):
    """Raised inside a step when the search must end now (max-states)."""


class Watch(Enum):
    """What the engines watch on each new state or step: the per-state properties, the
    monitors (statistics only) and deadlocks."""

    INVARIANT = "invariant"
    GOAL = "reachable"
    MONITOR = "monitor"
    DEADLOCK = "deadlock"

    @property
    def when_false(self) -> bool:
        """The event is the expression being false (else true)."""
        return self is Watch.INVARIANT


class Verdicts:
    """Per property: undecided, or violated/reached with the discovery that decided it."""

    def __init__(self, cm: CompiledModel, options: Options):
        model = cm.model
        selected = options.properties
        self.props = [p for p in model.properties
                      if not (p.kind is Kind.DEADLOCK and not options.check_deadlock)
                      and not (p.per_state and selected is not None and p.name not in selected)]
        self.found: dict[str, tuple] = {}   # name -> (state position, action, failure, value)
        self.pending = {p.name for p in self.props}

    def record(self, name: str, discovery: tuple) -> bool:
        """Record the first discovery for a property; True if this decided it now."""
        if name in self.found or name not in self.pending:
            return False
        self.found[name] = discovery
        self.pending.discard(name)
        return True

    @property
    def all_decided(self) -> bool:
        """Every property decided by a discovery (a run with no properties explores fully)."""
        return bool(self.props) and not self.pending


class Links:
    """Parent position and action of every state, in breadth-first order."""

    def __init__(self) -> None:
        self.parent = array("q")
        self.via = array("q")
        self.chunks: list[tuple] = []   # NumPy (parent, via) blocks, before `parent`/`via` tail
        self._n_chunks = 0

    def __len__(self) -> int:
        return self._n_chunks + len(self.parent)

    def add_block(self, parent, via) -> None:
        """Append NumPy arrays (flushes the Python tail first to keep the order)."""
        self._flush()
        self.chunks.append((parent, via))
        self._n_chunks += len(parent)

    def _flush(self) -> None:
        if len(self.parent):
            import numpy as np
            self.chunks.append((np.frombuffer(self.parent, dtype=np.int64).copy(),
                                np.frombuffer(self.via, dtype=np.int64).astype(np.int16)))
            self._n_chunks += len(self.parent)
            self.parent = array("q")
            self.via = array("q")

    def nbytes(self) -> int:
        n = sum(p.nbytes + v.nbytes for p, v in self.chunks)
        return n + self.parent.itemsize * len(self.parent) + self.via.itemsize * len(self.via)

    def export(self) -> tuple[array, array]:
        """Every parent and action so far, as two plain arrays (for a checkpoint)."""
        if not self.chunks:
            return array("q", self.parent), array("q", self.via)
        import numpy as np
        self._flush()
        parent = np.concatenate([p for p, _ in self.chunks]).astype(np.int64)
        via = np.concatenate([v for _, v in self.chunks]).astype(np.int64)
        return array("q", parent.tobytes()), array("q", via.tobytes())

    def restore(self, parent: array, via: array) -> None:
        self.parent, self.via = array("q", parent), array("q", via)
        self.chunks, self._n_chunks = [], 0

    def finish(self) -> tuple[Sequence[int], Sequence[int]]:
        if not self.chunks:
            return self.parent, self.via
        import numpy as np
        self._flush()
        parent = np.concatenate([p for p, _ in self.chunks])
        via = np.concatenate([v for _, v in self.chunks])
        # read through as Python ints: no copy of the (possibly large) arrays
        return cast(Sequence[int], _IntView(parent)), cast(Sequence[int], _IntView(via))


class _IntView:
    """A NumPy array read as Python ints (for the trace builder)."""

    def __init__(self, a):
        self.a = a

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> int:
        return int(self.a[i])


class Replay:
    """The state at a position, rebuilt by replaying the actions from its initial state."""

    def __init__(self, cm: CompiledModel, initial: list[tuple], parent, via,
                 canonical: Callable[[tuple], tuple] | None = None):
        self.cm = cm
        self.canonical = canonical   # a symmetry-reduced search stores canonical states
        self.initial = initial
        self.parent = parent
        self.via = via
        self.cache: dict[int, tuple] = {}

    def __getitem__(self, pos: int) -> tuple:
        if pos in self.cache:
            return self.cache[pos]
        chain = []
        p = pos
        while p >= len(self.initial) and p not in self.cache:
            chain.append(p)
            p = self.parent[p]
        state = self.cache[p] if p in self.cache else self.initial[p]
        for q in reversed(chain):
            action = self.via[q]
            out, _ = self.cm.successors(state)
            state = next(t for a, t in out if a == action)
            if self.canonical is not None:
                state = self.canonical(state)
            self.cache[q] = state
        return state


class Search:
    """The bookkeeping of one breadth-first run, whichever engine expands the states."""

    def __init__(self, cm: CompiledModel, options: Options, memory: str, engine: str,
                 layout: Layout | None = None):
        self.cm = cm
        self.visitor = options.visitor
        self.model = cm.model
        self.options = options
        self.memory = memory
        self.layout = layout
        self.engine = engine
        # the packed engines store states as `layout` says; the reference engine as tuples
        self.storage = layout.storage if layout is not None else "exact (tuples)"
        self.verdicts = Verdicts(cm, options)
        self.fired = [0] * len(self.model.actions)
        self.transitions = 0
        self.links = Links()
        self.initial: list[tuple] = []
        self.cut = False
        self.failure: str | None = None
        self.inv_names = cm.invariant_names
        self.goal_names = cm.goal_names
        self.goals_left = bool(self.goal_names)
        self.monitor_names = [name for name, _, _ in self.model.monitors]
        self.monitors_seen: set[int] = set()
        self.monitors_left = bool(self.monitor_names)
        self.done_pcs = [(p.pc_slot, p.done) for p in self.model.processes]
        self.depth = 0
        self.max_depth_seen = 0
        self.start = time.perf_counter()
        self.next_report = self.start + options.progress_every
        self.deadline = None if options.timeout is None else self.start + options.timeout
        self.store_bytes = 0          # the engine's own estimate of its storage, at the end
        self.budget = None if options.max_memory is None else MemoryBudget(options.max_memory)
        self.notes: list[str] = []    # what the engine has to say in the statistics
        # symmetry reduction (explorer.symmetry): states are stored as canonical representatives
        self.symmetry, self.reductions = reduction(self.model, options, engine)

    # ---- recording discoveries ------------------------------------------------------------
    @property
    def states(self) -> int:
        return len(self.links)

    def undefined(self, pos: int, u: Undefined) -> bool:
        if self.verdicts.record(RUNTIME_NAME, (pos, None, u.site, u.value)):
            self.failure = self.failure or RUNTIME_NAME
            return True
        return False

    def invariant_failed(self, k: int, pos: int) -> bool:
        name = self.inv_names[k]
        if self.verdicts.record(name, (pos, None, None, None)):
            self.failure = self.failure or name
            return True
        return False

    def goal_reached(self, k: int, pos: int) -> bool:
        decided = self.verdicts.record(self.goal_names[k], (pos, None, None, None))
        if decided:
            self.goals_left = any(g in self.verdicts.pending for g in self.goal_names)
        return decided

    def monitor_seen(self, k: int) -> bool:
        if k in self.monitors_seen:
            return False
        self.monitors_seen.add(k)
        self.monitors_left = len(self.monitors_seen) < len(self.monitor_names)
        return True

    def step_failed(self, pos: int, action: int, fid: int, value) -> bool:
        name = self.cm.failures[fid].property
        if self.verdicts.record(name, (pos, action, fid, value)):
            self.failure = self.failure or name
            return True
        return False

    def deadlocked(self, pos: int) -> bool:
        if self.verdicts.record(DEADLOCK_NAME, (pos, None, None, None)):
            self.failure = self.failure or DEADLOCK_NAME
            return True
        return False

    def is_deadlock(self, state: tuple) -> bool:
        return not self.done_pcs or any(state[slot] != done for slot, done in self.done_pcs)

    def discover(self, pos: int, state: tuple) -> None:
        """Evaluate the per-state properties of a newly discovered state (a tuple)."""
        cm = self.cm
        failing = cm.invariants(state)
        for k in failing:
            if isinstance(k, Undefined):
                self.undefined(pos, k)
            else:
                self.invariant_failed(k, pos)
        reached = None
        if self.goals_left:
            reached = cm.goals(state)
            for k in reached:
                if isinstance(k, Undefined):
                    self.undefined(pos, k)
                else:
                    self.goal_reached(k, pos)
        if self.visitor is not None:
            self.visitor.discovered(state, failing, reached)
        if self.monitors_left:
            for k in cm.monitors(state):
                if not isinstance(k, Undefined):
                    self.monitor_seen(k)

    def should_stop(self) -> str | None:
        """Checked before each state is expanded, as the reference engine does."""
        if self.failure is not None and self.options.stop_at_first:
            return "first violation"
        if self.verdicts.all_decided:
            return "all decided"
        until = self.options.until_found
        if until is not None and until <= self.verdicts.found.keys():
            return "all decided"
        return None

    def pause(self) -> str | None:
        """Between batches of states: why the run must end now, if it must; progress."""
        return self.should_stop() or self.tick()

    def tick(self) -> str | None:
        """Timeout and progress, between batches of states."""
        now = time.perf_counter()
        if self.deadline is not None and now >= self.deadline:
            return "timeout"
        if self.budget is not None and self.budget.exceeded():
            return "max-memory"
        progress = self.options.progress
        if progress is not None and now >= self.next_report:
            progress(self.states, self.transitions, self.depth, now - self.start)
            self.next_report = now + self.options.progress_every
        return None

    # ---- checkpoints (explorer.checkpoint) ----------------------------------------------------
    def snapshot(self) -> dict:
        """The bookkeeping as plain data, between two levels."""
        parent, via = self.links.export()
        v = self.verdicts
        return dict(found=dict(v.found), pending=sorted(v.pending), fired=list(self.fired),
                    transitions=self.transitions, parent=parent, via=via,
                    initial=list(self.initial), cut=self.cut, failure=self.failure,
                    monitors_seen=sorted(self.monitors_seen), depth=self.depth,
                    max_depth_seen=self.max_depth_seen,
                    elapsed=time.perf_counter() - self.start)

    def restore(self, d: dict) -> None:
        """Go back to a `snapshot` (of a run of the same model and options)."""
        v = self.verdicts
        v.found, v.pending = dict(d["found"]), set(d["pending"])
        self.fired[:] = d["fired"]
        self.transitions = d["transitions"]
        self.links.restore(d["parent"], d["via"])
        self.initial = list(d["initial"])
        self.cut, self.failure = d["cut"], d["failure"]
        self.goals_left = any(g in v.pending for g in self.goal_names)
        self.monitors_seen = set(d["monitors_seen"])
        self.monitors_left = len(self.monitors_seen) < len(self.monitor_names)
        self.depth, self.max_depth_seen = d["depth"], d["max_depth_seen"]
        self.start = time.perf_counter() - d["elapsed"]
        self.next_report = self.start
        if self.options.timeout is not None:
            self.deadline = self.start + self.options.timeout

    # ---- the exact step of one state (reference semantics) --------------------------------
    def initial_states(self) -> None:
        """Discover the initial states (into `initial`, in order)."""
        seen: set = set()
        for s in self.model.initial_states():
            if self.symmetry is not None:
                s = self.symmetry.canonical(s)
            if s in seen:
                continue
            if self.options.max_states is not None and len(seen) >= self.options.max_states:
                self.cut = True  # --max-states reached among the initial states themselves
                break
            seen.add(s)
            self.initial.append(s)
            self.links.parent.append(-1)
            self.links.via.append(-1)
            self.discover(len(self.links) - 1, s)

    def exact_row(self, state: tuple, pos: int, visited: VisitedSet, nxt: list) -> None:
        """Expand one state with the compiled tuple code (the reference engine's step).
        New states are added to `visited` and appended to `nxt`: packed (keyed by
        `Layout.key`) when the search has a layout, else as tuples (their own keys)."""
        layout = self.layout
        out, bad = self.cm.successors(state)
        if self.visitor is not None:
            self.visitor.expanded(state, out,
                                  [(ai, self.cm.failures[fid].property) for ai, fid, _ in bad])
        self.transitions += len(out)
        fired = self.fired
        for ai, t in out:
            fired[ai] += 1
            if self.symmetry is not None:
                t = self.symmetry.canonical(t)
            item: Hashable = t
            key: Hashable = t
            if layout is not None:
                item = layout.pack(t)
                key = layout.key(item)
            if key not in visited:
                self.new_state(pos, ai, t, item, nxt)
                visited.add(key)
        for ai, _, _ in bad:
            fired[ai] += 1
        self.failures_of(pos, state, out, bad)

    def new_state(self, pos: int, ai: int, t: tuple, item: Hashable, nxt: list) -> None:
        """Number a new state `t` (stored as `item` in `nxt`), reached from `pos` by `ai`."""
        links = self.links
        max_states = self.options.max_states
        if max_states is not None and len(links) >= max_states:
            raise Stop("max-states")
        nxt.append(item)
        links.parent.append(pos)
        links.via.append(ai)
        self.max_depth_seen = max(self.max_depth_seen, self.depth + 1)
        self.discover(len(links) - 1, t)

    def failures_of(self, pos: int, state: tuple, out: list, bad: list) -> None:
        """The failed steps of an expanded state, or its deadlock."""
        if bad:
            for ai, fid, value in bad:
                self.step_failed(pos, ai, fid, value)
        elif not out and self.options.check_deadlock and self.is_deadlock(state):
            self.deadlocked(pos)

    # ---- the result -------------------------------------------------------------------------
    def result(self, stop_reason: str, complete: bool) -> RunResult:
        seconds = time.perf_counter() - self.start
        model = self.model
        decided = complete or stop_reason == "all decided"
        coverage = coverage_of(model, self.fired)
        if self.symmetry is not None:
            coverage = self.symmetry.coverage(coverage)
        notes = [model.monitors[k][2] for k in sorted(self.monitors_seen)] + self.notes
        if self.layout is not None and not self.layout.exact:
            note = fingerprint_note(self.layout, self.states, self.transitions)
            if note is not None:
                notes.append(note)
        n = self.states
        stats = Stats(n, self.transitions, self.max_depth_seen, seconds, len(self.initial),
                      coverage, notes, engine=self.engine, storage=self.storage,
                      bytes_per_state=(self.store_bytes / n) if n else 0.0,
                      reductions=list(self.reductions))
        parent, via = self.links.finish()
        builder: TraceBuilder
        if self.symmetry is not None:
            canonical = cast(Sequence[tuple], Replay(self.cm, self.initial, parent, via,
                                                     self.symmetry.canonical))
            builder = SymmetricTraces(self.cm, self.symmetry, canonical, parent, via)
        else:
            states = cast(Sequence[tuple], Replay(self.cm, self.initial, parent, via))
            builder = TraceBuilder(model, states, parent, via, self.cm.failures)
        results = property_results(self.verdicts, builder, decided)
        return RunResult(model.name, self.memory, complete, stop_reason, stats, results)


def coverage_of(model, fired: Sequence[int]) -> dict[str, int]:
    """Times each step fired, by name; a label with no step at all shows as 0."""
    coverage: dict[str, int] = {f"{p.name}: {label}": 0 for p in model.processes
                                for label in p.labels[:-1]}
    for a, n in zip(model.actions, fired):
        coverage[a.name] = coverage.get(a.name, 0) + n
    return coverage


def property_results(verdicts: Verdicts, builder: TraceBuilder,
                     decided: bool) -> list[PropertyResult]:
    """Each property's verdict, with the trace of the discovery that decided it."""
    results = []
    for p in verdicts.props:
        found = verdicts.found.get(p.name)
        line = p.span.line if p.span else None
        failure = p.kind.discovery_is_failure
        if found is not None:
            trace, message = builder.build(p, *found)
            status = "violated" if failure else "holds"
        else:
            trace, message = None, None
            if not decided:
                status = "unknown"
            else:
                status = "holds" if failure else "unreached"
        results.append(PropertyResult(p.name, p.kind.value, status, p.description, line,
                                      message, trace))
    return results


"""Partial-order reduction for breadth-first search: stubborn sets with a level proviso.

In each state the search expands only the enabled steps of a *strong stubborn set* S (Valmari),
computed from the actions' footprints (`ir.footprint`: the slots each action reads and writes,
and the slot values its guard requires):

- S starts from one enabled action;
- for an enabled action t in S, S holds every action dependent on t (one writes a slot the
  other reads or writes; actions whose guards require different values of one slot are never
  dependent, since no action outside S can change the required slot first: its first writer
  would be dependent on t);
- for a disabled action t in S, S holds a necessary enabling set: every action that may make
  true the first guard conjunct of t that is false in this state (one writing a slot it reads,
  except, for `slot == value`, one that always writes another constant there).

Then no path of actions outside S can enable, disable or fail to commute with an action of
S ∩ enabled (S ∩ enabled is a persistent set): C0 (it is empty only where nothing is enabled)
and C1 hold. S ∩ enabled is used only when it is a proper subset of the enabled actions and:

- C2 (visibility): none of its actions may change the value of an invariant, a reachable
  goal or a monitor (`ir.footprint.may_change`: it writes a slot the condition reads, and the
  condition after the step, with the slot values its guard requires, is not the same
  expression), and none of them fails in this state (a step that fails an assertion or an
  operation has no successor: its failure is an event, as a visible step's change is);
- C3 (the ignoring proviso, for breadth-first search): some successor it gives is a state not
  seen before this level (new, or first found in this level: either way of the next level,
  so it will be expanded after this one); otherwise the state is fully expanded. Then from
  every partly expanded state of level d a reduced step leads to a state of level d + 1; that
  one is fully expanded or leads on to level d + 2, and so on: levels are finite in number, so
  every partly expanded state has a path in the reduced graph, through the ample sets, to a
  fully expanded state (the condition that excludes ignoring for safety properties: Evangelista
  and Pajault, "Solving the ignoring problem for partial order reduction", STTT 2010; the BFS
  form of Bošnački, Leue and Lluch-Lafuente, SPIN 2006). It is weaker than asking that every
  kept successor be new, the condition of an earlier version of this module
  (`tests/test_por.py::test_one_new_kept_successor_is_enough_for_the_proviso`).

Why each property kind is preserved. The core lemma: let s be a state of the reduced graph
and w a path of the full graph from s to a state s'. If s is fully expanded, w's first step is
kept. Else either w holds an action of ample(s): the first one, a, is independent of the steps
of w before it and is not disabled by them (C1), so it commutes to the front: a(s) is a reduced
successor and the rest of w, one step shorter, leads from a(s) to s'. Or w holds none: every
a of ample(s) is independent of all of w, so from a(s) the same w leads to a(s'), and (C2) a
changes no property condition, so s' and a(s') agree on them. Follow, in the second case, the
reduced path that C3 gives from s to a fully expanded state: along it w stays the same length
and, at the latest at its end, w's first step is kept. So the length of w falls, and by
induction every state reachable from s in the full graph has a state that agrees with it on
every property condition reachable from s in the reduced graph (and the same for the steps
enabled there, as w's last step can be any step):
- invariants, reachable goals and monitors: only visible steps change their values, and they
  are evaluated in every state of the reduced graph, so a state where one fails (is reached)
  in the full graph has a reduced-graph state where it has the same value;
- assertions and runtime errors (a step that fails a check, an operation that fails): the step
  t fails at a state s'; the lemma gives a reduced state from which t is taken with an ample
  action a independent of it in between or not at all, and a writes nothing t reads, so t
  computes the same guard, checks and values there: t fails in some reduced-graph state. The
  steps evaluated in an expanded state are all its enabled ones (only successors are
  pruned), so a failure is reported wherever the reduced graph reaches it. Every step
  enabled somewhere in the full graph is enabled somewhere in the reduced graph: coverage's
  "never fired" list is unchanged;
- deadlocks: C0 and C1 alone preserve every reachable deadlock.
The monitors (the statistics' notes such as "a store buffer held 2 entries") are visible as
the goals are, so the notes are those of the full graph. A condition already decided (a goal
reached, an invariant violated, a monitor seen) makes no step visible from the next level on
(`Reducer.decided`): its verdict cannot change, and the argument above for a condition still
undecided only asks every expanded state to have kept that condition's changers out of its
ample set.

Not supported: liveness (its own graph search, `explorer.liveness`, always runs unreduced, as
stuttering-equivalence under fairness needs more than C0-C3), and `--max-depth` (a depth bound
of the full graph is not one of the reduced graph): with `--max-depth` the run is unreduced.

Counterexamples: the reduced graph's breadth-first trace may be longer than the full graph's
shortest one. After the run, a full (unreduced) breadth-first search bounded by the longest
trace found, stopping when it has found again everything the reduced run found, gives the
shortest traces (as SPIN's -i does); `Stats.reductions` says so.

Engines: the reduced levels are expanded by the compiled tuple code (`runs.compiled`, as the
reference engine does) over the engine's own state form (packed states and keys for scalar,
vector and auto): the stubborn set needs each state's enabled actions and conjunct values, which
the generated scalar loop and the NumPy batches do not expose, several times slower per state.
So a packed run is first judged by a reduced search of its first SAMPLE states (`worth`): where
the reduction cannot pay, the run is unreduced from the start (full expansion is always sound),
with the counts of an unreduced run, and says so.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Collection, Hashable

from smp_explorer.explorer.engines.common import Search, SetFrontier, Stop
from smp_explorer.explorer.engines.driver import Strategy, run
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import KeySet, Layout
from smp_explorer.ir.expr import conjuncts, slots_read
from smp_explorer.ir.footprint import Footprint, condition_parts, dependent, footprint, \
    may_change, may_make_true, property_exprs
from smp_explorer.runs.compiled import HELPERS, CompiledModel, TupleCompiler
from smp_explorer.runs.pysource import Emitter, load_source
from smp_explorer.runs.results import RunResult

TICK = 1024           # states between two looks at the clock
SAMPLE = 1_000        # packed engines: states found by a reduced search that judges the reduction
WORTH = 0.5           # ... and the states it must have saved, per state found, to run reduced


class Reducer:
    """The stubborn sets of one compiled model (per state: `ample`)."""

    def __init__(self, cm: CompiledModel, fps: list[Footprint] | None = None):
        model = cm.model
        self.cm = cm
        actions = model.actions
        self.fps: list[Footprint] = fps if fps is not None else [footprint(a) for a in actions]
        conditions = property_exprs(model, cm.invariant_names + cm.goal_names)
        # per condition (a property's name, or a monitor's index): the actions that may change it
        tags: list[str | int] = [p.name for p in model.properties if p.per_state and
                                 p.expr is not None and p.name in cm.invariant_names +
                                 cm.goal_names] + list(range(len(model.monitors)))
        assert len(tags) == len(conditions)
        parts = [condition_parts(e) for e in conditions]
        self.changers: dict[str | int, int] = {
            tag: _bits(i for i, (a, f) in enumerate(zip(actions, self.fps))
                       if may_change(a, f, ps))
            for tag, ps in zip(tags, parts)}
        self.visible = [any(c >> i & 1 for c in self.changers.values())
                        for i in range(len(actions))]
        writers: dict[int, list[int]] = {}
        readers: dict[int, list[int]] = {}
        for i, f in enumerate(self.fps):
            for s in f.writes:
                writers.setdefault(s, []).append(i)
            for s in f.reads:
                readers.setdefault(s, []).append(i)
        self.writers = writers
        self.readers = readers
        # per action, the actions dependent on it (a bit set), computed when a stubborn set
        # first needs them: all at once is quadratic in the actions that share a slot
        self.dep_bits: list[int | None] = [None] * len(actions)
        self.conjs = [conjuncts(a.guard) for a in actions]
        self.nes: dict[tuple[int, int], int] = {}
        self.visible_bits = _bits(i for i, v in enumerate(self.visible) if v)
        self.first_false = self._compile_guards()
        # an action no proper ample set can hold (it is visible) is no seed
        self.seeds = [not v for v in self.visible]
        # a step can be pruned some time unless it changes an invariant (a goal, once reached,
        # and a monitor, once seen, no longer make their changers visible: `decided`)
        staying = _bits(())
        for name in cm.invariant_names:
            staying |= self.changers.get(name, 0)
        self.useful = any(not staying >> i & 1 for i in range(len(actions)))
        self.seed_bits = _bits(i for i, v in enumerate(self.seeds) if v)
        self.partial = 0      # states expanded through a proper subset of their steps
        self.pruned = 0       # steps not followed in those states
        self.saved = 0        # their successors the level did not find otherwise (an estimate)
        self.expanded = 0     # states expanded by the reduced levels

    COUNTERS = ("partial", "pruned", "saved", "expanded")

    def counters(self) -> dict:
        """What a checkpoint keeps of the reduction, so a resumed run reports as a whole one."""
        return {k: getattr(self, k) for k in self.COUNTERS}

    def restore(self, d: dict) -> None:
        for k in self.COUNTERS:
            setattr(self, k, d[k])

    def decided(self, found: Collection[str], monitors_seen: Collection[int]) -> None:
        """Forget the visibility of the conditions already decided: a goal reached, an invariant
        violated (`found`: names), a monitor seen (`monitors_seen`: indices). Their verdicts and
        notes cannot change any more, and the argument of the module's docstring for each
        condition still undecided only needs the states expanded so far to have kept that
        condition's changers out of their ample sets, which they did (they kept more out)."""
        bits = 0
        for tag, c in self.changers.items():
            if not (tag in monitors_seen if isinstance(tag, int) else tag in found):
                bits |= c
        self.visible_bits = bits
        self.seed_bits = _bits(i for i in range(len(self.seeds))
                               if not bits >> i & 1)

    def _compile_guards(self) -> list[Callable]:
        """Per action: state -> the position of its first false guard conjunct (-1: none)."""
        model = self.cm.model
        ranges = [(s.lo, s.hi) for s in model.slots]
        ex = TupleCompiler(ranges, [], {})
        em = Emitter()
        for a, conj in zip(model.actions, self.conjs):
            em.line(f"def g{a.index}(state):")
            with em.indent():
                used = sorted(set().union(*(slots_read(c) for c in conj)) if conj else set())
                for s in used:
                    em.line(f"s{s} = state[{s}]")
                for k, c in enumerate(conj):
                    em.line(f"if not {ex(c)}: return {k}")
                em.line("return -1")
        ns: dict = dict(HELPERS)
        load_source(em.source(), model, "por", ns)
        return [ns[f"g{a.index}"] for a in model.actions]

    def dependents(self, t: int) -> int:
        """The actions dependent on action t (a bit set)."""
        got = self.dep_bits[t]
        if got is None:
            f = self.fps[t]
            near: set[int] = set()
            for s in f.writes:
                near.update(self.writers.get(s, ()))
                near.update(self.readers.get(s, ()))
            for s in f.reads:
                near.update(self.writers.get(s, ()))
            near.discard(t)
            got = self.dep_bits[t] = _bits(b for b in near if dependent(f, self.fps[b]))
        return got

    def enabling(self, t: int, k: int) -> int:
        """The actions that may make conjunct k of action t's guard true (a bit set)."""
        got = self.nes.get((t, k))
        if got is None:
            c = self.conjs[t][k]
            cand: set[int] = set()
            for s in slots_read(c):
                cand.update(self.writers.get(s, ()))
            got = _bits(b for b in cand if may_make_true(self.fps[b], c))
            self.nes[(t, k)] = got
        return got

    def ample(self, state: tuple, enabled: list[int], failing: list[int]) -> list[int] | None:
        """The enabled actions of the first stubborn set, grown from the enabled invisible
        actions in order, that is a proper subset of `enabled` and holds no visible action and
        no action that fails here (`failing`: it has no successor, its failure is an event
        like a visible step's); None: expand fully."""
        if len(enabled) < 2:
            return None
        en = _bits(enabled)
        failed = _bits(failing)
        seeds = self.seed_bits & ~failed
        if not en & seeds:
            return None
        limit = len(enabled)
        for seed in enabled:
            if seeds >> seed & 1:
                got = self._closure(state, seed, en, failed, limit)
                if got is not None:
                    return [a for a in enabled if got >> a & 1]
        return None

    def _closure(self, state: tuple, seed: int, en: int, failed: int,
                 limit: int) -> int | None:
        """S ∩ enabled (a bit set) for the stubborn set grown from `seed`; None when it would
        hold a visible or failing action or `limit` enabled actions."""
        inside = todo = 1 << seed
        bad = en & (self.visible_bits | failed)
        deps, first_false, enabling = self.dep_bits, self.first_false, self.enabling
        while todo:
            low = todo & -todo
            todo ^= low
            t = low.bit_length() - 1
            if en & low:
                more = deps[t]
                if more is None:
                    more = self.dependents(t)
            else:
                k = first_false[t](state)
                if k < 0:   # cannot happen for a disabled action; be safe
                    return None
                more = enabling(t, k)
            new = more & ~inside
            if new:
                if new & bad:
                    return None
                inside |= new
                todo |= new
                if (inside & en).bit_count() >= limit:
                    return None
        return inside & en


def _bits(indices) -> int:
    out = 0
    for i in indices:
        out |= 1 << i
    return out


class ReducedLevels(SetFrontier):
    """Expands a level with stubborn sets, state by state with the tuple code, over the
    search's state form (packed with a layout, tuples without)."""

    def __init__(self, search: Search, reducer: Reducer, frontier: list | None = None,
                 visited: KeySet | None = None):
        self.search = search
        self.reducer = reducer
        layout = search.layout
        if frontier is None:
            frontier = list(search.initial) if layout is None else \
                [layout.pack(s) for s in search.initial]
            visited = KeySet(frontier if layout is None else map(layout.key, frontier))
        assert visited is not None
        self.frontier = frontier
        self.visited = visited
        self.skipped: set = set()   # keys of successors skipped in this level

    def level(self, pos0: int) -> str | None:
        search = self.search
        nxt: list = []
        fresh: set = set()
        self.skipped = set()
        # at a level's start, so that the reduced graph does not depend on the order of a level
        self.reducer.decided(search.verdicts.found, search.monitors_seen)
        unpack = search.layout.unpack if search.layout is not None else None
        for i, item in enumerate(self.frontier):
            reason = search.pause() if i % TICK == 0 else search.should_stop()
            if reason:
                return reason
            state = unpack(item) if unpack is not None else item
            try:
                self.row(state, pos0 + i, nxt, fresh)
            except Stop:
                return "max-states"
            self.reducer.expanded += 1
        keys = self.visited.keys
        self.reducer.saved += sum(1 for k in self.skipped if k not in keys)
        self.frontier = nxt
        return None

    def snapshot(self) -> dict:
        return dict(super().snapshot(), por=self.reducer.counters())

    def restore(self, d: dict) -> None:
        super().restore(d)
        self.reducer.restore(d["por"])

    def row(self, state: tuple, pos: int, nxt: list, fresh: set) -> None:
        """`Search.exact_row` with the successors restricted to an ample set."""
        search = self.search
        cm = search.cm
        layout = search.layout
        out, bad = cm.successors(state)
        if search.visitor is not None:
            search.visitor.expanded(state, out,
                                    [(ai, cm.failures[fid].property) for ai, fid, _ in bad])
        search.transitions += len(out)
        fired = search.fired
        for ai, _ in out:
            fired[ai] += 1
        for ai, _, _ in bad:
            fired[ai] += 1
        succ: list[tuple[int, tuple, Hashable, Hashable]] = []
        for ai, t in out:
            if layout is None:
                succ.append((ai, t, t, t))
            else:
                packed = layout.pack(t)
                succ.append((ai, t, packed, layout.key(packed)))
        keys = self.visited.keys
        reducer = self.reducer
        failing = sorted({ai for ai, _, _ in bad})
        enabled = sorted({ai for ai, _ in out}.union(failing))
        ample = reducer.ample(state, enabled, failing)
        if ample is not None:
            keep = set(ample)
            chosen = [x for x in succ if x[0] in keep]
            # the proviso: some kept successor is new or first found in this level (it lies
            # one level deeper than `state`)
            if any(k not in keys or k in fresh for _, _, _, k in chosen):
                reducer.partial += 1
                reducer.pruned += len(succ) - len(chosen)
                self.skipped.update(x[3] for x in succ if x[0] not in keep)
                succ = chosen
        for ai, t, item, key in succ:
            if key not in keys:
                search.new_state(pos, ai, t, item, nxt)
                keys.add(key)
                fresh.add(key)
        search.failures_of(pos, state, out, bad)


class ReducedPolicy:
    """Reduced levels throughout (the first SAMPLE states only when `worth` probes)."""

    def __init__(self, search: Search, reducer: Reducer):
        self.search = search
        self.reducer = reducer
        self.reduced: ReducedLevels | None = None

    def __call__(self, width: int) -> Strategy:
        if self.reduced is None:
            self.reduced = ReducedLevels(self.search, self.reducer)
        return self.reduced


def explore_reduced(cm: CompiledModel, options: Options, memory: str, engine: str) -> RunResult:
    """A breadth-first run with partial-order reduction (see the module's docstring), its traces
    shortened to the full graph's shortest; or, where the reduction cannot pay (`worth`), the
    unreduced run, whose report says why."""
    from smp_explorer.explorer.engines import explore
    unreduced = replace(options, reduction=False)
    why = None
    reducer = None
    if options.max_depth is not None:
        why = "--max-depth bounds the unreduced search"
    else:
        fps = [footprint(a) for a in cm.model.actions]
        common = set(fps[0].writes).intersection(*(f.writes for f in fps[1:])) if fps else set()
        if common:
            # two steps enabled in one state cannot need different values of a slot, so each
            # is dependent on the other: every stubborn set holds every enabled step
            name = cm.model.slots[min(common)].name
            why = f"every step writes {name}: no two steps are independent"
            reducer = None
        else:
            reducer = Reducer(cm, fps)
    if reducer is not None:
        if not reducer.useful:
            why = "every step changes what an invariant reads: nothing to reduce"
        elif engine != "reference":
            began = time.perf_counter()
            why = worth(cm, options, memory, engine, reducer.fps)
            if options.timeout is not None:   # --timeout bounds the whole run, the sample too
                options = replace(options, timeout=max(
                    options.timeout - (time.perf_counter() - began), 1e-3))
                unreduced = replace(options, reduction=False)
    if why is not None:
        result = explore(cm, unreduced, memory)
        result.stats.reductions.append(f"partial-order reduction: off ({why})")
        return result
    assert reducer is not None
    layout = None if engine == "reference" else Layout(cm.model, options.exact)
    search = Search(cm, options, memory, engine, layout)
    result = run(search, ReducedPolicy(search, reducer))
    if engine == "reference":
        result.stats.bytes_per_state = 0.0
    stats = result.stats
    if reducer.partial:
        line = (f"partial-order reduction: on ({reducer.partial:,} of {stats.states:,} states "
                f"expanded partly, {reducer.pruned:,} step{'' if reducer.pruned == 1 else 's'} "
                "pruned)")
    else:
        line = (f"partial-order reduction: on (pruned nothing: {stats.states:,} "
                f"state{'' if stats.states == 1 else 's'} expanded fully)")
    if reducer.partial:   # (a resumed run counts the states before its checkpoint too)
        line += shorten(cm, unreduced, memory, result)
    stats.reductions.append(line)
    return result


def worth(cm: CompiledModel, options: Options, memory: str, engine: str,
          fps: list[Footprint] | None = None) -> str | None:
    """Whether a reduced run of a packed engine can pay for its slower expansion (the tuple
    code and a stubborn set per state, several times slower per state than the generated
    loop): None if it can, else why not, for the report. A reduced search of the first SAMPLE
    states, alone (no checkpoints, progress or visitor): a state space it exhausts (or a run
    it decides) is small, and is searched reduced; else the reduction must have saved WORTH
    states per state found (estimated: the successors it skipped that the search did not find
    otherwise), or the run is unreduced from the start, its counts those of --no-reduction.
    The sample is a breadth-first search over the same levels in the same order whatever the
    machine: the decision is the same for the same spec and flags (--timeout aside)."""
    cap = SAMPLE if options.max_states is None else min(SAMPLE, options.max_states)
    probe = replace(options, max_states=cap, progress=None, checkpoint=None, visitor=None)
    reducer = Reducer(cm, fps)
    # states as tuples (packing each one costs more than the step): the same graph, the same order
    search = Search(cm, probe, memory, engine, None)
    policy = ReducedPolicy(search, reducer)
    result = run(search, policy)
    if result.stop_reason != "max-states" or cap < SAMPLE:
        return None
    levels = policy.reduced
    assert levels is not None
    saved = reducer.saved + sum(1 for k in levels.skipped if k not in levels.visited.keys)
    if saved >= WORTH * result.stats.states:
        return None
    return (f"it saved {saved:,} of the first {result.stats.states:,} states: too few to pay "
            f"for its slower expansion")


def shorten(cm: CompiledModel, unreduced: Options, memory: str, result: RunResult) -> str:
    """Replace each trace by a shortest one: an unreduced search bounded by the longest trace
    found, until it has found every property the reduced run found. What it did, for the
    report."""
    found = {p.name: len(p.trace) for p in result.properties
             if p.trace is not None and p.trace.loop_start is None}
    if not found:
        return ""
    if result.stop_reason in ("timeout", "interrupted", "out of memory"):
        return (f"; traces may not be the shortest: the run stopped ({result.stop_reason}) "
                f"before they could be shortened")
    from smp_explorer.explorer.engines import explore
    bound = max(found.values())
    left = unreduced.timeout
    if left is not None:   # --timeout bounds the whole run, the shortening search included
        left = max(left - result.stats.seconds, 1e-3)
    # max_depth bound + 1: the states at depth `bound` are expanded too (a deadlock there)
    bounded = replace(unreduced, max_depth=bound + 1, until_found=set(found), progress=None,
                      checkpoint=None, visitor=None, stop_at_first=False, max_states=None,
                      timeout=left)
    full = explore(cm, bounded, memory)
    by_name = {p.name: p for p in full.properties}
    for p in result.properties:
        q = by_name.get(p.name)
        if p.name in found and q is not None and q.trace is not None and \
                len(q.trace) <= found[p.name]:
            p.trace, p.message = q.trace, q.message
    if full.stop_reason in ("interrupted", "out of memory"):
        result.stop_reason = full.stop_reason   # one signal ends the whole run (cli.check)
    if full.stop_reason not in ("exhausted", "all decided", "max-depth"):
        return (f"; traces may not be the shortest: the unreduced search that shortens them "
                f"stopped ({full.stop_reason})")
    return f"; traces shortened to the shortest by an unreduced search to depth {bound}"

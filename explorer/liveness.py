"""Liveness: fair cycles on the explicit reachable graph (docs/language.md, "Liveness").

Runs are SPIN's: an infinite sequence of steps, or a finite one ending in a state where no step is
enabled, which then repeats forever. Some step is taken whenever one is enabled; fairness
(`Model.fairness`) says whose: a weakly fair group enabled from some point on forever fires
infinitely often; a strongly fair group enabled infinitely often fires infinitely often. Any
other process may stop forever. As in TLA+ (<<A>>_vars), a step that changes nothing (a failed
xchg spinning on its own label) neither counts as its group firing nor as it being enabled.

A property fails iff the graph has a fair run violating it; with a monitor bit `pending` (the
property's simple automaton: "P not yet seen" for `eventually P`, "P seen, Q not yet" for
`P leads_to Q`, "P false now" for `always eventually P`) that is a reachable fair cycle (or end
state) all of whose states are pending (for `eventually always P`: one containing a state where P
is false). The graph is built once by breadth-first search (`Graph`, edges stored as three
arrays); fair cycles are found per strongly connected component (Tarjan, iterative), as in the
"fair SCC" algorithm of Emerson-Lei / Couvreur: an SCC is fair if every weakly fair group fires
inside it or is disabled in one of its states; a strongly fair group enabled in some states but
never fired inside removes those states and the rest is decomposed again.

A counterexample is a lasso: the shortest prefix to the fair component (breadth-first over the
product with the monitor bit), then a cycle inside it through a step of (or a state disabling)
every fair group, back to the first state of the cycle (`Trace.loop_start`).
"""
from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from smp_explorer.explorer.livegraph import (EdgeArrays, FairCore, GraphLimit, PackedGraph,
                                             analysis_bytes, build_graph_packed, condition_values,
                                             cycle_packed, may_pend, packed_from_tuples,
                                             product_bfs, strong_components)
from smp_explorer.ir.evaluate import EvalError, evaluate
from smp_explorer.ir.model import Fairness, Model
from smp_explorer.ir.properties import Property
from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.results import PropertyResult, Trace
from smp_explorer.runs.traces import TraceBuilder


@dataclass
class Graph(EdgeArrays):
    """The reachable states and every step between them: state i's steps are
    act[start[i]:start[i+1]] (action indices) to dst[start[i]:start[i+1]] (state indices)."""

    states: list[tuple[int, ...]]
    start: array
    act: array
    dst: array
    initial: list[int]
    seconds: float

    def steps(self, s: int) -> Iterable[tuple[int, int]]:
        lo, hi = self.start[s], self.start[s + 1]
        return zip(self.act[lo:hi], self.dst[lo:hi])


def build_graph(cm: CompiledModel, max_states: int | None = None,
                deadline: float | None = None) -> Graph:
    """Breadth-first search of every reachable state, keeping every step."""
    t0 = time.perf_counter()
    index: dict[tuple[int, ...], int] = {}
    states: list[tuple[int, ...]] = []
    initial = []
    for s in cm.model.initial_states():
        if s not in index:
            index[s] = len(states)
            states.append(s)
            initial.append(index[s])
    start, act, dst = array("q", [0]), array("i"), array("i")
    i = 0
    while i < len(states):
        if deadline is not None and i % 1024 == 0 and time.monotonic() > deadline:
            raise GraphLimit("timeout")
        out, _bad = cm.successors(states[i])
        for a, t in out:
            j = index.get(t)
            if j is None:
                if max_states is not None and len(states) >= max_states:
                    raise GraphLimit(f"max-states {max_states}")
                j = index[t] = len(states)
                states.append(t)
            act.append(a)
            dst.append(j)
        start.append(len(act))
        i += 1
    return Graph(states, start, act, dst, initial, time.perf_counter() - t0)


# ---- fair components --------------------------------------------------------------------------

def tarjan(g: Graph, members: set[int]) -> list[list[int]]:
    """The strongly connected components of the subgraph induced by `members`."""
    return strong_components(sorted(members),
                             lambda v: [t for _, t in g.steps(v) if t in members])


@dataclass
class FairComponent:
    states: set[int]
    terminal: bool          # a single end state (no step enabled): the run stays there
    groups: list[Fairness]  # the fairness in force


def find_fair_component(g: Graph, members: set[int], groups: list[Fairness],
                        accepting: Callable[[int], bool] | None) -> FairComponent | None:
    """A fair strongly connected set of states inside `members` (with an accepting state, if
    `accepting` is given), or None."""
    work = [members]
    while work:
        for comp in tarjan(g, work.pop()):
            c = set(comp)
            if len(c) == 1:
                s = comp[0]
                if g.start[s] == g.start[s + 1]:
                    if accepting is None or accepting(s):
                        return FairComponent(c, True, groups)
                    continue
                if not any(t == s for _, t in g.steps(s)):
                    continue  # no cycle
            fired: set[int] = set()
            enabled_in: dict[int, set[int]] = {}
            for s in c:
                for a, t in g.steps(s):
                    if t == s:
                        continue  # a step that changes nothing is neither enabled nor taken
                    enabled_in.setdefault(a, set()).add(s)
                    if t in c:
                        fired.add(a)
            unfair = False
            remove: set[int] = set()
            for f in groups:
                if f.actions & fired:
                    continue
                where = set().union(*(enabled_in.get(a, set()) for a in f.actions))
                if not where:
                    continue
                if f.strong:
                    remove |= where
                elif len(where) == len(c):
                    unfair = True  # enabled throughout, never taken: no fair cycle in here
                    break
            if unfair:
                continue
            if remove:
                work.append(c - remove)
                continue
            if accepting is not None and not any(accepting(s) for s in c):
                continue
            return FairComponent(c, False, groups)
    return None


# ---- properties as monitors --------------------------------------------------------------------

class Monitor:
    """The property's automaton as one bit, `pending`: a run violates the property iff it ends
    in a cycle of pending states (and, for eventually_always, one with an accepting state)."""

    def __init__(self, prop: Property, states: list[tuple[int, ...]]):
        assert prop.temporal is not None
        self.t = prop.temporal
        # the conditions evaluated once per state (EvalError: the property is unknown)
        self.pv = bytearray(bool(evaluate(self.t.p, s)) for s in states)
        self.qv = bytearray(len(states)) if self.t.q is None else \
            bytearray(bool(evaluate(self.t.q, s)) for s in states)

    def p(self, s: int) -> bool:
        return bool(self.pv[s])

    def q(self, s: int) -> bool:
        return bool(self.qv[s])

    def initial(self, s: int) -> bool:
        form = self.t.form
        if form == "eventually" or form == "always_eventually":
            return not self.p(s)
        if form == "leads_to":
            return self.p(s) and not self.q(s)
        return True  # eventually_always: any cycle may be accepting

    def step(self, pending: bool, t: int) -> bool:
        form = self.t.form
        if form == "eventually":
            return pending and not self.p(t)
        if form == "always_eventually":
            return not self.p(t)
        if form == "leads_to":
            return (pending or self.p(t)) and not self.q(t)
        return True

    def accepting(self) -> Callable[[int], bool] | None:
        if self.t.form == "eventually_always":
            return lambda s: not self.p(s)
        return None


def pending_states(g: Graph, m: Monitor) -> set[int]:
    """The states reachable as pending (breadth-first over the product with the bit)."""
    seen: set[tuple[int, bool]] = set()
    queue: deque[tuple[int, bool]] = deque()
    for s in g.initial:
        node = (s, m.initial(s))
        if node not in seen:
            seen.add(node)
            queue.append(node)
    while queue:
        s, bit = queue.popleft()
        for _, t in g.steps(s):
            node = (t, m.step(bit, t))
            if node not in seen:
                seen.add(node)
                queue.append(node)
    return {s for s, bit in seen if bit}


def prefix(g: Graph, m: Monitor, targets: set[int]) -> list[tuple[int, int]]:
    """The shortest path (action, state), from an initial state (action -1), to a pending state
    in `targets`."""
    parent: dict[tuple[int, bool], tuple[tuple[int, bool], int] | None] = {}
    queue: deque[tuple[int, bool]] = deque()
    for s in g.initial:
        node = (s, m.initial(s))
        if node not in parent:
            parent[node] = None
            queue.append(node)
    while queue:
        node = queue.popleft()
        if node[1] and node[0] in targets:
            path = []
            cur = node
            while True:
                link = parent[cur]
                path.append((-1 if link is None else link[1], cur[0]))
                if link is None:
                    return path[::-1]
                cur = link[0]
        s, bit = node
        for a, t in g.steps(s):
            nxt = (t, m.step(bit, t))
            if nxt not in parent:
                parent[nxt] = (node, a)
                queue.append(nxt)
    raise AssertionError("a fair component of pending states is reachable by construction")


def _path_within(g: Graph, c: set[int], src: int, goal: Callable[[int], bool],
                 nonempty: bool = False) -> list[tuple[int, int]]:
    """The shortest path inside c from src to a state satisfying goal, as [(action, state)];
    `nonempty`: at least one step (a cycle when goal is src)."""
    if goal(src) and not nonempty:
        return []
    parent: dict[int, tuple[int, int] | None] = {src: None}
    queue = deque([src])
    while queue:
        s = queue.popleft()
        for a, t in g.steps(s):
            if t not in c:
                continue
            if goal(t):
                out = [(a, t)]
                link = parent[s]
                while link is not None:
                    out.append((link[1], s))
                    s = link[0]
                    link = parent[s]
                return out[::-1]
            if t not in parent:
                parent[t] = (s, a)
                queue.append(t)
    raise AssertionError("the component is strongly connected")


def cycle(g: Graph, comp: FairComponent, entry: int,
          accepting: Callable[[int], bool] | None) -> list[tuple[int, int]]:
    """A cycle inside the component from `entry` back to it, through a step of each fair group
    that fires inside it (or a state where the group is disabled), and an accepting state."""
    c = comp.states
    if comp.terminal:
        return []
    out: list[tuple[int, int]] = []
    cur = entry

    def go(goal: Callable[[int], bool]) -> None:
        nonlocal cur
        path = _path_within(g, c, cur, goal)
        out.extend(path)
        if path:
            cur = path[-1][1]

    inside = sorted(c)
    for f in comp.groups:
        edge = next(((s, a, t) for s in inside for a, t in g.steps(s)
                     if a in f.actions and t in c and t != s), None)
        if edge is not None:
            s, a, t = edge
            go(lambda x: x == s)
            out.append((a, t))
            cur = t
        elif not f.strong:
            go(lambda x: not any(a in f.actions and t != x for a, t in g.steps(x)))
    if accepting is not None:
        go(accepting)
    out.extend(_path_within(g, c, cur, lambda x: x == entry, nonempty=not out))
    return out


# ---- the stage ---------------------------------------------------------------------------------

@dataclass
class LivenessRun:
    results: list[PropertyResult]
    graph: Graph | PackedGraph | None
    seconds: float              # the whole stage
    graph_seconds: float = 0.0  # building the graph (the rest: the fair-cycle analysis)


SMALL = 2048   # a graph of at most this many states is built state by state


def check_liveness(cm: CompiledModel, properties: list[Property], buffer_fairness: bool = True,
                   max_states: int | None = None, timeout: float | None = None,
                   max_memory: int | None = None, reference: bool = False,
                   small: int = SMALL) -> LivenessRun:
    """Every liveness property's verdict, with a lasso for each violated one. The graph and
    the analysis run on NumPy arrays (`explorer.livegraph`); a graph of at most `small` states
    is built state by state (the same graph, without generating the vector engine's code; a
    larger one stops that search at `small` states and starts the vector engine's).
    `reference`: the first, state-by-state implementation in this module throughout (what the
    tests compare the other with)."""
    t0 = time.perf_counter()
    model = cm.model
    deadline = None if timeout is None else time.monotonic() + timeout
    g: Graph | PackedGraph | None = None
    try:
        if reference:
            g = build_graph(cm, max_states, deadline)
        elif small and (max_states is None or max_states > small):
            try:
                h = build_graph(cm, small, deadline)
                g = packed_from_tuples(cm, h.states, h.start, h.act, h.dst, h.initial,
                                       time.perf_counter() - t0)
            except GraphLimit as e:
                if not str(e).startswith("max-states"):
                    raise
        if g is None:
            g = build_graph_packed(cm, max_states, deadline, max_memory)
        g.seconds = time.perf_counter() - t0
    except (GraphLimit, MemoryError) as e:
        seconds = time.perf_counter() - t0
        why = f"the graph hit {e}" if isinstance(e, GraphLimit) else \
            "memory ran out while building the graph"
        return LivenessRun(_unknown(properties, why), None, seconds, seconds)
    groups = [f for f in model.fairness if buffer_fairness or not f.memory]
    if max_memory is not None and not reference:
        kept = sum(np.asarray(x).nbytes for x in (g.start, g.act, g.dst))
        need = analysis_bytes(g, groups)
        if kept + need > max_memory:
            mb = 1 << 20
            return LivenessRun(_unknown(properties, f"the fair-cycle analysis needs about "
                                        f"{need / mb:,.0f} MB beside the graph's "
                                        f"{kept / mb:,.0f} MB, over the memory budget "
                                        f"({max_memory / mb:,.0f} MB)"),
                               g, time.perf_counter() - t0, g.seconds)
    try:
        if isinstance(g, PackedGraph):
            core = FairCore(g, groups)   # shared by every property
            results = [_check_one_packed(model, g, p, core) for p in properties]
        else:
            results = [_check_one(model, g, p, groups) for p in properties]
    except MemoryError:
        results = _unknown(properties, "memory ran out during the fair-cycle analysis")
    return LivenessRun(results, g, time.perf_counter() - t0, g.seconds)


def _unknown(properties: list[Property], why: str) -> list[PropertyResult]:
    return [PropertyResult(p.name, p.kind.value, "unknown", p.description,
                           p.span.line if p.span else None, f"liveness not checked: {why}")
            for p in properties]


@dataclass
class Lasso:
    """A fair run violating a property: `path` from an initial state (action -1) to `entry`,
    then `loop` (steps as (action, state)) back to `entry`, forever; `terminal`: the run ends in
    `entry`, where no step is enabled (`loop` is empty)."""
    path: list[tuple[int, int]]
    loop: list[tuple[int, int]]
    terminal: bool

    @property
    def entry(self) -> int:
        return self.path[-1][1]


def find_lasso(g: PackedGraph, prop: Property, core: FairCore) -> Lasso | None:
    """A lasso violating the property on the packed graph, None if it holds (EvalError: the
    property cannot be evaluated in some state). The prefix is the shortest to any fair
    component (over the product with the monitor bit), the cycle as `cycle` makes it. Only the
    fair core's states can be on the cycle: with none of them possibly pending, the property
    holds without a search, and the search stops once each of them is reached pending."""
    t = prop.temporal
    assert t is not None
    pv = condition_values(g, t.p)
    qv = np.zeros(len(pv), dtype=bool) if t.q is None else condition_values(g, t.q)
    goal = core.states[may_pend(t.form, pv, qv)[core.states]]
    if not len(goal):
        return None
    product = product_bfs(g, t.form, pv, qv, goal)
    accepting = ~pv if t.form == "eventually_always" else None
    comp_of, terminal = core.fair_states(product.pending(len(pv)), accepting)
    if not (comp_of >= 0).any():
        return None
    path = product.path_to(comp_of >= 0)
    k = int(comp_of[path[-1][1]])
    loop = cycle_packed(g, comp_of == k, bool(terminal[k]), core.groups, path[-1][1], accepting)
    return Lasso(path, loop, bool(terminal[k]))


def _check_one_packed(model: Model, g: PackedGraph, prop: Property,
                      core: FairCore) -> PropertyResult:
    """`_check_one` on the arrays of a packed graph."""
    line = prop.span.line if prop.span else None
    try:
        lasso = find_lasso(g, prop, core)
    except EvalError as e:
        return PropertyResult(prop.name, prop.kind.value, "unknown", prop.description, line,
                              f"cannot evaluate the property: {e}")
    if lasso is None:
        return PropertyResult(prop.name, prop.kind.value, "holds", prop.description, line)
    trace = lasso_trace(model, g, lasso.path, lasso.loop)
    comp = FairComponent(set(), lasso.terminal, core.groups)
    return PropertyResult(prop.name, prop.kind.value, "violated", prop.description, line,
                          lasso_message(model, g, prop, comp, lasso.entry, lasso.loop), trace)


def _check_one(model: Model, g: Graph, prop: Property, groups: list[Fairness]) -> PropertyResult:
    line = prop.span.line if prop.span else None
    try:
        m = Monitor(prop, g.states)
        members = pending_states(g, m)
        comp = find_fair_component(g, members, groups, m.accepting())
    except EvalError as e:
        return PropertyResult(prop.name, prop.kind.value, "unknown", prop.description, line,
                              f"cannot evaluate the property: {e}")
    if comp is None:
        return PropertyResult(prop.name, prop.kind.value, "holds", prop.description, line)
    path = prefix(g, m, comp.states)
    loop = cycle(g, comp, path[-1][1], m.accepting())
    trace = lasso_trace(model, g, path, loop)
    return PropertyResult(prop.name, prop.kind.value, "violated", prop.description, line,
                          lasso_message(model, g, prop, comp, path[-1][1], loop), trace)


def lasso_trace(model: Model, g: Graph | PackedGraph, path: list[tuple[int, int]],
                loop: list[tuple[int, int]]) -> Trace:
    builder = TraceBuilder(model, g.states, [], [], [])
    steps = []
    previous = None
    for a, s in path + loop:
        steps.append(builder.step(a, g.states[s], previous))
        previous = g.states[s]
    owners = {name: model.owner_of(name) for name in steps[0].state}
    return Trace(steps, owners, [p.name for p in model.processes],
                 {p.name: list(p.labels) for p in model.processes}, len(path) - 1)


def lasso_message(model: Model, g: Graph | PackedGraph, prop: Property, comp: FairComponent, entry: int,
                  loop: list[tuple[int, int]]) -> str:
    """What the run does forever: which processes never move, or that it ends."""
    state = g.states[entry]
    if comp.terminal:
        return "a fair run ends here (no step is enabled) without satisfying it"
    moving = {model.actions[a].process for a, _ in loop}
    stopped = [f"{p.name} at {p.labels[state[p.pc_slot]]}" for p in model.processes
               if p.name not in moving]
    text = f"a fair run repeats a cycle of {len(loop)} step{'s' if len(loop) != 1 else ''} " \
           "forever without satisfying it"
    if stopped:
        text += "; never moving: " + ", ".join(stopped)
    return text

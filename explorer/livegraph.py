"""Liveness at engine speed: the reachable graph built with the vector engine's NumPy successor
code, and the fair-cycle analysis over its edge arrays (docs/language.md, "Liveness").

`explorer.liveness` defines what is checked (runs, fairness, the one-bit monitors) and keeps
the first, state-by-state implementation as the reference this one is tested against
(tests/test_liveness_fast.py). Here:

- `build_graph_packed`: breadth-first search over packed states (`store.Layout`, word
  columns). Each level is expanded in batches by `VectorCode.enabled` (every vectorised action
  on every row at once); a row where an action that is not vectorised may be enabled takes the
  tuple code's `successors` instead. A state's steps are kept in the order the tuple code
  emits them and states are numbered in discovery order, so the graph is the reference
  `build_graph`'s, edge for edge. States are looked up exactly (the packed words, never a
  fingerprint): a Python dict over the distinct successors of a batch.
- `product_bfs`: the product with the monitor bit, breadth first, level by level, with the
  parent of each node: the pending states, and the shortest prefix to a fair component.
- `fair_states`: the fair strongly connected components (SciPy's `connected_components`,
  connection='strong'), with the fairness checks per component as NumPy reductions over the
  edges; strongly fair groups enabled but never taken remove their states and the rest is
  decomposed again (Emerson-Lei / Couvreur), all components of a round at once.
- `cycle_packed`: the lasso's cycle inside the one component reported, as the reference
  `cycle` builds it, with breadth-first searches over the component's edges in NumPy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from smp_explorer.explorer.engines.numpy_expr import VecCompiler, vectorisable
from smp_explorer.explorer.engines.scalar import ScalarCode
from smp_explorer.explorer.engines.vector import CHUNK, VectorCode
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import WORD_BITS, KeyTable, Layout, fp_numpy
from smp_explorer.ir.evaluate import evaluate
from smp_explorer.ir.expr import Expr
from smp_explorer.ir.model import Fairness
from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.pysource import Emitter, load_source


class GraphLimit(Exception):
    """The reachable graph is larger than the limit: liveness is unknown."""


class PackedStates(Sequence):
    """The graph's states as tuples, unpacked on demand from the word columns."""

    def __init__(self, layout: Layout, words: list[np.ndarray]):
        self.layout = layout
        self.words = words

    def __len__(self) -> int:
        return len(self.words[0])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        packed = 0
        for k, col in enumerate(self.words):
            packed |= int(col[i]) << (WORD_BITS * k)
        return self.layout.unpack(packed)


class EdgeArrays:
    """What both graphs (this module's and `liveness.Graph`) say of their size: `states`, and
    every step in the arrays `start`, `act`, `dst` (NumPy or `array.array`)."""

    states: Sequence
    start: Any
    act: Any
    dst: Any

    @property
    def edges(self) -> int:
        return len(self.act)

    @property
    def bytes_per_state(self) -> float:
        """The edge storage (start, act, dst) per state, in bytes."""
        n = len(self.states) or 1
        return sum(len(x) * x.itemsize for x in (self.start, self.act, self.dst)) / n


@dataclass
class PackedGraph(EdgeArrays):
    """The reachable states (word columns, `states` unpacks them) and every step between them:
    state i's steps are act[start[i]:start[i+1]] to dst[start[i]:start[i+1]], in the order
    the tuple code emits them."""

    layout: Layout
    words: list[np.ndarray]
    start: np.ndarray     # int64, n + 1
    act: np.ndarray       # int32
    dst: np.ndarray       # int32
    initial: list[int]
    seconds: float
    ranges: list[tuple[int, int]]   # each slot's (lo, hi)

    def __post_init__(self) -> None:
        self.states = PackedStates(self.layout, self.words)
        n = len(self.words[0])
        self.src = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.start))


    def steps(self, s: int):
        lo, hi = int(self.start[s]), int(self.start[s + 1])
        return zip(self.act[lo:hi].tolist(), self.dst[lo:hi].tolist())


# ---- the graph --------------------------------------------------------------------------------

def _words(layout: Layout, packed: list[int]) -> list[np.ndarray]:
    m = (1 << WORD_BITS) - 1
    return [np.array([(t >> (WORD_BITS * k)) & m for t in packed], dtype=np.uint64)
            for k in range(layout.nwords)]


class _Builder:
    """The growing graph: the states in discovery order (word columns, an exact `KeyTable` of
    their keys says which successors are new), and per expanded state its steps, the target
    of each as its words until `graph` numbers them all at once."""

    def __init__(self, layout: Layout, ranges: list[tuple[int, int]], max_states: int | None,
                 max_bytes: int | None):
        self.layout = layout
        self.ranges = ranges
        self.table = KeyTable.from_keys(layout, [], None)
        self.blocks: list[list[np.ndarray]] = []
        self.n = 0
        self.max_states = max_states
        self.max_bytes = max_bytes
        self.counts: list[np.ndarray] = []
        self.acts: list[np.ndarray] = []
        self.targets: list[list[np.ndarray]] = []
        self.edges = 0

    def add(self, words: list[np.ndarray]) -> None:
        """Number the states among `words` not seen before, in order of first appearance."""
        if not len(words[0]):
            return
        keys = self.layout.key_words_numpy(words)
        new = self.table.insert(keys, np.arange(len(words[0]), dtype=np.int64))
        if len(new):
            if self.max_states is not None and self.n + len(new) > self.max_states:
                raise GraphLimit(f"max-states {self.max_states}")
            self.blocks.append([w[new] for w in words])
            self.n += len(new)

    def add_edges(self, counts: np.ndarray, acts: np.ndarray, words: list[np.ndarray]) -> None:
        self.add(words)
        self.counts.append(counts)
        self.acts.append(acts)
        self.targets.append(words)
        self.edges += len(acts)
        if self.max_bytes is not None:
            used = graph_bytes(self.n, self.edges, self.layout.nwords) + self.table.nbytes
            if used > self.max_bytes:
                raise GraphLimit(f"the memory budget ({self.max_bytes / (1 << 20):,.0f} MB)")

    def _join(self) -> None:
        if len(self.blocks) != 1:
            nw = self.layout.nwords
            self.blocks = [[np.concatenate([b[k] for b in self.blocks]) if self.blocks
                            else np.zeros(0, dtype=np.uint64) for k in range(nw)]]

    def graph(self, initial: list[int], seconds: float) -> PackedGraph:
        self._join()
        counts = np.concatenate(self.counts) if self.counts else np.zeros(0, dtype=np.int64)
        start = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:len(counts) + 1])
        act = np.concatenate(self.acts) if self.acts else np.zeros(0, dtype=np.int32)
        nw = self.layout.nwords
        targets = [np.concatenate([t[k] for t in self.targets]) if self.targets
                   else np.zeros(0, dtype=np.uint64) for k in range(nw)]
        self.targets = []
        dst = _numbers(self.blocks[0], targets)
        return PackedGraph(self.layout, self.blocks[0], start, act.astype(np.int32),
                           dst, initial, seconds, self.ranges)


def graph_bytes(n: int, edges: int, nwords: int) -> int:
    """About the most memory a graph of `n` states and `edges` steps takes at once while it is
    built, beside its table of keys: the steps' targets as words (in batches, then joined),
    their numbers (`_numbers`), the arrays kept. Measured with tracemalloc: 210 MB for
    v2-atomic N = 4 under weak (2,261,807 steps of 4 words), 27 MB under pso; this says 260
    and 34."""
    return edges * (16 * nwords + 44) + n * (8 * nwords + 40)


def analysis_bytes(g: EdgeArrays, groups: list[Fairness]) -> int:
    """About the most memory the fair-cycle analysis takes beside the graph: the groups' steps
    (`FairGroups`), where they are enabled, the decomposition's temporaries and one property's
    product search. Measured: 136 MB for v2-atomic N = 4 under weak (2,261,807 steps, 39
    groups), 20 MB under pso; this says 187 and 27."""
    n, edges = len(g.states), len(g.act)
    per_act = np.bincount(np.asarray(g.act), minlength=1 + max(
        [max(f.actions, default=0) for f in groups], default=0))
    grouped = sum(int(per_act[sorted(f.actions)].sum()) for f in groups)
    cells = len(groups) * n   # the whole graph's and the core's
    enabled = 2 * cells if cells <= DENSE_CELLS else 16 * grouped
    return 24 * edges + 24 * grouped + enabled + 96 * n


def _sortable(words: list[np.ndarray]) -> np.ndarray:
    """One exact, sortable value per state: the word, or the words' bytes (fixed length: NumPy
    strips trailing NULs, which keeps them distinct)."""
    if len(words) == 1:
        return words[0]
    stacked = np.ascontiguousarray(np.stack(words, axis=1))
    return stacked.view(np.dtype(f"S{8 * len(words)}")).ravel()


def _numbers(states: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """The number of each target among the states (all word columns; each target is one).
    Looked up by 64-bit fingerprint, then checked word for word; should two states share a
    fingerprint, or a check fail, by the exact bytes instead."""
    if len(states) == 1:
        return _lookup(states[0], targets[0])
    fs = fp_numpy(states)
    order = np.argsort(fs)
    ranked = fs[order]
    if not (ranked[1:] == ranked[:-1]).any():
        pos = np.minimum(np.searchsorted(ranked, fp_numpy(targets)), max(len(ranked) - 1, 0))
        ids = order[pos]
        same = np.ones(len(ids), dtype=bool)
        for s, t in zip(states, targets):
            same &= s[ids] == t
        if same.all():
            return ids.astype(np.int32)
    return _lookup(_sortable(states), _sortable(targets))


def _lookup(keys: np.ndarray, want: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    pos = np.searchsorted(ranked, want)
    if len(want):
        # every target is a state the search numbered: anything else is a bug, not a verdict
        if pos.max(initial=0) >= len(ranked) or not np.array_equal(ranked[pos], want):
            raise AssertionError("liveness graph: a step leads to a state never numbered")
    return order[pos].astype(np.int32)


def build_graph_packed(cm: CompiledModel, max_states: int | None = None,
                       deadline: float | None = None,
                       max_bytes: int | None = None) -> PackedGraph:
    """Breadth-first search of every reachable state, keeping every step (the reference
    `liveness.build_graph`'s graph, computed a batch of states at a time)."""
    t0 = time.perf_counter()
    model = cm.model
    layout = Layout(model, exact=True)
    options = Options(properties=[], check_deadlock=False)
    scalar = ScalarCode(cm, layout, options)
    code = VectorCode(cm, layout, options, scalar)
    R = len(code.order)
    rank = np.zeros(len(model.actions), dtype=np.int64)
    for r, a in enumerate(code.order):
        rank[a] = r
    b = _Builder(layout, [(s.lo, s.hi) for s in model.slots], max_states, max_bytes)
    packed_init = [layout.pack(s) for s in model.initial_states()]
    b.add(_words(layout, packed_init))
    initial = list(range(b.n))
    level = b.blocks[:]
    while level:
        frontier = [np.concatenate([blk[k] for blk in level]) for k in range(layout.nwords)]
        done = len(b.blocks)
        for a in range(0, len(frontier[0]), CHUNK):
            if deadline is not None and time.monotonic() > deadline:
                raise GraphLimit("timeout")
            _batch(cm, code, layout, b, rank, R, [w[a:a + CHUNK] for w in frontier])
        level = b.blocks[done:]
    return b.graph(initial, time.perf_counter() - t0)


def packed_from_tuples(cm: CompiledModel, states: Sequence[tuple[int, ...]], start, act, dst,
                       initial: list[int], seconds: float) -> PackedGraph:
    """The graph of the state-by-state search (`liveness.build_graph`) as a PackedGraph: on a
    small graph that search is quicker than generating the vector engine's code."""
    layout = Layout(cm.model, exact=True)
    words = _words(layout, [layout.pack(s) for s in states])
    return PackedGraph(layout, words, np.asarray(start, dtype=np.int64),
                       np.asarray(act, dtype=np.int32), np.asarray(dst, dtype=np.int32),
                       list(initial), seconds, [(s.lo, s.hi) for s in cm.model.slots])


def _batch(cm: CompiledModel, code: VectorCode, layout: Layout, b: _Builder,
           rank: np.ndarray, R: int, Wc: list[np.ndarray]) -> None:
    """The steps of one batch of states (consecutive numbers, word columns `Wc`)."""
    n = len(Wc[0])
    exact = code.fallback_rows(Wc)   # rows where an action that is not vectorised may fire
    rows_l, acts_l, words_l = [], [], []
    for ai, (_rows, okr, _fails, wd, ok) in code.enabled(Wc):
        keep = ~exact[okr]
        rows_l.append(okr[keep])
        acts_l.append(np.full(int(keep.sum()), ai, dtype=np.int32))
        words_l.append([(w if ok is None else w[ok])[keep] for w in wd])
    for row in np.flatnonzero(exact).tolist():
        packed = 0
        for k, col in enumerate(Wc):
            packed |= int(col[row]) << (WORD_BITS * k)
        out, _bad = cm.successors(layout.unpack(packed))
        if out:
            succ = [layout.pack(t) for _, t in out]
            rows_l.append(np.full(len(out), row, dtype=np.int64))
            acts_l.append(np.array([a for a, _ in out], dtype=np.int32))
            words_l.append(_words(layout, succ))
    if rows_l:
        rows = np.concatenate(rows_l).astype(np.int64)
        acts = np.concatenate(acts_l)
        words = [np.concatenate([w[k] for w in words_l]) for k in range(layout.nwords)]
        order = np.argsort(rows * R + rank[acts], kind="stable")
        rows, acts = rows[order], acts[order]
        words = [w[order] for w in words]
    else:
        rows = np.zeros(0, dtype=np.int64)
        acts = np.zeros(0, dtype=np.int32)
        words = [np.zeros(0, dtype=np.uint64) for _ in range(layout.nwords)]
    b.add_edges(np.bincount(rows, minlength=n), acts, words)


# ---- the monitor --------------------------------------------------------------------------------

def condition_values(g: PackedGraph, e: Expr) -> np.ndarray:
    """The condition on every state of the graph (NumPy over the word columns when the vector
    engine can compile it, else state by state: an EvalError is raised)."""
    if vectorisable(e, g.ranges):
        em = Emitter()
        consts: dict = {}
        vc = VecCompiler(g.layout, em, consts)
        wargs = ", ".join(f"w{k}" for k in range(g.layout.nwords))
        em.line(f"def cond({wargs}):")
        with em.indent():
            em.line(f"return {vc.boolean(e)}")
        ns: dict = {"_np": np, "_i64": np.int64, "_u64": np.uint64}
        for bits in range(64):
            ns[f"_U{bits}"] = np.uint64(bits)
            ns[f"_U{(1 << bits) - 1}"] = np.uint64((1 << bits) - 1)
        for values, name in consts.items():
            ns[name] = np.array(values, dtype=np.uint64)
        exec(compile(em.source(), "<smp-explorer liveness condition>", "exec"), ns)
        n = len(g.states)
        return np.broadcast_to(np.asarray(ns["cond"](*g.words), dtype=bool), (n,)).copy()
    return np.fromiter((bool(evaluate(e, s)) for s in g.states), dtype=bool,
                       count=len(g.states))


# ---- the product with the monitor bit ---------------------------------------------------------

def monitor_step(form: str, bit: np.ndarray, pv: np.ndarray, qv: np.ndarray,
                 t: np.ndarray) -> np.ndarray:
    """The monitor bit after a step into states t (`liveness.Monitor.step`, vectorised)."""
    if form == "eventually":
        return bit & ~pv[t]
    if form == "always_eventually":
        return ~pv[t]
    if form == "leads_to":
        return (bit | pv[t]) & ~qv[t]
    return np.ones(len(t), dtype=bool)


def monitor_initial(form: str, pv: np.ndarray, qv: np.ndarray, s: np.ndarray) -> np.ndarray:
    if form in ("eventually", "always_eventually"):
        return ~pv[s]
    if form == "leads_to":
        return pv[s] & ~qv[s]
    return np.ones(len(s), dtype=bool)


def _expand(start: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edge indices of the steps of `states` (in order), and the position in `states` of
    each edge's source."""
    lo = start[states]
    counts = start[states + 1] - lo
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(states)), counts)
    base = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return base + np.arange(total), owner


@dataclass
class Product:
    """The reachable nodes (state * 2 + bit) of the product, in breadth-first order, with the
    parent node and the action of each (-1 for the initial ones)."""

    order: np.ndarray     # nodes in discovery order
    parent: np.ndarray    # per node (2n): its parent node, -1
    action: np.ndarray    # per node: the action from its parent, -1
    seen_at: np.ndarray   # per node: its discovery position, -1 if unreachable

    def pending(self, n: int) -> np.ndarray:
        """The states reachable with the bit set."""
        return self.seen_at[1::2][:n] >= 0

    def path_to(self, targets: np.ndarray) -> list[tuple[int, int]]:
        """The shortest path (action, state), from an initial state (action -1), to a pending
        state in `targets` (a bool mask): the first such node discovered."""
        nodes = self.order[(self.order & 1) == 1]
        hit = nodes[targets[nodes >> 1]]
        assert len(hit), "a fair component of pending states is reachable by construction"
        cur = int(hit[0])
        path = []
        while cur >= 0:
            path.append((int(self.action[cur]), cur >> 1))
            cur = int(self.parent[cur])
        return path[::-1]


NO_STAMP = np.iinfo(np.int64).max


def _first_of_each(x: np.ndarray, stamp: np.ndarray) -> np.ndarray:
    """The positions of the first occurrence of each value in `x`, in order (`np.unique`'s
    first indices, sorted), with `stamp` (all NO_STAMP, left so) as scratch: no sorting."""
    at = np.arange(len(x))
    np.minimum.at(stamp, x, at)
    first = np.flatnonzero(stamp[x] == at)
    stamp[x] = NO_STAMP
    return first


def may_pend(form: str, pv: np.ndarray, qv: np.ndarray) -> np.ndarray:
    """The states where the monitor bit can be set (`monitor_initial`, `monitor_step`)."""
    if form in ("eventually", "always_eventually"):
        return ~pv
    if form == "leads_to":
        return ~qv
    return np.ones(len(pv), dtype=bool)


def product_bfs(g: PackedGraph, form: str, pv: np.ndarray, qv: np.ndarray,
                goal: np.ndarray | None = None) -> Product:
    """Breadth first over (state, bit), nodes in the order a FIFO queue would pop them.
    `goal` (states): stop after the level where each of them has been reached pending (the
    nodes found so far, their order and parents, are those of the whole search)."""
    n = len(g.states)
    seen_at = np.full(2 * n, -1, dtype=np.int64)
    parent = np.full(2 * n, -1, dtype=np.int64)
    action = np.full(2 * n, -1, dtype=np.int32)
    init = np.array(g.initial, dtype=np.int64)
    nodes = init * 2 + monitor_initial(form, pv, qv, init)
    _u, first = np.unique(nodes, return_index=True)
    frontier = nodes[np.sort(first)]
    seen_at[frontier] = np.arange(len(frontier))
    count = len(frontier)
    order = [frontier]
    stamp = np.full(2 * n, NO_STAMP, dtype=np.int64)
    want = None if goal is None else goal * 2 + 1
    while len(frontier):
        if want is not None:
            want = want[seen_at[want] < 0]
            if not len(want):
                break
        e, owner = _expand(g.start, frontier >> 1)
        t = g.dst[e].astype(np.int64)
        bits = monitor_step(form, (frontier[owner] & 1).astype(bool), pv, qv, t)
        cand = t * 2 + bits
        fresh = seen_at[cand] < 0
        cand, e, owner = cand[fresh], e[fresh], owner[fresh]
        first = _first_of_each(cand, stamp)
        frontier = cand[first]
        parent[frontier] = order[-1][owner[first]]
        action[frontier] = g.act[e[first]]
        seen_at[frontier] = count + np.arange(len(frontier))
        count += len(frontier)
        order.append(frontier)
    return Product(np.concatenate(order), parent, action, seen_at)


# ---- fair components --------------------------------------------------------------------------

DENSE_CELLS = 1 << 27   # (group, state) cells of FairGroups.enabled, a bool each
TARJAN_STEPS = 1 << 14  # a graph with at most this many steps is decomposed without SciPy


class FairGroups:
    """A graph for the fairness checks: states 0..n-1, the steps (`src`, `dst`, in order of
    source) that may lie on a cycle, `end` (per state: no step at all, an end state), and the
    fairness groups: where each is enabled and its steps (`fsrc`, `fdst`, `fgroup`), grouped by
    group. A step that changes nothing is neither taken nor enabled. Where the groups are
    enabled: `enabled`, one row of states per group (when it fits DENSE_CELLS), else `en_key`,
    the sorted distinct state * G + group. `of_graph` makes it for a whole graph, `restrict`
    for a part of one (`FairCore`)."""

    def __init__(self, groups: list[Fairness], n: int, src: np.ndarray, dst: np.ndarray,
                 end: np.ndarray, fsrc: np.ndarray, fdst: np.ndarray, fgroup: np.ndarray,
                 enabled: np.ndarray | None, en_key: np.ndarray | None):
        self.groups = groups
        self.strong = np.array([f.strong for f in groups], dtype=bool)
        self.n = n
        self.src, self.dst, self.end = src, dst, end
        self.fsrc, self.fdst, self.fgroup = fsrc, fdst, fgroup
        G = max(1, len(groups))
        if enabled is None and en_key is not None and len(groups) * n <= DENSE_CELLS:
            enabled = np.zeros((len(groups), n), dtype=bool)
            enabled[en_key % G, en_key // G] = True
        if enabled is not None:
            en_key = None
        self.enabled = enabled
        self.en_key = en_key

    @classmethod
    def of_graph(cls, g: PackedGraph, groups: list[Fairness]) -> FairGroups:
        moving = np.flatnonzero(g.src != g.dst)
        acts = g.act[moving]
        top = max([int(acts.max(initial=0))] + [max(f.actions, default=0) for f in groups]) + 1
        # stable: a radix sort on 16 bits
        by_act = np.argsort(acts.astype(np.int16) if top < 1 << 15 else acts, kind="stable")
        bounds = np.searchsorted(acts[by_act], np.arange(top + 1)).tolist()
        edges, owners = [], []
        for k, f in enumerate(groups):
            for a in sorted(f.actions):
                part = moving[by_act[bounds[a]:bounds[a + 1]]]
                edges.append(part)
                owners.append(np.full(len(part), k, dtype=np.int32))
        edge = np.concatenate(edges) if edges else np.zeros(0, dtype=np.int64)
        group = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int32)
        n = len(g.states)
        fsrc, fdst = g.src[edge], g.dst[edge]   # state numbers: int32 throughout
        del edge
        enabled, en_key = None, None
        if len(groups) * n <= DENSE_CELLS:
            enabled = np.zeros((len(groups), n), dtype=bool)
            enabled[group, fsrc] = True
        else:
            en_key = _distinct(fsrc.astype(np.int64) * len(groups) + group)
        return cls(groups, n, g.src, g.dst,
                   np.diff(g.start) == 0, fsrc, fdst, group, enabled, en_key)

    def restrict(self, keep: np.ndarray, comp: np.ndarray) -> FairGroups:
        """The states `keep` (sorted), numbered 0.. in that order, with the steps inside one
        component of `comp` (per state, -1: none); where the groups are enabled is kept."""
        local = np.full(self.n, -1, dtype=np.int32)
        local[keep] = np.arange(len(keep))
        same = (comp[self.src] >= 0) & (comp[self.src] == comp[self.dst])
        fsame = (comp[self.fsrc] >= 0) & (comp[self.fsrc] == comp[self.fdst])
        G = max(1, len(self.groups))
        enabled, en_key = None, None
        if self.enabled is not None:
            enabled = self.enabled[:, keep]
        else:
            assert self.en_key is not None
            state = self.en_key // G
            inside = local[state] >= 0
            en_key = local[state[inside]].astype(np.int64) * G + self.en_key[inside] % G
        return FairGroups(self.groups, len(keep), local[self.src[same]], local[self.dst[same]],
                          self.end[keep], local[self.fsrc[fsame]], local[self.fdst[fsame]],
                          self.fgroup[fsame], enabled, en_key)


def scc_labels(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The strongly connected component of each of the states 0..n-1 of the graph with steps
    src -> dst (in order of source), numbered 0..: SciPy's `connected_components`, or up to
    TARJAN_STEPS steps `strong_components` (the reference path's Tarjan: the same partition,
    without importing SciPy, which costs a small run more than its whole analysis)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    if len(src) <= TARJAN_STEPS:
        ptr, nxt = indptr.tolist(), dst.tolist()
        lab = np.empty(n, dtype=np.int32)
        for c, comp in enumerate(strong_components(range(n), lambda v: nxt[ptr[v]:ptr[v + 1]])):
            lab[comp] = c
        return lab
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    m = csr_matrix((np.ones(len(dst), dtype=np.int8), dst, indptr), shape=(n, n))
    return connected_components(m, directed=True, connection="strong")[1].astype(np.int32)


def strong_components(nodes: Iterable[int],
                      successors: Callable[[int], Iterable[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components (iterative) of the graph over `nodes` (every
    successor is one of them), in the order Tarjan's algorithm closes them."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(successors(w))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def fair_states(fg: FairGroups, members: np.ndarray,
                accepting: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The states of every fair strongly connected set inside `members` (bool mask) with an
    accepting state (when `accepting` is given), as a component number per state (-1: none),
    and per component whether it is a single end state. Each round decomposes the states
    left (renumbered 0.. for the decomposition) and checks all its components at once."""
    n = fg.n
    src, dst = fg.src, fg.dst
    comp_of = np.full(n, -1, dtype=np.int64)
    terminal_l: list[np.ndarray] = []
    found = 0
    work = members.copy()
    while work.any():
        idx = np.flatnonzero(work)
        local = np.full(n, -1, dtype=np.int32)
        local[idx] = np.arange(len(idx))
        inside = work[src] & work[dst]
        es, ed = local[src[inside]], local[dst[inside]]
        lab_w = scc_labels(len(idx), es, ed)
        nc = int(lab_w.max()) + 1
        lab = np.full(n, -1, dtype=np.int32)
        lab[idx] = lab_w
        size = np.bincount(lab_w, minlength=nc)
        cyc = size > 1
        cyc[lab_w[es[es == ed]]] = True
        terminal = np.zeros(nc, dtype=bool)
        terminal[lab_w[fg.end[idx]]] = True   # an end state: the run stays there
        terminal &= size == 1
        unfair, removing, remove = _idle_groups(fg, work, idx, lab, size, nc)
        live = (cyc | terminal) & ~unfair
        if accepting is not None:
            acc = np.zeros(nc, dtype=bool)
            acc[lab_w[accepting[idx]]] = True
        else:
            acc = np.ones(nc, dtype=bool)
        done = live & ~removing & acc
        # every component found gets a number of its own
        hit = idx[done[lab_w]]
        if len(hit):
            ids, comp = np.unique(lab[hit], return_inverse=True)
            comp_of[hit] = found + comp.ravel()
            terminal_l.append(terminal[ids])
            found += len(ids)
        again = live & removing & ~terminal
        nxt = np.zeros(n, dtype=bool)
        nxt[idx[again[lab_w]]] = True
        nxt &= ~remove
        work = nxt
    terminal_all = np.concatenate(terminal_l) if terminal_l else np.zeros(0, dtype=bool)
    return comp_of, terminal_all


def _distinct(x: np.ndarray, counts: bool = False):
    """The distinct values, sorted (and how often each occurs): by sorting, which is several
    times faster here than `np.unique`'s hash table in NumPy 2.3."""
    x = np.sort(x)
    first = np.ones(len(x), dtype=bool)
    first[1:] = x[1:] != x[:-1]
    if not counts:
        return x[first]
    at = np.flatnonzero(first)
    return x[at], np.diff(np.append(at, len(x)))


def _fired(fg: FairGroups, work: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups' steps inside a component (both ends in `work`, in one component of `lab`),
    as (component, group)."""
    s, t = fg.fsrc, fg.fdst
    inside = work[s] & work[t]
    inside[inside] = lab[s[inside]] == lab[t[inside]]
    return lab[s[inside]], fg.fgroup[inside]


def _idle_groups(fg: FairGroups, work: np.ndarray, idx: np.ndarray, lab: np.ndarray,
                 size: np.ndarray, nc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per component (numbered 0..nc-1 by `lab` on the states `idx` of `work`): is it unfair (a
    weakly fair group enabled in every state, never taken inside), does a strongly fair group
    enabled in it go untaken (then its states where such a group is enabled are removed: the
    third result, per state)? All groups at once, as (component, group) pairs."""
    if fg.enabled is not None:
        return _idle_groups_dense(fg, fg.enabled, work, idx, lab, size, nc)
    assert fg.en_key is not None
    n = len(work)
    G = max(1, len(fg.groups))
    unfair = np.zeros(nc, dtype=bool)
    removing = np.zeros(nc, dtype=bool)
    remove = np.zeros(n, dtype=bool)
    enabled = fg.en_key[work[fg.en_key // G]]                      # (state, group) enabled
    if not len(enabled):
        return unfair, removing, remove
    fc, fgr = _fired(fg, work, lab)
    fired = _distinct(fc.astype(np.int64) * G + fgr)             # (component, group) taken
    es, eg = enabled // G, enabled % G
    key = lab[es].astype(np.int64) * G + eg
    pairs, count = _distinct(key, counts=True)                    # states enabling, per pair
    idle = ~np.isin(pairs, fired, assume_unique=True)
    pc, pg = pairs // G, pairs % G
    strong = fg.strong[pg]
    unfair[pc[idle & ~strong & (count == size[pc])]] = True
    removing[pc[idle & strong]] = True
    idle_strong = pairs[idle & strong]
    if len(idle_strong):
        remove[es[np.isin(key, idle_strong)]] = True
    return unfair, removing, remove


def _idle_groups_dense(fg: FairGroups, enabled: np.ndarray, work: np.ndarray, idx: np.ndarray,
                       lab: np.ndarray, size: np.ndarray,
                       nc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_idle_groups` with the groups' enabled states as rows of bools: a matrix (component,
    group) of steps taken inside and one of states enabling, with no sorting."""
    n = len(work)
    unfair = np.zeros(nc, dtype=bool)
    removing = np.zeros(nc, dtype=bool)
    remove = np.zeros(n, dtype=bool)
    cs = lab[idx]
    fired = np.zeros((nc, max(1, len(fg.groups))), dtype=bool)
    fc, fgr = _fired(fg, work, lab)
    fired[fc, fgr] = True
    for k, f in enumerate(fg.groups):
        row = enabled[k][idx]
        count = np.bincount(cs[row], minlength=nc)
        idle = ~fired[:, k] & (count > 0)
        if not idle.any():
            continue
        if f.strong:
            removing[idle] = True
            remove[idx[row & idle[cs]]] = True
        else:
            unfair[idle & (count == size)] = True
    return unfair, removing, remove


class FairCore:
    """What every liveness property over one graph shares: the fairness groups' steps, and the
    fair core, the maximal fair strongly connected sets of the whole graph (`fair_states` on
    every state, no acceptance). A fair strongly connected set of one property's pending states
    is one of the whole graph, so it lies in the core, inside one of its sets (two such sets
    that meet make one); so `fair_states` here searches the core's states and the steps inside
    its sets only, and finds the same components as on the whole graph (as sets: their numbers
    may differ). `states`: the core's states, sorted."""

    def __init__(self, g: PackedGraph, groups: list[Fairness]):
        self.groups = groups
        self.n = len(g.states)
        whole = FairGroups.of_graph(g, groups)
        comp, _terminal = fair_states(whole, np.ones(self.n, dtype=bool), None)
        self.states = np.flatnonzero(comp >= 0)
        self.fg = whole.restrict(self.states, comp)

    def fair_states(self, members: np.ndarray,
                    accepting: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """`fair_states` of the whole graph, on the core."""
        comp, terminal = fair_states(self.fg, members[self.states],
                                     None if accepting is None else accepting[self.states])
        out = np.full(self.n, -1, dtype=np.int64)
        out[self.states] = comp
        return out, terminal


# ---- the cycle ----------------------------------------------------------------------------------

def _path_within(g: PackedGraph, c: np.ndarray, src: int, goal: np.ndarray,
                 nonempty: bool = False) -> list[tuple[int, int]]:
    """The shortest path inside c (bool mask) from src to a state in `goal` (bool mask), as
    [(action, state)] (the reference `_path_within`'s path); `nonempty`: at least one step."""
    if goal[src] and not nonempty:
        return []
    n = len(g.states)
    parent = np.full(n, -1, dtype=np.int64)
    pact = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    seen[src] = True
    frontier = np.array([src], dtype=np.int64)
    while len(frontier):
        e, owner = _expand(g.start, frontier)
        t = g.dst[e].astype(np.int64)
        keep = c[t]
        e, owner, t = e[keep], owner[keep], t[keep]
        hits = np.flatnonzero(goal[t])
        if len(hits):
            k = int(hits[0])
            out = [(int(g.act[e[k]]), int(t[k]))]
            s = int(frontier[owner[k]])
            while s != src:
                out.append((int(pact[s]), s))
                s = int(parent[s])
            return out[::-1]
        fresh = ~seen[t]
        e, owner, t = e[fresh], owner[fresh], t[fresh]
        _u, first = np.unique(t, return_index=True)
        first = np.sort(first)
        nxt = t[first]
        parent[nxt] = frontier[owner[first]]
        pact[nxt] = g.act[e[first]]
        seen[nxt] = True
        frontier = nxt
    raise AssertionError("the component is strongly connected")


def cycle_packed(g: PackedGraph, c: np.ndarray, terminal: bool, groups: list[Fairness],
                 entry: int, accepting: np.ndarray | None) -> list[tuple[int, int]]:
    """A cycle inside the component c (bool mask) from `entry` back to it, through a step of
    each fair group that fires inside it (or a state where the group is disabled), and an
    accepting state (the reference `liveness.cycle`)."""
    if terminal:
        return []
    out: list[tuple[int, int]] = []
    cur = entry
    n = len(g.states)

    def go(goal: np.ndarray) -> None:
        nonlocal cur
        path = _path_within(g, c, cur, goal)
        out.extend(path)
        if path:
            cur = path[-1][1]

    # the steps out of the component's states, in order (by source state, then step)
    steps, _owner = _expand(g.start, np.flatnonzero(c))
    src, dst, act = g.src[steps], g.dst[steps], g.act[steps]
    moving = src != dst
    inner = moving & c[dst]   # steps inside, changing the state
    top = int(act.max()) + 1 if len(act) else 1
    for f in groups:
        in_f = np.zeros(top, dtype=bool)
        in_f[[a for a in f.actions if a < top]] = True
        first = np.flatnonzero(inner & in_f[act])
        if len(first):
            k = int(steps[first[0]])
            s, a, t = int(g.src[k]), int(g.act[k]), int(g.dst[k])
            at = np.zeros(n, dtype=bool)
            at[s] = True
            go(at)
            out.append((a, t))
            cur = t
        elif not f.strong:
            enabled = np.zeros(n, dtype=bool)
            enabled[src[moving & in_f[act]]] = True
            go(c & ~enabled)
    if accepting is not None:
        go(accepting & c)
    back = np.zeros(n, dtype=bool)
    back[entry] = True
    out.extend(_path_within(g, c, cur, back, nonempty=not out))
    return out


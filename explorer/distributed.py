"""Breadth-first search on every core and many machines, through Ray (`--workers`, `--ray`).

The visited set is partitioned by key across N Ray actors (`Partition`): a state belongs to
the partition its key hashes to, which keeps its key, its parent link and, while it is on the
frontier, its words. The search stays level-synchronous, so its counts, verdicts and traces
are exactly those of one process (`explorer.engines`, which numbers states in breadth-first
order: a level's states in the order of (parent position, action rank), the first such pair
winning among equal states). A level takes two rounds in the partitions and one look at it in
the driver, which runs a level behind them:

1. expand: every partition expands its frontier with the vector engine's NumPy functions
   (`engines.vector.VectorCode`; the exact per-state step for rows the NumPy code cannot take),
   numbering its rows 0, 1, ... in its own breadth-first order (their positions need not be
   known yet), ranks each successor by (row, action rank) and sorts the successors by owner:
   one batch per other owner, a result of the expansion's Ray call (so in Ray's object store,
   from where the owner's merge takes it: the driver hands the merge the result's reference,
   never the batch), its own batch staying in place. A batch is thinned first (`thin`): of
   the candidates with one key (a state reached from several rows of the level, most of them)
   only the one of smallest sort key goes, the one the owner would keep (a partition's row
   numbers follow the breadth-first order of its rows);
2. merge: once the level's batches exist (Ray starts the call then; an expansion that failed
   fails it), every owner translates its candidates' rows into breadth-first positions (from
   the previous level's placement, below), keeps the best candidate of each key it does not hold
   yet (they are its next frontier, expanded at once), links the previous frontier to its
   parents, evaluates the pending properties on the new states and returns their sort keys
   and, per property, its first event;
3. the driver merges the sort keys into breadth-first positions and sends the next level's
   merges the placement (one byte per state: which partition holds each position); then it
   replays the first events in breadth-first order to find where the single-process search
   would stop (a decision, --stop-at-first, --max-states). Only then does it know whether the
   run goes on: the level the partitions expanded meanwhile is dropped if not, and the steps
   of a level cut short are counted by a look back (`Partition.cut`).

The driver's round trip is thus off the partitions' path: each partition goes from merge to
expansion without waiting. --timeout and Ctrl-C end the run between two levels, with the
statistics of the levels done. A trace is rebuilt from the driver's sort keys of the last
level it looked at and the parent links the partitions keep of the levels before.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Sequence, cast

import numpy as np

from smp_explorer.explorer.engines.common import Links, Search
from smp_explorer.explorer.engines.driver import between_levels
from smp_explorer.explorer.engines.vector import VectorLevels, _to_words
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import KeyTable, Layout
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.runs.results import RunResult

INSTALL = "pip install 'smp-explorer[ray]'"
CHUNK = 1 << 17                      # rows per NumPy batch in a partition
_SPLIT = np.uint64(0xD6E8FEB86659FD93)   # owner hash (not the table's: its slots stay spread)
_S32 = np.uint64(32)
NO_CUT = np.iinfo(np.int64).max
PROFILE: list | None = None          # set to a list: each run appends its timeline (bench/)
# the local Ray that --workers starts: its workers at niceness 0 (Ray's default of 15 is for
# background work: ours are the search itself)
SYSTEM_CONFIG = {"worker_niceness": 0}


def ray_missing() -> str | None:
    """Why --workers / --ray cannot run here (Ray not installed), or None."""
    try:
        _import_ray()
    except ImportError:
        return f"--workers and --ray need Ray: {INSTALL}"
    return None


def _import_ray() -> Any:
    # Ray's C++ handler of fatal signals (read when ray is first imported) would take SIGTERM
    # too and abort the process after the report of an interrupted run: the command's own
    # handler ends the search
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    import ray
    return ray


def key_hash(keys: Sequence[np.ndarray]) -> np.ndarray:
    """A 64-bit mix of each key (given as uint64 word columns): its high bits choose the
    key's partition (`owner_of`) and its cell in `thin`'s table."""
    h = keys[0] * _SPLIT
    for k in keys[1:]:
        h = (h ^ k) * _SPLIT
    return h


def owner_of(keys: Sequence[np.ndarray], n: int, h: np.ndarray | None = None) -> np.ndarray:
    """The partition of each key (given as uint64 word columns, or by its `key_hash` h)."""
    h = key_hash(keys) if h is None else h
    return (((h >> _S32) * np.uint64(n)) >> _S32).astype(np.int64)   # (no division)


def best_of_keys(keys: list, sortkey: np.ndarray) -> np.ndarray:
    """Indices of the candidates to keep: per key the smallest sort key, in sort-key order."""
    if len(sortkey) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((sortkey,) + tuple(reversed(keys)))
    first = np.ones(len(order), dtype=bool)
    same = np.ones(len(order) - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    first[1:] = ~same
    keep = order[first]
    return keep[np.argsort(sortkey[keep], kind="stable")]


def first_of_keys(table: KeyTable, keys: list, sortkey: np.ndarray) -> np.ndarray:
    """Insert into `table` the keys it does not hold, each with its smallest sort key; the
    indices of the candidates inserted, in sort-key order."""
    if len(sortkey) == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(sortkey.min())
    if int(sortkey.max()) - low < (1 << 31) - 1:      # the table ranks in int32
        return table.insert(keys, (sortkey - low).astype(np.int32))
    keep = best_of_keys(keys, sortkey)
    keep = keep[~table.contains([k[keep] for k in keys])]
    table.insert([k[keep] for k in keys], np.arange(len(keep), dtype=np.int32))
    return keep


class Scratch:
    """Reusable arrays for `thin`."""

    def __init__(self) -> None:
        self.bits = 0
        self.low = np.zeros(0, dtype=np.int64)
        self.who = np.zeros(0, dtype=np.intp)

    def size(self, n: int) -> int:
        bits = max(10, (2 * n - 1).bit_length())
        if bits > self.bits:
            self.bits = bits
            self.low = np.full(1 << bits, NO_CUT, dtype=np.int64)
            self.who = np.zeros(1 << bits, dtype=np.intp)
        return self.bits


def thin(keys: list, sortkey: np.ndarray, scratch: Scratch,
         h: np.ndarray | None = None) -> np.ndarray:
    """The candidates to keep: every one but those whose key another candidate of smaller
    sort key has (sort keys are distinct). Candidates are hashed (`key_hash`, or h) into a
    direct-mapped table; per cell the smallest sort key wins, and only the candidates with the
    winner's key are dropped (two keys sharing a cell both stay: the owner deduplicates
    exactly)."""
    n = len(sortkey)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    bits = scratch.size(n)
    cell = ((key_hash(keys) if h is None else h) >> np.uint64(64 - bits)).astype(np.intp)
    low = scratch.low
    np.minimum.at(low, cell, sortkey)
    won = low[cell] == sortkey
    low[cell] = NO_CUT
    who = scratch.who
    who[cell[won]] = np.flatnonzero(won)
    first = who[cell]
    same = keys[0][first] == keys[0]
    for k in keys[1:]:
        same &= k[first] == k
    same &= ~won
    return np.flatnonzero(~same)


def sources(owner: np.ndarray, n: int) -> np.ndarray:
    """`owner` (a partition per state, in breadth-first order) in the smallest dtype."""
    return owner.astype(np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.uint32)


def _joined(parts: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Columns of several parts, one after the other (one part's own columns, not a copy)."""
    if len(parts) == 1:
        return parts[0]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def gather(parts: list[Sequence[np.ndarray]], at: np.ndarray) -> list[np.ndarray]:
    """The rows `at` of the columns of several parts one after the other (rows numbered
    through all parts), taken from each part (the parts are not joined first)."""
    if len(parts) == 1:
        return [x[at] for x in parts[0]]
    sizes = [len(p[0]) for p in parts]
    starts = np.cumsum([0] + sizes[:-1])
    part = np.searchsorted(starts[1:], at, side="right")
    out = [np.empty(len(at), dtype=np.uint64) for _ in parts[0]]
    for j, cols in enumerate(parts):
        sel = np.flatnonzero(part == j)
        if sel.size:
            rows = at[sel] - starts[j]
            for o, x in zip(out, cols):
                o[sel] = x[rows]
    return out


def positions(base: int, src: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """From the partition of each state of a level in breadth-first order (the level's first
    at `base`): the states' positions, partition after partition, each in its breadth-first
    order, and where each partition's begin."""
    begin = np.zeros(n + 1, dtype=np.int64)
    begin[1:] = np.cumsum(np.bincount(src, minlength=n))
    return base + np.argsort(src, kind="stable"), begin


# An event is what the single-process search records while it expands one row (a frontier
# state): its key orders the events as that search meets them, (row position, phase, action
# rank, a, b): phase 0 the properties of a new successor, 1 a failing step, 2 a deadlock.
Event = tuple[tuple, tuple]


def _earliest(found: dict[str, Event], name: str, key: tuple, what: tuple) -> None:
    old = found.get(name)
    if old is None or key < old[0]:
        found[name] = (key, what)


class Partition:
    """One Ray actor: a slice of the visited set, of the parent links and of the frontier."""

    def __init__(self, model, names: list[str], exact: bool, check_deadlock: bool,
                 index: int, count: int):
        from smp_explorer.explorer.engines.scalar import ScalarCode
        from smp_explorer.explorer.engines.vector import VectorCode
        from smp_explorer.runs.compiled import compile_model
        self.cm = cm = compile_model(model, names)
        self.layout = layout = Layout(model, exact)
        options = Options(exact=exact, check_deadlock=check_deadlock, engine="vector")
        self.code = VectorCode(cm, layout, options, ScalarCode(cm, layout, options))
        self.check_deadlock = check_deadlock
        self.index, self.count = index, count
        self.R = len(self.code.order)
        # as the one-process engines' table: a 64-bit key may be all ones (kept apart), and a
        # key of 63 + e bits takes one word (quotient)
        self.table = KeyTable(layout.key_words, 1 << 12, layout.full_width, None,
                              layout.used0, layout.quotient)
        nw = layout.nwords
        self.frontier = [np.zeros(0, dtype=np.uint64) for _ in range(nw)]
        self.links: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (pos, parent, via)
        self.done_pcs = [(p.pc_slot, p.done) for p in model.processes]
        self.unlinked: np.ndarray | None = None   # sort keys of the frontier, not linked yet
        self.enabled: dict[int, tuple] = {}      # level -> (row, action, ok) of its steps
        self.via = np.asarray(self.code.order, dtype=np.int64)
        self.own: tuple | None = None    # the batch of candidates it keeps for itself
        self.own_keys: list | None = None      # and their keys
        # an exact key not folded is the state's words themselves
        self.keys_are_words = layout.exact and not layout.fold
        self.scratch = Scratch()       # `thin`'s table, kept from level to level
        self.busy = 0.0          # seconds spent in the rounds (not waiting for Ray)
        self.cpu = 0.0           # of which on a CPU
        self.timeline: list[tuple] = []
        self.clock = time.time() - time.perf_counter()

    def _done(self, phase: str, start: float, cpu: float) -> None:
        end = time.perf_counter()
        self.busy += end - start
        c = time.process_time() - cpu
        self.cpu += c
        self.timeline.append((phase, start + self.clock, end + self.clock, c))

    def profile(self) -> list:
        return self.timeline

    def rank_count(self) -> int:
        return self.R

    def rank_order(self) -> tuple[int, list[int]]:
        """The number of action ranks, and the action of each rank."""
        return self.R, list(self.code.order)

    def seed(self, words: list[np.ndarray]) -> None:
        """The initial states this partition owns, in breadth-first order (the driver links
        them)."""
        keys = self.layout.key_words_numpy(words)
        if len(words[0]):
            self.table.insert(keys, np.arange(len(words[0]), dtype=np.int32))
        self.frontier = words

    # ---- round 1 ---------------------------------------------------------------------------
    def expand(self, level: int, pending: set[str]) -> tuple:
        """Expand the frontier: a summary, then per partition its batch of candidates (None
        for this one's own, which stays here): the Ray call has one result per partition
        more, each handed by the driver to its owner's merge. Rows are numbered here in this
        partition's breadth-first order (0, 1, ...): the frontier's positions need not be
        known yet, and the owners translate (each batch says where it comes from)."""
        start, cpu = time.perf_counter(), time.process_time()
        code, layout = self.code, self.layout
        W = self.frontier
        n = len(W[0])
        P = np.arange(n, dtype=np.int64)
        cand_w: list[list] = [[] for _ in range(layout.nwords)]
        cand_k: list = []
        en_pos: list[np.ndarray] = []
        en_act: list[np.ndarray] = []
        en_ok: list[np.ndarray] = []
        found: dict[str, Event] = {}
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            Wc = [x[a:b] for x in W]
            Pc = P[a:b]
            fb = code.fallback_rows(Wc)
            if fb.any():
                self._exact_rows([x[fb] for x in Wc], Pc[fb], pending, cand_w, cand_k,
                                 en_pos, en_act, en_ok, found)
                keep = ~fb
                Wc, Pc = [x[keep] for x in Wc], Pc[keep]
            self._vector_rows(Wc, Pc, pending, cand_w, cand_k, en_pos, en_act, en_ok, found)
        words = [np.concatenate(c) if c else np.zeros(0, dtype=np.uint64) for c in cand_w]
        sortkey = np.concatenate(cand_k) if cand_k else np.zeros(0, dtype=np.int64)
        keys = layout.key_words_numpy(words) if len(sortkey) else [
            np.zeros(0, dtype=np.uint64)] * layout.key_words
        h = key_hash(keys)
        # of the candidates with one key the owner keeps that of smallest sort key: only it
        # need go (`thin` drops most of the others)
        keep = thin(keys, sortkey, self.scratch, h)
        steps = (np.concatenate(en_pos) if en_pos else np.zeros(0, dtype=np.int64),
                 np.concatenate(en_act) if en_act else np.zeros(0, dtype=np.int64),
                 np.concatenate(en_ok) if en_ok else np.zeros(0, dtype=bool))
        # kept for a commit that cuts this level (the driver decides it a level later)
        self.enabled[level] = steps
        self.enabled.pop(level - 2, None)
        fired = np.bincount(steps[1], minlength=len(self.cm.model.actions))
        sent = 0
        out: list = []
        # the kept candidates gathered once, owner after owner (a stable sort of small
        # integers), each owner's batch a slice; on the wire a sort key is 32 bits if they fit
        bounds = [0, len(keep)]
        if self.count > 1:
            owner = sources(owner_of(keys, self.count, h[keep]), self.count)
            keep = keep[np.argsort(owner, kind="stable")]
            bounds = [0] + np.cumsum(np.bincount(owner, minlength=self.count)).tolist()
        words = [x[keep] for x in words]
        sortkey = self._wire(sortkey[keep])
        # one batch per partition: the others' go into Ray's store as this call's results
        # (each owner's merge takes its batches from there, not through the driver); its own
        # stays here (the next merge takes it)
        for q in range(self.count):
            mine = slice(bounds[q], bounds[q + 1])
            batch = ([x[mine] for x in words], sortkey[mine], self.index)
            if q == self.index:
                self.own = batch
                self.own_keys = list(batch[0]) if self.keys_are_words else \
                    [k[keep[mine]] for k in keys]
                out.append(None)
            else:
                sent += sum(x.nbytes for x in batch[0]) + batch[1].nbytes
                out.append(batch)
        self._exact_values(found)
        self._done('expand', start, cpu)
        return (dict(found=found, sent=sent, fired=fired.tolist(),
                     transitions=int(np.count_nonzero(steps[2]))), *out)

    @staticmethod
    def _wire(sortkey: np.ndarray) -> np.ndarray:
        """Sort keys as they travel: 32 bits when they fit (the owner widens them again)."""
        if len(sortkey) and int(sortkey.max()) <= np.iinfo(np.int32).max:
            return sortkey.astype(np.int32)
        return sortkey

    def _vector_rows(self, Wc, Pc, pending, cand_w, cand_k, en_pos, en_act, en_ok,
                     found) -> None:
        code, R = self.code, self.R
        n = len(Pc)
        if not n:
            return
        fired = np.zeros(n, dtype=bool)
        for ai, (rows, okr, fails, wd, ok) in code.enabled(Wc):
            rank = code.rank[ai]
            fired[rows] = True
            en_pos.append(Pc[rows])
            en_act.append(np.full(len(rows), ai, dtype=np.int64))
            en_ok.append(np.ones(len(rows), dtype=bool) if ok is None else np.asarray(ok))
            for prop, frows in zip(code.action_checks[ai], fails):
                if frows.size and prop in pending:
                    p = int(Pc[frows].min())
                    _earliest(found, prop, (p, 1, rank, 0, 0), ("check", ai))
            if len(okr):
                for k, w in enumerate(wd):
                    cand_w[k].append(w if ok is None else w[ok])
                cand_k.append(Pc[okr] * R + rank)
        if self.check_deadlock and DEADLOCK_NAME in pending:
            dead = ~fired
            if self.done_pcs:
                alldone = np.ones(n, dtype=bool)
                for w, m, v in self.layout.word_tests(dict(self.done_pcs)):
                    alldone &= (Wc[w] & np.uint64(m)) == np.uint64(v)
                dead &= ~alldone
            if dead.any():
                _earliest(found, DEADLOCK_NAME, (int(Pc[dead].min()), 2, 0, 0, 0), ("dead",))

    def _exact_rows(self, Wc, Pc, pending, cand_w, cand_k, en_pos, en_act, en_ok,
                    found) -> None:
        """The rows the NumPy code cannot take: the compiled tuple code's step."""
        cm, code, layout, R = self.cm, self.code, self.layout, self.R
        packed: list[int] = []
        ks: list[int] = []
        for state, p in zip(VectorLevels._states(layout, Wc), Pc.tolist()):
            out, bad = cm.successors(state)
            for ai, t in out:
                packed.append(layout.pack(t))
                ks.append(p * R + code.rank[ai])
            acts = [ai for ai, _ in out] + [ai for ai, _, _ in bad]
            en_pos.append(np.full(len(acts), p, dtype=np.int64))
            en_act.append(np.array(acts, dtype=np.int64))
            en_ok.append(np.arange(len(acts)) < len(out))
            for ai, fid, value in bad:
                prop = cm.failures[fid].property
                if prop in pending:
                    _earliest(found, prop, (p, 1, code.rank[ai], 0, 0),
                              ("step", ai, fid, value))
            if not out and not bad and self.check_deadlock and DEADLOCK_NAME in pending and \
                    (not self.done_pcs or any(state[s] != d for s, d in self.done_pcs)):
                _earliest(found, DEADLOCK_NAME, (p, 2, 0, 0, 0), ("dead",))
        if packed:
            for k, w in enumerate(_to_words(layout, packed)):
                cand_w[k].append(w)
            cand_k.append(np.array(ks, dtype=np.int64))

    def _exact_values(self, found: dict[str, Event]) -> None:
        """A failing check found by the NumPy code: its failure and value, from the exact step
        of its row (as the single-process engine takes them)."""
        for name, (key, what) in list(found.items()):
            if what[0] != "check":
                continue
            ai = what[1]
            row = key[0]
            state = VectorLevels._states(self.layout, [x[row:row + 1] for x in self.frontier])[0]
            _, bad = self.cm.successors(state)
            fid, value = next((f, v) for a, f, v in bad if a == ai)
            found[name] = (key, ("step", ai, fid, value))

    # ---- round 2 ---------------------------------------------------------------------------
    def merge(self, level: int, pending: set[str], monitors: set[int], placed: tuple,
              *batches: tuple) -> tuple:
        """Keep the new states among the candidates of `level`'s expansion that this partition
        owns (they become the frontier): those its own expansion kept, and `batches`, the
        other partitions' (results of their expansions, which Ray passes once they exist);
        their sort keys, and a summary: per pending property its first event among them.

        `placed` says where the frontier the candidates come from is in breadth-first order:
        its first position, and per position the partition that holds that state (one byte
        a state). A candidate's parent row becomes its position, and this partition's own
        frontier is linked to its parents."""
        start, cpu = time.perf_counter(), time.process_time()
        layout, R = self.layout, self.R
        base, src = placed
        glob, begin = positions(base, src, self.count)
        if self.unlinked is not None and len(self.unlinked):
            mine = glob[begin[self.index]:begin[self.index + 1]]
            sk = self.unlinked
            self.links.append((mine, sk // R, self.via[sk % R]))
        self.unlinked = None
        assert self.own is not None and self.own_keys is not None
        batches = batches + (self.own,)
        self.own = None
        # the keys of its own batch are the expansion's; the others' are computed here
        own_keys, self.own_keys = self.own_keys, None
        keys = _joined([layout.key_words_numpy(list(b[0])) for b in batches[:-1]] + [own_keys])
        sortkey = _joined([[glob[begin[p] + k // R] * R + k % R] for _, k, p in batches])[0]
        # the new states go into the table now: a level cut short (a decision, a limit) is the
        # run's last, so only the links need to know where it stops
        fresh = first_of_keys(self.table, keys, sortkey)
        sortkey = sortkey[fresh]
        words = [x[fresh] for x in keys] if self.keys_are_words else \
            gather([b[0] for b in batches], fresh)
        self.frontier, self.unlinked = words, sortkey
        found: dict[str, Event] = {}
        if len(sortkey):
            self._properties(words, sortkey, pending, monitors, found)
        self._done('merge', start, cpu)
        links = sum(p.nbytes + q.nbytes + v.nbytes for p, q, v in self.links)
        return sortkey, dict(found=found, busy=self.busy, cpu=self.cpu,
                             nbytes=self.table.nbytes + links)

    def _properties(self, words, sortkey, pending, monitors, found) -> None:
        from smp_explorer.explorer.engines.common import Watch
        cm, code, R = self.cm, self.code, self.R
        runtime = RUNTIME_NAME in pending
        names = {Watch.INVARIANT: cm.invariant_names, Watch.GOAL: cm.goal_names}
        python: set[Watch] = set()
        n = len(sortkey)

        def event(i: int, kind: int, k: int, what: tuple, name: str) -> None:
            sk = int(sortkey[i])
            _earliest(found, name, (sk // R, 0, sk % R, kind, k), what + (i,))

        for kind, k, _, fn in code.prop_funcs:
            if kind is Watch.MONITOR:
                if k not in monitors:
                    continue
                name, hit_when = f"monitor {k}", True
            else:
                name, hit_when = names[kind][k], kind is not Watch.INVARIANT
                if name not in pending and not (runtime and fn is None):
                    continue
                if name not in pending:
                    python.add(kind)
                    continue
            if fn is None:
                python.add(kind)
                continue
            hits = np.flatnonzero(np.broadcast_to(np.asarray(fn(*words)), (n,)) == hit_when)
            if hits.size:
                tag = {Watch.INVARIANT: "inv", Watch.GOAL: "goal", Watch.MONITOR: "mon"}[kind]
                event(int(hits[0]), {"inv": 0, "goal": 1, "mon": 2}[tag], k, (tag, k), name)
        if not python:
            return
        for i, state in enumerate(VectorLevels._states(self.layout, words)):
            for kind in python:
                tag, kn, fn_all = (("inv", 0, cm.invariants) if kind is Watch.INVARIANT else
                                   ("goal", 1, cm.goals) if kind is Watch.GOAL else
                                   ("mon", 2, cm.monitors))
                for j, k in enumerate(fn_all(state)):
                    if isinstance(k, Undefined):
                        if runtime and kind is not Watch.MONITOR:
                            event(i, kn, -1 - j, ("undef", k.site, k.value), RUNTIME_NAME)
                    elif kind is Watch.MONITOR:
                        if k in monitors:
                            event(i, kn, k, ("mon", k), f"monitor {k}")
                    elif names[kind][k] in pending:
                        event(i, kn, k, (tag, k), names[kind][k])

    # ---- a level cut short -------------------------------------------------------------------
    def cut(self, level: int, rows: np.ndarray, row_cut: int, limit_rank: int) -> tuple:
        """The steps of a level the run stops in (its frontier's rows at positions `rows`):
        those of the rows before `row_cut` and of the row `row_cut` itself (only its successful
        steps up to action rank `limit_rank` when --max-states cut it). Runs beside the next
        level's rounds (their results are not needed any more)."""
        local, act, ok = self.enabled[level]
        pos = rows[local]
        if limit_rank < 0:
            counted = pos <= row_cut
        else:
            ranks = self._ranks()[act]
            counted = (pos < row_cut) | ((pos == row_cut) & ok & (ranks <= limit_rank))
        fired = np.bincount(act[counted], minlength=len(self.cm.model.actions))
        return fired.tolist(), int(np.count_nonzero(ok & (pos <= row_cut)))

    def _ranks(self) -> np.ndarray:
        out = np.zeros(len(self.cm.model.actions), dtype=np.int64)
        for a, r in self.code.rank.items():
            out[a] = r
        return out

    # ---- traces ------------------------------------------------------------------------------
    def parents(self, wanted: list[int]) -> dict[int, tuple[int, int]]:
        """(parent position, action) of the states at `wanted` this partition holds."""
        out: dict[int, tuple[int, int]] = {}
        links = list(self.links)     # (the next level's merge may be adding to them)
        if not links or not wanted:
            return out
        q = np.asarray(sorted(wanted), dtype=np.int64)
        for pos, parent, via in links:
            i = np.searchsorted(pos, q)
            i = np.minimum(i, len(pos) - 1)
            hit = pos[i] == q
            for p, j in zip(q[hit].tolist(), i[hit].tolist()):
                out[p] = (int(parent[j]), int(via[j]))
        return out


# ---- the driver -------------------------------------------------------------------------------

class _RemoteLinks(Links):
    """The driver's parent links: how many states there are, and the links of the states on
    the traces (fetched from their partitions at the end)."""

    def __init__(self, initial: int):
        super().__init__()
        self.count = initial
        self.known: dict[int, tuple[int, int]] = {i: (-1, -1) for i in range(initial)}
        self.bytes = 0

    def __len__(self) -> int:
        return self.count

    def nbytes(self) -> int:
        return self.bytes

    def finish(self) -> tuple[Sequence[int], Sequence[int]]:
        return (cast(Sequence[int], _Column(self, 0)), cast(Sequence[int], _Column(self, 1)))


class _Column:
    def __init__(self, links: _RemoteLinks, i: int):
        self.links, self.i = links, i

    def __len__(self) -> int:
        return self.links.count

    def __getitem__(self, pos: int) -> int:
        return self.links.known[pos][self.i]


def _connect(options: Options) -> tuple[int, float, str, str]:
    """Start (--workers) or join (--ray) Ray; the number of partitions, the CPUs each
    reserves, where they run and how long Ray took to start."""
    ray = _import_ray()
    started = ""
    if not ray.is_initialized():
        t = time.perf_counter()
        if options.ray_address:
            ray.init(address=options.ray_address, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR)
        else:
            ray.init(num_cpus=options.workers, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, _system_config=SYSTEM_CONFIG)
        started = f" (started in {time.perf_counter() - t:.1f} s)"
    cpus = float(ray.cluster_resources().get("CPU", 1))
    n = options.workers or max(1, int(cpus))
    where = f"the Ray cluster at {options.ray_address}" if options.ray_address else "local Ray"
    return n, min(1.0, cpus / n), where, started


def _wait(refs: list, search: Search) -> str | None:
    """Wait for Ray results; a timeout ends the wait (and progress is reported meanwhile). A
    result that is an error raises it at once (the others may wait for what failed: a merge
    for the batches of an expansion that failed)."""
    import ray
    left = list(refs)
    while left:
        done, left = ray.wait(left, num_returns=len(left), timeout=0.1)
        if done:
            ray.get(done)      # (raises the error of a round that failed)
        reason = search.tick()
        if reason:
            return reason
    return None


def _apply(search: Search, key: tuple, what: tuple) -> None:
    """Record one event as the single-process search records it."""
    tag, row = what[0], key[0]
    if tag == "inv":
        search.invariant_failed(what[1], what[2])
    elif tag == "goal":
        search.goal_reached(what[1], what[2])
    elif tag == "mon":
        search.monitor_seen(what[1])
    elif tag == "undef":
        search.undefined(what[3], Undefined(what[1], what[2]))
    elif tag == "step":
        search.step_failed(row, what[1], what[2], what[3])
    else:
        search.deadlocked(row)


class _Run:
    """One distributed search: the driver's bookkeeping (a `Search`) and the partitions.

    The partitions keep one level ahead of the driver: they expand the states a level just
    found as soon as they have merged them (their rows numbered in each partition's order), while the
    driver ranks them into breadth-first positions and sends these to the next merge (which
    translates the candidates' parent rows). The driver's round trip is thus off the
    partitions' path; only the level it decides the run stops in needs a look back (`cut`),
    and the traces (the last level's links, which the partitions add a level later, are the
    driver's own sort keys)."""

    def __init__(self, cm: CompiledModel, options: Options, memory: str):
        self.ray = ray = _import_ray()
        self.cm = cm
        self.options = options
        n, cpus, where, self.started = _connect(options)
        self.n = n
        self.layout = layout = Layout(cm.model, options.exact)
        self.search = Search(cm, options, memory, f"vector on {n} Ray workers", layout)
        self.where = where
        self.links = _RemoteLinks(0)
        # handles typed Any: Ray's generic stubs do not follow `.options(...).remote` chains.
        # A second group of one thread runs `cut` and `parents` beside the rounds of a level
        # the driver has already gone past.
        actor: Any = ray.remote(concurrency_groups={"side": 1})(Partition).options(
            num_cpus=cpus, scheduling_strategy="SPREAD")
        model = ray.put(cm.model)
        names = cm.invariant_names + cm.goal_names
        self.workers: list[Any] = [
            actor.remote(model, names, options.exact, options.check_deadlock, i, n)
            for i in range(n)]
        self.R = 0
        self.order: np.ndarray = np.zeros(0, dtype=np.int64)   # action of each rank
        self.level_no = 0
        # the expansion under way: per partition its summary and its batch for each partition
        self.outs: list[list] = []
        self.merges: list = []        # and the merges of its candidates
        self.ahead: list = []         # the next level's expansion (submitted already)
        self.rows = (np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
        self.last: tuple[int, np.ndarray] = (0, np.zeros(0, dtype=np.int64))
        self.failures: list[str] = []
        self.busy = 0.0        # the busiest partition's seconds of work
        self.cpu = 0.0         # the most CPU seconds a partition used
        self.ready = 0.0       # seconds until every partition had started and built its code
        self.sent = 0          # bytes of candidates sent from one partition to another
        self.driver = 0        # bytes of ranks and positions to and from the driver
        self.timeline: list[tuple] = []

    def kill(self) -> None:
        for w in self.workers:
            self.ray.kill(w)

    def _expand(self, level: int) -> list[list]:
        pending = set(self.search.verdicts.pending)
        return [w.expand.options(num_returns=self.n + 1).remote(level, pending)
                for w in self.workers]

    def _merge(self, level: int, placed: Any) -> list:
        """The merges of the expansion under way (`outs`): each gets the batches the other
        partitions' expansions made for it (Ray runs it once they exist, and fails it if one
        failed)."""
        search, n = self.search, self.n
        pending = set(search.verdicts.pending)
        monitors = set(range(len(search.monitor_names))) - search.monitors_seen
        return [w.merge.remote(
                    level, pending, monitors, placed,
                    *[self.outs[p][1 + q] for p in range(n) if p != q])
                for q, w in enumerate(self.workers)]

    def seed(self) -> int:
        """Discover the initial states (here), hand each to its partition, and start the
        first level."""
        search, layout, n = self.search, self.layout, self.n
        search.initial_states()
        k = len(search.initial)
        self.links = _RemoteLinks(k)
        search.links = self.links
        words = _to_words(layout, [layout.pack(s) for s in search.initial])
        owner = owner_of(layout.key_words_numpy(words), n) if k else np.zeros(0, np.int64)
        self.ray.get([w.seed.remote([x[owner == q] for x in words])
                      for q, w in enumerate(self.workers)])
        src = sources(owner, n)
        self.rows = positions(0, src, n)
        if k and not search.cut:
            self.outs = self._expand(0)
            self.merges = self._merge(0, self.ray.put((0, src)))
        return k

    def level(self) -> str | None:
        """Finish one level (its expansion and merges were sent a level ahead); a stop reason
        ends the run."""
        ray, search, n, R = self.ray, self.search, self.n, self.R
        t0, c0, m0 = time.time(), time.process_time(), time.thread_time()
        self.level_no += 1
        # the next level's expansion runs in each partition right after its merge
        self.ahead = self._expand(self.level_no)
        summaries = [out[0] for out in self.outs]
        reason = _wait(self.merges + summaries, search)
        if reason:
            return reason
        t1 = time.time()
        sortkeys, merged = zip(*ray.get(self.merges))
        base = search.states
        every = np.concatenate(sortkeys)
        order = np.argsort(every, kind="stable")
        glob = np.empty(len(every), dtype=np.int64)
        glob[order] = base + np.arange(len(every), dtype=np.int64)
        lengths = [len(x) for x in sortkeys]
        begin = np.zeros(n + 1, dtype=np.int64)
        begin[1:] = np.cumsum(lengths)
        rows, self.rows = self.rows, (glob, begin)
        # where the level's states are goes to the next level's merges at once: one byte a
        # state, the partition of each breadth-first position
        src = sources(np.repeat(np.arange(n), lengths)[order], n)
        self.outs = self.ahead
        self.merges = self._merge(self.level_no, ray.put((base, src)))
        expanded = ray.get(summaries)
        ranked = every[order]
        self.sent += sum(e["sent"] for e in expanded)
        self.busy = max(m["busy"] for m in merged)
        self.cpu = max(m["cpu"] for m in merged)
        self.links.bytes = sum(m["nbytes"] for m in merged)
        self.driver += every.nbytes + n * src.nbytes
        # the first event of each property, in breadth-first order
        first: dict[str, Event] = {}
        pglob, pbegin = rows
        for p, e in enumerate(expanded):
            for name, (key, what) in e["found"].items():
                key = (int(pglob[pbegin[p] + key[0]]),) + key[1:]
                _earliest(first, name, key, what)
        for q, m in enumerate(merged):
            for name, (key, what) in m["found"].items():
                _earliest(first, name, key, what[:-1] + (int(glob[begin[q] + what[-1]]),))
        total = len(every)
        limit, row_cut, limit_rank = base + total, NO_CUT, -1
        max_states = self.options.max_states
        if max_states is not None and total > max_states - base:
            room = max_states - base
            trigger = int(ranked[room])
            row_cut, limit_rank, limit = trigger // R, trigger % R, base + room
        events = sorted(first.values())
        i = 0
        while i < len(events) and events[i][0][0] <= row_cut:
            row = events[i][0][0]
            while i < len(events) and events[i][0][0] == row:
                key, what = events[i]
                i += 1
                if row == row_cut and limit_rank >= 0 and not (key[1] == 0 and
                                                               key[2] < limit_rank):
                    continue
                _apply(search, key, what)
            if row == row_cut and limit_rank >= 0:
                break
            reason = search.should_stop()
            if reason:
                row_cut, limit_rank = row, -1
                limit = base + int(np.searchsorted(ranked, (row + 1) * R))
                if row == base - 1 and limit == base:
                    # the last state of the last level: one process checks before expanding
                    # a state, and none is left, so the search is exhausted
                    reason, row_cut, limit = None, NO_CUT, base + total
                break
        if reason is None and limit_rank >= 0:
            reason = "max-states"
        if row_cut == NO_CUT:
            steps = [(e["fired"], e["transitions"]) for e in expanded]
        else:      # the steps of the rows before the cut
            steps = ray.get([w.cut.options(concurrency_group="side").remote(
                self.level_no - 1, pglob[pbegin[p]:pbegin[p + 1]], row_cut, limit_rank)
                for p, w in enumerate(self.workers)])
        for fired, transitions in steps:
            for a, c in enumerate(fired):
                search.fired[a] += c
            search.transitions += transitions
        if limit > base:
            search.max_depth_seen = search.depth + 1
        self.links.count = limit
        self.last = (base, ranked[:limit - base])
        # (phase, start, end, CPU s): the level's CPU counts Ray's threads in this process
        self.timeline.append(("wait", t0, t1, 0.0))
        self.timeline.append(("driver", t1, time.time(), time.process_time() - c0))
        self.timeline.append(("driver thread", t1, t1, time.thread_time() - m0))
        return reason

    def traces(self) -> None:
        """Fetch the parent links of every state on a trace of a decided property (those of
        the last level's states are the driver's)."""
        known = self.links.known
        base, ranked = self.last
        need = {found[0] for found in self.search.verdicts.found.values()} - set(known)
        while need:
            got: dict[int, tuple[int, int]] = {}
            for pos in [p for p in need if base <= p < base + len(ranked)]:
                sk = int(ranked[pos - base])
                got[pos] = (sk // self.R, int(self.order[sk % self.R]))
            asked = sorted(need - set(got))
            if asked:
                for d in self.ray.get([w.parents.options(concurrency_group="side").remote(
                        asked) for w in self.workers]):
                    got.update(d)
            if set(got) != need:
                raise RuntimeError("distributed search: a trace's state has no partition")
            known.update(got)
            need = {parent for parent, _ in got.values()} - set(known)


def explore_distributed(cm: CompiledModel, options: Options, memory: str) -> RunResult:
    """Breadth-first search of `cm` on Ray partitions (`options.workers`, `options.ray_address`);
    the result is the single-process engines' (the statistics say where it ran)."""
    if options.visitor is not None or options.checkpoint is not None:
        raise ValueError("explore: a visitor or a checkpoint needs the search in one process")
    run = _Run(cm, options, memory)
    search = run.search
    stop_reason = "exhausted"
    try:
        t = time.perf_counter()
        run.R, order = run.ray.get(run.workers[0].rank_order.remote())
        run.order = np.asarray(order, dtype=np.int64)
        run.ray.get([w.rank_count.remote() for w in run.workers[1:]])
        run.ready = time.perf_counter() - t
        width = run.seed()
        if search.cut:
            stop_reason, width = "max-states", 0
        while width:
            before = search.states
            reason = search.pause() or run.level()
            width = search.states - before
            # (the checks between levels are the one-process driver's)
            reason = reason or (between_levels(search) if width else None)
            if reason:
                stop_reason = reason
                break
    except KeyboardInterrupt:   # Ctrl-C, or SIGTERM / SIGHUP (cli.main makes them one)
        stop_reason = "interrupted"
    except run.ray.exceptions.RayError as e:
        # a worker killed (its node short of memory), lost; a round that failed
        stop_reason = _lost(run, e)
    try:
        run.traces()
    except run.ray.exceptions.RayError as e:
        stop_reason = _lost(run, e)
        search.verdicts.found.clear()    # no trace to show: undecided, as nothing was seen
    finally:
        if PROFILE is not None:
            PROFILE.append([run.timeline] + run.ray.get([w.profile.options(
                concurrency_group="side").remote() for w in run.workers]))
        run.kill()
    search.store_bytes = run.links.bytes
    result = search.result(stop_reason, stop_reason == "exhausted")
    states = max(1, search.states)
    result.stats.notes.append(
        f"ray: {run.n} partitions on {run.where}{run.started}, ready in {run.ready:.1f} s; "
        f"{run.sent / states:.1f} "
        f"bytes/state sent between partitions, {run.driver / states:.1f} to and from the "
        f"driver; the busiest partition worked {run.busy:.1f} s ({run.cpu:.1f} s of CPU)")
    result.stats.notes += run.failures
    return result


def _lost(run: _Run, e: Exception) -> str:
    """A Ray worker failed: the run stops with the levels done (out of memory, or
    interrupted), and a note says why."""
    oom = isinstance(e, run.ray.exceptions.OutOfMemoryError)
    run.failures.append(f"ray: a worker failed: {_first_line(e)}")
    return "out of memory" if oom else "interrupted"


def _first_line(e: BaseException) -> str:
    """What went wrong, in one line: a task's own error rather than Ray's wrapping of it."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, BaseException) and cause is not e:
        return _first_line(cause)
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

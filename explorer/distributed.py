"""Breadth-first search on every core and many machines, through Ray (`--workers`, `--ray`).

The visited set is partitioned by key across N Ray actors (`Partition`): a state belongs to
the partition its key hashes to, which keeps its key, its parent link and, while it is on the
frontier, its words. The search stays level-synchronous, so its counts, verdicts and traces
are exactly those of one process (`explorer.engines`, which numbers states in breadth-first
order: a level's states in the order of (parent position, action rank), the first such pair
winning among equal states). Each level takes three rounds:

1. expand: every partition expands its part of the frontier with the vector engine's NumPy
   functions (`engines.vector.VectorCode`; the exact per-state step for rows the NumPy code
   cannot take), ranks each successor by (parent position, action rank) and sends the
   successors to their owners: one batch per owner, object to object through Ray's store
   (keeping one copy per key here first would send about a third of the bytes, but sorting
   costs more than the owners' table does);
2. merge: every owner keeps the best candidate of each key it does not hold yet, evaluates
   the pending properties on these new states and returns their ranks and, per property,
   its first event;
3. commit: the driver merges the ranks into breadth-first positions, replays the first
   events in breadth-first order to find where the single-process search would stop (a
   decision, --stop-at-first, --max-states), and tells each partition which states and
   steps to keep.

--timeout and Ctrl-C end the run between two rounds, with the statistics of the levels done.
A trace is rebuilt by asking the partitions for the parent links of its states.
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
from smp_explorer.explorer.store import KeyTable, Layout, WORD_BITS
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.runs.results import RunResult

INSTALL = "pip install 'smp-explorer[ray]'"
CHUNK = 1 << 17                      # rows per NumPy batch in a partition
_SPLIT = np.uint64(0xD6E8FEB86659FD93)   # owner hash (not the table's: its slots stay spread)
_S32 = np.uint64(32)
NO_CUT = np.iinfo(np.int64).max


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


def owner_of(keys: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The partition of each key (given as uint64 word columns)."""
    h = keys[0] * _SPLIT
    for k in keys[1:]:
        h = (h ^ k) * _SPLIT
    return ((h >> _S32) % np.uint64(n)).astype(np.int64)


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
        self.table = KeyTable(layout.key_words, 1 << 12)
        nw = layout.nwords
        self.frontier = [np.zeros(0, dtype=np.uint64) for _ in range(nw)]
        self.fpos = np.zeros(0, dtype=np.int64)
        self.links: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (pos, parent, via)
        self.done_pcs = [(p.pc_slot, p.done) for p in model.processes]
        self.new: dict[str, Any] = {}
        self.enabled: tuple = ()
        self.busy = 0.0          # seconds spent in the rounds (not waiting for Ray)
        self.cpu = 0.0           # of which on a CPU

    def rank_count(self) -> int:
        return self.R

    def seed(self, words: list[np.ndarray], pos: np.ndarray) -> None:
        """The initial states this partition owns (at breadth-first positions `pos`)."""
        keys = self.layout.key_words_numpy(words)
        if len(pos):
            self.table.insert(keys, np.arange(len(pos), dtype=np.int32))
        self.frontier, self.fpos = words, pos

    # ---- round 1 ---------------------------------------------------------------------------
    def expand(self, pending: set[str]) -> tuple:
        """Expand the frontier; one batch of candidates per owner, then a summary."""
        start, cpu = time.perf_counter(), time.process_time()
        code, layout, R = self.code, self.layout, self.R
        W, P = self.frontier, self.fpos
        n = len(P)
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
            fb = np.zeros(b - a, dtype=bool)
            for masks in code.fallback_masks:
                sel = np.ones(b - a, dtype=bool)
                for w, m, v in masks:
                    sel &= (Wc[w] & np.uint64(m)) == np.uint64(v)
                fb |= sel
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
        owner = owner_of(keys, self.count) if len(sortkey) else np.zeros(0, dtype=np.int64)
        self.enabled = (np.concatenate(en_pos) if en_pos else np.zeros(0, dtype=np.int64),
                        np.concatenate(en_act) if en_act else np.zeros(0, dtype=np.int64),
                        np.concatenate(en_ok) if en_ok else np.zeros(0, dtype=bool))
        batches, sent = [], 0
        for q in range(self.count):
            mine = np.flatnonzero(owner == q)
            batch = ([x[mine] for x in words], sortkey[mine])
            if q != self.index:
                sent += sum(x.nbytes for x in batch[0]) + batch[1].nbytes
            batches.append(batch)
        self._exact_values(found)
        self.busy += time.perf_counter() - start
        self.cpu += time.process_time() - cpu
        return (*batches, dict(found=found, sent=sent))

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
            row = int(np.flatnonzero(self.fpos == key[0])[0])
            state = VectorLevels._states(self.layout, [x[row:row + 1] for x in self.frontier])[0]
            _, bad = self.cm.successors(state)
            fid, value = next((f, v) for a, f, v in bad if a == ai)
            found[name] = (key, ("step", ai, fid, value))

    # ---- round 2 ---------------------------------------------------------------------------
    def merge(self, pending: set[str], monitors: set[int], *batches) -> dict:
        """Keep the new states among the candidates sent here; their sort keys, and per
        pending property its first event among them."""
        start, cpu = time.perf_counter(), time.process_time()
        layout = self.layout
        nw = layout.nwords
        words = [np.concatenate([b[0][k] for b in batches]) for k in range(nw)]
        sortkey = np.concatenate([b[1] for b in batches])
        keys = layout.key_words_numpy(words)
        # the new states go into the table now: a level cut short (a decision, a limit) is the
        # run's last, so only the links and the frontier need to know where it stops
        fresh = first_of_keys(self.table, keys, sortkey)
        words, sortkey = [x[fresh] for x in words], sortkey[fresh]
        self.new = dict(words=words, sortkey=sortkey)
        found: dict[str, Event] = {}
        if len(sortkey):
            self._properties(words, sortkey, pending, monitors, found)
        self.busy += time.perf_counter() - start
        self.cpu += time.process_time() - cpu
        return dict(sortkey=sortkey, found=found, busy=self.busy, cpu=self.cpu)

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

    # ---- round 3 ---------------------------------------------------------------------------
    def commit(self, positions: np.ndarray, limit: int, row_cut: int,
               limit_rank: int) -> tuple:
        """Keep the new states at positions below `limit` (they become the frontier) and
        count the steps of the rows before `row_cut` and of the row `row_cut` itself (only
        its successful steps up to action rank `limit_rank` when --max-states cut it)."""
        start, cpu = time.perf_counter(), time.process_time()
        code, R = self.code, self.R
        words, sortkey = self.new["words"], self.new["sortkey"]
        sel = positions < limit
        words, sortkey, positions = [x[sel] for x in words], sortkey[sel], positions[sel]
        if len(positions):
            via = np.asarray(code.order, dtype=np.int64)[sortkey % R]
            self.links.append((positions, sortkey // R, via))
        self.frontier, self.fpos = words, positions
        self.new = {}
        pos, act, ok = self.enabled
        self.enabled = ()
        if row_cut == NO_CUT:
            counted = np.ones(len(pos), dtype=bool)
        elif limit_rank < 0:
            counted = pos <= row_cut
        else:
            ranks = self._ranks()[act]
            counted = (pos < row_cut) | ((pos == row_cut) & ok & (ranks <= limit_rank))
        fired = np.bincount(act[counted], minlength=len(self.cm.model.actions))
        transitions = int(np.count_nonzero(ok & (pos <= row_cut)))
        links = sum(p.nbytes + q.nbytes + v.nbytes for p, q, v in self.links)
        self.busy += time.perf_counter() - start
        self.cpu += time.process_time() - cpu
        return fired.tolist(), transitions, self.table.nbytes + links

    def _ranks(self) -> np.ndarray:
        out = np.zeros(len(self.cm.model.actions), dtype=np.int64)
        for a, r in self.code.rank.items():
            out[a] = r
        return out

    # ---- traces ------------------------------------------------------------------------------
    def parents(self, wanted: list[int]) -> dict[int, tuple[int, int]]:
        """(parent position, action) of the states at `wanted` this partition holds."""
        out: dict[int, tuple[int, int]] = {}
        if not self.links or not wanted:
            return out
        q = np.asarray(sorted(wanted), dtype=np.int64)
        for pos, parent, via in self.links:
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
        else:   # Ray's workers run at niceness 15 by default: ours are the search itself
            ray.init(num_cpus=options.workers, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, _system_config={"worker_niceness": 0})
        started = f" (started in {time.perf_counter() - t:.1f} s)"
    cpus = float(ray.cluster_resources().get("CPU", 1))
    n = options.workers or max(1, int(cpus))
    where = f"the Ray cluster at {options.ray_address}" if options.ray_address else "local Ray"
    return n, min(1.0, cpus / n), where, started


def _wait(refs: list, search: Search) -> str | None:
    """Wait for Ray results; a timeout ends the wait (and progress is reported meanwhile)."""
    import ray
    left = list(refs)
    while left:
        _, left = ray.wait(left, num_returns=len(left), timeout=0.1)
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
    """One distributed search: the driver's bookkeeping (a `Search`) and the partitions."""

    def __init__(self, cm: CompiledModel, options: Options, memory: str):
        self.ray = ray = _import_ray()
        self.cm = cm
        self.options = options
        n, cpus, where, self.started = _connect(options)
        self.n = n
        self.layout = layout = Layout(cm.model, options.exact)
        self.search = search = Search(cm, options, memory, f"vector on {n} Ray workers", layout)
        self.where = where
        self.links = _RemoteLinks(0)
        # handles typed Any: Ray's generic stubs do not follow `.options(...).remote` chains
        actor: Any = ray.remote(Partition).options(num_cpus=cpus, scheduling_strategy="SPREAD")
        model = ray.put(cm.model)
        names = cm.invariant_names + cm.goal_names
        self.workers: list[Any] = [
            actor.remote(model, names, options.exact, options.check_deadlock, i, n)
            for i in range(n)]
        self.R = 0
        self.to_commit: list[tuple] = []   # the commit of the level the driver decided
        self.in_flight: list = []           # commits sent, not counted yet
        self.failures: list[str] = []
        self.busy = 0.0        # the busiest partition's seconds of work
        self.cpu = 0.0         # the most CPU seconds a partition used
        self.ready = 0.0       # seconds until every partition had started and built its code
        self.sent = 0          # bytes of candidates sent from one partition to another
        self.driver = 0        # bytes of ranks and positions to and from the driver

    def kill(self) -> None:
        for w in self.workers:
            self.ray.kill(w)

    def seed(self) -> int:
        """Discover the initial states (here) and hand each to its partition."""
        search, layout, n = self.search, self.layout, self.n
        search.initial_states()
        k = len(search.initial)
        self.links = _RemoteLinks(k)
        search.links = self.links
        words = _to_words(layout, [layout.pack(s) for s in search.initial])
        owner = owner_of(layout.key_words_numpy(words), n) if k else np.zeros(0, np.int64)
        pos = np.arange(k, dtype=np.int64)
        self.ray.get([w.seed.remote([x[owner == q] for x in words], pos[owner == q])
                      for q, w in enumerate(self.workers)])
        return k

    def level(self) -> str | None:
        """Expand one level; a stop reason ends the run."""
        ray, search, n = self.ray, self.search, self.n
        pending = set(search.verdicts.pending)
        monitors = set(range(len(search.monitor_names))) - search.monitors_seen
        # the previous level's commit runs first in each partition (an actor runs the calls
        # of one caller in order): no round trip of its own
        self.commit()
        outs = [w.expand.options(num_returns=n + 1).remote(pending) for w in self.workers]
        merges = [w.merge.remote(pending, monitors, *[outs[p][q] for p in range(n)])
                  for q, w in enumerate(self.workers)]
        summaries = [o[n] for o in outs]
        reason = _wait(merges + summaries + self.in_flight, search)
        self.committed()
        if reason:
            return reason
        expanded, merged = ray.get(summaries), ray.get(merges)
        base = search.states
        sortkeys = [m["sortkey"] for m in merged]
        every = np.concatenate(sortkeys)
        order = np.argsort(every, kind="stable")
        glob = np.empty(len(every), dtype=np.int64)
        glob[order] = base + np.arange(len(every), dtype=np.int64)
        positions, at = [], 0
        for s in sortkeys:
            positions.append(glob[at:at + len(s)])
            at += len(s)
        self.sent += sum(e["sent"] for e in expanded)
        self.busy = max(m["busy"] for m in merged)
        self.cpu = max(m["cpu"] for m in merged)
        self.driver += 2 * every.nbytes
        # the first event of each property, in breadth-first order
        first: dict[str, Event] = {}
        for e in expanded:
            for name, (key, what) in e["found"].items():
                _earliest(first, name, key, what)
        for q, m in enumerate(merged):
            for name, (key, what) in m["found"].items():
                _earliest(first, name, key, what[:-1] + (int(positions[q][what[-1]]),))
        ranked = every[order]
        R = self.R
        total = len(every)
        limit, row_cut, limit_rank = base + total, NO_CUT, -1
        reason = None
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
                break
        if reason is None and limit_rank >= 0:
            reason = "max-states"
        self.to_commit = [(positions[q], limit, row_cut, limit_rank) for q in range(n)]
        if limit > base:
            search.max_depth_seen = search.depth + 1
        self.links.count = limit
        return reason

    def commit(self) -> None:
        """Send the last level's commit to the partitions (its results in `in_flight`)."""
        todo, self.to_commit = self.to_commit, []
        self.in_flight += [w.commit.remote(*args) for w, args in zip(self.workers, todo)]

    def committed(self) -> None:
        """Count the steps the commits in flight report (they take little time: waited for
        even after a timeout or Ctrl-C, so the statistics are those of the levels done)."""
        refs, self.in_flight = self.in_flight, []
        if not refs:
            return
        search = self.search
        done = self.ray.get(refs)
        for fired, transitions, _ in done:
            for a, c in enumerate(fired):
                search.fired[a] += c
            search.transitions += transitions
        self.links.bytes = sum(nbytes for _, _, nbytes in done[-self.n:])

    def finish(self) -> None:
        """The last level's commit."""
        self.commit()
        self.committed()

    def traces(self) -> None:
        """Fetch the parent links of every state on a trace of a decided property."""
        known = self.links.known
        need = {found[0] for found in self.search.verdicts.found.values()} - set(known)
        while need:
            answers = self.ray.get([w.parents.remote(sorted(need)) for w in self.workers])
            got: dict[int, tuple[int, int]] = {}
            for d in answers:
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
        run.R = max(run.ray.get([w.rank_count.remote() for w in run.workers]))
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
    except run.ray.exceptions.RayError as e:    # a worker killed (its node short of memory), lost
        stop_reason = _lost(run, e)
    try:
        run.finish()
        run.traces()
    except run.ray.exceptions.RayError as e:
        stop_reason = _lost(run, e)
        search.verdicts.found.clear()    # no trace to show: undecided, as nothing was seen
    finally:
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
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    run.failures.append(f"ray: a worker failed: {first}")
    return "out of memory" if oom else "interrupted"


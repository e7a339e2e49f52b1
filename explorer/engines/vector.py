"""The vector engine: breadth-first search over whole frontiers with NumPy.

A frontier is a set of uint64 word columns (the packed states, `explorer.store.Layout`),
processed in chunks. For each action, in the order the scalar code emits them, the guard, the
checks and the updates are evaluated on every row at once (mask tests, gathers through shift
tables for array reads, `np.where` for conditional updates). The successors are looked up in a
NumPy hash table of keys (`explorer.store.KeyTable`); among equal new keys the one with the
smallest (parent row, action rank) is kept, so states get exactly the positions the scalar
engine gives them and the parent links rebuild the same shortest traces.

Anything that is not a plain batch goes through the exact per-state step
(`Search.reference_row`): a row at which a still-undecided property is discovered (a failing
check, an invariant false or a goal true in a new state, a deadlock), the rows that would pass
--max-states, and every row where an action that cannot be vectorised (an operator that may
fail, values beyond 62 bits) may be enabled. The chunk is cut at that row: the rows before it
are committed as a batch, the row itself exactly, and the rest is computed again. So a decision
costs one extra batch, and the answer never depends on the engine.

`auto` runs the scalar engine's generated loop while levels are narrow and switches to this one
(moving the Python set into the table) at the first level wider than `WIDE` states.
"""
from __future__ import annotations

import numpy as np

from smp_explorer.runs.compiled import CompiledModel, _dispatch
from smp_explorer.runs.pysource import Emitter, load_source
from smp_explorer.explorer.engines.common import Search, Stop
from smp_explorer.explorer.engines.numpy_expr import VecCompiler, vectorisable
from smp_explorer.explorer.engines.packed_expr import simplify
from smp_explorer.explorer.engines.scalar import (ScalarCode, ScalarRun, _increment, _set_bytes,
                                     _slot_test)
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult
from smp_explorer.explorer.store import WORD_BITS, KeyTable, Layout
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.ir.expr import Const, Ref, conjuncts, substitute

WIDE = 4096            # auto: a level at least this wide is expanded by the vector engine
CHUNK = 1 << 17        # rows per batch (bounds the memory of one batch)

class VectorCode:
    """The generated NumPy functions of one model: one per action and one per property."""

    def __init__(self, cm: CompiledModel, layout: Layout, options: Options,
                 scalar: ScalarCode):
        self.cm = cm
        self.model = cm.model
        self.layout = layout
        self.options = options
        self.ranges = [(s.lo, s.hi) for s in self.model.slots]
        self.scalar = scalar
        self.em = Emitter()
        self.consts: dict = {}
        self.vc = VecCompiler(layout, self.em, self.consts)
        self.order: list[int] = []          # actions in emit order
        self.fallback_masks: list[tuple] = []  # (word, mask, value) rows needing the exact step
        self.action_checks: dict[int, list[str]] = {}  # action -> properties of its checks
        self.residuals: dict[int, list] = {}
        nw = layout.nwords
        self.wargs = ", ".join(f"w{k}" for k in range(nw))
        em = self.em
        for pc_slot, groups, rest in _dispatch(self.model):
            acts = [(a, {pc_slot: v}) for v, group in groups for a in group] if pc_slot is not None else []
            acts += [(a, {}) for a in rest]
            for a, known in acts:
                self.order.append(a.index)
                self._action(a, known)
        self.props = []
        for kind, k, flag, whole, parts, partial in scalar.props:
            if partial or not vectorisable(whole, self.ranges):
                self.props.append((kind, k, flag, None))
                continue
            name = f"prop{len(self.props)}"
            em.line(f"def {name}({self.wargs}):")
            with em.indent():
                self.vc.reset()
                src = self.vc.boolean(whole)
                em.line(f"return {src}")
            self.props.append((kind, k, flag, name))
        ns: dict = {"_np": np, "_i64": np.int64, "_u64": np.uint64}
        for bits in range(0, 64):
            ns[f"_U{bits}"] = np.uint64(bits)
        for bits in range(64):
            ns[f"_U{(1 << bits) - 1}"] = np.uint64((1 << bits) - 1)
        for values, name in self.consts.items():
            ns[name] = np.array(values, dtype=np.uint64)
        self.source = em.source()
        load_source(self.source, self.model, "vector", ns)
        self.funcs = {a: ns.get(f"act{a}") for a in self.order}
        self.prop_funcs = [(kind, k, flag, ns[name] if name else None)
                           for kind, k, flag, name in self.props]
        self.rank = {a: r for r, a in enumerate(self.order)}
        self.res_funcs = {ai: [(kind, k, flag, ns[name] if name else None)
                               for kind, k, flag, name in lst]
                          for ai, lst in self.residuals.items()}

    # ---- one action ---------------------------------------------------------------------
    def _action(self, a, known: dict[int, int]) -> None:
        em, layout, rg = self.em, self.layout, self.ranges
        facts = dict(known)
        rest = []
        for c in conjuncts(a.guard):
            sv = _slot_test(c, rg)
            if sv is not None and (sv[0] not in facts or facts[sv[0]] == sv[1]):
                facts[sv[0]] = sv[1]
            elif sv is not None:
                return            # never enabled
            else:
                rest.append(c)
        env = {slot: Const(v) for slot, v in facts.items()}
        rest = [simplify(substitute(c, env), rg) for c in rest]
        if any(c == Const(0) for c in rest):
            return
        rest = [c for c in rest if c != Const(1)]
        checks = [(c, simplify(substitute(c.cond, env), rg)) for c in a.checks]
        updates = [(slot, simplify(substitute(e, env), rg)) for slot, e in a.updates]
        masks = self._masks(facts)
        self.action_checks[a.index] = [c.property for c, _ in checks]
        exprs = rest + [cond for _, cond in checks] + [e for _, e in updates]
        if not all(vectorisable(x, rg) for x in exprs):
            # rows where it may be enabled go through the exact step
            self.fallback_masks.append(masks)
            return
        em.line(f"def act{a.index}({self.wargs}):")
        with em.indent():
            self.vc.reset()
            test = " & ".join(f"((w{w} & _u64({m})) == _u64({v}))" for w, m, v in masks)
            if test:
                em.line(f"r = _np.flatnonzero({test})")
                em.line("if not r.size: return None")
                for w in range(layout.nwords):
                    em.line(f"w{w} = w{w}[r]")
            else:
                em.line("r = _np.arange(len(w0))")
            if rest:
                g = " & ".join(self.vc.boolean(c) for c in rest)
                em.line(f"g = {g}")
                em.line("if not g.all():")
                with em.indent():
                    em.line("r = r[g]")
                    for w in range(layout.nwords):
                        em.line(f"w{w} = w{w}[g]")
                    em.line("if not r.size: return None")
                self.vc.reset()
            em.line("fails = []")
            if checks:
                em.line("ok = None")
                for k, (_, cond) in enumerate(checks):
                    em.line(f"c = {self.vc.boolean(cond)}")
                    em.line("if ok is not None: c = c | ~ok")
                    em.line("fails.append(r[~c])")
                    em.line("ok = c if ok is None else ok & c")
                em.line("okr = r[ok]")
            else:
                em.line("ok = None; okr = r")
            words = self._successor(updates, facts)
            em.line(f"return r, okr, fails, ({', '.join(words)},), ok")
        self._residuals(a.index, facts, updates)

    def _residuals(self, ai: int, facts, updates) -> None:
        """Per property, the parts this action can change, as functions of the new states."""
        em, rg, scalar = self.em, self.ranges, self.scalar
        env_s = {slot: Const(v) for slot, v in facts.items()}
        env_t = dict(env_s)
        env_t.update(dict(updates))
        changed = {slot for slot, e in updates if e != Ref(slot)}
        out = []
        for kind, k, flag, whole, parts, partial in scalar.props:
            if kind == "mon":
                continue
            if partial or not vectorisable(whole, rg):
                if scalar._reads(whole) & changed:
                    out.append((kind, k, flag, None))
                continue
            todo = []
            for part in parts:
                if not (scalar._reads(part) & changed):
                    continue
                if simplify(substitute(part, env_s), rg) == simplify(substitute(part, env_t), rg):
                    continue
                todo.append(part)
            if not todo:
                continue
            name = f"res{ai}_{len(out)}"
            em.line(f"def {name}({self.wargs}):")
            with em.indent():
                self.vc.reset()
                if kind == "inv":
                    src = " | ".join(f"(~{self.vc.boolean(p)})" for p in todo)
                else:
                    src = " | ".join(self.vc.boolean(p) for p in todo)
                em.line(f"return {src}")
            out.append((kind, k, flag, name))
        self.residuals[ai] = out

    def _masks(self, facts: dict[int, int]) -> list[tuple[int, int, int]]:
        by_word: dict[int, list[int]] = {}
        for slot, value in facts.items():
            f = self.layout.fields[slot]
            if not f.width:
                continue
            m, v = by_word.get(f.word, [0, 0])
            by_word[f.word] = [m | (f.mask << f.shift), v | (((value - f.lo) & f.mask) << f.shift)]
            if not 0 <= value - f.lo <= f.mask:
                by_word[f.word] = [0, 1]  # impossible: never equal
        return [(w, m, v) for w, (m, v) in sorted(by_word.items())]

    def _successor(self, updates, facts) -> list[str]:
        layout = self.layout
        nw = layout.nwords
        delta = [0] * nw
        clear = [0] * nw
        parts: list[list[str]] = [[] for _ in range(nw)]
        for slot, e in updates:
            f = layout.fields[slot]
            if e == Ref(slot) or not f.width:
                continue
            if isinstance(e, Const) and slot in facts:
                delta[f.word] += (e.value - facts[slot]) << f.shift
                continue
            step = _increment(e, slot)
            if step is not None:
                delta[f.word] += step << f.shift
                continue
            clear[f.word] |= f.mask << f.shift
            if isinstance(e, Const):
                parts[f.word].append(f"_u64({(e.value - f.lo) << f.shift})")
                continue
            src = self.vc(e)
            if f.lo:
                src = f"({src} - {f.lo})"
            src = f"_np.asarray({src}).astype(_u64)"
            parts[f.word].append(f"({src} << _U{f.shift})" if f.shift else src)
        out = []
        for w in range(nw):
            t = f"w{w}"
            if delta[w]:
                t = f"({t} + _u64({delta[w] % (1 << 64)}))"
            if clear[w]:
                t = f"({t} & _u64({((1 << 64) - 1) & ~clear[w]}))"
            for p in parts[w]:
                t = f"({t} | {p})"
            if t == f"w{w}":
                t = f"w{w}.copy()"
            out.append(t)
        return out


class VectorRun:
    """Drives the batches of one level, with the exact step for the rows that need it."""

    def __init__(self, search: Search, code: VectorCode, scalar: ScalarCode, table: KeyTable):
        self.search = search
        self.code = code
        self.scalar = scalar
        self.table = table
        self.layout = search.layout
        self.nact = len(search.model.actions)
        self.A = scalar.flag_values(search)

    def flags(self) -> None:
        self.A = self.scalar.flag_values(self.search)

    # the visited set, seen from the exact step
    def contains(self, key: int) -> bool:
        words = self.layout.key_to_words(key)
        return bool(self.table.contains([np.array([w], dtype=np.uint64) for w in words])[0])

    def add(self, key: int) -> None:
        words = self.layout.key_to_words(key)
        self.table.insert([np.array([w], dtype=np.uint64) for w in words],
                          np.zeros(1, dtype=np.int32))

    def exact_row(self, W, row: int, pos: int, out: list) -> None:
        w = [int(x[row]) for x in W]
        packed = 0
        for k, x in enumerate(w):
            packed |= x << (WORD_BITS * k)
        nxt: list[int] = []
        self.search.reference_row(packed, pos, self.contains, self.add, nxt)
        if nxt:
            cols = [np.array([(t >> (WORD_BITS * k)) & ((1 << WORD_BITS) - 1) for t in nxt],
                             dtype=np.uint64) for k in range(self.layout.nwords)]
            out.append(cols)
        self.flags()

    def py_events(self, kind: str, k: int, words) -> np.ndarray:
        """A property the NumPy code cannot evaluate, state by state: where it is an event."""
        search, cm, layout = self.search, self.search.cm, self.layout
        pending = search.verdicts.pending
        runtime = RUNTIME_NAME in pending
        n = len(words[0])
        out = np.zeros(n, dtype=bool)
        lists = [x.tolist() for x in words]
        for i in range(n):
            packed = 0
            for w, col in enumerate(lists):
                packed |= col[i] << (WORD_BITS * w)
            state = layout.unpack(packed)
            if kind == "inv":
                res = cm.invariants(state)
                name = cm.invariant_names[k]
            elif kind == "goal":
                res = cm.goals(state)
                name = cm.goal_names[k]
            else:
                out[i] = k in [x for x in cm.monitors(state) if not isinstance(x, Exception)]
                continue
            out[i] = (k in res and name in pending) or \
                (runtime and any(not isinstance(x, int) for x in res))
        return out

    def level(self, W, pos0: int, out: list) -> str | None:
        """Expand the rows of `W` (word columns) starting at global position `pos0`; new
        states go to `out` as word-column blocks, in order."""
        search = self.search
        n = len(W[0])
        a = 0
        while a < n:
            reason = search.should_stop()
            if reason:
                return reason
            reason = search.tick()
            if reason:
                return reason
            b = min(n, a + CHUNK)
            cut = self.batch(W, a, b, pos0, out)
            if cut is None:
                a = b
                continue
            # rows a..cut-1 are committed; the row `cut` needs the exact step
            reason = search.should_stop()
            if reason:
                return reason
            try:
                self.exact_row(W, cut, pos0 + cut, out)
            except Stop:
                return "max-states"
            a = cut + 1
        return None

    def batch(self, W, a: int, b: int, pos0: int, out: list) -> int | None:
        """Expand rows a..b-1 as one batch; commit the rows before the first row that needs
        the exact step and return that row (None: all committed)."""
        search, code, layout = self.search, self.code, self.layout
        A = self.A
        pending = search.verdicts.pending
        Wc = [x[a:b] for x in W]
        n = b - a
        cut = n
        # rows where a non-vectorised action may be enabled
        for masks in code.fallback_masks:
            sel = np.ones(n, dtype=bool)
            for w, m, v in masks:
                sel &= (Wc[w] & np.uint64(m)) == np.uint64(v)
            hit = np.flatnonzero(sel)
            if hit.size:
                cut = min(cut, int(hit[0]))
        res = []
        fired_any = np.zeros(n, dtype=bool) if A and search.options.check_deadlock else None
        for ai in code.order:
            f = code.funcs.get(ai)
            if f is None:
                continue
            r = f(*Wc)
            if r is None:
                continue
            rows, okr, fails, words, ok = r
            if fired_any is not None:
                fired_any[rows] = True
            for prop, frows in zip(code.action_checks[ai], fails):
                if frows.size and prop in pending:
                    cut = min(cut, int(frows[0]))
            res.append((ai, rows, okr, fails, words, ok))
        if fired_any is not None and DEADLOCK_NAME in pending:
            dead = ~fired_any
            if search.done_pcs:
                alldone = np.ones(n, dtype=bool)
                for slot, done in search.done_pcs:
                    f = layout.fields[slot]
                    alldone &= (Wc[f.word] >> np.uint64(f.shift)) & np.uint64(f.mask) == \
                        np.uint64(done - f.lo)
                dead &= ~alldone
            hit = np.flatnonzero(dead)
            if hit.size:
                cut = min(cut, int(hit[0]))
        # the candidates, ranked by (row, action rank)
        R = len(code.order)
        if res:
            rows_c = np.concatenate([okr for _, _, okr, _, _, _ in res])
            acts = np.concatenate([np.full(len(okr), ai, dtype=np.int16)
                                   for ai, _, okr, _, _, _ in res])
            rank = np.concatenate([(okr.astype(np.int64) * R + code.rank[ai])
                                   for ai, _, okr, _, _, _ in res])
            words = [np.concatenate([wd[k] if ok is None else wd[k][ok]
                                     for _, _, _, _, wd, ok in res])
                     for k in range(layout.nwords)]
        else:
            rows_c = np.zeros(0, dtype=np.int64)
            acts = np.zeros(0, dtype=np.int16)
            rank = np.zeros(0, dtype=np.int64)
            words = [np.zeros(0, dtype=np.uint64) for _ in range(layout.nwords)]
        keys = layout.key_words_numpy(words)
        maybe = np.flatnonzero(~self.table.contains(keys))
        # per-state properties on the states that may be new
        if maybe.size and any(A):
            # the parts of the properties each action can change, on its possibly new states
            is_new = np.zeros(len(rows_c), dtype=bool)
            is_new[maybe] = True
            start = 0
            for ai, rows, okr, fails, wd, ok in res:
                end = start + len(okr)
                funcs = code.res_funcs.get(ai)
                if funcs:
                    mine = np.flatnonzero(is_new[start:end])
                    if mine.size:
                        mw = [x[start:end][mine] for x in words]
                        for kind, k, flag, fn in funcs:
                            if not A[flag]:
                                continue
                            ev = self.py_events(kind, k, mw) if fn is None else fn(*mw)
                            hit = np.flatnonzero(ev)
                            if hit.size:
                                cut = min(cut, int(okr[mine[hit[0]]]))
                start = end
        # --max-states: commit only rows whose candidates cannot pass the limit
        max_states = search.options.max_states
        if max_states is not None:
            room = max_states - search.states
            if len(maybe) > room:
                counts = np.bincount(rows_c[maybe], minlength=n)
                cum = np.cumsum(counts)
                over = np.flatnonzero(cum > room)
                if over.size:
                    cut = min(cut, int(over[0]))
        # commit rows < cut: only the states that may be new need inserting
        sel = maybe if cut >= n else maybe[rows_c[maybe] < cut]
        rows_s, acts_s, rank_s = rows_c[sel], acts[sel], rank[sel]
        keys_s = [x[sel] for x in keys]
        words_s = [x[sel] for x in words]
        # rank relative to the batch fits in int32 (CHUNK * actions < 2**31)
        new = self.table.insert(keys_s, (rank_s - 0).astype(np.int32) if R * n < (1 << 31)
                                else rank_s)
        # fired counts and transitions of the committed rows
        fired = search.fired
        trans = 0
        for ai, rows, okr, fails, wd, ok in res:
            if cut < n:
                nf = int(np.count_nonzero(rows < cut))
                no = int(np.count_nonzero(okr < cut))
            else:
                nf, no = len(rows), len(okr)
            fired[ai] += nf
            trans += no
        search.transitions += trans
        if new.size:
            parent = rows_s[new].astype(np.int64) + (pos0 + a)
            search.links.add_block(parent, acts_s[new])
            out.append([x[new] for x in words_s])
            search.max_depth_seen = search.depth + 1
            if search.monitors_left:
                nw_ = [x[new] for x in words_s]
                for kind, k, flag, fn in code.prop_funcs:
                    if kind != "mon" or not A[flag]:
                        continue
                    v = fn(*nw_) if fn is not None else self.py_events(kind, k, nw_)
                    if v.any():
                        search.monitor_seen(k)
                self.flags()
        return None if cut >= n else a + cut


def _to_words(layout: Layout, packed: list[int]) -> list:
    m = (1 << WORD_BITS) - 1
    if layout.nwords == 1:
        return [np.array(packed, dtype=np.uint64)]
    return [np.array([(t >> (WORD_BITS * k)) & m for t in packed], dtype=np.uint64)
            for k in range(layout.nwords)]


def _table_from_set(layout: Layout, seen: set) -> KeyTable:
    table = KeyTable(layout.key_words, max(1 << 16, 4 * len(seen)))
    if layout.key_words == 1:
        keys = [np.fromiter(seen, dtype=np.uint64, count=len(seen))]
    else:
        ks = list(seen)
        keys = [np.array([layout.key_to_words(k)[w] for k in ks], dtype=np.uint64)
                for w in range(layout.key_words)]
    if len(seen):
        table.insert(keys, np.arange(len(seen), dtype=np.int32))
    return table


def explore_vector(cm: CompiledModel, options: Options, memory: str,
                   auto: bool = False) -> RunResult:
    layout = Layout(cm.model, options.exact)
    search = Search(cm, options, memory, layout, "auto" if auto else "vector")
    scalar = ScalarCode(cm, layout, options)
    srun = ScalarRun(search, scalar)
    vcode = None
    vrun = None
    scalar_only = False
    seen: set | None = set()
    stop_reason = "exhausted"
    try:
        cur: list | None = []
        for t in search.initial_states():
            seen.add(layout.key(t))
            cur.append(t)
        srun._refresh()  # the initial states may already have decided some properties
        if search.cut:
            stop_reason, cur = "max-states", []
        W = None
        pos0 = 0
        while True:
            width = len(cur) if cur is not None else len(W[0])
            if width == 0:
                break
            if vrun is None and not scalar_only and (not auto or width >= WIDE):
                vcode = VectorCode(cm, layout, options, scalar)
                if auto and vcode.fallback_masks:
                    scalar_only = True   # some action is not vectorised: stay scalar
                else:
                    table = _table_from_set(layout, seen)
                    seen = None
                    vrun = VectorRun(search, vcode, scalar, table)
                    W = _to_words(layout, cur)
                    cur = None
            if vrun is None:
                nxt: list = []
                reason = srun.level(cur, pos0, seen, nxt)
                if reason:
                    stop_reason = reason
                    break
                pos0 += len(cur)
                cur = nxt
                if not nxt:
                    break
            else:
                blocks: list = []
                vrun.flags()
                reason = vrun.level(W, pos0, blocks)
                if reason:
                    stop_reason = reason
                    break
                pos0 += len(W[0])
                if not blocks:
                    break
                W = [np.concatenate([blk[k] for blk in blocks]) for k in range(layout.nwords)]
                search.peak_frontier_bytes = max(search.peak_frontier_bytes,
                                                 sum(x.nbytes for x in W))
            reason = search.should_stop()
            if reason:
                stop_reason = reason
                break
            search.depth += 1
            if options.max_depth is not None and search.depth >= options.max_depth:
                stop_reason = "max-depth"
                break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    if vrun is not None:
        search.store_bytes = vrun.table.nbytes + search.links.nbytes()
    else:
        search.store_bytes = _set_bytes(seen or set()) + search.links.nbytes()
    return search.result(stop_reason, stop_reason == "exhausted")

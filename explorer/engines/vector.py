"""The vector engine: breadth-first search over whole frontiers with NumPy.

A frontier is a set of uint64 word columns (the packed states, `explorer.store.Layout`),
processed in chunks. For each action, in the order the scalar code emits them, the guard, the
checks and the updates are evaluated on every row at once (mask tests, gathers through shift
tables for array reads, `np.where` for conditional updates). The successors are looked up in a
NumPy hash table of keys (`explorer.store.KeyTable`); among equal new keys the one with the
smallest (parent row, action rank) is kept, so states get exactly the positions the scalar
engine gives them and the parent links rebuild the same shortest traces.

Anything that is not a plain batch goes through the exact per-state step
(`Search.exact_row`): a row at which a still-undecided property is discovered (a failing
check, an invariant false or a goal true in a new state, a deadlock), the rows that would pass
--max-states, and every row where an action that cannot be vectorised (an operator that may
fail, values beyond 62 bits) may be enabled. The chunk is cut at that row: the rows before it
are committed as a batch, the row itself exactly, and the rest is computed again. So a decision
costs one extra batch, and the answer never depends on the engine.

`auto` runs the scalar engine's generated loop while levels are narrow and switches to this one
(moving the Python set into the table) at the first level of `packed.WIDE` states or more.

With a visitor (`Options.visitor`), each committed row is reported with the steps the NumPy
code computed for it, and each new state with the NumPy property functions evaluated on it
(the tuple code for the properties that are not vectorised, as the engine itself does).
"""
from __future__ import annotations

import re
import time

import numpy as np

from smp_explorer.runs.compiled import CompiledModel, _dispatch
from smp_explorer.runs.pysource import Emitter, load_source
from smp_explorer.explorer.engines import gencache
from smp_explorer.explorer.engines.common import Stop, Watch
from smp_explorer.explorer.engines.numpy_expr import VecCompiler, VecMemo, vectorisable
from smp_explorer.explorer.engines.scalar import (ScalarCode, ScalarLevels, _increment, _slot_test,
                                                  split_guard)
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.spill import BATCH_SHARE, TABLE_SHARE
from smp_explorer.explorer.store import EMPTY, WORD_BITS, KeyTable, Layout
from smp_explorer.explorer.symmetry import BatchCanonical
from smp_explorer.ir.properties import DEADLOCK_NAME, RUNTIME_NAME
from smp_explorer.ir.expr import Const, Expr, Ref

CHUNK = 1 << 17        # rows per batch (bounds the memory of one batch)
_WORD = re.compile(r"\bw(\d+)\b")   # a word column in generated code
PC_BITS = 12           # `VectorCode.enabled` counts the values of program counters this narrow

class VectorCode:
    """The generated NumPy functions of one model: one per action and one per property."""

    def __init__(self, cm: CompiledModel, layout: Layout, options: Options,
                 scalar: ScalarCode):
        started = time.perf_counter()
        self.cm = cm
        self.model = cm.model
        self.layout = layout
        self.options = options
        self.ranges = [(s.lo, s.hi) for s in self.model.slots]
        self.scalar = scalar
        self.canonical = None if scalar.symmetry is None else \
            BatchCanonical(scalar.symmetry, layout)
        self.em = Emitter()
        self.consts: dict = {}
        self.vc = VecCompiler(layout, self.em, self.consts)
        self.vmemo = VecMemo()             # `vectorisable` over all the model's expressions
        self.order: list[int] = []          # actions in emit order
        # rows where these word tests pass need the exact step (`Layout.word_tests`)
        self.fallback_masks: list[list[tuple[int, int, int]]] = []
        self.action_checks: dict[int, list[str]] = {}  # action -> properties of its checks
        self.residuals: dict[int, list] = {}
        nw = layout.nwords
        self.wargs = ", ".join(f"w{k}" for k in range(nw))
        # action -> the (program-counter slot, value) its guard tests (`enabled` skips it on
        # a batch where no row has that value)
        self.pc_of: dict[int, tuple[int, int]] = {}
        self.props: list[tuple[Watch, int, int, str | None]] = []
        # the source and the tables beside it: cached by what they are generated from
        # (`gencache`)
        ck = gencache.key("vector", cm, layout, options, scalar.symmetry is not None,
                          len(cm.failures))
        saved = gencache.load(ck)
        if saved is not None:
            (self.order, self.fallback_masks, self.action_checks, self.residuals, self.pc_of,
             self.props, self.consts, self.source) = saved
        else:
            self._generate()
            self.source = self.em.source()
            gencache.save(ck, (self.order, self.fallback_masks, self.action_checks,
                               self.residuals, self.pc_of, self.props, self.consts,
                               self.source), self.source)
        ns: dict = {"_np": np, "_i64": np.int64, "_u64": np.uint64, "_as_u64": _as_u64}
        for bits in range(0, 64):
            ns[f"_U{bits}"] = np.uint64(bits)
        for bits in range(64):
            ns[f"_U{(1 << bits) - 1}"] = np.uint64((1 << bits) - 1)
        for values, name in self.consts.items():
            ns[name] = np.array(values, dtype=np.uint64)
        load_source(self.source, self.model, "vector", ns)
        cm.note_codegen("vector", started, self.source)
        self.funcs = {a: ns.get(f"act{a}") for a in self.order}
        self.prop_funcs = [(kind, k, flag, ns[name] if name else None)
                           for kind, k, flag, name in self.props]
        self.rank = {a: r for r, a in enumerate(self.order)}
        self.res_funcs = {ai: [(kind, k, flag, ns[name] if name else None)
                               for kind, k, flag, name in lst]
                          for ai, lst in self.residuals.items()}

    def _generate(self) -> None:
        """Emit the functions of every action and property (into `self.em`)."""
        em, layout = self.em, self.layout
        for pc_slot, groups, rest in _dispatch(self.model):
            acts = [(a, {pc_slot: v}) for v, group in groups for a in group] if pc_slot is not None else []
            acts += [(a, {}) for a in rest]
            for a, known in acts:
                self.order.append(a.index)
                self._action(a, known)
                if known and layout.fields[pc_slot].width <= PC_BITS:
                    self.pc_of[a.index] = (pc_slot, known[pc_slot] - layout.fields[pc_slot].lo)
        for kind, k, flag, whole, parts, partial in self.scalar.props:
            if partial or not vectorisable(whole, self.ranges, self.vmemo):
                self.props.append((kind, k, flag, None))
                continue
            name = f"prop{len(self.props)}"
            em.line(f"def {name}({self.wargs}):")
            with em.indent():
                self.vc.reset()
                src = self.vc.boolean(whole)
                em.line(f"return {src}")
            self.props.append((kind, k, flag, name))

    def fallback_rows(self, W) -> np.ndarray:
        """The rows of word columns `W` where an action that is not vectorised may be enabled
        (those rows take the exact step)."""
        rows = np.zeros(len(W[0]), dtype=bool)
        for masks in self.fallback_masks:
            sel = np.ones(len(W[0]), dtype=bool)
            for w, m, v in masks:
                sel &= (W[w] & np.uint64(m)) == np.uint64(v)
            rows |= sel
        return rows

    def enabled(self, W):
        """Each vectorised action, in emit order, with its result on the rows `W` (word
        columns): (rows where enabled, rows that succeed, failing rows per check, successor
        words, success mask or None), when it is enabled on some row."""
        present: dict[int, list[bool]] = {}    # pc slot -> which values some row has
        fields = self.layout.fields
        for ai in self.order:
            f = self.funcs.get(ai)
            if f is None:
                continue
            pv = self.pc_of.get(ai)
            if pv is not None:
                seen = present.get(pv[0])
                if seen is None:
                    fl = fields[pv[0]]
                    col = (W[fl.word] >> np.uint64(fl.shift)) & np.uint64(fl.mask)
                    seen = present[pv[0]] = \
                        np.bincount(col.astype(np.intp), minlength=fl.mask + 1).astype(bool).tolist()
                if not seen[pv[1]]:
                    continue        # no row is at this action's program counter
            r = f(*W)
            if r is not None:
                yield ai, r

    # ---- one action ---------------------------------------------------------------------
    def _action(self, a, known: dict[int, int]) -> None:
        em, layout, rg = self.em, self.layout, self.ranges
        facts = dict(known)
        rest = []
        head, tail = split_guard(a.guard, rg)
        for c in head:
            sv = _slot_test(c, rg)
            if sv is not None and (sv[0] not in facts or facts[sv[0]] == sv[1]):
                facts[sv[0]] = sv[1]
            elif sv is not None:
                return            # never enabled
            else:
                rest.append(c)
        env: dict[int, Expr] = {slot: Const(v) for slot, v in facts.items()}
        fix = self.scalar._rewriter(env)
        rest = [fix(c) for c in rest + tail]
        if any(c == Const(0) for c in rest):
            return
        rest = [c for c in rest if c != Const(1)]
        checks = [(c, fix(c.cond)) for c in a.checks]
        updates = [(slot, fix(e)) for slot, e in a.updates]
        masks = layout.word_tests(facts)
        self.action_checks[a.index] = [c.property for c, _ in checks]
        exprs = rest + [cond for _, cond in checks] + [e for _, e in updates]
        if not all(vectorisable(x, rg, self.vmemo) for x in exprs):
            # rows where it may be enabled go through the exact step
            self.fallback_masks.append(masks)
            return
        em.line(f"def act{a.index}({self.wargs}):")
        with em.indent():
            self.vc.reset()
            test = " & ".join(f"((w{w} & _u64({m})) == _u64({v}))" for w, m, v in masks)
            gathered = list(range(layout.nwords))   # the words taken at the rows `r` so far
            if test:
                em.line(f"r = ({test}).nonzero()[0]")   # (flatnonzero: two calls more)
                em.line("if not r.size: return None")
                at = len(em.lines)
                gathered = list(range(layout.nwords)) if not rest else \
                    self._guard_words(rest, at)   # (their lines go in at `at`)
                em.lines[at:at] = [f"{'    ' * em.level}w{w} = w{w}[r]" for w in gathered]
            else:
                em.line("r = _np.arange(len(w0))")
                if rest:
                    self._guard_words(rest, len(em.lines))
            if rest:
                em.line("if not g.all():")
                with em.indent():
                    em.line("r = r[g]")
                    for w in gathered:
                        em.line(f"w{w} = w{w}[g]")
                    em.line("if not r.size: return None")
                # the other words once, at the rows that pass the guard
                for w in range(layout.nwords):
                    if w not in gathered:
                        em.line(f"w{w} = w{w}[r]")
                self.vc.reset()
            em.line("fails = []")
            if checks:
                em.line("ok = None")
                for k, (_, cond) in enumerate(checks):
                    # a constant condition (`assert false`) is a scalar: one per row
                    em.line(f"c = _np.broadcast_to({self.vc.boolean(cond)}, r.shape)")
                    em.line("if ok is not None: c = c | ~ok")
                    em.line("fails.append(r[~c])")
                    em.line("ok = c if ok is None else ok & c")
                em.line("okr = r[ok]")
            else:
                em.line("ok = None; okr = r")
            words = self._successor(updates, facts, fresh=bool(test))
            em.line(f"return r, okr, fails, ({', '.join(words)},), ok")
        self._residuals(a.index, facts, updates)

    def _guard_words(self, rest: list, at: int) -> list[int]:
        """Emit `g = ` the guard conjuncts `rest`; the words its lines (from line `at`) read."""
        em = self.em
        g = " & ".join(self.vc.boolean(c) for c in rest)
        em.line(f"g = {g}")
        return sorted({int(m) for line in em.lines[at:] for m in _WORD.findall(line)})

    def _residuals(self, ai: int, facts, updates) -> None:
        """Per property, the parts this action can change, as functions of the new states."""
        em, rg, scalar = self.em, self.ranges, self.scalar
        env_s: dict[int, Expr] = {slot: Const(v) for slot, v in facts.items()}
        env_t = dict(env_s)
        env_t.update(dict(updates))
        changed = {slot for slot, e in updates if e != Ref(slot)}
        fix_s, fix_t = scalar._rewriter(env_s), scalar._rewriter(env_t)
        out: list[tuple[Watch, int, int, str | None]] = []
        for pi, (kind, k, flag, whole, parts, partial) in enumerate(scalar.props):
            if kind is Watch.MONITOR:
                continue
            if partial or not vectorisable(whole, rg, self.vmemo):
                if scalar._reads(whole) & changed:
                    out.append((kind, k, flag, None))
                continue
            todo = []
            for part in scalar.parts_reading(pi, changed):
                if fix_s(part) == fix_t(part):
                    continue
                todo.append(part)
            if not todo:
                continue
            name = f"res{ai}_{len(out)}"
            em.line(f"def {name}({self.wargs}):")
            with em.indent():
                self.vc.reset()
                if kind.when_false:
                    src = " | ".join(f"(~{self.vc.boolean(p)})" for p in todo)
                else:
                    src = " | ".join(self.vc.boolean(p) for p in todo)
                em.line(f"return {src}")
            out.append((kind, k, flag, name))
        self.residuals[ai] = out

    def _successor(self, updates, facts, fresh: bool) -> list[str]:
        """The successor's words (`fresh`: the word columns were gathered here, so a word the
        action leaves alone is returned as it is, not copied)."""
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
                if e.value != f.lo:      # (the field is cleared: 0 needs no bits)
                    parts[f.word].append(f"_u64({(e.value - f.lo) << f.shift})")
                continue
            src = self.vc(e)
            if f.lo:
                src = f"({src} - {f.lo})"
            src = f"_as_u64({src})"
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
            if t == f"w{w}" and not fresh:
                t = f"w{w}.copy()"
            out.append(t)
        return out


class VectorLevels:
    """The vector strategy: expands a level in batches, with the exact step for the rows that
    need it; the frontier is word columns, the visited set a `KeyTable`. It takes over the
    frontier and visited set of the scalar strategy (of the initial states, or of the levels
    the scalar strategy expanded under auto)."""

    def __init__(self, code: VectorCode, scalar: ScalarLevels):
        search = scalar.search
        self.search = search
        self.code = code
        self.scalar = scalar.code
        layout = scalar.code.layout
        self.layout = layout
        budget = search.options.max_memory
        self.limit = None if budget is None else int(budget * TABLE_SHARE)
        # rows per batch: its temporaries stay within their share of the budget
        self.batch_bytes = None if budget is None else budget * BATCH_SHARE
        self.rows = CHUNK
        if self.batch_bytes is not None:
            guess = 8 * (6 + 3 * layout.nwords) * max(1.0, len(code.order) / 2)
            self.rows = int(min(CHUNK, max(1024, self.batch_bytes // guess)))
        self.visited = KeyTable.from_keys(layout, scalar.visited, self.limit)
        self.frontier = _to_words(layout, scalar.frontier)
        self.A = self.scalar.flag_values(search)
        self.visitor = search.visitor

    def width(self) -> int:
        return len(self.frontier[0])

    def snapshot(self) -> dict:
        """Packed states and keys as Python ints (what `ScalarLevels.snapshot` gives too)."""
        return dict(frontier=_to_ints(self.frontier),
                    visited=_to_ints(self.visited.all_keys()))

    def restore(self, d: dict) -> None:
        self.visited = KeyTable.from_keys(self.layout, d["visited"], self.limit)
        self.frontier = _to_words(self.layout, d["frontier"])
        self.flags()

    def flags(self) -> None:
        self.A = self.scalar.flag_values(self.search)

    def level(self, pos0: int) -> str | None:
        self.flags()
        blocks: list = []
        reason = self._expand(self.frontier, pos0, blocks)
        if reason:
            return reason
        nw = self.layout.nwords
        self.frontier = [np.concatenate([blk[k] for blk in blocks]) if blocks
                         else np.zeros(0, dtype=np.uint64) for k in range(nw)]
        return None

    @staticmethod
    def _states(layout: Layout, words) -> list[tuple[int, ...]]:
        """The rows of word columns as state tuples."""
        cols = [x.tolist() for x in words]
        return [layout.unpack(sum(w << (WORD_BITS * k) for k, w in enumerate(row)))
                for row in zip(*cols)]

    # ---- with a visitor ------------------------------------------------------------------
    def _visit(self, Wc, upto: int, res: list, new_words: list) -> None:
        """Tell the visitor what the batch computed: the steps of its committed rows (those
        before `upto`) and the properties of the new states (`new_words`)."""
        assert self.visitor is not None
        layout = self.layout
        succ: list[list] = [[] for _ in range(upto)]
        bad: list[list] = [[] for _ in range(upto)]
        for ai, rows, okr, fails, wd, ok in res:
            nexts = self._states(layout, [w if ok is None else w[ok] for w in wd])
            for r, t in zip(okr.tolist(), nexts):
                if r < upto:
                    succ[r].append((ai, t))
            for prop, frows in zip(self.code.action_checks[ai], fails):
                for r in frows.tolist():
                    if r < upto:
                        bad[r].append((ai, prop))
        for r, state in enumerate(self._states(layout, [x[:upto] for x in Wc])):
            self.visitor.expanded(state, succ[r], bad[r])
        states = self._states(layout, new_words)
        if not states:
            return
        cm = self.search.cm
        failing: list[list] = [[] for _ in states]
        reached: list[list] = [[] for _ in states]
        for kind, lists, tuple_code in ((Watch.INVARIANT, failing, cm.invariants),
                                        (Watch.GOAL, reached, cm.goals)):
            funcs = [(k, fn) for kd, k, _, fn in self.code.prop_funcs if kd is kind]
            vectorised = [(k, fn) for k, fn in funcs if fn is not None]
            if len(vectorised) < len(funcs):
                # the engine evaluates these with the tuple code too (`py_events`)
                for i, state in enumerate(states):
                    lists[i] = tuple_code(state)
                continue
            for k, fn in vectorised:
                holds = np.broadcast_to(np.asarray(fn(*new_words)), (len(states),))
                for i in np.flatnonzero(~holds if kind.when_false else holds).tolist():
                    lists[i].append(k)
        for state, f, g in zip(states, failing, reached):
            self.visitor.discovered(state, f, g)

    def exact_row(self, W, row: int, pos: int, out: list) -> None:
        nxt: list[int] = []
        state = self._states(self.layout, [x[row:row + 1] for x in W])[0]
        self.search.exact_row(state, pos, self.visited, nxt)
        if nxt:
            out.append(_to_words(self.layout, nxt))
        self.flags()

    def py_events(self, kind: Watch, k: int, words) -> np.ndarray:
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
            if kind is Watch.INVARIANT:
                res = cm.invariants(state)
                name = cm.invariant_names[k]
            elif kind is Watch.GOAL:
                res = cm.goals(state)
                name = cm.goal_names[k]
            else:
                out[i] = k in [x for x in cm.monitors(state) if not isinstance(x, Exception)]
                continue
            out[i] = (k in res and name in pending) or \
                (runtime and any(not isinstance(x, int) for x in res))
        return out

    def _expand(self, W, pos0: int, out: list) -> str | None:
        """Expand the rows of `W` (word columns) starting at global position `pos0`; new
        states go to `out` as word-column blocks, in order."""
        search = self.search
        n = len(W[0])
        a = 0
        while a < n:
            reason = search.pause()
            if reason:
                return reason
            b = min(n, a + self.rows)
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

    def canonical_keys(self, words: list) -> tuple[list, list]:
        """The canonical representatives of successors (word columns) and their keys. The
        visited set holds canonical states only: a successor found there is its own
        representative. Of the others, each distinct state is canonicalised about once: the
        successors are scattered into buckets by their first key word, and one equal (in every
        word) to its bucket's last is not canonicalised again."""
        canonical = self.code.canonical
        assert canonical is not None
        keys = self.layout.key_words_numpy(words)
        todo = np.flatnonzero(~self.visited.contains(keys))
        if not todo.size:
            return words, keys
        bits = max(8, (2 * len(todo)).bit_length())   # at least twice as many buckets
        bucket = ((keys[0][todo] * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)
                  ).astype(np.int64)
        last = np.empty(1 << bits, dtype=np.int64)
        last[bucket] = np.arange(len(todo))
        rep = last[bucket]   # per successor to do: the last in its bucket (itself or another)
        mine_words = [w[todo] for w in words]
        same = np.ones(len(todo), dtype=bool)
        for w in mine_words:
            same &= w == w[rep]
        mine = same & (rep == np.arange(len(todo)))   # the ones canonicalised
        mine |= ~same
        sel = np.flatnonzero(mine)
        at = np.full(len(todo), -1, dtype=np.int64)
        at[sel] = np.arange(len(sel))
        at = np.where(same, at[rep], at)
        made = canonical([w[sel] for w in mine_words])
        made_keys = self.layout.key_words_numpy(made)
        words = [w.copy() for w in words]
        keys = [k.copy() for k in keys]
        for w, m in zip(words, made):
            w[todo] = m[at]
        for k, m in zip(keys, made_keys):
            k[todo] = m[at]
        return words, keys

    def batch(self, W, a: int, b: int, pos0: int, out: list) -> int | None:
        """Expand rows a..b-1 as one batch; commit the rows before the first row that needs
        the exact step and return that row (None: all committed)."""
        search, code, layout = self.search, self.code, self.layout
        A = self.A
        pending = search.verdicts.pending
        Wc = [x[a:b] for x in W]
        n = b - a
        cut = n
        if code.fallback_masks:   # the first row where a non-vectorised action may be enabled
            hit = np.flatnonzero(code.fallback_rows(Wc))
            if hit.size:
                cut = int(hit[0])
        res = []
        fired_any = np.zeros(n, dtype=bool) if A and search.options.check_deadlock else None
        for ai, (rows, okr, fails, words, ok) in code.enabled(Wc):
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
                for w, m, v in layout.word_tests(dict(search.done_pcs)):
                    alldone &= (Wc[w] & np.uint64(m)) == np.uint64(v)
                dead &= ~alldone
            hit = np.flatnonzero(dead)
            if hit.size:
                cut = min(cut, int(hit[0]))
        # the candidates, ranked by (row, action rank)
        R = len(code.order)
        if self.batch_bytes is not None:
            # about 8 bytes per word of each candidate in each of about 3 + 2 * nwords arrays
            per_row = 8 * (6 + 3 * layout.nwords) * max(1.0, sum(len(r[2]) for r in res) / n)
            self.rows = int(min(CHUNK, max(1024, self.batch_bytes // per_row)))
        if res:
            # one call per column (not one per action: batches of narrow levels are many)
            rows_c = np.concatenate([okr for _, _, okr, _, _, _ in res])
            lens = [len(okr) for _, _, okr, _, _, _ in res]
            acts = np.repeat(np.array([ai for ai, *_ in res], dtype=np.int16), lens)
            rank = rows_c.astype(np.int64) * R + \
                np.repeat(np.array([code.rank[ai] for ai, *_ in res], dtype=np.int64), lens)
            words = [np.concatenate([wd[k] if ok is None else wd[k][ok]
                                     for _, _, _, _, wd, ok in res])
                     for k in range(layout.nwords)]
        else:
            rows_c = np.zeros(0, dtype=np.int64)
            acts = np.zeros(0, dtype=np.int16)
            rank = np.zeros(0, dtype=np.int64)
            words = [np.zeros(0, dtype=np.uint64) for _ in range(layout.nwords)]
        # the successors as the actions made them: the per-action property parts below read the
        # slots their action wrote, which a canonical permutation may have moved
        made = words
        if code.canonical is not None:   # symmetry reduction (explorer.symmetry)
            words, keys = self.canonical_keys(words)
        else:
            keys = layout.key_words_numpy(words)
        # one probe that tests and inserts the candidates of the rows that may commit: the new
        # states, deduplicated (the smallest rank of equal keys), in breadth-first order
        pre = cut
        cand = None if cut >= n else np.flatnonzero(rows_c < cut)
        if cand is None:
            new, slots = self.visited.insert_slots(keys, rank)
        else:
            new, slots = self.visited.insert_slots([x[cand] for x in keys], rank[cand])
            new = cand[new]
        # per-state properties on the new states
        if new.size and any(A):
            # the parts of the properties each action can change, on its new states
            is_new = np.zeros(len(rows_c), dtype=bool)
            is_new[new] = True
            start = 0
            for ai, rows, okr, fails, wd, ok in res:
                end = start + len(okr)
                funcs = code.res_funcs.get(ai)
                if funcs:
                    mine = np.flatnonzero(is_new[start:end])
                    if mine.size:
                        mw = [x[start:end][mine] for x in made]
                        for kind, k, flag, fn in funcs:
                            if not A[flag]:
                                continue
                            ev = self.py_events(kind, k, mw) if fn is None else fn(*mw)
                            hit = np.flatnonzero(ev)
                            if hit.size:
                                cut = min(cut, int(okr[mine[hit[0]]]))
                start = end
        # --max-states: commit only rows whose new states stay within the limit
        max_states = search.options.max_states
        if max_states is not None:
            room = max_states - search.states
            if len(new) > room:
                cut = min(cut, int(rows_c[new[room]]))
        if cut < pre:       # the rows from `cut` on are not committed: take their keys back
            drop = rows_c[new] >= cut
            self.visited.remove(slots[drop])
            new = new[~drop]
        rows_s, acts_s = rows_c[new], acts[new]
        words_s = [x[new] for x in words]
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
        if self.visitor is not None:
            self._visit(Wc, min(cut, n), res, words_s)
        if new.size:
            parent = rows_s.astype(np.int64) + (pos0 + a)
            search.links.add_block(parent, acts_s)
            out.append(words_s)
            search.max_depth_seen = search.depth + 1
            if search.monitors_left:
                nw_ = words_s
                for kind, k, flag, fn in code.prop_funcs:
                    if kind is not Watch.MONITOR or not A[flag]:
                        continue
                    seen = fn(*nw_) if fn is not None else self.py_events(kind, k, nw_)
                    if seen.any():
                        search.monitor_seen(k)
                self.flags()
        return None if cut >= n else a + cut


def _as_u64(x):
    """A column (or a scalar) of int64 or bool values as uint64: an int64 column's bits as
    they are (what `astype` would compute, without the copy)."""
    x = np.asarray(x)
    return x.view(np.uint64) if x.dtype == np.int64 else x.astype(np.uint64)


def _to_ints(words: list) -> list[int]:
    """Word columns as the Python ints they are the words of (`_to_words` reversed)."""
    cols = [w.tolist() for w in words]
    if len(cols) == 1:
        return cols[0]
    return [sum(w << (WORD_BITS * k) for k, w in enumerate(row)) for row in zip(*cols)]


def _to_words(layout: Layout, packed: list[int]) -> list:
    m = (1 << WORD_BITS) - 1
    if layout.nwords == 1:
        return [np.array(packed, dtype=np.uint64)]
    return [np.array([(t >> (WORD_BITS * k)) & m for t in packed], dtype=np.uint64)
            for k in range(layout.nwords)]


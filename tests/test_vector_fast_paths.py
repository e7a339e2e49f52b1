"""The vector engine's shortcuts against what they shortcut: skipping the actions whose
program counter no row of a batch holds (`VectorCode.enabled`) against calling every action's
function, the shared `vectorisable` memo against judging each expression on its own, a counter
stepped under a condition against a hand evaluation, and the cache of compiled code.
(The engines' agreement with the reference engine is tests/test_engines.py's.)"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import MODELS, ROOT
from smp_explorer.explorer.engines.common import Search
from smp_explorer.explorer.engines.numpy_expr import VecCompiler, VecMemo, vectorisable
from smp_explorer.explorer.engines.scalar import ScalarCode
from smp_explorer.explorer.engines.vector import VectorCode, _as_u64, _to_words
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import Layout
from smp_explorer.ir.expr import Const, Op, Ref, nodes
from smp_explorer.ir.model import Model, Slot
from smp_explorer.ir.types import BOOL, IntT
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.pysource import Emitter
from smp_explorer.spec.pipeline import load_model

CASES = [(MODELS / "classic" / "peterson.spec", {}, "sc"),
         (MODELS / "classic" / "filter.spec", {"N": "3"}, "tso"),
         (ROOT / "bench" / "int3" / "percpu-refs.spec", {"N": "2", "BATCHES": "1"}, "pso")]


def code_and_states(path, consts, memory, levels=6):
    """The vector code of a model, and its states of the first `levels` breadth-first levels
    (found with the compiled tuple code), packed."""
    cm = compile_model(load_model(path, consts, memory))
    options = Options(engine="vector", symmetry=False)
    layout = Layout(cm.model, options.exact)
    search = Search(cm, options, memory, "vector", layout)
    code = VectorCode(cm, layout, options, ScalarCode(cm, layout, options, search.symmetry))
    seen = list(dict.fromkeys(cm.model.initial_states()))
    frontier = list(seen)
    for _ in range(levels):
        nxt = []
        for s in frontier:
            for _, t in cm.successors(s)[0]:
                if t not in seen and t not in nxt:
                    nxt.append(t)
        seen += nxt
        frontier = nxt
    return code, layout, [layout.pack(s) for s in seen]


def every_action(code, W):
    """What `enabled` yields, computed by calling every action's function."""
    out = []
    for ai in code.order:
        f = code.funcs.get(ai)
        r = None if f is None else f(*W)
        if r is not None:
            out.append((ai, r))
    return out


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("path,consts,memory", CASES)
def test_skipping_actions_by_program_counter_changes_nothing(path, consts, memory):
    code, layout, packed = code_and_states(path, consts, memory)
    assert code.pc_of, "the model's actions test program counters"
    # every state alone (most program-counter values absent: most actions skipped), and all
    batches = [[p] for p in packed] + [packed]
    skipped = 0
    for batch in batches:
        W = _to_words(layout, batch)
        got = list(code.enabled(W))
        want = every_action(code, W)
        assert [ai for ai, _ in got] == [ai for ai, _ in want]
        assert all(same(g, w) for (_, g), (_, w) in zip(got, want))
        pcs = {slot for slot, _ in code.pc_of.values()}
        present = {(slot, v) for slot in pcs for v in
                   {(p >> layout.fields[slot].offset) & layout.fields[slot].mask for p in batch}}
        skipped += sum(1 for pv in code.pc_of.values() if pv not in present)
    assert skipped, "some batch lacks some program counter value"


def test_vectorisable_memo_judges_shared_nodes_alike():
    """Hand-derived: x in 0..2**40, y in 0..3. x * x can reach 2**80 (beyond int64): not
    vectorisable, nor anything over it; x + 1 is; x div y may divide by zero; x div (y + 1)
    cannot. The memo meets x * x first inside a comparison, then alone, then the others."""
    ranges = [(0, 1 << 40), (0, 3)]
    x, y = Ref(0), Ref(1)
    square = Op("mul", (x, x))
    exprs = {Op("gt", (square, Const(0))): False, square: False,
             Op("add", (x, Const(1))): True,
             Op("div", (x, y)): False,
             Op("div", (x, Op("add", (y, Const(1))))): True,
             Op("lt", (Op("add", (x, Const(1))), Const(5))): True}
    memo = VecMemo()
    for e, want in exprs.items():
        assert vectorisable(e, ranges) is want, e
        assert vectorisable(e, ranges, memo) is want, e
    for e, want in exprs.items():   # again, from the memo alone
        assert vectorisable(e, ranges, memo) is want, e


@pytest.mark.parametrize("path,consts,memory", CASES)
def test_vectorisable_memo_agrees_on_a_whole_model(path, consts, memory):
    cm = compile_model(load_model(path, consts, memory))
    ranges = [(s.lo, s.hi) for s in cm.model.slots]
    memo = VecMemo()
    exprs = [e for a in cm.model.actions
             for e in (a.guard, *(u for _, u in a.updates), *(c.cond for c in a.checks))]
    for e in exprs:
        for x in [e, *nodes(e)]:
            assert vectorisable(x, ranges, memo) == vectorisable(x, ranges), x


def test_packing_columns_as_uint64():
    """int64 columns keep their bits; bool columns and scalars become 0/1 and their value."""
    ints = np.array([0, 5, (1 << 62) + 3], dtype=np.int64)
    assert _as_u64(ints).tolist() == [0, 5, (1 << 62) + 3]
    assert _as_u64(np.array([True, False, True])).tolist() == [1, 0, 1]
    assert _as_u64(7).tolist() == 7
    assert (_as_u64(np.array([1, 2], dtype=np.int64)) << np.uint64(3)).tolist() == [8, 16]


def test_counter_steps_under_a_condition_without_a_choice():
    """ite(c, x + k, x) and ite(c, x, x + k) compile to x + k * c (no `_np.where`), with the
    values a hand evaluation gives on every state; a condition over a slot of one value (a
    Python scalar in the generated code, where ~True is -2) keeps the choice."""
    slots = (Slot(0, "x", IntT(-4, 4), None, "x"), Slot(1, "y", IntT(-3, 3), None, "y"),
             Slot(2, "b", BOOL, None, "b"), Slot(3, "z", IntT(5, 5), None, "z"))
    model = Model("t", slots, ((0,), (0,), (0,), (5,)), (), (), ())
    layout = Layout(model)
    states = list(itertools.product(range(-4, 5), range(-3, 4), (0, 1), (5,)))
    x, y, b, z = Ref(0), Ref(1), Ref(2), Ref(3)
    lt = Op("lt", (x, y))
    cases = [  # expression, the code has no choice, the value by hand
        (Op("ite", (lt, Op("add", (x, Const(1))), x)), True,
         lambda s: s[0] + 1 if s[0] < s[1] else s[0]),
        (Op("ite", (b, Op("sub", (y, Const(1))), y)), True,
         lambda s: s[1] - 1 if s[2] else s[1]),
        (Op("ite", (lt, x, Op("add", (Const(3), x)))), True,
         lambda s: s[0] if s[0] < s[1] else s[0] + 3),
        (Op("ite", (Op("eq", (z, Const(5))), x, Op("add", (x, Const(-2))))), False,
         lambda s: s[0] if s[3] == 5 else s[0] - 2),
    ]
    words = np.array([layout.pack(s) for s in states], dtype=np.uint64)
    for e, fast, by_hand in cases:
        em = Emitter()
        consts: dict[tuple[int, ...], str] = {}
        vc = VecCompiler(layout, em, consts)
        em.line("def f(w0):")
        with em.indent():
            em.line(f"return {vc(e)}")
        assert ("_np.where" not in em.source()) is fast, em.source()
        ns: dict = {"_np": np, "_i64": np.int64, "_u64": np.uint64}
        ns.update({f"_U{k}": np.uint64(k) for k in range(64)})
        ns.update({f"_U{(1 << k) - 1}": np.uint64((1 << k) - 1) for k in range(64)})
        exec(em.source(), ns)
        got = np.broadcast_to(np.asarray(ns["f"](words)), (len(states),)).astype(np.int64)
        assert got.tolist() == [by_hand(s) for s in states], e


def test_compiled_code_is_cached_by_its_source(tmp_path, monkeypatch):
    from smp_explorer.runs import pysource
    monkeypatch.setenv("SMP_EXPLORER_CACHE", str(tmp_path))
    model = Model("cached.spec", (Slot(0, "x", IntT(0, 1), None, "x"),), ((0,),), (), (), ())
    padding = "".join(f"v{k} = {k}\n" for k in range(pysource.CODE_CACHE_MIN // 8))
    calls: list = []
    real = compile
    monkeypatch.setattr(pysource, "compile", lambda *a: calls.append(a) or real(*a),
                        raising=False)

    def load(value: int) -> int:
        ns: dict = {}
        pysource.load_source(padding + f"def f():\n    return {value}\n", model, "vector", ns)
        return ns["f"]()

    def files():
        return sorted(tmp_path.glob("code-*.marshal"))
    assert load(7) == 7 and len(calls) == 1 and len(files()) == 1
    assert load(7) == 7 and len(calls) == 1          # from the cache
    assert load(8) == 8 and len(calls) == 2          # another source: compiled, not 7's code
    assert len(files()) == 2
    for p in files():
        p.write_bytes(b"not code")
    assert load(7) == 7 and len(calls) == 3          # unreadable: compiled again
    monkeypatch.setattr(pysource, "CODE_CACHE_BYTES", max(p.stat().st_size for p in files()))
    assert load(9) == 9 and len(calls) == 4
    assert len(files()) == 1                         # the least recently used went
    assert load(9) == 9 and len(calls) == 4          # the newest stayed
    ns: dict = {}
    pysource.load_source("def f():\n    return 1\n", model, "vector", ns)   # short: not cached
    assert len(calls) == 5 and len(files()) == 1

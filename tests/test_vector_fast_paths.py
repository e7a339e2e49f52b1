"""The vector engine's shortcuts against what they shortcut: skipping the actions whose
program counter no row of a batch holds (`VectorCode.enabled`) against calling every action's
function, and the shared `vectorisable` memo against judging each expression on its own.
(The engines' agreement with the reference engine is tests/test_engines.py's.)"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import MODELS, ROOT
from smp_explorer.explorer.engines.common import Search
from smp_explorer.explorer.engines.numpy_expr import VecMemo, vectorisable
from smp_explorer.explorer.engines.scalar import ScalarCode
from smp_explorer.explorer.engines.vector import VectorCode, _as_u64, _to_words
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import Layout
from smp_explorer.ir.expr import Const, Op, Ref, nodes
from smp_explorer.runs.compiled import compile_model
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

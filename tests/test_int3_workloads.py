"""The int3 workloads of issue 10 (bench/int3/*.spec): the verdicts derived by hand in each
file's header, and variants with one barrier removed whose verdicts are derived here, so that a
model that cannot fail would be caught. N = 1 runs by default; the N = 2 matrix (about a
million states under weak) is marked slow."""
from __future__ import annotations

import pytest

from conftest import ROOT, prop
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

INT3 = ROOT / "bench" / "int3"
STACK = INT3 / "desc-stack.spec"
PERCPU = INT3 / "percpu-refs.spec"
ALL = ("sc", "tso", "pso", "weak")
H, V = "holds", "violated"
PROPS = {STACK: ("desc_live", "trap_handled", "no_torn_instruction"),
         PERCPU: ("refs_live", "trap_handled", "no_torn_instruction")}


def verdicts(path, consts: dict[str, str], memory: str, text: str | None = None) -> dict:
    if text is None:
        m = load_model(path, consts, memory)
    else:
        m = model_from_text(text, str(path), consts, memory)
    r = explore(compile_model(m), Options())
    assert r.complete
    return {name: prop(r, name).status for name in PROPS[path]}


def matrix(path, consts: dict[str, str], text: str | None = None) -> dict:
    return {m: verdicts(path, consts, m, text) for m in ALL}


def expect(**by_prop: str) -> dict:
    """{memory: {property: status}} from one status per property, the same under every model."""
    return {m: dict(by_prop) for m in ALL}


# ---- the headers' verdicts -----------------------------------------------------------------
# desc-stack: a handler that loaded batch 1's pointer just before the patcher cleared it
# increments batch 2's refs in the same stack slot: violated under sc, so under every model;
# one CPU is enough. The trap on the site is always handled and no instruction is torn.
STACK_BUGGY = expect(desc_live=V, trap_handled=H, no_torn_instruction=H)
# Without a second batch nothing reuses the frame: refs is 0 after the return.
STACK_ONE_BATCH = expect(desc_live=H, trap_handled=H, no_torn_instruction=H)
PERCPU_OK = expect(refs_live=H, trap_handled=H, no_torn_instruction=H)


def test_desc_stack_one_cpu_is_violated_under_every_model():
    assert matrix(STACK, {"N": "1"}) == STACK_BUGGY


def test_desc_stack_holds_with_one_batch():
    assert matrix(STACK, {"N": "1", "BATCHES": "1"}) == STACK_ONE_BATCH


def test_percpu_refs_one_cpu_holds_under_every_model():
    assert matrix(PERCPU, {"N": "1"}) == PERCPU_OK


@pytest.mark.slow
def test_desc_stack_two_cpus_matrix():
    assert matrix(STACK, {}) == STACK_BUGGY


@pytest.mark.slow
def test_desc_stack_two_cpus_one_batch_matrix():
    assert matrix(STACK, {"BATCHES": "1"}) == STACK_ONE_BATCH


@pytest.mark.slow
def test_percpu_refs_two_cpus_matrix():
    assert matrix(PERCPU, {}) == PERCPU_OK


# ---- one barrier removed: the verdicts change where the memory model says they must ---------
def without(path, code: str, barrier: str) -> str:
    """The spec with `barrier` removed from the one place `code` (which contains it) occurs."""
    text = path.read_text(encoding="utf-8")
    assert text.count(code) == 1 and barrier in code, code
    return text.replace(code, code.replace(barrier, "skip;"))


def test_desc_stack_without_the_write_barrier_before_int3():
    # Without smp_wmb() the INT3 store may become visible before the release of bp_desc under
    # store reordering (pso, weak): a CPU traps on the site, loads NULL and dies. tso keeps
    # stores in order.
    got = matrix(STACK, {"N": "1", "BATCHES": "1"}, without(STACK, "int3:  smp_wmb();", "smp_wmb();"))
    assert {m: got[m]["trap_handled"] for m in ALL} == {"sc": H, "tso": H, "pso": V, "weak": V}


def test_desc_stack_without_the_handler_read_barrier():
    # Without smp_rmb() only weak lets the handler's load of bp_desc return the previous value
    # (NULL) after the fetch saw INT3; pso and tso keep loads in order.
    got = matrix(STACK, {"N": "1", "BATCHES": "1"}, without(STACK, "smp_rmb();\n    p := READ_ONCE", "smp_rmb();"))
    assert {m: got[m]["trap_handled"] for m in ALL} == {"sc": H, "tso": H, "pso": H, "weak": V}


def test_percpu_refs_without_the_write_barrier_before_int3():
    # The INT3 store may overtake the refs = 1 stores under pso and weak: the handler's
    # inc_not_zero (an atomic on memory) finds 0 and the trap on the site is not handled.
    got = matrix(PERCPU, {"N": "1", "BATCHES": "1"}, without(PERCPU, "int3:  smp_wmb();", "smp_wmb();"))
    assert {m: got[m]["trap_handled"] for m in ALL} == {"sc": H, "tso": H, "pso": V, "weak": V}


def test_percpu_refs_without_waiting_for_the_refs():
    # A finisher that drops the refs without waiting empties the array while a handler holds
    # its ref: violated under sc already (the handler incremented before the drop, 2 -> 1).
    wait = "atomic_cond_read_acquire(refs[c], VAL == 0);"
    text = without(PERCPU, wait, wait)
    got = matrix(PERCPU, {"N": "1", "BATCHES": "1"}, text)
    assert {m: got[m]["refs_live"] for m in ALL} == {m: V for m in ALL}

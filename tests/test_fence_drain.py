"""A full fence, `fence(serialize)`, a barrier RMW or `drained()` after stores of the same step
drains them inside the step (spec.memory.base, "Draining inside a step"; issue 9, issue 13).

Before this rule such a step could never fire under tso, pso and weak, and everything after it
was unreachable: a silent false "holds". Every expected verdict below is derived by hand in the
comment above it.
"""
from __future__ import annotations

import pytest

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import RunResult
from smp_explorer.spec.pipeline import model_from_text

ALL = ("sc", "tso", "pso", "weak")
WEAKER = ("tso", "pso", "weak")
H, V = "holds", "violated"
REACHED, UNREACHED = "holds", "unreached"  # a reachable goal that is reached "holds"


def run(text: str, memory: str) -> RunResult:
    return explore(compile_model(model_from_text(text, "t.spec", memory=memory)), Options())


def status(text: str, memory: str, name: str) -> str:
    return next(p.status for p in run(text, memory).properties if p.name == name)


def matrix(text: str, name: str) -> dict[str, str]:
    return {m: status(text, m, name) for m in ALL}


# ---- issue 9: the reported example and its x86 variant ---------------------------------------
ISSUE_9 = """
use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: WRITE_ONCE(x, 1); smp_mb(); WRITE_ONCE(y, 1); }
process Q { local r: 0..1 = 0; b: r := READ_ONCE(y); }
invariant y_zero: y == 0;
"""


def test_issue_9_store_then_smp_mb_in_one_step_fires_under_every_model():
    # sc: step a writes x = 1 and y = 1 to memory, so y == 0 is false after it.
    # tso: P's buffer is empty in the initial state, so a is enabled; x=1 is buffered, smp_mb
    # flushes it (the buffer holds only a's own store), y=1 is buffered, and P's flush step then
    # writes y = 1 to memory. pso and weak: the same with a FIFO per location (y's FIFO flushes).
    assert matrix(ISSUE_9, "y_zero") == {m: V for m in ALL}


def test_issue_9_the_step_is_not_reported_as_never_fired():
    # step a is enabled in the initial state under every model (argument above), so it fires
    for m in ALL:
        assert run(ISSUE_9, m).stats.coverage["P: a"] > 0, m


ISSUE_9_X86 = """
use linux.x86;
shared x: 0..1 = 0;  shared y: 0..1 = 0;  shared n: 0..1 = 0;
process P { a: WRITE_ONCE(x, 1); atomic_inc(n); WRITE_ONCE(y, 1); }
process Q { local r: 0..1 = 0; b: r := READ_ONCE(y); }
invariant y_zero: y == 0;
"""


def test_issue_9_x86_store_then_locked_rmw_in_one_step_fires_under_every_model():
    # under linux.x86 atomic_inc is rmw(n, add, 1, full): LOCK'd, a full barrier. As above, P's
    # buffer is empty at the start of a, the RMW flushes x=1 and increments n in memory, then
    # y=1 is buffered and flushed by a later step: y == 1 under every model.
    assert matrix(ISSUE_9_X86, "y_zero") == {m: V for m in ALL}


# ---- issue 13: a store and a fully ordered RMW as one step of a loop ---------------------------
ISSUE_13 = """
use linux.generic;
shared x1: array[0..1] of 0..2 = 0;
shared x3: 0..2 = 0;
process P {
  a0: await x3 < 2; x1[0] := x3; atomic_fetch_add(1, x3); goto a0;
}
reachable twice: x1[0] == 1 and x3 == 2;
"""


def test_issue_13_store_then_fetch_add_loop_step_fires_under_every_model():
    # First iteration (P's buffers empty): x1[0] := 0 is buffered, atomic_fetch_add is a full
    # barrier that flushes it and makes x3 = 1 in memory; the step ends with P's buffers empty.
    # Second iteration: x3 reads 1 < 2, x1[0] := 1 is flushed by the RMW, x3 = 2. So the goal
    # x1[0] == 1 and x3 == 2 is reached under every model (no other CPU writes, nothing is stale).
    assert matrix(ISSUE_13, "twice") == {m: REACHED for m in ALL}


# ---- the other draining operations -------------------------------------------------------------
SERIALIZE = """
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: x := 1; fence(serialize); y := 1; }
invariant y_zero: y == 0;
"""

CMPXCHG = """
use linux.generic;
shared x: 0..1 = 0;  shared l: 0..1 = 0;  shared y: 0..1 = 0;
process P { local o: 0..1 = 0; a: x := 1; o := cmpxchg(l, 0, 1); y := 1; }
invariant y_zero: y == 0;
"""

SPIN_LOCK = """
use linux.generic;
shared x: 0..1 = 0;  shared l: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: x := 1; spin_lock(l); y := 1; spin_unlock(l); }
invariant y_zero: y == 0;
"""


@pytest.mark.parametrize("text", [SERIALIZE, CMPXCHG, SPIN_LOCK],
                         ids=["serialize", "cmpxchg", "spin_lock"])
def test_every_draining_operation_after_own_stores_lets_the_step_fire(text):
    # fence(serialize) is a full fence; cmpxchg succeeds on l == 0 (a full barrier); spin_lock's
    # cas(l, 0, 1, acquire, unordered) succeeds on the free lock, a full barrier on success. In
    # each, x=1 is flushed at the barrier, y=1 is buffered after it and flushed by a later step.
    assert matrix(text, "y_zero") == {m: V for m in ALL}


DEFERRED = """
use linux.generic;
shared c: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: atomic_inc(c); smp_mb(); y := c; }
reachable seen: y == 1;
"""


def test_a_deferred_rmw_of_the_step_is_applied_at_its_fence():
    # Under pso and weak atomic_inc is deferred in c's FIFO (Decision 5); smp_mb applies it to
    # memory (c = 1), so the load of c after the fence reads memory, 1, and y = 1 is buffered and
    # flushed later. tso and sc: the increment is atomic on memory at once. Reached everywhere.
    assert matrix(DEFERRED, "seen") == {m: REACHED for m in ALL}


LOAD_AFTER_DEFERRED = """
use linux.generic;
shared c: 0..2 = 0;
process P { local r: 0..2 = 0; a: atomic_inc(c); b: atomic_inc(c); r := READ_ONCE(c); }
invariant two: P at Done implies P.r == 2;
reachable done: P at Done;
"""


def test_a_load_after_a_deferred_rmw_of_its_own_step_drains_it():
    # Under pso and weak each atomic_inc is deferred in c's FIFO and a later load of c by P waits
    # until it has drained (Decision 5). Step b may start only once a's increment reached memory
    # (c = 1, rule 1); its own increment is applied at the load (c = 2) and the load reads 2.
    # P is the only writer, so it is never stale on c. sc and tso: both increments act on memory
    # at once. So P reaches Done under every model, always with r = 2.
    assert matrix(LOAD_AFTER_DEFERRED, "done") == {m: REACHED for m in ALL}
    assert matrix(LOAD_AFTER_DEFERRED, "two") == {m: H for m in ALL}


DRAINED = """
shared x: 0..1 = 0;
process P { local r: 0..2 = 0; a: x := 1; if drained() { r := 1; } else { r := 2; } }
reachable flushed: P at Done and P.r == 1 and x == 1;
reachable buffered: P at Done and P.r == 2 and x == 0;
"""


def test_drained_after_own_stores_is_either_still_buffered_or_flushed():
    # sc: nothing is buffered, drained() is true, r = 1 and x = 1; r = 2 never happens.
    # tso, pso, weak: P's buffer is empty when a starts; x=1 is buffered; drained() either
    # flushes it (true: r = 1, x = 1 in memory) or leaves it in the buffer (false: r = 2 with
    # x = 0 in memory until P's flush step).
    assert matrix(DRAINED, "flushed") == {m: REACHED for m in ALL}
    assert matrix(DRAINED, "buffered") == {"sc": UNREACHED, "tso": REACHED, "pso": REACHED,
                                           "weak": REACHED}


# ---- what the rule must not add ------------------------------------------------------------------
EARLIER_STEP = """
use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: x := 1; b: y := 1; smp_mb(); }
process Q { local rx: 0..1 = 0; local ry: 0..1 = 1;
  c: ry := READ_ONCE(y); d: rx := READ_ONCE(x); }
invariant ordered: not (Q at Done and Q.ry == 1 and Q.rx == 0);
"""


def test_stores_of_earlier_steps_must_drain_before_the_fencing_step():
    # Step b may fire only when P's buffers are empty at its start (rule 1), i.e. after x=1 reached
    # memory; y=1 reaches memory at b's fence. So y == 1 in memory implies x == 1 in memory under
    # sc, tso and pso: Q reading ry = 1 then rx = 0 is impossible. (Without rule 1, pso would let
    # y=1 become visible before the earlier step's x=1.) Under weak Q may still read the previous
    # value of x after reading y = 1 (no read barrier between Q's loads): violated.
    assert matrix(EARLIER_STEP, "ordered") == {"sc": H, "tso": H, "pso": H, "weak": V}


GROUPS = """
use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: x := 1; smp_wmb(); y := 1; smp_mb(); }
process Q { local rx: 0..1 = 0; local ry: 0..1 = 0;
  c: ry := READ_ONCE(y); d: smp_rmb(); rx := READ_ONCE(x); }
invariant mp: not (Q at Done and Q.ry == 1 and Q.rx == 0);
"""


def test_a_step_drained_at_its_fence_shows_no_intermediate_state():
    # P's step makes x=1 and y=1 visible together at its smp_mb: no state has y == 1 and x == 0
    # in memory, so Q cannot read ry = 1 then rx = 0 under sc, tso or pso. Under weak Q may read
    # the previous value of y (0), but once it reads y == 1 memory already holds x == 1 and the
    # smp_rmb ends Q's stale view of x, so it reads 1. Holds under every model.
    assert matrix(GROUPS, "mp") == {m: H for m in ALL}


# ---- monotonicity: what sc violates, the weaker models violate too ---------------------------------
# A state reachable under sc is reachable under tso, pso and weak (spec.memory.base: every step
# enabled under sc from a state with empty buffers is enabled under the weaker models, with the
# same effect on memory once the buffers are flushed). So an invariant violated under sc (over
# shared memory and locals, no ghost vars) is violated under all of them.
MONOTONE = [
    # a reader sees both stores: sc reaches x == 1 and y == 1 in memory after P's step
    ("""use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: x := 1; smp_mb(); y := 1; smp_mb(); }
invariant never_both: not (x == 1 and y == 1);""", "never_both"),
    # SB with the fence in the store's step: sc reaches r0 = 1 (P1 ran first)
    ("""use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P0 { local r: 0..1 = 0; a: x := 1; smp_mb(); r := y; }
process P1 { local r: 0..1 = 0; b: y := 1; smp_mb(); r := x; }
invariant p0_reads_zero: P0.r == 0;""", "p0_reads_zero"),
    # a counter incremented in a loop step after a store: sc reaches n == 2
    ("""use linux.generic;
shared d: 0..2 = 0;  shared n: 0..2 = 0;
process P { a: await n < 2; d := n; atomic_inc_return(n); goto a; }
invariant below_two: n < 2;""", "below_two"),
    # x86: a store then a LOCK'd xchg, read by another CPU: sc reaches Q.r == 1
    ("""use linux.x86;
shared x: 0..1 = 0;  shared l: 0..1 = 0;
process P { local o: 0..1 = 0; a: x := 1; o := xchg(l, 1); }
process Q { local r: 0..1 = 0; b: await l == 1; r := x; }
invariant q_reads_zero: Q.r == 0;""", "q_reads_zero"),
]


@pytest.mark.parametrize("text,name", MONOTONE, ids=["both", "sb", "loop", "x86-xchg"])
def test_violated_under_sc_stays_violated_under_weaker_models(text, name):
    assert status(text, "sc", name) == V  # each comment above names the sc state that violates
    for m in WEAKER:
        assert status(text, m, name) == V, m

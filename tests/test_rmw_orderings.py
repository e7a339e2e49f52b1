"""The `_relaxed`, `_acquire` and `_release` RMW variants, failed cmpxchg and spin locks get the
ordering Documentation/atomic_t.txt and the LKMM give them, not a full barrier (issue 9, item 1).

Under pso and weak (spec.memory.pso, `ordered_rmw`): a relaxed or acquire RMW acts atomically on
memory once its own location's store FIFO and every store before a write fence have drained (it
does not wait for earlier stores to other locations); a release RMW waits for all earlier
stores; under weak an acquire RMW also ends the CPU's stale views (later reads see memory).
Under tso every RMW stays LOCK'd (x86). Every expected verdict below is derived by hand in the
comment above it; LKMM verdicts are those of the kernel's documentation named there.
"""
from __future__ import annotations

import pytest

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import RunResult
from smp_explorer.spec.pipeline import model_from_text

ALL = ("sc", "tso", "pso", "weak")
H, V = "holds", "violated"
REACHED, UNREACHED = "holds", "unreached"


def run(text: str, memory: str) -> RunResult:
    return explore(compile_model(model_from_text(text, "t.spec", memory=memory)), Options())


def matrix(text: str, name: str) -> dict[str, str]:
    return {m: next(p.status for p in run(text, m).properties if p.name == name) for m in ALL}


# ---- the example: a lock taken with xchg_relaxed ----------------------------------------
LOCK = """
use linux.generic;
type PID = 0..1;
shared lock: 0..1 = 0;
shared counter: 0..2 = 0;
process P[i in PID] {
  local r: 0..2 = 0;
  a: await TAKE(lock, 1) == 0;
  b: r := READ_ONCE(counter);
  c: WRITE_ONCE(counter, r + 1);
  d: smp_store_release(lock, 0);
}
invariant both: (P[0] at Done and P[1] at Done and drained()) implies counter == 2;
"""


def test_xchg_relaxed_lock_loses_an_update_under_weak_only():
    # sc: the xchg is atomic, so at most one CPU is between a and d; the second CPU's a needs
    # lock == 0, i.e. after the first one's d, which comes after its c: it reads counter = 1.
    # tso: the xchg is LOCK'd: it drains the CPU's buffer; the release store of the first CPU
    # leaves its FIFO after counter := 1 (FIFO), so memory has counter = 1 when lock = 0 is
    # visible, and the second CPU's plain load reads memory (its own buffer is empty): 1.
    # pso: the release store is ordered after counter := 1 (a new write-barrier group), and
    # loads read memory or the CPU's own FIFO: the same argument, counter = 1 is read.
    # weak: P[1] loads counter, P[0] writes it, so P[1] may be stale on counter. P[0] runs a-d
    # and both flushes: counter := 1 makes P[1] stale on counter (previous value 0), lock := 0
    # follows. P[1]'s xchg_relaxed reads lock = 0 from memory but orders nothing after it, so
    # P[1] still reads the previous counter value 0 and writes 1: counter == 1 at the end.
    # LKMM allows the same outcome (the relaxed xchg gives no acquire ordering).
    assert matrix(LOCK.replace("TAKE", "xchg_relaxed"), "both") == \
        {"sc": H, "tso": H, "pso": H, "weak": V}


@pytest.mark.parametrize("take", ["xchg_acquire", "xchg"])
def test_acquire_or_full_xchg_lock_keeps_both_updates(take):
    # as above, but the read half of the xchg is an acquire (or the xchg is fully ordered): under
    # weak it ends P[1]'s stale view of counter, so the load at b reads memory: counter = 1.
    assert matrix(LOCK.replace("TAKE", take), "both") == {m: H for m in ALL}


SPIN = LOCK.replace("await TAKE(lock, 1) == 0", "spin_lock(lock)") \
    .replace("smp_store_release(lock, 0)", "spin_unlock(lock)")


def test_spin_lock_is_an_acquire_and_keeps_both_updates():
    # spin_lock = acquire RMW enabled when the lock is 0, spin_unlock = release store: the
    # argument of test_acquire_or_full_xchg_lock_keeps_both_updates.
    assert "spin_lock(lock);" in SPIN and "spin_unlock(lock);" in SPIN
    assert matrix(SPIN, "both") == {m: H for m in ALL}


# ---- store buffering through a relaxed RMW ---------------------------------------------------
SB = """
use PRELUDE;
shared x: 0..1 = 0;  shared y: 0..2 = 0;
process P0 { local r0: 0..2 = 0; a: WRITE_ONCE(x, 1); b: r0 := RMW(y, 2); }
process P1 { local r1: 0..1 = 0; c: WRITE_ONCE(y, 1); smp_mb(); d: r1 := READ_ONCE(x); }
reachable outcome: P0 at Done and P1 at Done and drained() and P0.r0 == 0 and P1.r1 == 0;
"""


def test_relaxed_xchg_does_not_order_an_earlier_store():
    # r0 == 0: P0's xchg reads y before P1's y := 1 reaches memory; r1 == 0: P1's load of x,
    # after its smp_mb (so after y = 1 is in memory), does not see x = 1.
    # sc: x := 1 comes before the xchg, which comes before y := 1, before P1's load: r1 = 1.
    # tso: the xchg is LOCK'd: x = 1 is in memory before it, so again r1 = 1: unreached.
    # pso / weak: x = 1 waits in P0's x FIFO; the relaxed xchg waits only for y's FIFO (empty)
    # and acts on memory (r0 = 0); then P1 runs c, its smp_mb drains y = 1, and d reads x = 0.
    # LKMM allows it too: a relaxed RMW is not ordered after an earlier store.
    text = SB.replace("PRELUDE", "linux.generic").replace("RMW", "xchg_relaxed")
    assert matrix(text, "outcome") == \
        {"sc": UNREACHED, "tso": UNREACHED, "pso": REACHED, "weak": REACHED}


@pytest.mark.parametrize("rmw", ["xchg", "xchg_release"])
def test_full_or_release_xchg_orders_an_earlier_store(rmw):
    # a full RMW, and a release RMW (its write is ordered after every earlier store), wait for
    # x = 1 to reach memory: the argument of sc applies under every model.
    text = SB.replace("PRELUDE", "linux.generic").replace("RMW", rmw)
    assert matrix(text, "outcome") == {m: UNREACHED for m in ALL}


def test_x86_relaxed_xchg_stays_locked():
    # linux.x86: every xchg is LOCK'd (a full barrier), whatever its suffix: unreached everywhere
    text = SB.replace("PRELUDE", "linux.x86").replace("RMW", "xchg_relaxed")
    assert matrix(text, "outcome") == {m: UNREACHED for m in ALL}


def test_spin_lock_does_not_order_an_earlier_store_before_a_later_load():
    # the case smp_mb__after_spinlock exists for (Documentation/memory-barriers.txt): P0 stores
    # x, takes a lock and loads y. pso / weak: x = 1 waits in its FIFO while spin_lock acts on
    # the lock in memory, so P0 can read y = 0 while P1 (y := 1; smp_mb) reads x = 0. sc: no.
    # tso (generic mapping, RMW LOCK'd): the lock drains x = 1 first: no.
    text = """
use linux.generic;
shared x: 0..1 = 0;  shared y: 0..1 = 0;  shared l: 0..1 = 0;
process P0 { local r0: 0..1 = 0; a: WRITE_ONCE(x, 1); b: spin_lock(l); c: r0 := READ_ONCE(y); }
process P1 { local r1: 0..1 = 0; d: WRITE_ONCE(y, 1); smp_mb(); e: r1 := READ_ONCE(x); }
reachable outcome: P0 at Done and P1 at Done and drained() and P0.r0 == 0 and P1.r1 == 0;
"""
    assert matrix(text, "outcome") == \
        {"sc": UNREACHED, "tso": UNREACHED, "pso": REACHED, "weak": REACHED}
    fenced = text.replace("spin_lock(l);", "spin_lock(l); smp_mb__after_spinlock();")
    assert matrix(fenced, "outcome") == {m: UNREACHED for m in ALL}


# ---- message passing into an acquire / relaxed RMW ----------------------------------------------
MP = """
use linux.generic;
shared x: 0..1 = 0;  shared y: 0..2 = 0;
process P0 { a: WRITE_ONCE(x, 1); b: smp_store_release(y, 1); }
process P1 { local r0: 0..2 = 0; local r1: 0..1 = 0; c: r0 := RMW(y, 2); d: r1 := READ_ONCE(x); }
reachable outcome: P0 at Done and P1 at Done and P1.r0 == 1 and P1.r1 == 0;
"""


def test_mp_into_relaxed_xchg_is_allowed_under_weak_only():
    # r0 == 1: P1's xchg read y = 1, so y = 1 was in memory, and x = 1 before it (the release
    # store is ordered after x := 1 under every model). sc, tso, pso: P1's load reads memory
    # (P1 has no store to x): r1 = 1. weak: P1 was made stale on x when x = 1 reached memory,
    # and the relaxed xchg does not end that view: r1 = 0 (LKMM allows MP with a relaxed RMW).
    assert matrix(MP.replace("RMW", "xchg_relaxed"), "outcome") == \
        {"sc": UNREACHED, "tso": UNREACHED, "pso": UNREACHED, "weak": REACHED}


def test_mp_into_acquire_xchg_is_forbidden():
    # the acquire read half ends P1's stale views: r1 reads memory, which has x = 1.
    assert matrix(MP.replace("RMW", "xchg_acquire"), "outcome") == \
        {m: UNREACHED for m in ALL}


def test_failed_cmpxchg_is_a_relaxed_read():
    # P1's cmpxchg(y, 2, 0) fails when it reads y = 1 (so r0 == 1): under generic it is then a
    # relaxed read, so under weak P1 may still read the old x (as with the relaxed xchg above);
    # under x86 it is LOCK'd, a full barrier that ends the stale view: unreached everywhere.
    generic = MP.replace("RMW(y, 2)", "cmpxchg(y, 2, 0)")
    assert matrix(generic, "outcome") == \
        {"sc": UNREACHED, "tso": UNREACHED, "pso": UNREACHED, "weak": REACHED}
    x86 = generic.replace("linux.generic", "linux.x86")
    assert matrix(x86, "outcome") == {m: UNREACHED for m in ALL}

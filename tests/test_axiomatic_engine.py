"""The axiomatic engine's front half (spec -> one symbolic execution; invariants/axiomatic/build.py,
engine.py): every expected verdict is derived by hand in the test, from the definitions of SC,
x86-TSO and the LKMM (tools/memory-model/Documentation/explanation.txt), never from the tool."""
from __future__ import annotations

import json

import pytest

from smp_explorer.invariants.axiomatic.build import Built
from smp_explorer.invariants.axiomatic.engine import run
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import model_from_text

GENERIC = "use linux.generic;\n"


def check(text: str, memory: str, unroll: int = 2, properties: list[str] | None = None):
    model = model_from_text(GENERIC + text, "t.spec", memory="lkmm")
    return run(model, memory, unroll=unroll, properties=properties)


def statuses(text: str, memory: str, unroll: int = 2) -> dict[str, str]:
    return check(text, memory, unroll).statuses


MP = """shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: WRITE_ONCE(x, 1); smp_wmb(); WRITE_ONCE(y, 1); }
process Q { local r: 0..1 = 0; local s: 0..1 = 0;
  b: r := READ_ONCE(y); %s c: s := READ_ONCE(x); }
reachable stale: P at Done and Q at Done and Q.r == 1 and Q.s == 0;
"""


def test_message_passing():
    # r = 1, s = 0 needs Q's reads out of order: not SC; x86-TSO keeps reads in order and
    # stores in order; the LKMM orders neither Q's two reads (no rmb, no dependency) ...
    for memory, reached in (("sc", False), ("tso", False), ("lkmm", True)):
        got = statuses(MP % "", memory)["stale"]
        assert got == ("holds" if reached else "unreached"), memory
    # ... until smp_rmb() orders them (wmb on P's side, rmb on Q's: the MP pattern is forbidden)
    assert statuses(MP % "smp_rmb();", "lkmm")["stale"] == "unreached"


def test_the_witness_execution():
    r = check(MP % "", "lkmm")
    ex = r.get("stale").execution
    assert ex is not None and ex.memory == "lkmm" and ex.processes == ("P", "Q")
    ev = {e.id: e for e in ex.events}
    [ry] = [e for e in ex.events if e.cpu == "Q" and e.location == "y"]
    [rx] = [e for e in ex.events if e.cpu == "Q" and e.location == "x"]
    # r = 1 comes from P's store to y, s = 0 from the initial write of x
    assert ry.value == 1 and ev[ry.reads_from].cpu == "P" and ev[ry.reads_from].line == 3
    assert rx.value == 0 and ev[rx.reads_from].cpu is None and "IW" in ev[rx.reads_from].tags
    assert (ry.index, rx.index) == (0, 1) and ry.tags == ("Once",)
    assert [e.co_index for e in ex.events if e.kind == "W" and e.location == "x"] == [0, 1]
    assert ex.final["Q.r"] == 1 and ex.final["Q.s"] == 0 and ex.final["x"] == 1
    # deterministic: the same question gets the same execution
    again = check(MP % "", "lkmm").get("stale").execution
    assert again is not None
    assert json.dumps(again.to_json()) == json.dumps(ex.to_json())


LOCK = """shared l: 0..1 = 0;  shared c: 0..2 = 0;
process P[i in 0..1] { local o: 0..1 = 0; local t: 0..2 = 0;
  lk: o := %s(l, 1); await o == 0;
  rd: t := READ_ONCE(c);
  wr: WRITE_ONCE(c, t + 1);
  un: smp_store_release(l, 0);
}
reachable lost_update: P[0] at Done and P[1] at Done and c == 1;
"""


def test_the_issue_example_xchg_relaxed_lock_loses_an_update():
    """The issue's example. Both CPUs finish with c == 1 only if the second CPU's
    READ_ONCE(c) reads the initial 0 although its xchg read the first CPU's release store of
    l (the lock is taken in turn: atomicity forbids both reading l = 0 from the initial
    write). Under SC and TSO the second CPU's load of c comes after its xchg, which comes
    after the release, which comes after the first CPU's store c = 1: impossible. Under the
    LKMM, xchg_relaxed is a relaxed RMW: nothing orders its read of l before the later read
    of c (no acquire, no dependency), so the read of c can be satisfied first: allowed. With
    xchg_acquire the read of l is an Acquire (acq-po orders it before the read of c), and the
    release store of l (po-rel) follows the store c = 1: prop links the stale read of c
    (fre to c = 1, cumul-fence po-rel, rfe to the acquire) back to the acquire, an hb cycle:
    forbidden."""
    assert statuses(LOCK % "xchg_relaxed", "sc")["lost_update"] == "unreached"
    assert statuses(LOCK % "xchg_relaxed", "tso")["lost_update"] == "unreached"
    assert statuses(LOCK % "xchg_relaxed", "lkmm")["lost_update"] == "holds"
    assert statuses(LOCK % "xchg_acquire", "lkmm")["lost_update"] == "unreached"


SPIN = """shared l: 0..1 = 0;  shared c: 0..2 = 0;
process P[i in 0..1] {
  lk: spin_lock(l);
  cs: c := c + 1;
  un: spin_unlock(l);
}
reachable lost_update: P[0] at Done and P[1] at Done and c == 1;
invariant both: (P[0] at Done and P[1] at Done) implies c == 2;
"""


def test_spin_lock_protects_plain_accesses():
    # spin_lock / spin_unlock order the critical sections (the unlock is a release the next
    # lock reads from; the lock's read is an acquire): every final state has c == 2, and the
    # plain accesses to c, ordered by the lock, do not race
    got = statuses(SPIN, "lkmm")
    assert got["lost_update"] == "unreached" and got["both"] == "holds"
    assert got["no_data_race"] == "holds"
    # without the lock the two plain increments race and may lose an update
    racy = SPIN.replace("spin_lock(l);", "skip;").replace("spin_unlock(l);", "skip;")
    r = check(racy, "lkmm")
    got = r.statuses
    assert got["lost_update"] == "holds" and got["both"] == "violated"
    assert got["no_data_race"] == "violated"
    # the witness names two accesses of c by different CPUs, one of them a write, both plain
    ex = r.get("no_data_race").execution
    assert ex is not None and ex.flagged
    ev = {e.id: e for e in ex.events}
    for a, b in ex.flagged:
        assert ev[a].location == ev[b].location == "c" and ev[a].cpu != ev[b].cpu
        assert "W" in (ev[a].kind, ev[b].kind) and "Plain" in ev[a].tags + ev[b].tags


def test_asserts_and_invariants_over_one_process():
    text = """shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: WRITE_ONCE(x, 1); smp_wmb(); WRITE_ONCE(y, 1); }
process Q { local r: 0..1 = 0; local s: 0..1 = 0;
  b: r := READ_ONCE(y);
  c: if r == 1 { %s s := READ_ONCE(x); assert s == 1; }
}
invariant saw_x: Q at Done implies (Q.r == 0 or Q.s == 1);
"""
    # the same MP shape checked in the code and at Q's steps: the assert and the invariant
    # fail exactly where the outcome r = 1, s = 0 is allowed. The `if` on r is a control
    # dependency to the read of x, which does NOT order two reads in the LKMM (ctrl orders
    # only writes): still violated without the rmb.
    # A failing assert stops its step: Q then never reaches Done with s = 0, so the
    # invariant (checked after Q's completed steps) holds where the assert is violated;
    # without the assert the invariant sees that outcome.
    got = statuses(text % "", "lkmm")
    assert got == {"assertion at line 6": "violated", "saw_x": "holds", "no_data_race": "holds"}
    got = statuses(text % "smp_rmb();", "lkmm")
    assert got["assertion at line 6"] == "holds" and got["saw_x"] == "holds"
    assert statuses(text % "", "tso")["assertion at line 6"] == "holds"
    no_assert = text.replace(" assert s == 1;", "")
    assert statuses(no_assert % "", "lkmm")["saw_x"] == "violated"
    assert statuses(no_assert % "smp_rmb();", "lkmm")["saw_x"] == "holds"


def test_control_dependency_orders_a_write():
    # LB: each CPU reads, then writes. Allowed in the LKMM with no dependencies; forbidden
    # when both writes depend on the reads (a data dependency on one side, a control
    # dependency on the other: ppo on both sides, an hb cycle with the two rfe).
    lb = """shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { local r: 0..1 = 0; a: r := READ_ONCE(x); b: WRITE_ONCE(y, %s); }
process Q { local s: 0..1 = 0; c: s := READ_ONCE(y); d: %s }
reachable cycle: P at Done and Q at Done and P.r == 1 and Q.s == 1;
"""
    assert statuses(lb % ("1", "WRITE_ONCE(x, 1);"), "lkmm")["cycle"] == "holds"
    assert statuses(lb % ("1", "WRITE_ONCE(x, 1);"), "tso")["cycle"] == "unreached"
    assert statuses(lb % ("r", "if s == 1 { WRITE_ONCE(x, 1); }"), "lkmm")["cycle"] == \
        "unreached"
    # a value computed from the read, carried through a local across steps, is still a
    # data dependency
    carried = lb.replace("b: WRITE_ONCE(y, %s);", "b: r := r * 1; e: WRITE_ONCE(y, %s);")
    assert statuses(carried % ("r", "if s == 1 { WRITE_ONCE(x, 1); }"), "lkmm")["cycle"] \
        == "unreached"


def test_unrolling_bound():
    loop = """process P { local n: 0..3 = 0;
  a: n := n + 1; if n < 3 { goto a; }
}
invariant small: P.n <= %d;
"""
    # step a runs three times (n = 1, 2, 3). With --unroll 2 the third run is cut: no
    # violation of n <= 2 is seen, but an execution reaches the bound: bounded, not holds.
    r = check(loop % 2, "lkmm", unroll=2)
    assert r.get("small").status == "bounded" and r.depth == 2
    assert "--unroll 2" in (r.get("small").message or "")
    assert check(loop % 2, "lkmm", unroll=3).get("small").status == "violated"
    assert check(loop % 3, "lkmm", unroll=3).get("small").status == "holds"


def test_await_is_an_assumption_not_a_loop():
    text = """shared flag: 0..1 = 0;  shared data: 0..2 = 0;
process P { a: WRITE_ONCE(data, 2); smp_store_release(flag, 1); }
process Q { local v: 0..2 = 0;
  b: await smp_load_acquire(flag) == 1;
  c: v := READ_ONCE(data);
}
invariant got_data: Q at Done implies Q.v == 2;
reachable q_done: Q at Done;
"""
    # a spin-wait costs no unrolling (--unroll 1 is enough and nothing is bounded); once the
    # acquire reads the release, the data is visible: holds. Q can finish (the release is
    # read), so the goal is reached.
    got = statuses(text, "lkmm", unroll=1)
    assert got["got_data"] == "holds" and got["q_done"] == "holds"
    relaxed = text.replace("smp_load_acquire(flag)", "READ_ONCE(flag)")
    assert statuses(relaxed, "lkmm", unroll=1)["got_data"] == "violated"


def test_rcu_grace_period():
    text = """shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { local r0: 0..1 = 0; local r1: 0..1 = 0;
  a: %s r0 := READ_ONCE(x); r1 := READ_ONCE(y); %s
}
process Q { b: WRITE_ONCE(y, 1); synchronize_rcu(); WRITE_ONCE(x, 1); }
reachable broken: P at Done and Q at Done and P.r0 == 1 and P.r1 == 0;
"""
    # RCU's guarantee: a read-side critical section that sees a store after the grace period
    # (x = 1) did not end before the grace period began, so it began after it ended and sees
    # every store before it (y = 1): forbidden. Outside a critical section the two reads
    # are unordered: allowed.
    assert statuses(text % ("rcu_read_lock();", "rcu_read_unlock();"), "lkmm")["broken"] == \
        "unreached"
    assert statuses(text % ("", ""), "lkmm")["broken"] == "holds"
    srcu = text.replace("shared y", "shared s: 0..1 = 0; shared y") \
        .replace("synchronize_rcu()", "synchronize_srcu(s)")
    assert statuses(srcu % ("let i = srcu_read_lock(s);", "srcu_read_unlock(s, i);"),
                    "lkmm")["broken"] == "unreached"


def test_rcu_under_an_operational_model_is_an_error_naming_it():
    text = GENERIC + "process P { a: rcu_read_lock(); rcu_read_unlock(); }\n"
    with pytest.raises((SpecError, SpecErrors)) as err:
        model_from_text(text, "t.spec", memory="weak")
    assert "rcu_read_lock() (RCU) has no meaning under --memory weak" in str(err.value)
    assert "--memory lkmm" in str(err.value) and "t.spec:2:" in str(err.value)


def test_final_states_and_failed_cmpxchg():
    text = """shared x: 0..2 = 0;
process P { local o: 0..2 = 0; a: o := cmpxchg(x, 0, 1); }
process Q { local o: 0..2 = 0; b: o := cmpxchg(x, 0, 2); }
reachable both_won: P at Done and Q at Done and P.o == 0 and Q.o == 0;
invariant one_won: (P at Done and Q at Done) implies (x == 1 or x == 2);
"""
    # atomicity: both CAS cannot read the initial 0 and both write; the loser's CAS fails
    # (reads the winner's value, writes nothing): the final x is the winner's value
    for memory in ("sc", "tso", "lkmm"):
        got = statuses(text, memory)
        assert got["both_won"] == "unreached" and got["one_won"] == "holds", memory


def test_events_carry_linux_tags():
    text = """shared x: 0..3 = 0;  shared l: 0..1 = 0;
process P { local r: 0..3 = 0;
  a: atomic_inc(x); r := atomic_fetch_add_relaxed(1, x); r := xchg_acquire(x, 0);
     smp_mb__after_atomic(); spin_lock(l); spin_unlock(l);
}
"""
    model = model_from_text(GENERIC + text, "t.spec", memory="lkmm")
    [a] = model.actions
    got = [(e.kind, tuple(sorted(e.tags))) for e in a.events]
    assert got == [
        ("R", ("Noreturn", "Once", "RMW")), ("W", ("Once", "RMW")),   # atomic_inc
        ("R", ("Once", "RMW")), ("W", ("Once", "RMW")),               # _relaxed
        ("R", ("Acquire", "RMW")), ("W", ("Once", "RMW")),            # _acquire
        ("F", ("After-atomic",)),
        ("R", ("Acquire", "LKR")), ("W", ("LKW", "Once")),            # spin_lock succeeds
        ("R", ("LF", "Once")),                        # (its failure: never, under its await)
        ("W", ("Release", "UL"))]


@pytest.mark.parametrize("text, message", [
    ("shared x: 0..1 = 0;\nprocess P { a: WRITE_ONCE(x, 1); }\ninvariant zero: x == 0;\n",
     "t.spec:4:1: error: invariant zero reads shared memory at an arbitrary moment"),
    ("var g: 0..1 = 0;\nprocess P { a: g := 1; }\nprocess Q { b: g := 0; }\n",
     "t.spec:2:1: error: ghost var 'g' is used by P, Q"),
    ("shared x: 0..1 = 0;\naction A { x := 1; }\nprocess P { a: skip; }\n",
     "t.spec:3:1: error: a TLA+-style action ('A') changes memory atomically"),
])
def test_what_has_no_axiomatic_meaning_is_an_error_at_its_place(text, message):
    with pytest.raises(SpecError) as err:
        check(text, "lkmm")
    assert message in str(err.value)


def test_a_ghost_var_of_one_process_adds_no_ordering():
    text = """var count: 0..2 = 0;
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P { a: WRITE_ONCE(x, 1); count := count + 1; WRITE_ONCE(y, 1); }
process Q { local r: 0..1 = 0; local s: 0..1 = 0;
  b: r := READ_ONCE(y); c: s := READ_ONCE(x); }
reachable stale: P at Done and Q at Done and Q.r == 1 and Q.s == 0 and count == 1;
"""
    # the ghost counter is P's own: MP without barriers stays allowed under the LKMM
    assert statuses(text, "lkmm")["stale"] == "holds"


def test_address_dependency_orders_two_reads():
    text = """shared data: array[0..1] of 0..1 = 0;  shared idx: 0..1 = 0;
process P { a: WRITE_ONCE(data[1], 1); smp_wmb(); WRITE_ONCE(idx, 1); }
process Q { local r: 0..1 = 0; local s: 0..1 = 0;
  b: r := READ_ONCE(idx); c: s := READ_ONCE(data[%s]); }
reachable stale: P at Done and Q at Done and Q.r == 1 and Q.s == 0;
"""
    # an address dependency orders a read before a later read in the LKMM (explanation.txt:
    # "to-r" is in ppo): with smp_wmb() on P's side, MP through an index is forbidden; read
    # from a fixed element, the two reads are unordered and the stale value is allowed
    assert statuses(text % "r", "lkmm")["stale"] == "unreached"
    assert statuses(text % "1", "lkmm")["stale"] == "holds"
    model = model_from_text(GENERIC + text % "r", "t.spec", memory="lkmm")
    b = Built(model, 1)
    [(r, e)] = b.static("addr")
    assert b.events[r].locations == ("idx",) and b.events[e].locations == ("data[0]", "data[1]")

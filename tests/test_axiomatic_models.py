"""The SC, x86-TSO and LKMM axiomatic models on hand-built Executions (tests/handexec.py), each
verdict taken from the literature, cited per test:
- [TSO] Owens, Sarkar, Sewell, "A better x86 memory model: x86-TSO", TPHOLs 2009, and Sewell
  et al., "x86-TSO", CACM 2010 (SB allowed; MP, LB, IRIW, 2+2W forbidden; mfence/locked ops
  restore SC for SB);
- [LK] the Result: lines of the kernel's tools/memory-model/litmus-tests/ (README there),
  named as in ../shared/litmus (e.g. SB+fencembonceonces = today's SB+mbonceonces);
- [EXPL] tools/memory-model/Documentation/explanation.txt (RCU's "fundamental law":
  a cycle with at least as many grace periods as read-side critical sections is forbidden;
  plain accesses and data races);
- [SC] Lamport 1979: no outcome that no interleaving gives.
"""
from __future__ import annotations

import pytest

from handexec import Builder, allowed
from smp_explorer.invariants.axiomatic.models import get
from smp_explorer.invariants.axiomatic.models.lkmm import LKMM
from smp_explorer.invariants.axiomatic.models.sc import SC
from smp_explorer.invariants.axiomatic.models.tso import TSO

sc, tso, lkmm = SC(), TSO(), LKMM()


def sb(f0: str | None = None, f1: str | None = None, rmw: bool = False):
    """SB: P0 x=1; [f0]; r0=y  |  P1 y=1; [f1]; r1=x  ; outcome r0=0 & r1=0."""
    b = Builder()
    p, q = b.cpu(), b.cpu()
    if rmw:
        p.rmw("x", 1)
    else:
        p.write("x", 1)
    if f0:
        p.fence(f0)
    r0 = p.read("y")
    q.write("y", 1)
    if f1:
        q.fence(f1)
    r1 = q.read("x")
    ex = b.build()
    return ex, (ex.reads(r0, 0), ex.reads(r1, 0))


def mp(w: str = "Once", r: str = "Once", wf: str | None = None, rf: str | None = None,
       addr: bool = False):
    """MP: P0 x=1; [wf]; y=1 (tag w)  |  P1 r0=y (tag r); [rf]; r1=x ; outcome r0=1 & r1=0."""
    b = Builder()
    p, q = b.cpu(), b.cpu()
    p.write("x", 1)
    if wf:
        p.fence(wf)
    p.write("y", 1, w)
    r0 = q.read("y", r)
    if rf:
        q.fence(rf)
    r1 = q.read("x")
    if addr:
        b.dep("addr", r0, r1)
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 0))


def lb(kind0: str = "po", kind1: str = "po"):
    """LB: P0 r0=x; y=1  |  P1 r1=y; x=1 ; outcome r0=1 & r1=1. kind: po | data | ctrl |
    acq (the read is Acquire) | rel (the write is Release) | mb (smp_mb between)."""
    b = Builder()
    rs = []
    for kind, (src, dst) in ((kind0, ("x", "y")), (kind1, ("y", "x"))):
        c = b.cpu()
        r = c.read(src, "Acquire" if kind == "acq" else "Once")
        if kind == "mb":
            c.fence("Mb")
        w = c.write(dst, 1, "Release" if kind == "rel" else "Once")
        if kind in ("data", "ctrl"):
            b.dep(kind, r, w)
        rs.append(r)
    ex = b.build()
    return ex, (ex.reads(rs[0], 1), ex.reads(rs[1], 1))


def two_plus_two_w(fence: str | None = None):
    """2+2W: P0 x=1; [f]; y=2  |  P1 y=1; [f]; x=2 ; outcome final x=1 & y=1."""
    b = Builder()
    for a, c in (("x", "y"), ("y", "x")):
        p = b.cpu()
        p.write(a, 1)
        if fence:
            p.fence(fence)
        p.write(c, 2)
    ex = b.build()
    return ex, (ex.final("x", 1), ex.final("y", 1))


def wrc(w1: str = "Once", f2: str | None = None):
    """WRC: P0 x=1  |  P1 r0=x; y=1 (tag w1)  |  P2 r1=y; [f2]; r2=x ;
    outcome r0=1 & r1=1 & r2=0."""
    b = Builder()
    p0, p1, p2 = b.cpu(), b.cpu(), b.cpu()
    p0.write("x", 1)
    r0 = p1.read("x")
    p1.write("y", 1, w1)
    r1 = p2.read("y")
    if f2:
        p2.fence(f2)
    r2 = p2.read("x")
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 1), ex.reads(r2, 0))


def iriw(fence: str | None = None):
    """IRIW: P0 x=1 | P1 y=1 | P2 r0=x; [f]; r1=y | P3 r2=y; [f]; r3=x ;
    outcome r0=1 & r1=0 & r2=1 & r3=0."""
    b = Builder()
    b.cpu().write("x", 1)
    b.cpu().write("y", 1)
    regs = []
    for a, c in (("x", "y"), ("y", "x")):
        p = b.cpu()
        regs.append(p.read(a))
        if fence:
            p.fence(fence)
        regs.append(p.read(c))
    ex = b.build()
    return ex, tuple(ex.reads(r, v) for r, v in zip(regs, (1, 0, 1, 0)))


def isa2(strong: bool):
    """ISA2: P0 x=1; y=1 (Release?)  |  P1 r0=y (Acquire?); z=1 (Release?)  |
    P2 r1=z (Acquire?); r2=x ; outcome r0=1 & r1=1 & r2=0."""
    rel, acq = ("Release", "Acquire") if strong else ("Once", "Once")
    b = Builder()
    p0, p1, p2 = b.cpu(), b.cpu(), b.cpu()
    p0.write("x", 1)
    p0.write("y", 1, rel)
    r0 = p1.read("y", acq)
    p1.write("z", 1, rel)
    r1 = p2.read("z", acq)
    r2 = p2.read("x")
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 1), ex.reads(r2, 0))


def corr():
    """CoRR: P0 x=1  |  P1 r0=x; r1=x ; outcome r0=1 & r1=0."""
    b = Builder()
    b.cpu().write("x", 1)
    q = b.cpu()
    r0, r1 = q.read("x"), q.read("x")
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 0))


# (name, test builder, sc, tso, lkmm): True = the outcome is allowed. Built when a test runs,
# not at import (collection stays free of Z3 work)
CASES = [
    # [TSO] SB is the one relaxation of x86-TSO; [LK] SB+poonceonces Sometimes
    ("SB", lambda: sb(), False, True, True),
    # [TSO] mfence on both sides; [LK] SB+fencembonceonces Never
    ("SB+mb", lambda: sb("Mb", "Mb"), False, False, False),
    # [TSO] one side only is not enough
    ("SB+mb+po", lambda: sb("Mb", None), False, True, True),
    # [TSO] a locked instruction (xchg) drains the buffer like mfence: SB with xchg on P0 and
    # mfence on P1 is forbidden. [LK] a relaxed xchg (Once) orders nothing: allowed
    ("SB+xchg+mb", lambda: sb(None, "Mb", rmw=True), False, False, True),
    # [TSO] MP forbidden; [LK] MP+poonceonces Sometimes
    ("MP", lambda: mp(), False, False, True),
    # [LK] MP+pooncerelease+poacquireonce Never
    ("MP+rel+acq", lambda: mp(w="Release", r="Acquire"), False, False, False),
    # [LK] MP+fencewmbonceonce+fencermbonceonce Never
    ("MP+wmb+rmb", lambda: mp(wf="Wmb", rf="Rmb"), False, False, False),
    # [LK] a wmb alone: the reads may still be reordered (C-MP+o-wmb-o+o-o: Sometimes)
    ("MP+wmb+po", lambda: mp(wf="Wmb"), False, False, True),
    # [LK] C-MP+o-wmb-o+o-addr-o: an address dependency orders the reads (Never)
    ("MP+wmb+addr", lambda: mp(wf="Wmb", addr=True), False, False, False),
    # [TSO] LB forbidden; [LK] LB+poonceonces Sometimes
    ("LB", lambda: lb(), False, False, True),
    # [LK] LB+poacquireonce+pooncerelease Never
    ("LB+acq+rel", lambda: lb("acq", "rel"), False, False, False),
    # [LK] C-LB+o-data-o+o-data-o+o-data-o and LB+fencembonceonce+ctrlonceonce: Never
    ("LB+data+data", lambda: lb("data", "data"), False, False, False),
    ("LB+mb+ctrl", lambda: lb("mb", "ctrl"), False, False, False),
    # [TSO] 2+2W forbidden; [LK] 2+2W+poonceonces Sometimes, C-2+2W+o-wmb-o+o-wmb-o Sometimes
    # (wmb orders the writes but is not a strong fence), 2+2W+fencembonceonces Never
    ("2+2W", lambda: two_plus_two_w(), False, False, True),
    ("2+2W+wmb", lambda: two_plus_two_w("Wmb"), False, False, True),
    ("2+2W+mb", lambda: two_plus_two_w("Mb"), False, False, False),
    # [TSO] WRC forbidden (x86 is multi-copy atomic); [LK] WRC+poonceonces+Once Sometimes,
    # WRC+pooncerelease+fencermbonceonce+Once Never (release is A-cumulative)
    ("WRC", lambda: wrc(), False, False, True),
    ("WRC+rel+rmb", lambda: wrc("Release", "Rmb"), False, False, False),
    # [LK] C-WRC+o+o-data-o+o-rmb-o is Sometimes: without the release, no cumulativity
    ("WRC+po+rmb", lambda: wrc("Once", "Rmb"), False, False, True),
    # [TSO] IRIW forbidden; [LK] IRIW+poonceonces+OnceOnce Sometimes,
    # IRIW+fencembonceonces+OnceOnce Never
    ("IRIW", lambda: iriw(), False, False, True),
    ("IRIW+mb", lambda: iriw("Mb"), False, False, False),
    # [LK] IRIW with rmb only: LKMM is not multi-copy atomic, Sometimes
    ("IRIW+rmb", lambda: iriw("Rmb"), False, False, True),
    # [LK] ISA2+poonceonces Sometimes; ISA2+pooncerelease+poacquirerelease+poacquireonce Never
    ("ISA2", lambda: isa2(False), False, False, True),
    ("ISA2+rel+acq", lambda: isa2(True), False, False, False),
    # [LK] CoRR+poonceonce+Once Never (coherence: every model)
    ("CoRR", lambda: corr(), False, False, False),
]


@pytest.mark.parametrize("name,case,want_sc,want_tso,want_lkmm", CASES,
                         ids=[c[0] for c in CASES])
def test_litmus_shapes(name, case, want_sc, want_tso, want_lkmm):
    ex, outcome = case()
    assert allowed(sc, ex, *outcome) == want_sc, "sc"
    assert allowed(tso, ex, *outcome) == want_tso, "tso"
    assert allowed(lkmm, ex, *outcome) == want_lkmm, "lkmm"


def test_every_case_has_a_consistent_execution():
    """Each model admits some execution of every shape (the axioms are not contradictory)."""
    for name, case, *_ in CASES:
        ex, _ = case()
        for m in (sc, tso, lkmm):
            assert allowed(m, ex), (name, m.name)


# -- RCU ([EXPL], "RCU RELATIONS" and the fundamental law of RCU) ---------------------------

def rcu_mp(grace: bool, srcu: str | None = None, gp_struct: str | None = None):
    """P0: rcu_read_lock(); r0 = x; r1 = y; rcu_read_unlock()
    P1: y = 1; synchronize_rcu(); x = 1           outcome r0=1 & r1=0
    (the kernel's RCU+sync+read: Never). Without the grace period: Sometimes. With srcu,
    P0's section and P1's synchronize_srcu() name structs srcu / gp_struct."""
    b = Builder()
    p0, p1 = b.cpu(), b.cpu()
    lock_tag, unlock_tag, sync_tag = (("Srcu-lock", "Srcu-unlock", "Sync-srcu") if srcu
                                      else ("Rcu-lock", "Rcu-unlock", "Sync-rcu"))
    lk = p0.fence(lock_tag, loc=srcu)
    r0 = p0.read("x")
    r1 = p0.read("y")
    ul = p0.fence(unlock_tag, loc=srcu)
    b.rscs(lk, ul, srcu=bool(srcu))
    p1.write("y", 1)
    if grace:
        p1.fence(sync_tag, loc=gp_struct if srcu else None)
    p1.write("x", 1)
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 0))


def rcu_chain(gps: int, sections: int):
    """An LB-shaped cycle through gps + sections CPUs, each passing a value on: P_i reads a_i
    then writes a_{i+1} (mod n), every read seeing the write before it. The first `gps` CPUs
    put synchronize_rcu() between their read and write, the others put both accesses in one
    rcu_read_lock() section. [EXPL], the fundamental law: forbidden exactly when there are at
    least as many grace periods as critical sections."""
    n = gps + sections
    b = Builder()
    regs = []
    for i in range(n):
        c = b.cpu()
        src, dst = f"a{i}", f"a{(i + 1) % n}"
        if i < gps:
            regs.append(c.read(src))
            c.fence("Sync-rcu")
            c.write(dst, 1)
        else:
            lk = c.fence("Rcu-lock")
            regs.append(c.read(src))
            c.write(dst, 1)
            b.rscs(lk, c.fence("Rcu-unlock"))
    ex = b.build()
    return ex, tuple(ex.reads(r, 1) for r in regs)


def test_rcu_grace_period_orders_the_reader():
    ex, outcome = rcu_mp(grace=True)
    assert not allowed(lkmm, ex, *outcome)
    ex, outcome = rcu_mp(grace=False)
    assert allowed(lkmm, ex, *outcome)


@pytest.mark.parametrize("gps,sections,forbidden", [
    (1, 1, True), (2, 1, True), (2, 2, True), (1, 2, False), (0, 2, False)])
def test_rcu_counts_grace_periods_against_sections(gps, sections, forbidden):
    # (0, 2): critical sections alone order nothing (LB, allowed); (1, 2): two sections
    # outweigh one grace period
    ex, outcome = rcu_chain(gps, sections)
    assert allowed(lkmm, ex, *outcome) == (not forbidden)


def test_srcu_orders_only_the_same_struct():
    ex, outcome = rcu_mp(grace=True, srcu="s", gp_struct="s")
    assert not allowed(lkmm, ex, *outcome)
    ex, outcome = rcu_mp(grace=True, srcu="s", gp_struct="t")
    assert allowed(lkmm, ex, *outcome)


# -- locks and data races ----------------------------------------------------------------

def locked_mp(lock_reader: bool):
    """MP+polocks [LK Never]: P0 lock(l); x=1; y=1; unlock(l) | P1 lock(l); r0=y; r1=x;
    unlock(l); outcome r0=1 & r1=0. Without P1's lock: the reads are unordered (Sometimes)."""
    b = Builder()
    p0, p1 = b.cpu(), b.cpu()
    p0.lock("l")
    p0.write("x", 1)
    p0.write("y", 1)
    p0.unlock("l")
    if lock_reader:
        p1.lock("l")
    r0 = p1.read("y")
    r1 = p1.read("x")
    if lock_reader:
        p1.unlock("l")
    ex = b.build()
    return ex, (ex.reads(r0, 1), ex.reads(r1, 0))


def test_spin_locks():
    ex, outcome = locked_mp(True)
    assert not allowed(lkmm, ex, *outcome)
    ex, outcome = locked_mp(False)
    assert allowed(lkmm, ex, *outcome)


def plain_pair(locked: bool, reader_tag: str = "Plain"):
    """P0 [lock] x=1 (plain) [unlock] | P1 [lock] r=x [unlock]."""
    b = Builder()
    p0, p1 = b.cpu(), b.cpu()
    if locked:
        p0.lock("l")
    p0.write("x", 1, "Plain")
    if locked:
        p0.unlock("l")
        p1.lock("l")
    r = p1.read("x", reader_tag)
    if locked:
        p1.unlock("l")
    return b.build(), r


def test_data_race_flag():
    # [EXPL] "PLAIN ACCESSES AND DATA RACES": a plain write and an access of another CPU to the
    # same location, not ordered, race; the same accesses in critical sections of one lock
    # do not (the unlock-lock chain orders them whichever runs first)
    ex, _ = plain_pair(locked=False)
    assert allowed(lkmm, ex, flag="data-race")
    ex, _ = plain_pair(locked=False, reader_tag="Once")
    assert allowed(lkmm, ex, flag="data-race")   # one plain access is enough
    ex, _ = plain_pair(locked=True)
    assert allowed(lkmm, ex)
    assert not allowed(lkmm, ex, flag="data-race")


def test_marked_accesses_do_not_race():
    b = Builder()
    b.cpu().write("x", 1, "Once")
    b.cpu().read("x", "Once")
    assert not allowed(lkmm, b.build(), flag="data-race")


def test_registry():
    assert [get(n).name for n in ("sc", "tso", "lkmm")] == ["sc", "tso", "lkmm"]
    with pytest.raises(KeyError, match="no axiomatic model"):
        get("pso")

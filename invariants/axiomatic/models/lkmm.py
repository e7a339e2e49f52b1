"""The Linux-kernel memory model (LKMM), written from its definition: Alglave, Maranget,
McKenney, Parri and Stern, "Frightening small children and disconcerting grown-ups: concurrency
in the Linux kernel", ASPLOS 2018, and the kernel's tools/memory-model/Documentation/
explanation.txt (the current kernel's model: release sequences through RMWs in cumul-fence,
unlock+lock on one CPU ordering everything in ppo, plain accesses carrying dependencies
through local stores and loads, ppo within program order).

The model, in the order explanation.txt builds it (names as there):
- Coherence: po-loc together with rf, co and fr is acyclic. Atomicity: no external write comes
  between an RMW's read and write (rmw & (fre ; coe) is empty).
- Preserved program order (ppo): dependencies to writes, overwrite within a CPU, address
  dependencies to reads, dependencies reaching a marked load that reads a local store, the
  fences (smp_mb and its relatives, acquire and release, smp_rmb between reads, smp_wmb between
  writes) and an unlock followed by a lock on one CPU.
- Propagation: cumul-fence (A-cumulative strong fences and releases, wmb, unlock-lock) with the
  release sequence an RMW chain continues; prop = an optional external overwrite, cumul-fence*,
  an optional external rf.
- happens-before: hb = ppo | rfe | (prop & int, not the identity), over marked accesses;
  acyclic. propagation: pb = prop ; strong-fence ; hb*; acyclic.
- RCU: rcu-link = po? ; hb* ; pb* ; prop ; po; rcu-order is the least relation containing the
  grace periods and closed under the ways a sequence with at least as many grace periods as
  read-side critical sections (an RCU critical section read from its unlock back to its lock)
  composes through rcu-link; SRCU the same on one srcu_struct. rcu-fence = po ; rcu-order ; po?,
  rb = prop ; rcu-fence ; hb* ; pb*; irreflexive. After this, fence and strong-fence include
  rcu-fence.
- Plain accesses: the bounds of a plain access's lifetime (pre-/post-bounded by marked accesses
  and fences), visibility (vis) and executes-before (xb = hb | pb | rb), plain-coherence (a
  plain access racing with an access it conflicts with must still agree with coherence) as an
  axiom, and the data race flag: two conflicting accesses of different CPUs, at least one plain
  (and not an initial write), not ordered by xb or visibility.
- Spin locks: a successful lock is an Acquire read (LKR) and a write (LKW) in an rmw pair, an
  unlock a Release write (UL), failed trylocks and spin_is_locked plain-ordered reads: all
  marked. The front half gives the lock location its values (locked/unlocked) so that rf, co and
  atomicity give the lock semantics (a lock reads an unlocked value, nothing else writes in
  between).

Encoding (see relalg's docstring): hb, pb, prop, the closures (hb*, pb*, cumul-fence*, the
release sequence, xb*) and rcu-order are one-directional named relations. That is exact here
because every use is anti-monotone: they appear only inside the acyclic/irreflexive/empty axioms
(a larger relation only forbids more) and, in the data-race flag, only inside the
non-race relations subtracted from the potential races (a larger relation only flags fewer
pairs), so the solver may always pick the least relations and any relations it picks bound the
real ones from above: a raised data-race flag is a real race, and an allowed outcome has a
really consistent execution. The axioms must be asserted, never negated.
"""
from __future__ import annotations

import z3

from smp_explorer.invariants.axiomatic.execution import Constraints, Execution
from smp_explorer.invariants.axiomatic.relalg import Algebra, EventSet, Rel

LOCK_ACCESS = ("LKR", "LKW", "UL", "LF", "RL", "RU")


class LKMM:
    name = "lkmm"

    def constrain(self, execution: Execution) -> Constraints:
        return _Build(Algebra(execution)).constraints()


class _Build:
    def __init__(self, alg: Algebra):
        self.alg = alg
        a = alg
        self.M, self.R, self.W = a.M, a.R, a.W
        self.IW = a.tagged("IW")
        rmw = a.static("rmw")
        self.rmw = rmw
        # herd's RMW set: both events of an RMW, and the lone read of a failed cmpxchg
        self.RMW = a.domain(rmw) | a.range(rmw) | a.tagged("RMW")
        self.LKR, self.LKW, self.UL = a.tagged("LKR"), a.tagged("LKW"), a.tagged("UL")
        self.Acquire = a.tagged("Acquire") | self.LKR
        self.Release = a.tagged("Release") | self.UL
        self.Noreturn = a.tagged("Noreturn")
        marked_tags = ("IW", "Once", "Acquire", "Release") + LOCK_ACCESS
        self.Marked: EventSet = (a.all - self.M) | a.tagged(*marked_tags) | self.RMW
        self.Plain: EventSet = self.M - self.Marked
        self.R4rmb: EventSet = self.R - self.Noreturn

    def mk(self, r: Rel) -> Rel:
        """[Marked] ; r ; [Marked]."""
        return self.alg.restrict(r, dom=self.Marked, rng=self.Marked)

    def constraints(self) -> Constraints:
        a = self.alg
        M, R, W, Marked = self.M, self.R, self.W, self.Marked
        po, rf, co, fr = a.po, a.rf, a.co, a.fr
        rfe, rfi = a.external(rf), a.internal(rf)
        po_loc = po & a.loc

        # -- dependencies: plain accesses carry them through a local store and load
        data0 = a.static("data")
        not_srcu_unlock = a.all - a.tagged("Srcu-unlock")
        carry = a.plus(a.seq(a.restrict(data0, rng=not_srcu_unlock), rfi), "carry_dep")
        carry_dep = a.opt(carry)
        addr = a.seq(carry_dep, a.static("addr"))
        data = a.seq(carry_dep, data0)
        ctrl = a.seq(carry_dep, a.static("ctrl"))

        # -- fences
        acq_po = a.restrict(po, dom=self.Acquire, rng=M)
        po_rel = a.restrict(po, dom=M, rng=self.Release)
        po_unlock_lock_po = a.seq(a.restrict(po, rng=self.UL),
                                  a.restrict(po | rf, dom=self.UL, rng=self.LKR), po)
        rmb = a.restrict(a.fencerel("Rmb"), dom=self.R4rmb, rng=self.R4rmb)
        wmb = a.restrict(a.fencerel("Wmb"), dom=W, rng=W)
        rmw_po_opt = a.restrict(a.opt(po), dom=self.RMW, rng=M)
        po_opt_rmw = a.restrict(a.opt(po), dom=M, rng=self.RMW)
        mb = a.union(
            a.restrict(a.fencerel("Mb"), dom=M, rng=M),
            a.seq(a.restrict(a.fencerel("Before-atomic"), dom=M, rng=self.RMW), rmw_po_opt),
            a.seq(po_opt_rmw, a.restrict(a.fencerel("After-atomic"), dom=self.RMW, rng=M)),
            a.seq(a.restrict(a.opt(po), dom=M, rng=self.LKW),
                  a.restrict(a.fencerel("After-spinlock"), dom=self.LKW, rng=M)),
            a.seq(a.restrict(po, dom=M, rng=self.UL),
                  a.restrict(co | po, dom=self.UL, rng=self.LKW),
                  a.restrict(a.fencerel("After-unlock-lock"), dom=self.LKW, rng=M)))
        gp = a.seq(a.restrict(po, rng=a.tagged("Sync-rcu", "Sync-srcu")), a.opt(po))
        strong_fence = a.named(mb | gp, "strong_fence")
        nonrw_fence = a.union(strong_fence, po_rel, acq_po)
        fence = a.union(nonrw_fence, wmb, rmb)

        # -- coherence and atomicity
        com = a.union(rf, co, fr)
        axioms = [("coherence", a.acyclic(po_loc | com, "coherence")),
                  ("atomicity", a.empty(self.rmw & a.seq(a.external(fr), a.external(co))))]

        # -- preserved program order
        dep = addr | data
        rwdep = a.restrict(dep | ctrl, rng=W)
        overwrite = co | fr
        to_w = a.union(rwdep, a.internal(overwrite),
                       a.seq(a.restrict(addr, rng=self.Plain), wmb))
        to_r = a.union(a.restrict(addr, rng=R), a.seq(a.restrict(dep, rng=Marked), rfi))
        ppo = a.union(to_r, to_w, a.internal(fence), a.internal(po_unlock_lock_po))

        # -- propagation
        rfe_m = a.restrict(rfe, rng=Marked)
        rmw_sequence = a.opt(a.plus(a.seq(rf, self.rmw), "rmw_seq"))
        a_cumul = strong_fence | po_rel
        cumul_fence = a.seq(self.mk(a.union(a_cumul, a.seq(rfe_m, a_cumul), wmb,
                                            po_unlock_lock_po)), rmw_sequence)
        cumul_fence_star = a.star(cumul_fence, "cumul_fence")
        prop = a.named(a.restrict(
            a.seq(a.restrict(a.opt(a.external(overwrite)), dom=Marked), cumul_fence_star,
                  a.restrict(a.opt(rfe), dom=Marked, rng=Marked)),
            dom=Marked, rng=Marked), "prop")

        hb = a.named(self.mk(a.union(ppo, rfe, a.where(prop, lambda x, y: x != y
                                                        and a.same_cpu(x, y)))), "hb")
        hb_star = a.star(hb, "hb")
        axioms.append(("happens-before", a.acyclic(hb, "hb")))
        # pb = prop ; strong-fence ; hb* ; [Marked] = (prop ; strong-fence ; [Marked]) ; hb*
        # (hb is over marked events), acyclic without encoding hb*: acyclic_seq_star
        sf_m = a.restrict(strong_fence, rng=Marked)
        prop_sf = a.seq(prop, sf_m)
        # prop ; sf_m given as its two steps (prop only where a strong fence follows): one
        # clock constraint per pair of each
        axioms.append(("propagation", a.acyclic_seq_star(
            [a.restrict(prop, rng=a.domain(sf_m)), sf_m], hb, "pb")))
        pb = a.named(a.seq(prop_sf, hb_star), "pb")     # for RCU
        pb_star = a.star(pb, "pb")

        # -- RCU
        rcu_fence = self.rcu_fence(prop, hb_star, pb_star)
        if rcu_fence is not None:
            rb = a.named(a.restrict(a.seq(prop, rcu_fence, hb_star, pb_star), rng=Marked), "rb")
            axioms.append(("rcu", a.irreflexive(rb)))
            fence = fence | rcu_fence
            strong_fence = strong_fence | rcu_fence
            xb = a.union(hb, pb, rb)
        else:
            # xb = hb | pb is used only through xb* below, and xb* = (hb | prop_sf)*: pb =
            # prop_sf ; hb* is a prop_sf step followed by hb steps, and prop_sf <= pb (hb* is
            # reflexive on executed events, and prop_sf's ends execute). The closure of the
            # sparser relation has the same least fixpoint with far fewer definitions (one per
            # pair and successor: pb's may set is a closure's, nearly complete).
            xb = hb | prop_sf

        # -- plain accesses: plain-coherence and the data-race flag
        if not self.Plain:
            # every potential race (pre-race) needs a plain access: without one both the
            # plain-coherence axiom and the flag are trivially satisfied / never raised
            false = z3.BoolVal(False, a.ctx)
            return Constraints(axioms=[("definitions", a.definitions())] + axioms,
                               flags={"data-race": false},
                               witnesses={"data-race": lambda m: []})
        xbstar = a.star(xb, "xb")
        vis = a.seq(cumul_fence_star, a.restrict(a.opt(rfe), rng=Marked),
                    a.union(a.seq(a.restrict(strong_fence, rng=Marked), xbstar),
                            a.internal(xbstar)))
        not_noreturn = a.all - self.Noreturn
        w_pre_bounded = a.restrict(a.opt(addr | fence), dom=Marked)
        r_pre_bounded = a.restrict(a.opt(a.union(
            addr, nonrw_fence,
            a.restrict(a.fencerel("Rmb"), dom=self.R4rmb, rng=not_noreturn))), dom=Marked)
        w_post_bounded = a.seq(a.restrict(a.opt(fence), rng=Marked), rmw_sequence)
        r_post_bounded = a.restrict(a.opt(a.union(
            nonrw_fence, a.restrict(a.fencerel("Rmb"), dom=not_noreturn, rng=self.R4rmb))),
            rng=Marked)
        ww_vis = a.named(a.union(fence, a.seq(strong_fence, xbstar, w_pre_bounded),
                                 a.seq(w_post_bounded, vis, w_pre_bounded)), "ww_vis")
        wr_vis = a.named(a.union(fence, a.seq(strong_fence, xbstar, r_pre_bounded),
                                 a.seq(w_post_bounded, vis, r_pre_bounded)), "wr_vis")
        rw_xbstar = a.named(a.union(fence, a.seq(r_post_bounded, xbstar, w_pre_bounded)),
                            "rw_xbstar")
        Plain, nonIW = self.Plain, M - self.IW

        def racy(x: int, y: int) -> bool:
            return (x in Plain and y in M) or (x in nonIW and y in Plain)

        def pre_race(r: Rel) -> Rel:
            return a.where(a.external(r), racy)
        incoh = a.union(pre_race(rf) & a.inv(rw_xbstar), pre_race(fr) & a.inv(wr_vis),
                        pre_race(co) & a.inv(ww_vis))
        axioms.append(("plain-coherence", a.empty(incoh)))
        marked_w = a.product(Marked, W)
        w_marked = a.product(W, Marked)
        ww_nonrace = a.inter(a.inter(ww_vis, marked_w | rw_xbstar), w_marked | wr_vis)
        ww_race = pre_race(co) - ww_nonrace
        wr_race = pre_race(a.union(rf, a.seq(co, rf))) - wr_vis
        rw_race = pre_race(fr) - rw_xbstar
        race = a.union(ww_race, wr_race, rw_race)
        flags = {"data-race": a.nonempty(race)}
        return Constraints(axioms=[("definitions", a.definitions())] + axioms, flags=flags,
                           witnesses={"data-race": lambda m: a.pairs_in(race, m)})

    def rcu_fence(self, prop: Rel, hb_star: Rel, pb_star: Rel) -> Rel | None:
        """po ; rcu-order ; po?, or None when the execution has no grace period."""
        a = self.alg
        sync_rcu, sync_srcu = a.tagged("Sync-rcu"), a.tagged("Sync-srcu")
        if not (sync_rcu or sync_srcu):
            return None     # rcu-order is empty without a grace period: rb is empty
        po = a.po
        rcu_link = a.named(a.seq(a.opt(po), hb_star, pb_star, prop, po), "rcu_link")
        rcu_gp, srcu_gp = a.ident(sync_rcu), a.ident(sync_srcu)
        rcu_rscsi = a.inv(a.static("rcu-rscs"))
        srcu_rscsi = a.inv(a.static("srcu-rscs"))
        ends = sync_rcu | sync_srcu | a.domain(rcu_rscsi) | a.domain(srcu_rscsi) \
            | a.range(rcu_rscsi) | a.range(srcu_rscsi)
        order = a.fixpoint(((x, y) for x in ends for y in ends), "rcu_order")

        def same_struct(r: Rel) -> Rel:
            return a.where(r, lambda x, y: bool(set(a.events[x].locations)
                                                 & set(a.events[y].locations)))
        rl = rcu_link
        order.body = a.union(
            rcu_gp, srcu_gp,
            a.seq(rcu_gp, rl, rcu_rscsi), same_struct(a.seq(srcu_gp, rl, srcu_rscsi)),
            a.seq(rcu_rscsi, rl, rcu_gp), same_struct(a.seq(srcu_rscsi, rl, srcu_gp)),
            a.seq(rcu_gp, rl, order, rl, rcu_rscsi),
            same_struct(a.seq(srcu_gp, rl, order, rl, srcu_rscsi)),
            a.seq(rcu_rscsi, rl, order, rl, rcu_gp),
            same_struct(a.seq(srcu_rscsi, rl, order, rl, srcu_gp)),
            a.seq(order, rl, order))
        return a.named(a.seq(po, order, a.opt(po)), "rcu_fence")

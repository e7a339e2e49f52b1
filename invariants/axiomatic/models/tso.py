"""x86-TSO as an axiomatic model (Owens, Sarkar and Sewell, "A better x86 memory model:
x86-TSO", TPHOLs 2009; the axiomatic form of Alglave, Maranget and Tautschnig, "Herding cats",
TOPLAS 2014, section 4.8):
- coherence (SC per location): acyclic (po-loc | rf | co | fr);
- atomicity: no write of another CPU between a locked RMW's read and write;
- global happens-before: acyclic (ppo | implied | rfe | co | fr), where ppo is program order
  without the write->read pairs (a store may wait in the store buffer while a later load goes
  to memory; rfi is left out for the same reason: a CPU reads its own buffered store early),
  and the implied orders are those of MFENCE (po;[MFENCE];po) and of locked instructions, which
  drain the buffer: every access before or after a locked RMW is ordered with it.
Front-half vocabulary: an MFENCE is a fence tagged Mb (any strong fence tag counts); a locked
instruction is an event of the static `rmw` relation (on x86 every RMW is locked)."""
from __future__ import annotations

from smp_explorer.invariants.axiomatic.execution import Constraints, Execution
from smp_explorer.invariants.axiomatic.models.sc import atomicity
from smp_explorer.invariants.axiomatic.relalg import Algebra

MFENCE_TAGS = ("Mb", "Before-atomic", "After-atomic", "After-spinlock", "After-unlock-lock",
               "Sync-rcu", "Sync-srcu")


class TSO:
    name = "tso"

    def constrain(self, execution: Execution) -> Constraints:
        alg = Algebra(execution)
        po, M, R, W = alg.po, alg.M, alg.R, alg.W
        com = alg.union(alg.rf, alg.co, alg.fr)
        po_loc = po & alg.loc
        rmw = alg.static("rmw")
        locked = alg.domain(rmw) | alg.range(rmw)
        ppo = alg.union(alg.restrict(po, dom=W, rng=W), alg.restrict(po, dom=R, rng=M))
        mfence = alg.restrict(alg.fencerel(*MFENCE_TAGS), dom=M, rng=M)
        implied = alg.union(alg.restrict(po, dom=M, rng=locked),
                            alg.restrict(po, dom=locked, rng=M))
        ghb = alg.union(ppo, mfence, implied, alg.rf & alg.ext, alg.co, alg.fr)
        axioms = [("coherence", alg.acyclic(po_loc | com, "coherence")),
                  ("atomicity", alg.empty(atomicity(alg))),
                  ("tso", alg.acyclic(ghb, "tso"))]
        return Constraints(axioms=[("definitions", alg.definitions())] + axioms)

"""Sequential consistency as an axiomatic model (Lamport; in the style of Alglave, Maranget and
Tautschnig, "Herding cats", TOPLAS 2014, section 4): program order and the communication
relations never form a cycle, and a read-modify-write is atomic."""
from __future__ import annotations

from smp_explorer.invariants.axiomatic.execution import Constraints, Execution
from smp_explorer.invariants.axiomatic.relalg import Algebra, Rel


def atomicity(alg: Algebra) -> Rel:
    """rmw & (fre ; coe): a write of another CPU between an RMW's read and its write."""
    fre = alg.fr & alg.ext
    coe = alg.co & alg.ext
    return alg.static("rmw") & alg.seq(fre, coe)


class SC:
    name = "sc"

    def constrain(self, execution: Execution) -> Constraints:
        alg = Algebra(execution)
        com = alg.union(alg.rf, alg.co, alg.fr)
        axioms = [("sc", alg.acyclic(alg.po | com, "sc")),
                  ("atomicity", alg.empty(atomicity(alg)))]
        return Constraints(axioms=[("definitions", alg.definitions())] + axioms)

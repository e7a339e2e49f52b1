"""Shared subexpressions: which nodes of an expression DAG generated code gives a temporary.

Lowering under a memory model builds DAGs: a load's value is a case split over the store
buffer, and every later expression that uses the value refers to that one node. Written out as
a tree, the code grows with the product of CPUs, buffer entries and accesses per step (issue
13: `x := a[x]` three times in one step under tso); with one temporary per shared node it grows
with the DAG (as Amaranth's `def_var`).

A temporary must not change what an expression means (`ir.ops`): `and`/`or`, `ite` and
`select` evaluate only the operands they need, and a partial operator that is never evaluated
never fails. A shared node is computed once before the statement that uses it, children first;
one that cannot fail is just computed (it is pure: computing it where the tree would not is
only work), one that can fail is computed with its failure caught and kept, and a use raises
the kept failure where the tree would have evaluated the node: so it fails exactly where, and
with what, the tree fails. Each use is a name, so the code grows with the DAG.
"""
from __future__ import annotations

from typing import Callable, Sequence

from smp_explorer.ir.expr import Expr, Op, nodes



def worth_naming(e: Op) -> bool:
    """A node whose subtree is more than one operator over leaves (cheaper to repeat)."""
    return any(isinstance(a, Op) for a in e.args)


def shared(roots: Sequence[Expr], bound: Callable[[Op], bool] = lambda e: False) -> list[Op]:
    """The nodes one statement evaluating `roots` uses more than once (counting each root
    once more), children before parents; nodes for which `bound(node)` (a temporary of the
    enclosing code) are leaves."""
    uses: dict[int, int] = {}
    seen: set[int] = set()
    for root in roots:
        if isinstance(root, Op):
            uses[id(root)] = uses.get(id(root), 0) + 1
    stack: list[Expr] = [r for r in roots if isinstance(r, Op)]
    while stack:
        x = stack.pop()
        if not isinstance(x, Op) or id(x) in seen or bound(x):
            continue
        seen.add(id(x))
        for a in x.args:
            if isinstance(a, Op):
                uses[id(a)] = uses.get(id(a), 0) + 1
                stack.append(a)
    return [x for x in nodes(*roots) if id(x) in seen and uses[id(x)] > 1 and worth_naming(x)
            and not bound(x)]

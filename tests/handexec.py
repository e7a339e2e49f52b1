"""A hand-built Execution for the axiomatic models' tests (the Execution protocol of
invariants/axiomatic/execution.py, independent of the front half that builds them from specs).

    b = Builder()
    p0, p1 = b.cpu(), b.cpu()
    p0.write("x", 1); p0.write("y", 1, "Release")
    r1 = p1.read("y", "Acquire"); r2 = p1.read("x")
    ex = b.build()
    allowed(SC(), ex, ex.reads(r1, 1), ex.reads(r2, 0))

Straight-line code only: every event executes. rf and co are free Z3 choices with the
well-formedness the contract promises (each read reads exactly one write of its location; co
a strict total order per location, the initial write first). A read's value is the value of
the write it reads from (an RMW's write stores a constant given when it is built)."""
from __future__ import annotations

from typing import Sequence

import z3

from smp_explorer.invariants.axiomatic.execution import (FENCE, READ, WRITE, AxiomaticModel,
                                                         Event)


class Cpu:
    def __init__(self, b: "Builder", tid: int):
        self.b, self.tid = b, tid

    def _event(self, kind: str, tags: Sequence[str], loc: str | None, value: int | None) -> int:
        return self.b._add(self.tid, kind, tags, loc, value)

    def read(self, loc: str, *tags: str) -> int:
        return self._event(READ, tags or ("Once",), loc, None)

    def write(self, loc: str, value: int, *tags: str) -> int:
        return self._event(WRITE, tags or ("Once",), loc, value)

    def fence(self, *tags: str, loc: str | None = None) -> int:
        return self._event(FENCE, tags, loc, None)

    def rmw(self, loc: str, value: int, *tags: str) -> tuple[int, int]:
        """An atomic exchange storing `value` (tags on both events, e.g. "Once")."""
        r = self._event(READ, tags or ("Once",), loc, None)
        w = self._event(WRITE, tags or ("Once",), loc, value)
        self.b.relations["rmw"].add((r, w))
        return r, w

    def lock(self, loc: str) -> tuple[int, int]:
        """spin_lock: LKR (Acquire, reads 0) and LKW (writes 1), an rmw pair."""
        r = self._event(READ, ("LKR", "Acquire"), loc, None)
        w = self._event(WRITE, ("LKW", "Once"), loc, 1)
        self.b.relations["rmw"].add((r, w))
        self.b.assumptions.append(self.b.value(r) == 0)
        return r, w

    def unlock(self, loc: str) -> int:
        return self._event(WRITE, ("UL", "Release"), loc, 0)


class Builder:
    def __init__(self) -> None:
        self.ctx = z3.Context()
        self.events: list[Event] = []
        self.values: dict[int, int] = {}
        self.cpus = 0
        self.relations: dict[str, set[tuple[int, int]]] = {
            n: set() for n in ("addr", "data", "ctrl", "rmw", "rcu-rscs", "srcu-rscs")}
        self.assumptions: list[z3.BoolRef] = []
        self._pending: list[tuple[int, str, tuple[str, ...], str | None, int | None]] = []
        self._vals: dict[int, z3.ArithRef] = {}

    def cpu(self) -> Cpu:
        self.cpus += 1
        return Cpu(self, self.cpus - 1)

    def _add(self, tid: int, kind: str, tags: Sequence[str], loc: str | None,
             value: int | None) -> int:
        self._pending.append((tid, kind, tuple(tags), loc, value))
        return len(self._pending) - 1    # a provisional id, renumbered after the initial writes

    def dep(self, kind: str, a: int, b: int) -> None:
        self.relations[kind].add((a, b))

    def rscs(self, lock: int, unlock: int, srcu: bool = False) -> None:
        self.relations["srcu-rscs" if srcu else "rcu-rscs"].add((lock, unlock))

    def value(self, r: int) -> z3.ArithRef:
        v = self._vals.get(r)
        if v is None:
            v = z3.Int(f"val{r}", self.ctx)
            self._vals[r] = v
        return v

    def build(self, init: dict[str, int] | None = None) -> "HandExecution":
        return HandExecution(self, init or {})


class HandExecution:
    def __init__(self, b: Builder, init: dict[str, int]):
        self.ctx = b.ctx
        locs = sorted({loc for (_, k, _, loc, _) in b._pending if loc is not None and k != FENCE})
        self.events: list[Event] = []
        values: dict[int, int] = {}
        for loc in locs:
            values[len(self.events)] = init.get(loc, 0)
            self.events.append(Event(len(self.events), -1, WRITE, frozenset({"IW"}), (loc,)))
        k = len(self.events)
        self.ids = [k + i for i in range(len(b._pending))]   # provisional id -> event id
        for i, (tid, kind, tags, loc, value) in enumerate(b._pending):
            self.events.append(Event(k + i, tid, kind, frozenset(tags),
                                     (loc,) if loc is not None else ()))
            if value is not None:
                values[k + i] = value
        self.values = values
        shift = {n: frozenset((self.ids[x], self.ids[y]) for (x, y) in rel)
                 for n, rel in b.relations.items()}
        po = {(a.id, c.id) for a in self.events for c in self.events
              if a.thread >= 0 and a.thread == c.thread and a.id < c.id}
        shift["po"] = frozenset(po)
        shift["int"] = frozenset((a.id, c.id) for a in self.events for c in self.events
                                 if a.thread >= 0 and a.thread == c.thread)
        self._static = shift
        self._rf: dict[tuple[int, int], z3.BoolRef] = {}
        self._pos: dict[int, z3.ArithRef] = {}
        self.wf: list[z3.BoolRef] = []
        reads = [e for e in self.events if e.kind == READ]
        writes = [e for e in self.events if e.kind == WRITE]
        for w in writes:
            self._pos[w.id] = z3.Int(f"co{w.id}", self.ctx)
            if "IW" in w.tags:
                self.wf.append(self._pos[w.id] == 0)
            else:
                self.wf.append(self._pos[w.id] > 0)
        for loc in locs:
            ws = [w.id for w in writes if w.locations == (loc,)]
            if len(ws) > 1:
                self.wf.append(z3.Distinct(*[self._pos[w] for w in ws]))
        self.val: dict[int, z3.ArithRef] = {}
        for r in reads:
            choices = []
            val = b.value(self.ids.index(r.id))
            self.val[r.id] = val
            for w in writes:
                if w.locations == r.locations:
                    v = z3.Bool(f"rf{w.id}_{r.id}", self.ctx)
                    self._rf[(w.id, r.id)] = v
                    choices.append(v)
                    self.wf.append(z3.Implies(v, val == values[w.id]))
            self.wf.append(z3.PbEq([(c, 1) for c in choices], 1))
        self.wf.extend(b.assumptions)

    def eid(self, provisional: int) -> int:
        return self.ids[provisional]

    def executed(self, e: int) -> z3.BoolRef:
        return z3.BoolVal(True, self.ctx)

    def same_location(self, a: int, b: int) -> z3.BoolRef:
        ea, eb = self.events[a], self.events[b]
        same = ea.kind != FENCE and eb.kind != FENCE and ea.locations == eb.locations
        return z3.BoolVal(same, self.ctx)

    def rf(self, w: int, r: int) -> z3.BoolRef | None:
        return self._rf.get((w, r))

    def co(self, w1: int, w2: int) -> z3.BoolRef | None:
        if w1 not in self._pos or w2 not in self._pos or w1 == w2:
            return None
        if self.events[w1].locations != self.events[w2].locations:
            return None
        return self._pos[w1] < self._pos[w2]

    def static(self, name: str) -> frozenset[tuple[int, int]]:
        return self._static[name]

    # -- outcomes, by provisional ids as the Cpu methods return them
    def reads(self, r: int, value: int) -> z3.BoolRef:
        return self.val[self.ids[r]] == value

    def final(self, loc: str, value: int) -> z3.BoolRef:
        """The co-last write of loc stores value."""
        ws = [e.id for e in self.events if e.kind == WRITE and e.locations == (loc,)]
        return z3.Or(*[z3.And(z3.BoolVal(self.values[w] == value, self.ctx),
                              *[self._pos[o] < self._pos[w] for o in ws if o != w])
                       for w in ws])


def solver(model: AxiomaticModel, ex: HandExecution, *outcome: z3.BoolRef,
           flag: str | None = None) -> z3.Solver:
    c = model.constrain(ex)
    s = z3.Solver(ctx=ex.ctx)
    s.add(*ex.wf)
    for _, ax in c.axioms:
        s.add(ax)
    s.add(*outcome)
    if flag is not None:
        s.add(c.flags[flag])
    return s


def allowed(model: AxiomaticModel, ex: HandExecution, *outcome: z3.BoolRef,
            flag: str | None = None) -> bool:
    """Whether some execution consistent with the model has the outcome (and raises the flag)."""
    r = solver(model, ex, *outcome, flag=flag).check()
    assert r in (z3.sat, z3.unsat), r
    return r == z3.sat

"""A spec lowered to memory events (spec/memory/events.py) -> ONE symbolic candidate execution.

Each process instance is unrolled into a tree of step instances: a node is the process at a
label with its locals as Z3 terms; its children are the actions of that label (the paths
through the step). At each node a selector picks one action or none: a process may stop at
any point, so every prefix of an execution is a candidate too (what safety properties over a
process's steps need; a final-state condition asks every process to be Done). An action taken
needs its guard (its `if` conditions and `await`s: an `await` is an assumption on the values
read, so a spin-wait costs no unrolling); its events happen where it is taken (and their own
condition, a cmpxchg's success, holds); its updates give the child's locals. A label reached
for the (K+1)-th time on a path is not expanded: reaching it is the unwinding condition, and a
property can then only be `bounded`.

The tree (no merging of paths) keeps dependencies exact: a value read flows through locals as
the set of reads it was computed from (syntactically, as herd7 does): addr (into an access's
index), data (into a written value or an RMW's operand) and ctrl (into a condition of the path
before an event: every event after an `if`, an `await` or a loop test on it).

rf: one Boolean per (write, read) that may share a location, exactly one for each executed
read, implying the same location and value; co: an integer position per write (the initial
write 0), distinct among the executed writes of one location. Ghost `var`s (global, not
`shared`) may be used by one process only (they are then that process's locals: no ordering).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import z3

from smp_explorer.invariants.axiomatic import terms as zt
from smp_explorer.invariants.axiomatic.execution import FENCE, READ, WRITE, Event
from smp_explorer.invariants.z3enc import Bool, Encoder, SymState
from smp_explorer.ir import expr as ir
from smp_explorer.ir.expr import Expr, Ref, slots_read
from smp_explorer.ir.model import Action, Model, StepEvent
from smp_explorer.ir.span import Span
from smp_explorer.spec.errors import SpecError

MAX_NODES = 20000  # step instances over all processes: beyond, the unrolling is refused


@dataclass
class Node:
    """A process at a label, on one path of its unrolling."""

    thread: int
    label: int                       # index into the process's labels (its pc value)
    active: z3.BoolRef               # the process gets here
    values: dict[int, z3.ArithRef]   # its locals (and owned ghosts) here
    taint: dict[int, frozenset[int]]  # which reads each local's value was computed from
    ctrl: frozenset[int]             # reads the path's conditions so far depend on
    visits: dict[int, int]           # how often each label was entered on the path
    before: tuple[int, ...]          # the thread's events on the path so far
    rcu: tuple[tuple[int | None, int], ...]  # open RCU/SRCU sections: (srcu slot, lock event)
    path: frozenset[int] = frozenset()  # serials of the edges taken from the root to here
    edges: list["Edge"] = field(default_factory=list)


@dataclass
class Edge:
    """One action taken at a node."""

    node: Node
    action: Action
    taken: z3.BoolRef
    state: SymState
    failures: dict[str, Bool]
    events: list[int]
    serial: int = 0                  # this edge's number among all edges (Built._edges)


@dataclass
class MemEvent:
    """The engine's view of an event: the contract's `Event` plus its terms."""

    event: Event
    executed: z3.BoolRef
    addr: z3.ArithRef | None = None      # its location's number (None: a fence)
    value: z3.ArithRef | None = None
    slots: tuple[int, ...] = ()
    edge: Edge | None = None
    source: StepEvent | None = None


class Built:
    """The candidate execution of a lowered model (implements execution.Execution) and the
    terms the engine asks about: unrolled nodes, final values, the unwinding condition."""

    def __init__(self, model: Model, unroll: int):
        if unroll < 1:
            raise SpecError(f"--unroll must be at least 1, not {unroll}")
        self.model = model
        self.unroll = unroll
        self.enc = Encoder(model)
        self.ctx = self.enc.ctx
        self.mem: list[MemEvent] = []
        self.facts: list[Bool] = []       # well-formedness: must hold in every candidate
        self.nodes: list[Node] = []
        self.bound_nodes: list[Node] = []
        self._edges = 0
        # per event: the serials of the edges on its path (its own included) and of its own
        # edge (-1: an initial write); see exclusive()
        self._path: list[frozenset[int]] = []
        self._edge_of: list[int] = []
        self._thread: list[int] = []
        self.done_nodes: list[list[Node]] = [[] for _ in model.processes]
        self._static: dict[str, set[tuple[int, int]]] = {
            n: set() for n in ("po", "addr", "data", "ctrl", "rmw", "int", "rcu-rscs",
                               "srcu-rscs")}
        self.shared = [s.index for s in model.slots if s.shared]
        self.address = {s: k for k, s in enumerate(self.shared)}
        self._refuse_actions()
        self.owner = self._owners()
        # the slots holding values read (fresh per step instance, never a node's local)
        self.read_slots = {e.value.slot for a in model.actions for e in a.events
                           if e.kind == READ and isinstance(e.value, Ref)}
        self._initial_writes()
        for t, inst in enumerate(model.processes):
            self._unroll(t)
        # whether some process's tree branches (else no two events are exclusive)
        self.branching = any(len(n.edges) > 1 for n in self.nodes)
        self.events: Sequence[Event] = [m.event for m in self.mem]
        self._rf: dict[tuple[int, int], z3.BoolRef] = {}
        self._pos: dict[int, z3.ArithRef] = {}
        self._relations()
        self.final = self._final_values()

    # ---- checks -------------------------------------------------------------------------
    def _refuse_actions(self) -> None:
        for a in self.model.actions:
            if a.process is None:
                raise SpecError(f"a TLA+-style action ('{a.name}') changes memory atomically, "
                                "which has no meaning in an axiomatic memory model; write it "
                                "as a process", a.span)

    def _owners(self) -> dict[int, int]:
        """Non-shared slots -> the thread that may use them (locals, pcs, read values, and
        ghost `var`s used by one process only)."""
        procs = {p.name: t for t, p in enumerate(self.model.processes)}
        owner: dict[int, int] = {}
        users: dict[int, set[int]] = {}
        for a in self.model.actions:
            t = procs[a.process] if a.process is not None else -1
            used: set[int] = set()
            for e in self._action_exprs(a):
                slots_read(e, used)
            used.update(slot for slot, _ in a.updates)
            for slot in used:
                users.setdefault(slot, set()).add(t)
        for sd in self.model.slots:
            if sd.shared:
                continue
            if sd.owner is not None:
                owner[sd.index] = procs[sd.owner]
                continue
            who = users.get(sd.index, set())
            if len(who) > 1:
                names = sorted(self.model.processes[u].name for u in who)
                raise SpecError(f"ghost var '{sd.name}' is used by {', '.join(names)}: a "
                                "variable several processes share without the memory model "
                                "would order them, which an axiomatic model cannot express; "
                                "declare it `shared` (a memory location) or use one per "
                                "process", self._decl_span(sd.var))
            if who:
                owner[sd.index] = next(iter(who))
        return owner

    def _decl_span(self, name: str) -> Span | None:
        import re
        for i, line in enumerate(self.model.source.splitlines(), 1):
            m = re.search(rf"\bvar\s+{re.escape(name)}\b", line)
            if m:
                return Span(self.model.name, i, m.start(m.lastindex or 0) + 1, i,
                            m.end() + 1)
        return None

    @staticmethod
    def _action_exprs(a: Action) -> list[Expr]:
        out = [a.guard, *(e for _, e in a.updates)]
        for c in a.checks:
            out.append(c.cond)
            if c.value is not None:
                out.append(c.value)
        for e in a.events:
            out.extend(x for x in (e.index, e.value, e.when, *e.deps) if x is not None)
        return out

    # ---- events ---------------------------------------------------------------------------
    def _add(self, thread: int, kind: str, tags: frozenset[str], executed: z3.BoolRef,
             slots: tuple[int, ...], addr: z3.ArithRef | None, value: z3.ArithRef | None,
             span: Span | None = None, label: str | None = None, text: str = "",
             edge: Edge | None = None, source: StepEvent | None = None) -> int:
        eid = len(self.mem)
        names = tuple(self.model.slots[s].name for s in slots)
        self.mem.append(MemEvent(Event(eid, thread, kind, tags, names, span, label, text),
                                 executed, addr, value, slots, edge, source))
        self._thread.append(thread)
        self._edge_of.append(edge.serial if edge is not None else -1)
        self._path.append(edge.node.path | {edge.serial} if edge is not None else frozenset())
        return eid

    def _initial_writes(self) -> None:
        for s in self.shared:
            values = self.model.init_values[s]
            v = self.enc.num(values[0])
            if len(values) > 1:
                v = self.enc.var(f"init:{self.model.slots[s].name}")
                self.facts.append(zt.or_(self.ctx, [zt.eq(self.ctx, v, self.enc.num(x))
                                                    for x in values]))
            self._add(-1, WRITE, frozenset({"IW"}), zt.true(self.ctx), (s,),
                      self.enc.num(self.address[s]), v, text=f"{self.model.slots[s].name} = "
                      f"{values[0] if len(values) == 1 else '?'}")

    # ---- unrolling ------------------------------------------------------------------------
    def _unroll(self, t: int) -> None:
        inst = self.model.processes[t]
        values: dict[int, z3.ArithRef] = {}
        for s, who in self.owner.items():
            if who != t or s == inst.pc_slot or s in self.read_slots:
                continue
            init = self.model.init_values[s]
            if len(init) == 1:
                values[s] = self.enc.num(init[0])
            else:
                v = self.enc.var(f"{self.model.slots[s].name}@init")
                self.facts.append(zt.or_(self.ctx, [zt.eq(self.ctx, v, self.enc.num(x))
                                                    for x in init]))
                values[s] = v
        start = self.model.init_values[inst.pc_slot][0]
        root = Node(t, start, zt.true(self.ctx), values, {}, frozenset(), {}, (), ())
        todo = [root]
        by_label: dict[str, list[Action]] = {}
        for a in self.model.actions:
            if a.process == inst.name and a.label is not None:
                by_label.setdefault(a.label, []).append(a)
        while todo:
            node = todo.pop()
            self.nodes.append(node)
            if len(self.nodes) > MAX_NODES:
                raise SpecError(f"the unrolling of {inst.name} has more than {MAX_NODES} step "
                                "instances (every path through if/either/with is kept apart); "
                                "lower --unroll or simplify the branching",
                                inst.label_spans.get(inst.labels[node.label]))
            if node.label == inst.done:
                self.done_nodes[t].append(node)
                continue
            label = inst.labels[node.label]
            if node.visits.get(node.label, 0) >= self.unroll:
                self.bound_nodes.append(node)
                continue
            visits = {**node.visits, node.label: node.visits.get(node.label, 0) + 1}
            sel = zt.int_const(self.ctx, f"{inst.name}@{len(self.nodes)}")
            for k, a in enumerate(by_label.get(label, [])):
                taken = zt.and_(self.ctx, node.active,
                                zt.eq(self.ctx, sel, zt.int_num(self.ctx, k)))
                child = self._take(node, a, taken, visits, len(self.nodes))
                if child is not None:
                    todo.append(child)

    def _take(self, node: Node, a: Action, taken: z3.BoolRef, visits: dict[int, int],
              serial: int) -> Node | None:
        t = node.thread
        inst = self.model.processes[t]
        terms: list[z3.ArithRef] = []
        taint = dict(node.taint)
        for s in self.model.slots:
            if s.index in node.values:
                terms.append(node.values[s.index])
            elif s.index == inst.pc_slot:
                terms.append(self.enc.num(node.label))
            else:
                terms.append(self.enc.var(f"{s.name}@{serial}:{a.index}"))
        for e in self._action_exprs(a):
            for slot in slots_read(e):
                if slot not in node.values and slot != inst.pc_slot and \
                        self.owner.get(slot) != t:
                    what = "shared memory outside its accesses" \
                        if self.model.slots[slot].shared else f"'{self.model.slots[slot].name}'"
                    raise SpecError(f"this step of {inst.name} reads {what}, which the "
                                    "axiomatic engine cannot order", a.span)
        st = SymState(self.enc, f"{inst.name}@{serial}:{a.index}", terms)
        terms_ = self.enc.action(a, st)
        # the action needs its guard (or, a runtime error, a guard that cannot be evaluated)
        ctx = self.ctx
        self.facts.append(zt.implies(ctx, taken, zt.or_(ctx, [
            self.enc.term(terms_.enabled),
            zt.not_(ctx, self.enc.term(terms_.guard_defined))])))
        self._edges += 1
        edge = Edge(node, a, taken, st, terms_.failures, [], self._edges)
        node.edges.append(edge)
        before = list(node.before)
        rcu = list(node.rcu)
        read_slot: dict[int, list[int]] = {}   # a read's value slot -> its events
        for se in a.events:
            if se.kind == READ:
                assert isinstance(se.value, Ref)
                read_slot.setdefault(se.value.slot, [])
        for i, se in enumerate(a.events):
            executed = zt.and_(ctx, taken, self.enc.term(self.enc.holds(se.when, st)))
            addr = value = None
            if se.kind != FENCE:
                sel_expr = ir.op("select", se.index, *(ir.Const(self.address[s])
                                                       for s in se.slots)) \
                    if se.index is not None else ir.Const(self.address[se.slots[0]])
                addr = self.enc.value(sel_expr, st)
                assert se.value is not None
                value = self.enc.value(se.value, st)
            slots = (se.srcu,) if se.srcu is not None else se.slots  # SRCU: its struct
            eid = self._add(t, se.kind, se.tags, executed, slots, addr, value, se.span,
                            inst.labels[node.label], se.text, edge, se)
            edge.events.append(eid)
            if se.kind == READ:
                assert isinstance(se.value, Ref)
                read_slot[se.value.slot].append(eid)
                taint[se.value.slot] = frozenset(read_slot[se.value.slot])
            # dependencies
            ctrl = set(node.ctrl) | self._taint(se.ctrl, taint)
            own: frozenset[int] = frozenset()
            if se.rmw and i > 0 and a.events[i - 1].kind == READ:
                prev = a.events[i - 1].value
                assert isinstance(prev, Ref)
                own = taint.get(prev.slot, frozenset())
            ctrl -= own
            for r in ctrl:
                self._static["ctrl"].add((r, eid))
            if se.index is not None:
                for r in self._taint(se.index, taint) - own:
                    self._static["addr"].add((r, eid))
            if se.kind == WRITE:
                data: set[int] = set()
                for x in (se.value, *se.deps):
                    if x is not None:
                        data |= self._taint(x, taint)
                for r in data - own:
                    self._static["data"].add((r, eid))
                if se.rmw:
                    for r in own:
                        self._static["rmw"].add((r, eid))
            for b in before:
                self._static["po"].add((b, eid))
            before.append(eid)
            self._rcu(se, eid, rcu)
        # the next node
        child_active = zt.and_(ctx, taken, self.enc.term(terms_.fires))
        pc_next = dict(a.updates).get(inst.pc_slot, ir.Const(node.label))
        if not isinstance(pc_next, ir.Const):  # pragma: no cover - the lowering sets labels
            raise SpecError("a step's next label is not fixed", a.span)
        values = dict(node.values)
        new_taint = dict(taint)
        for slot, e in a.updates:
            if slot == inst.pc_slot:
                continue
            values[slot] = terms_.next[slot]
            new_taint[slot] = frozenset(self._taint(e, taint))
        ctrl_next = set(node.ctrl) | self._taint(a.guard, taint)
        return Node(t, pc_next.value, child_active, values, new_taint, frozenset(ctrl_next),
                    visits, tuple(before), tuple(rcu), node.path | {edge.serial})

    @staticmethod
    def _taint(e: Expr, taint: dict[int, frozenset[int]]) -> set[int]:
        out: set[int] = set()
        for s in slots_read(e):
            out |= taint.get(s, frozenset())
        return out

    def _rcu(self, se: StepEvent, eid: int, rcu: list[tuple[int | None, int]]) -> None:
        """Match read-side critical sections like parentheses (per srcu_struct for SRCU)."""
        if "Rcu-lock" in se.tags or "Srcu-lock" in se.tags:
            rcu.append((se.srcu, eid))
        elif "Rcu-unlock" in se.tags or "Srcu-unlock" in se.tags:
            for k in range(len(rcu) - 1, -1, -1):
                if rcu[k][0] == se.srcu:
                    name = "srcu-rscs" if se.srcu is not None else "rcu-rscs"
                    self._static[name].add((rcu[k][1], eid))
                    del rcu[k]
                    return
            what = "srcu_read_unlock()" if se.srcu is not None else "rcu_read_unlock()"
            raise SpecError(f"{what} without a matching lock before it on this path", se.span)

    # ---- exclusive paths ------------------------------------------------------------------
    def exclusive(self, a: int, b: int) -> bool:
        """Whether events a and b can never both execute because they lie on two different
        paths of one process's tree: neither one's edge is on the other's path from the root.

        Proof: let n be the last node the two paths share; they leave n by two different edges
        (an edge's events lie on the path through it, so neither edge is the other's ancestor).
        An edge's `taken` is `n.active & sel_n == k` with k its action's position, an event's
        `executed` implies its edge's `taken`, and a child's `active` implies the `taken` of
        the edge that made it; so executed(a) implies sel_n == k1 and executed(b) implies
        sel_n == k2 with k1 != k2. Hence executed(a) & executed(b) is unsatisfiable on its own,
        and every pair term of every relation (relalg: a pair's term implies that both events
        execute; a one-directional var may always take its least value, false here) is false
        for (a, b): dropping such pairs from rf, co, the static relations and every may set
        removes nothing any execution has. Initial writes and different processes: never."""
        ea, eb = self._edge_of[a], self._edge_of[b]
        if ea < 0 or eb < 0 or ea == eb or self._thread[a] != self._thread[b]:
            return False
        return ea not in self._path[b] and eb not in self._path[a]

    # ---- rf, co, final values -----------------------------------------------------------
    def _relations(self) -> None:
        ctx = self.ctx
        writes = [m for m in self.mem if m.event.kind == WRITE]
        for w in writes:
            if w.event.thread < 0:
                self._pos[w.event.id] = zt.int_num(ctx, 0)
            else:
                p = self._pos[w.event.id] = zt.int_const(ctx, f"co#{w.event.id}")
                self.facts.append(zt.ge(ctx, p, zt.int_num(ctx, 1)))
        for i, a in enumerate(writes):
            for b in writes[i + 1:]:
                if set(a.slots) & set(b.slots) and not (a.event.thread < 0 and
                                                        b.event.thread < 0) \
                        and not self.exclusive(a.event.id, b.event.id):
                    self.facts.append(zt.implies(
                        ctx, zt.and_(ctx, a.executed, b.executed, zt.eq(ctx, a.addr, b.addr)),
                        zt.distinct(ctx, self._pos[a.event.id], self._pos[b.event.id])))
        for r in self.mem:
            if r.event.kind != READ:
                continue
            choices = []
            for w in writes:
                if not set(w.slots) & set(r.slots) or self.exclusive(w.event.id, r.event.id):
                    continue
                v = zt.bool_const(ctx, f"rf#{w.event.id}>{r.event.id}")
                self._rf[(w.event.id, r.event.id)] = v
                choices.append(v)
                self.facts.append(zt.implies(ctx, v, zt.and_(
                    ctx, w.executed, r.executed, zt.eq(ctx, w.addr, r.addr),
                    zt.eq(ctx, w.value, r.value))))
            self.facts.append(zt.implies(ctx, r.executed, zt.or_(ctx, choices + [zt.false(ctx)])))
            if len(choices) > 1:
                self.facts.append(zt.at_most_one(ctx, choices))
        for m in self.mem:
            for n in self.mem:
                if m.event.thread == n.event.thread >= 0 and m is not n \
                        and not self.exclusive(m.event.id, n.event.id):
                    self._static["int"].add((m.event.id, n.event.id))

    def _final_values(self) -> dict[int, z3.ArithRef]:
        """Each shared slot's value after the execution: its coherence-last write's."""
        final: dict[int, z3.ArithRef] = {}
        ctx = self.ctx
        writes = [m for m in self.mem if m.event.kind == WRITE]
        for s in self.shared:
            v = final[s] = self.enc.var(f"final:{self.model.slots[s].name}")
            mine = [w for w in writes if s in w.slots]
            for w in mine:
                here = zt.and_(ctx, w.executed,
                               zt.eq(ctx, w.addr, self.enc.num(self.address[s])))
                later = [zt.and_(ctx, o.executed, zt.eq(ctx, o.addr, w.addr),
                                 zt.gt(ctx, self._pos[o.event.id], self._pos[w.event.id]))
                         for o in mine
                         if o is not w and not self.exclusive(o.event.id, w.event.id)]
                last = zt.and_(ctx, here, zt.not_(ctx, zt.or_(ctx, later + [zt.false(ctx)])))
                self.facts.append(zt.implies(ctx, last, zt.eq(ctx, v, w.value)))
        return final

    # ---- execution.Execution --------------------------------------------------------------
    def executed(self, e: int) -> z3.BoolRef:
        return self.mem[e].executed

    def same_location(self, a: int, b: int) -> z3.BoolRef:
        x, y = self.mem[a], self.mem[b]
        if x.addr is None or y.addr is None or not set(x.slots) & set(y.slots):
            return zt.false(self.ctx)
        return zt.eq(self.ctx, x.addr, y.addr)

    def rf(self, w: int, r: int) -> z3.BoolRef | None:
        return self._rf.get((w, r))

    def co(self, w1: int, w2: int) -> z3.BoolRef | None:
        a, b = self.mem[w1], self.mem[w2]
        if a.event.kind != WRITE or b.event.kind != WRITE or w1 == w2 or \
                b.event.thread < 0 or not set(a.slots) & set(b.slots) or \
                self.exclusive(w1, w2):
            return None
        return zt.and_(self.ctx, a.executed, b.executed, zt.eq(self.ctx, a.addr, b.addr),
                       zt.lt(self.ctx, self._pos[w1], self._pos[w2]))

    def static(self, name: str) -> frozenset[tuple[int, int]]:
        return frozenset(self._static[name])

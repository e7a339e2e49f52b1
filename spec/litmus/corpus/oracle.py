"""An independent, axiomatic reference for x86 litmus tests under sc, tso, pso and weak.

It shares nothing with the explorer but the parser: it enumerates candidate executions (a
coherence order per location, a write for every read) and keeps those that are coherent
(acyclic po-loc | rf | co | fr), atomic (an RMW reads from its immediate co-predecessor) and
acyclic in the model's order (memory-models.md):

* sc:   po | rf | co | fr;
* tso:  po minus W->R pairs (unless an MFENCE lies between or either end is a locked RMW)
        | rfe | co | fr                                  (herd's x86tso.cat);
* pso:  as tso without W->W pairs (unless fenced or locked);
* weak: as pso without R->R pairs either (Decision 2: a read may return an older value unless
        a full fence or a locked RMW orders it; writes still enter memory after the reads that
        precede them, so R->W pairs stay ordered: no LB).

Only programs made of MOV loads/stores/immediates, MFENCE (LFENCE/SFENCE are no-ops here) and
locked RMWs (XCHG with memory, LOCK ADD/SUB/XADD/INC/DEC/CMPXCHG) are handled: `verdict` raises
`Unsupported` for anything else. Used by the corpus test to check the weak model on the x86
tests Decision 2's named classes do not cover, after the same code reproduces every sc, tso and
pso= verdict of MANIFEST.tsv.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from smp_explorer.spec.litmus.test import Addr, And, Asm, Atom, Const, LitmusTest, Not, Or, Prop, Ref, Reg, \
    Unsupported

MODELS = ("sc", "tso", "pso", "weak")


@dataclass
class _Ev:
    tid: int
    index: int           # position in program order
    kind: str            # R | W | U (locked RMW: both) | F
    loc: str             # "" for fences and register instructions
    asm: Asm


def _events(test: LitmusTest) -> list[list[_Ev]]:
    threads = []
    for th in test.threads:
        evs: list[_Ev] = []
        if len(th.instructions) != len(th.body):
            raise Unsupported("not an x86 test")
        for ins in th.instructions:
            kind = {"store": "W", "load": "R", "rmw": "U", "fence": "F", "move": None,
                    "alu": None, "nop": None}[ins.kind]
            if ins.kind == "fence" and ins.op != "full":
                continue
            if ins.kind == "alu" and ins.op not in ("add", "sub"):
                raise Unsupported(f"instruction {ins.text}")
            evs.append(_Ev(th.index, len(evs), kind or "L", ins.loc or "", ins))
        threads.append(evs)
    return threads


def verdict(test: LitmusTest, model: str) -> str:
    """Allowed / Forbidden (exists, ~exists, final) or Always / Not always (forall)."""
    if test.is_c:
        raise Unsupported("C tests")
    threads = _events(test)
    evs = [e for t in threads for e in t]
    writes: dict[str, list[_Ev]] = {}
    reads: list[_Ev] = []
    for e in evs:
        if e.kind in ("W", "U"):
            writes.setdefault(e.loc, []).append(e)
        if e.kind in ("R", "U"):
            reads.append(e)
    locs = sorted(set(test.locations) | set(writes))
    quant = test.condition.quantifier
    found_sat = found_unsat = False
    # co: a permutation of the writes of each location (the initial write comes first)
    co_choices = [list(itertools.permutations(writes.get(loc, []))) for loc in locs]
    rf_choices: list[list[_Ev | None]] = [[None, *writes.get(r.loc, [])] for r in reads]
    for cos in itertools.product(*co_choices):
        co = {loc: list(order) for loc, order in zip(locs, cos)}
        pos = {id(w): k for loc in locs for k, w in enumerate(co[loc])}
        for rfs in itertools.product(*rf_choices):
            rf = {id(r): w for r, w in zip(reads, rfs)}
            if not _atomic(reads, rf, pos):
                continue
            state = _evaluate(test, threads, rf, co)
            if state is None:
                continue
            if not _consistent(threads, evs, rf, co, pos, model):
                continue
            regs, mem = state
            sat = _holds(test.condition.prop, regs, mem, test)
            if test.condition.filter is not None and not _holds(test.condition.filter, regs,
                                                                  mem, test):
                continue
            if sat:
                found_sat = True
            else:
                found_unsat = True
            if quant != "forall" and found_sat or quant == "forall" and found_unsat:
                break
        else:
            continue
        break
    if quant == "forall":
        return "Not always" if found_unsat else "Always"
    return "Allowed" if found_sat else "Forbidden"


def _atomic(reads, rf, pos) -> bool:
    for r in reads:
        if r.kind == "U":
            src = rf[id(r)]
            want = pos[id(r)] - 1
            if (src is None and want != -1) or (src is not None and pos[id(src)] != want):
                return False
    return True


def _value(v, regs: dict) -> int:
    if isinstance(v, Reg):
        return regs.get(v.name, 0)
    if isinstance(v, Addr):
        raise Unsupported("pointers")
    return v


def _evaluate(test: LitmusTest, threads, rf, co):
    """Register values and final memory, or None when the reads-from is cyclic in values."""
    regs: list[dict[str, int]] = [{} for _ in threads]
    for (t, r), value in test.registers.items():
        if isinstance(value, Addr):
            raise Unsupported("pointers")
        regs[t][r] = value
    written: dict[int, int] = {}   # id(write event) -> value
    pc = [0] * len(threads)
    init: dict[str, int] = {}
    for loc, v in test.memory.items():
        if isinstance(v, Addr):
            raise Unsupported("pointers")
        init[loc] = v
    progress = True
    while progress:
        progress = False
        for k, evs in enumerate(threads):
            while pc[k] < len(evs):
                e = evs[pc[k]]
                ins, rg = e.asm, regs[k]
                if e.kind in ("R", "U"):
                    src = rf[id(e)]
                    if src is not None and id(src) not in written:
                        break  # wait for the value
                    old = init.get(e.loc, 0) if src is None else written[id(src)]
                    if e.kind == "R":
                        rg[ins.reg] = old
                    else:
                        operand = _value(ins.src, rg)
                        if ins.op == "xchg":
                            new = operand
                        elif ins.op == "cmpxchg":
                            new = operand if old == rg.get(ins.reg, 0) else old
                        elif ins.op in ("add", "xadd"):
                            new = old + operand
                        elif ins.op == "sub":
                            new = old - operand
                        else:
                            raise Unsupported(f"instruction {ins.text}")
                        written[id(e)] = new
                        if ins.reg is not None:
                            rg[ins.reg] = old
                elif e.kind == "W":
                    written[id(e)] = _value(ins.src, rg)
                elif e.kind == "L":
                    if ins.kind == "move":
                        rg[ins.reg] = _value(ins.src, rg)
                    else:
                        sign = 1 if ins.op == "add" else -1
                        rg[ins.reg] = rg.get(ins.reg, 0) + sign * _value(ins.src, rg)
                pc[k] += 1
                progress = True
    if any(pc[k] < len(threads[k]) for k in range(len(threads))):
        return None
    mem = dict(init)
    for loc, order in co.items():
        if order:
            mem[loc] = written[id(order[-1])]
    return regs, mem


def _consistent(threads, evs, rf, co, pos, model: str) -> bool:
    idx = {id(e): n for n, e in enumerate(evs)}
    n = len(evs)
    # communication edges
    com: list[tuple[int, int, bool]] = []   # (from, to, external)
    for loc, order in co.items():
        for a, b in zip(order, order[1:]):
            com.append((idx[id(a)], idx[id(b)], a.tid != b.tid))
    for e in evs:
        if e.kind in ("R", "U"):
            src = rf[id(e)]
            if src is not None and src is not e:
                com.append((idx[id(src)], idx[id(e)], src.tid != e.tid))
            # fr: e reads a value older than every later write of the location
            start = 0 if src is None else pos[id(src)] + 1
            for w in co[e.loc][start:]:
                if w is not e:
                    com.append((idx[id(e)], idx[id(w)], w.tid != e.tid))
    # coherence: po-loc | com acyclic
    edges = [(a, b) for a, b, _ in com]
    for t in threads:
        mems = [e for e in t if e.kind in ("R", "W", "U")]
        for i, a in enumerate(mems):
            for b in mems[i + 1:]:
                if a.loc == b.loc:
                    edges.append((idx[id(a)], idx[id(b)]))
    if _cyclic(n, edges):
        return False
    # the model's order
    edges = []
    for a, b, external in com:
        is_rf = evs[a].kind in ("W", "U") and evs[b].kind in ("R", "U") and \
            rf.get(id(evs[b])) is evs[a]
        if is_rf and not external and model != "sc":
            continue  # store forwarding: an internal read-from orders nothing
        edges.append((a, b))
    for t in threads:
        for i, a in enumerate(t):
            if a.kind not in ("R", "W", "U"):
                continue
            fenced = False
            for b in t[i + 1:]:
                if b.kind == "F":
                    fenced = True
                    continue
                if b.kind not in ("R", "W", "U"):
                    continue
                if _ordered(a.kind, b.kind, fenced, model):
                    edges.append((idx[id(a)], idx[id(b)]))
    return not _cyclic(n, edges)


def _ordered(a: str, b: str, fenced: bool, model: str) -> bool:
    if model == "sc" or fenced or a == "U" or b == "U":
        return True
    if model == "tso":
        return not (a == "W" and b == "R")
    if model == "pso":
        return a == "R"
    if model == "weak":
        return a == "R" and b == "W"
    raise ValueError(model)


def _cyclic(n: int, edges) -> bool:
    succ: dict[int, list[int]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state = [0] * n
    for s in range(n):
        if state[s]:
            continue
        stack = [(s, iter(succ.get(s, ())))]
        state[s] = 1
        while stack:
            v, it = stack[-1]
            for w in it:
                if state[w] == 1:
                    return True
                if state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(succ.get(w, ()))))
                    break
            else:
                state[v] = 2
                stack.pop()
    return False


def _holds(p: Prop, regs, mem, test: LitmusTest) -> bool:
    if isinstance(p, Const):
        return p.value
    if isinstance(p, Not):
        return not _holds(p.prop, regs, mem, test)
    if isinstance(p, And):
        return all(_holds(q, regs, mem, test) for q in p.props)
    if isinstance(p, Or):
        return any(_holds(q, regs, mem, test) for q in p.props)
    assert isinstance(p, Atom)

    def val(x):
        if isinstance(x, Ref):
            return mem.get(x.name, 0) if x.thread is None else regs[x.thread].get(x.name, 0)
        if isinstance(x, Addr):
            raise Unsupported("pointers")
        return x
    eq = val(p.left) == val(p.value)
    return eq if p.op == "=" else not eq

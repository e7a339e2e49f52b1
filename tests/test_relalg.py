"""The relation algebra's Z3 encoding against a plain-Python evaluation of the same expressions.

For every well-formed candidate execution of a few small hand-built Executions (all rf/co
choices, enumerated by Z3 and then fixed), each operator's terms must hold for exactly the pairs
a direct set computation gives (the oracle below: sets of pairs, no Z3), the acyclicity encoding
must be satisfiable exactly when the concrete relation has no cycle (checked by a depth-first
search), and the one-directional closures must admit the exact closure and never a relation
smaller than it."""
from __future__ import annotations

from itertools import product

import pytest
import z3

from handexec import Builder, HandExecution
from smp_explorer.invariants.axiomatic.relalg import Algebra, Rel, scc_pairs, to_z3

Pairs = frozenset[tuple[int, int]]


def _executions():
    # MP with an RMW on x and an address dependency: reads, writes, rmw, po, deps
    b = Builder()
    p, q = b.cpu(), b.cpu()
    p.write("x", 1)
    p.write("y", 1, "Release")
    r0 = q.read("y", "Acquire")
    r1, w1 = q.rmw("x", 2)
    b.dep("addr", r0, r1)
    yield "mp-rmw", b.build()
    # 2+2W with a read on each side: several writes per location, co choices
    b = Builder()
    p, q = b.cpu(), b.cpu()
    p.write("x", 1)
    p.write("y", 2)
    p.read("y")
    q.write("y", 1)
    q.write("x", 2)
    q.read("x")
    yield "2+2W", b.build()


def _concrete(ex: HandExecution, m: z3.ModelRef) -> dict[str, Pairs]:
    """rf, co, fr, po, loc, int, ext of one candidate execution, as plain sets."""
    evs = ex.events
    rf = frozenset(p for p, v in ex._rf.items() if z3.is_true(m.eval(v, model_completion=True)))
    pos = {w: m.eval(v, model_completion=True).as_long() for w, v in ex._pos.items()}
    co = frozenset((a, b) for a in pos for b in pos if a != b
                   and evs[a].locations == evs[b].locations and pos[a] < pos[b])
    fr = frozenset((r, w) for (w0, r) in rf for (a, w) in co if a == w0)
    po = ex.static("po")
    mem = [e.id for e in evs if e.kind != "F"]
    loc = frozenset((a, b) for a in mem for b in mem if evs[a].locations == evs[b].locations)
    ids = [e.id for e in evs]
    int_ = frozenset((a, b) for a in ids for b in ids
                     if evs[a].thread >= 0 and evs[a].thread == evs[b].thread)
    ext = frozenset((a, b) for a in ids for b in ids if a != b and (a, b) not in int_)
    return {"rf": rf, "co": co, "fr": fr, "po": po, "loc": loc, "int": int_, "ext": ext,
            "id": frozenset((a, a) for a in ids)}


def _seq(a: Pairs, b: Pairs) -> Pairs:
    return frozenset((x, z) for (x, y) in a for (y2, z) in b if y == y2)


def _plus(a: Pairs) -> Pairs:
    out = set(a)
    while True:
        new = out | _seq(frozenset(out), frozenset(out))
        if new == out:
            return frozenset(out)
        out = new


def _acyclic(a: Pairs) -> bool:
    return all(x != y for (x, y) in _plus(a))


def _expressions(alg: Algebra, c: dict[str, Pairs]):
    """(name, encoded relation, the same relation computed on the concrete sets)."""
    rf, co, fr, po, loc = c["rf"], c["co"], c["fr"], c["po"], c["loc"]
    R, W = alg.R, alg.W
    rfe = rf & c["ext"]
    yield "rf", alg.rf, rf
    yield "co", alg.co, co
    yield "fr", alg.fr, fr
    yield "po-loc", alg.po & alg.loc, po & loc
    yield "com", alg.union(alg.rf, alg.co, alg.fr), rf | co | fr
    yield "rfe", alg.external(alg.rf), rfe
    yield "rfi", alg.internal(alg.rf), rf & c["int"]
    yield "po \\ po-loc", alg.po - (alg.po & alg.loc), po - loc
    yield "fr;co", alg.seq(alg.fr, alg.co), _seq(fr, co)
    yield "rf^-1", alg.inv(alg.rf), frozenset((b, a) for (a, b) in rf)
    yield "[W];po;[R]", alg.restrict(alg.po, dom=W, rng=R), frozenset(
        (a, b) for (a, b) in po if a in W and b in R)
    yield "rfe?", alg.opt(alg.external(alg.rf)), rfe | c["id"]
    yield "(rf|co|fr)+", alg.plus(alg.union(alg.rf, alg.co, alg.fr), "com_exact", exact=True), \
        _plus(rf | co | fr)
    yield "(po|rfe)+", alg.plus(alg.po | alg.external(alg.rf), "hb_exact", exact=True), \
        _plus(po | rfe)
    yield "(po;[W])+ (an acyclic may graph: a term, no variables)", \
        alg.plus(alg.restrict(alg.po, rng=W), "pow"), _plus(frozenset(
            (a, b) for (a, b) in po if b in W))
    yield "(co;rf)*", alg.star(alg.seq(alg.co, alg.rf), "corf", exact=True), \
        _plus(_seq(co, rf)) | c["id"]


def _all_candidates(ex: HandExecution, limit: int = 10):
    """Up to `limit` distinct candidates (rf and co choices), in Z3's deterministic order."""
    s = z3.Solver(ctx=ex.ctx)
    s.add(*ex.wf)
    choice = list(ex._rf.values())
    order = [t for a in ex._pos for b in ex._pos if (t := ex.co(a, b)) is not None]
    while limit and s.check() == z3.sat:
        limit -= 1
        m = s.model()
        yield m
        # the next candidate differs in rf or in co (not merely in the clock values)
        s.add(z3.Or(*[c != m.eval(c, model_completion=True) for c in choice + order]))


@pytest.mark.parametrize("name,ex", list(_executions()))
def test_exact_terms_match_the_set_oracle(name, ex):
    alg = Algebra(ex)
    seen = 0
    for m in _all_candidates(ex):
        c = _concrete(ex, m)
        fixed = z3.Solver(ctx=ex.ctx)
        fixed.add(*ex.wf)
        fixed.add(*[v == m.eval(v, model_completion=True)
                    for v in list(ex._rf.values()) + list(ex._pos.values())])
        for label, rel, want in _expressions(alg, c):
            assert want <= rel.may, f"{name} {label}: the may set misses {sorted(want - rel.may)}"
            terms = {p: to_z3(ex.ctx, rel.term(p)) for p in rel.may}
            fixed.push()
            fixed.add(alg.definitions())    # after the terms: building them adds definitions
            assert fixed.check() == z3.sat
            mm = fixed.model()
            got = frozenset(p for p, t in terms.items()
                            if z3.is_true(mm.eval(t, model_completion=True)))
            fixed.pop()
            assert got == want, f"{name} {label}: encoded {sorted(got)}, oracle {sorted(want)}"
        seen += 1
    assert seen > 3   # several candidates: rf and co choices really vary


@pytest.mark.parametrize("name,ex", list(_executions()))
def test_acyclic_is_exact(name, ex):
    """acyclic(po | com), acyclic(po \\ (W*R) | rfe | co | fr) and acyclic(fr ; (po | rf)*)
    (the two-clock encoding) hold in a candidate exactly when the concrete relations have no
    cycle."""
    alg = Algebra(ex)
    R, W = alg.R, alg.W
    sc = alg.po | alg.union(alg.rf, alg.co, alg.fr)
    ppo = alg.po - alg.restrict(alg.po, dom=W, rng=R)
    tso = alg.union(ppo, alg.external(alg.rf), alg.co, alg.fr)
    axioms = {"sc": alg.acyclic(sc, "sc"), "tso": alg.acyclic(tso, "tso"),
              "fr;(po|rf)*": alg.acyclic_seq_star(alg.fr, alg.po | alg.rf, "frpo")}
    verdicts = set()
    for m in _all_candidates(ex, limit=1000):
        c = _concrete(ex, m)
        wr = frozenset((a, b) for (a, b) in c["po"] if a in W and b in R)
        oracle = {"sc": _acyclic(c["po"] | c["rf"] | c["co"] | c["fr"]),
                  "tso": _acyclic((c["po"] - wr) | (c["rf"] & c["ext"]) | c["co"] | c["fr"]),
                  "fr;(po|rf)*": _acyclic(_seq(c["fr"], _plus(c["po"] | c["rf"]) | c["id"]))}
        for k, ax in axioms.items():
            s = z3.Solver(ctx=ex.ctx)
            s.add(*ex.wf)
            s.add(*[v == m.eval(v, model_completion=True)
                    for v in list(ex._rf.values()) + list(ex._pos.values())])
            s.add(alg.definitions(), ax)
            assert (s.check() == z3.sat) == oracle[k], (name, k)
            verdicts.add((k, oracle[k]))
    # the executions were chosen so that both outcomes occur for every relation
    assert verdicts == {(k, v) for k in axioms for v in (True, False)}


def test_one_directional_closure_is_an_upper_bound():
    """A one-directional closure admits the exact closure and nothing smaller: with the base
    pairs fixed, the vars can be set to the closure, and asserting any closure pair false
    is unsatisfiable."""
    ex = dict(_executions())["2+2W"]
    alg = Algebra(ex)
    base = alg.union(alg.po, alg.rf, alg.co, alg.fr)
    clo = alg.plus(base, "clo")
    for m in _all_candidates(ex, 6):
        c = _concrete(ex, m)
        want = _plus(c["po"] | c["rf"] | c["co"] | c["fr"])
        fix = [v == m.eval(v, model_completion=True)
               for v in list(ex._rf.values()) + list(ex._pos.values())]
        terms = {p: to_z3(ex.ctx, clo.term(p)) for p in clo.may}
        s = z3.Solver(ctx=ex.ctx)
        s.add(*ex.wf, *fix, alg.definitions())
        s.add(*[t == (p in want) for p, t in terms.items()])
        assert s.check() == z3.sat
        for p in want:
            s2 = z3.Solver(ctx=ex.ctx)
            s2.add(*ex.wf, *fix, alg.definitions(), z3.Not(terms[p]))
            assert s2.check() == z3.unsat, p


def test_scc_pairs_keeps_only_cycle_edges():
    # 0 -> 1 -> 2 -> 0 is a cycle; 2 -> 3 and 3 -> 4 lie on none; 4 -> 4 is a self-loop
    pairs = {(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 4)}
    assert scc_pairs(pairs) == {(0, 1), (1, 2), (2, 0), (4, 4)}


def test_sets_are_static_filters():
    ex = dict(_executions())["mp-rmw"]
    alg = Algebra(ex)
    kinds = [e.kind for e in ex.events]
    assert alg.R == {i for i, k in enumerate(kinds) if k == "R"}
    assert alg.W == {i for i, k in enumerate(kinds) if k == "W"}
    assert alg.tagged("IW") == {e.id for e in ex.events if e.thread == -1}
    assert alg.domain(alg.static("rmw")) == {ex.eid(3)}   # q.rmw: the fourth event built
    assert all(isinstance(r, Rel) for r in (alg.po, alg.rf, alg.loc))


def test_unknown_static_relation_is_a_keyerror():
    ex = dict(_executions())["mp-rmw"]
    with pytest.raises(KeyError):
        Algebra(ex).static("no-such-relation").may


def test_products_cover_the_pairs():
    ex = dict(_executions())["2+2W"]
    alg = Algebra(ex)
    assert alg.product(alg.W, alg.R).may == frozenset(product(alg.W, alg.R))

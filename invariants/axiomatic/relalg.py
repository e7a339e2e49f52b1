"""A relation algebra over an Execution, encoded in Z3 on demand.

A relation is a node with a static MAY set (the pairs of event ids that can be related in some
execution, computed in Python before any Z3 term exists) and a Z3 membership term per pair,
built only when an axiom or flag asks for that pair (relation analysis in the manner of
Gavrilenko, Ponce-de-Leon, Furbach, Heljanko and Meyer, "BMC for weak memory models: relation
analysis for compact SMT encodings", CAV 2019: may sets prune pairs that can never be related;
an acyclicity axiom only asks for the edges inside the strongly connected components of its may
graph, and every other pair is never encoded).

Invariant: a pair's term implies that both events execute, so sets of events ([R], [Marked],
...) are static filters that cost nothing in Z3.

Two kinds of terms:
- EXACT terms: union, intersection, difference, sequence, inverse, identity and base relations
  build the term that holds exactly when the pair is related.
- NAMED nodes (`named`, `plus` and `fixpoint` with exact=False) introduce one fresh Bool per
  pair with a one-directional definition, definition => var. Any assignment may make the var
  larger than the relation it names, never smaller. That is exact for an existential question
  ("is there a consistent execution with outcome O / with a flagged race?") as long as every
  use of the var is ANTI-MONOTONE: a larger var only makes the axioms harder to satisfy (acyclic,
  irreflexive, empty) and a flag harder to raise (a flag's relations used under a difference,
  `pre_race \\ vis`). Then the least assignment (the relation itself) is always available to the
  solver, and any assignment found bounds the real relation from above, so the real relation
  satisfies the axioms too and a raised flag is a real one. The models state, where they use
  it, that their use is anti-monotone. Axioms built this way must be ASSERTED, never negated.
- EXACT closures (`plus(..., exact=True)`) and exact fixpoints add the converse with a
  well-founded witness (an integer distance per pair that strictly decreases along the
  derivation), so the var holds exactly when the pair is in the least fixpoint; use them where
  a closure appears positively under a negation.
Acyclicity uses integer ranks (a clock per event) over the SCC edges only.

Exclusive events: an Execution may say (`exclusive(a, b)`, optional) that two events can never
both execute (build.py: two paths of one process's unrolling tree, proved there). By the
invariant above every pair term of such a pair is false (a one-directional var may take its
least value, false), so no may set holds such a pair: the base relations, sequences (their
middle events too: x ; y ; z needs all three executed), closures and fixpoints leave them out.
Without that, a process unrolled into a tree has events on every path, and the may sets of
composed relations grow with the product of the paths instead of with one path's length.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from itertools import count
from typing import Any, Callable, Iterable, Sequence, Union

import z3
from z3 import z3core

from smp_explorer.invariants.axiomatic.execution import FENCE, READ, WRITE, Event, Execution
from smp_explorer.invariants.axiomatic.terms import wrap

Pair = tuple[int, int]
Term = Union[z3.BoolRef, bool]   # Python True: holds whenever both events execute
EventSet = frozenset[int]


# Terms are built through Z3's C API directly: the Python wrappers' coercions and sort checks
# cost several times the construction itself, and an LKMM encoding builds tens of thousands.
def _mk(ctx: z3.Context, fn: Callable[..., Any], parts: list[z3.BoolRef]) -> z3.BoolRef:
    arr = (z3.Ast * len(parts))()
    for i, p in enumerate(parts):
        arr[i] = p.as_ast()
    return wrap(z3.BoolRef, fn(ctx.ref(), len(parts), arr), ctx)


def _and(ctx: z3.Context, *xs: Term) -> Term:
    parts: list[z3.BoolRef] = []
    for x in xs:
        if x is True:
            continue
        if x is False:
            return False
        parts.append(x)
    if not parts:
        return True
    if len(parts) == 1:
        return parts[0]
    return _mk(ctx, z3core.Z3_mk_and, parts)


def _or(ctx: z3.Context, xs: Iterable[Term]) -> Term:
    parts: list[z3.BoolRef] = []
    for x in xs:
        if x is True:
            return True
        if x is False:
            continue
        parts.append(x)
    if not parts:
        return False
    if len(parts) == 1:
        return parts[0]
    return _mk(ctx, z3core.Z3_mk_or, parts)


def _not(ctx: z3.Context, x: Term) -> Term:
    if x is True:
        return False
    if x is False:
        return True
    return wrap(z3.BoolRef, z3core.Z3_mk_not(ctx.ref(), x.as_ast()), ctx)


def implies(ctx: z3.Context, a: Term, b: z3.BoolRef) -> Term:
    """a => b (True when a is False)."""
    if a is False:
        return True
    if a is True:
        return b
    return wrap(z3.BoolRef, z3core.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def _lt(ctx: z3.Context, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    return wrap(z3.BoolRef, z3core.Z3_mk_lt(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def _simple(t: z3.BoolRef) -> Term:
    """True / False for a term that simplifies to a constant, else the term."""
    s = z3.simplify(t)
    return True if z3.is_true(s) else (False if z3.is_false(s) else t)


def to_z3(ctx: z3.Context, x: Term) -> z3.BoolRef:
    if isinstance(x, bool):
        return z3.BoolVal(x, ctx)
    return x


def _never(a: int, b: int) -> bool:
    return False


def _closure(pairs: Iterable[Pair], apart: Callable[[int, int], bool] = _never) -> set[Pair]:
    """The transitive closure, without the pairs (a, b) with apart(a, b) and without the
    paths through such a b (the events of one path of the closure all execute)."""
    succ: dict[int, set[int]] = {}
    for a, b in pairs:
        succ.setdefault(a, set()).add(b)
    out: set[Pair] = set()
    for a in list(succ):
        seen: set[int] = set()
        stack = list(succ[a])
        while stack:
            b = stack.pop()
            if b in seen or apart(a, b):
                continue
            seen.add(b)
            stack.extend(succ.get(b, ()))
        out.update((a, b) for b in seen)
    return out


def scc_pairs(pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs whose two ends lie in one strongly connected component (the only edges a
    cycle can use)."""
    pairs = set(pairs)
    reach = _closure(pairs)
    return {(a, b) for (a, b) in pairs if (b, a) in reach or a == b}


class Rel(ABC):
    """A relation: its may set and, on demand, a term per pair."""

    def __init__(self, alg: "Algebra", may: Iterable[Pair]):
        self.alg = alg
        self.may: frozenset[Pair] = frozenset(may)
        self._memo: dict[Pair, Term] = {}
        self._succ: dict[int, list[int]] | None = None

    def succ(self) -> dict[int, list[int]]:
        if self._succ is None:
            s: dict[int, list[int]] = {}
            for a, b in sorted(self.may):
                s.setdefault(a, []).append(b)
            self._succ = s
        return self._succ

    def term(self, p: Pair) -> Term:
        if p not in self.may:
            return False
        t = self._memo.get(p)
        if t is None:
            t = self._build(p)
            self._memo[p] = t
        return t

    @abstractmethod
    def _build(self, p: Pair) -> Term:
        """The membership term of a pair in the may set (called once per pair)."""

    # operator sugar
    def __or__(self, other: "Rel") -> "Rel":
        return self.alg.union(self, other)

    def __and__(self, other: "Rel") -> "Rel":
        return self.alg.inter(self, other)

    def __sub__(self, other: "Rel") -> "Rel":
        return self.alg.diff(self, other)

    def __rshift__(self, other: "Rel") -> "Rel":   # r >> s is the sequence r ; s
        return self.alg.seq(self, other)


class Base(Rel):
    def __init__(self, alg: "Algebra", terms: dict[Pair, Term]):
        terms = {p: t for p, t in terms.items() if t is not False}
        super().__init__(alg, terms)
        self._terms = terms

    def _build(self, p: Pair) -> Term:
        return self._terms[p]


class Lazy(Rel):
    """A base relation whose terms come from a function, asked only when needed."""

    def __init__(self, alg: "Algebra", may: Iterable[Pair], fn: Callable[[Pair], Term]):
        super().__init__(alg, may)
        self._fn = fn

    def _build(self, p: Pair) -> Term:
        return self._fn(p)


class Union_(Rel):
    def __init__(self, alg: "Algebra", parts: Sequence[Rel]):
        may: set[Pair] = set()
        for r in parts:
            may |= r.may
        super().__init__(alg, may)
        self.parts = parts

    def _build(self, p: Pair) -> Term:
        return _or(self.alg.ctx, (r.term(p) for r in self.parts if p in r.may))


class Inter(Rel):
    def __init__(self, alg: "Algebra", a: Rel, b: Rel):
        super().__init__(alg, a.may & b.may)
        self.a, self.b = a, b

    def _build(self, p: Pair) -> Term:
        return _and(self.alg.ctx, self.a.term(p), self.b.term(p))


class Diff(Rel):
    def __init__(self, alg: "Algebra", a: Rel, b: Rel):
        super().__init__(alg, a.may)
        self.a, self.b = a, b

    def _build(self, p: Pair) -> Term:
        return _and(self.alg.ctx, self.a.term(p), _not(self.alg.ctx, self.b.term(p)))


class Seq(Rel):
    def __init__(self, alg: "Algebra", a: Rel, b: Rel):
        bs = b.succ()
        apart = alg.apart
        may = {(x, z) for (x, y) in a.may for z in bs.get(y, ()) if not apart(x, z)}
        super().__init__(alg, may)
        self.a, self.b = a, b

    def _build(self, p: Pair) -> Term:
        x, z = p
        a, b = self.a, self.b
        return _or(self.alg.ctx, (_and(self.alg.ctx, a.term((x, y)), b.term((y, z)))
                                  for y in a.succ().get(x, ()) if (y, z) in b.may))


class Inverse(Rel):
    def __init__(self, alg: "Algebra", a: Rel):
        super().__init__(alg, ((y, x) for (x, y) in a.may))
        self.a = a

    def _build(self, p: Pair) -> Term:
        return self.a.term((p[1], p[0]))


class Restrict(Rel):
    """[S] ; r ; [T] with static S, T (free: a pair's term already implies execution)."""

    def __init__(self, alg: "Algebra", a: Rel, dom: EventSet | None, rng: EventSet | None):
        super().__init__(alg, ((x, y) for (x, y) in a.may
                               if (dom is None or x in dom) and (rng is None or y in rng)))
        self.a = a

    def _build(self, p: Pair) -> Term:
        return self.a.term(p)


class Where(Rel):
    """The pairs of r that satisfy a static predicate (same CPU, not the identity, ...)."""

    def __init__(self, alg: "Algebra", a: Rel, pred: Callable[[int, int], bool]):
        super().__init__(alg, ((x, y) for (x, y) in a.may if pred(x, y)))
        self.a = a

    def _build(self, p: Pair) -> Term:
        return self.a.term(p)


class Named(Rel):
    """A fresh Bool per pair, one-directional: definition => var (see the module docstring)."""

    def __init__(self, alg: "Algebra", a: Rel, name: str):
        super().__init__(alg, a.may)
        self.a, self.name = a, name

    def _build(self, p: Pair) -> Term:
        d = self.a.term(p)
        if isinstance(d, bool) or id(d) in self.alg.atoms:
            return d                 # a constant or a single variable: nothing to name
        v = self.alg.fresh(f"{self.name}_{p[0]}_{p[1]}")
        self.alg.define(implies(self.alg.ctx, d, v))
        return v


class Plus(Rel):
    """The transitive closure r+ as a fresh Bool per pair: r(a,b) => C(a,b) and
    r(a,c) & C(c,b) => C(a,b); with exact=True also the converse with a decreasing distance.
    Over an acyclic may graph: the exact term itself, C(a,b) = r(a,b) | OR_c r(a,c) & C(c,b)."""

    def __init__(self, alg: "Algebra", a: Rel, name: str, exact: bool):
        super().__init__(alg, _closure(a.may, alg.apart))
        self.a, self.name, self.exact = a, name, exact
        self._dist: dict[Pair, z3.ArithRef] = {}
        # when r's may graph has no cycle, the closure's least-fixpoint equation is
        # well-founded as it stands: its exact term, shared per pair, needs no variables
        self.dag = not scc_pairs(a.may)

    def _build(self, p: Pair) -> Term:
        alg, a = self.alg, self.a
        x, z = p
        if self.dag:
            return _or(alg.ctx, [a.term(p)] + [_and(alg.ctx, a.term((x, y)), self.term((y, z)))
                                               for y in a.succ().get(x, ())
                                               if (y, z) in self.may])
        v = alg.fresh(f"{self.name}_{x}_{z}")
        self._memo[p] = v           # before the recursion below asks for it again
        steps: list[Term] = []
        direct = a.term(p)
        if direct is not False:
            alg.define(implies(alg.ctx, direct, v))
        for y in a.succ().get(x, ()):
            if (y, z) not in self.may:
                continue
            step = _and(alg.ctx, a.term((x, y)), self.term((y, z)))
            if step is False:
                continue
            alg.define(implies(alg.ctx, step, v))
            if self.exact:
                steps.append(_and(alg.ctx, step, _lt(alg.ctx, self.dist((y, z)), self.dist(p))))
        if self.exact:
            alg.define(implies(alg.ctx, v, to_z3(alg.ctx, _or(alg.ctx, [direct] + steps))))
        return v

    def dist(self, p: Pair) -> z3.ArithRef:
        d = self._dist.get(p)
        if d is None:
            d = z3.Int(f"{self.name}_d{next(self.alg._ids)}_{p[0]}_{p[1]}", self.alg.ctx)
            self._dist[p] = d
        return d


class Fixpoint(Rel):
    """The least relation X with body(X) <= X over the pairs `may` (which must contain every
    pair body can produce): one Bool per pair, body(X)(p) => X(p). One-directional only, so its
    uses must be anti-monotone (see the module docstring)."""

    def __init__(self, alg: "Algebra", may: Iterable[Pair], name: str):
        super().__init__(alg, ((x, y) for (x, y) in may if not alg.apart(x, y)))
        self.name = name
        self.body: Rel | None = None

    def _build(self, p: Pair) -> Term:
        assert self.body is not None, "Fixpoint used before its body was set"
        if p not in self.body.may:
            return False
        v = self.alg.fresh(f"{self.name}_{p[0]}_{p[1]}")
        self._memo[p] = v           # before the recursion below asks for it again
        d = self.body.term(p)
        if d is not False:
            self.alg.define(implies(self.alg.ctx, d, v))
        return v


class Algebra:
    """Base relations and sets of one Execution, the operators, and the side definitions the
    named nodes add (to be asserted with the axioms: `definitions()`)."""

    def __init__(self, ex: Execution):
        self.ex = ex
        self.ctx: z3.Context = ex.ctx
        self.events: Sequence[Event] = ex.events
        self.n = len(ex.events)
        self._ids = count()
        self.atoms: dict[int, z3.BoolRef] = {}
        self._defs: list[z3.BoolRef] = []
        self._exec: list[Term] = []
        for e in self.events:
            self._exec.append(_simple(ex.executed(e.id)))
        self.all: EventSet = frozenset(e.id for e in self.events if self._exec[e.id] is not False)
        self._base: dict[str, Rel] = {}
        # apart(a, b): a and b can never both execute (the Execution's `exclusive`, if any;
        # not asked when no process branches)
        self.apart: Callable[[int, int], bool] = getattr(ex, "exclusive", _never) \
            if getattr(ex, "branching", False) else _never

    # -- bookkeeping --------------------------------------------------------------------
    def fresh(self, name: str) -> z3.BoolRef:
        v = z3.Bool(f"{name}!{next(self._ids)}", self.ctx)
        self.atom(v)
        return v

    def atom(self, v: z3.BoolRef) -> z3.BoolRef:
        """Mark v as a single variable (named relations do not rename it); the object is
        kept alive so that its id stays its own."""
        self.atoms[id(v)] = v
        return v

    def define(self, clause: Term) -> None:
        if clause is False:
            self._defs.append(z3.BoolVal(False, self.ctx))
        elif clause is not True:
            self._defs.append(clause)

    def definitions(self) -> z3.BoolRef:
        return to_z3(self.ctx, _and(self.ctx, *self._defs))

    def executed(self, e: int) -> Term:
        return self._exec[e]

    def both(self, a: int, b: int) -> Term:
        return _and(self.ctx, self._exec[a], self._exec[b])

    # -- sets ---------------------------------------------------------------------------
    def events_where(self, pred: Callable[[Event], bool]) -> EventSet:
        return frozenset(e.id for e in self.events if e.id in self.all and pred(e))

    def tagged(self, *tags: str) -> EventSet:
        ts = set(tags)
        return self.events_where(lambda e: bool(ts & e.tags))

    @property
    def R(self) -> EventSet:
        return self.events_where(lambda e: e.kind == READ)

    @property
    def W(self) -> EventSet:
        return self.events_where(lambda e: e.kind == WRITE)

    @property
    def M(self) -> EventSet:
        return self.events_where(lambda e: e.kind in (READ, WRITE))

    @property
    def F(self) -> EventSet:
        return self.events_where(lambda e: e.kind == FENCE)

    def domain(self, r: Rel) -> EventSet:
        """The events that MAY be in r's domain (static)."""
        return frozenset(a for a, _ in r.may)

    def range(self, r: Rel) -> EventSet:
        return frozenset(b for _, b in r.may)

    # -- base relations -----------------------------------------------------------------
    def _cached(self, name: str, make: Callable[[], Rel]) -> Rel:
        r = self._base.get(name)
        if r is None:
            r = make()
            self._base[name] = r
        return r

    def static(self, name: str, transitive: bool = False) -> Rel:
        def make() -> Rel:
            pairs: Iterable[Pair] = self.ex.static(name)
            if transitive:
                pairs = _closure(pairs, self.apart)
            return Base(self, {(a, b): self.both(a, b) for (a, b) in pairs
                               if a in self.all and b in self.all and not self.apart(a, b)})
        return self._cached("static:" + name + ("+" if transitive else ""), make)

    @property
    def po(self) -> Rel:
        return self.static("po", transitive=True)

    @property
    def rf(self) -> Rel:
        def make() -> Rel:
            terms: dict[Pair, Term] = {}
            for w in self.W:
                for r in self.R:
                    t = self.ex.rf(w, r)
                    if t is not None and not z3.is_false(t):
                        term = _and(self.ctx, True if z3.is_true(t) else t, self.both(w, r))
                        if term is t and z3.is_const(t):
                            self.atom(t)
                        terms[(w, r)] = term
            return Base(self, terms)
        return self._cached("rf", make)

    @property
    def co(self) -> Rel:
        def make() -> Rel:
            terms: dict[Pair, Term] = {}
            for a in self.W:
                for b in self.W:
                    if a == b:
                        continue
                    t = self.ex.co(a, b)
                    if t is not None and not z3.is_false(t):
                        terms[(a, b)] = _and(self.ctx, True if z3.is_true(t) else t,
                                             self.both(a, b))
            return Base(self, terms)
        return self._cached("co", make)

    @property
    def fr(self) -> Rel:
        return self._cached("fr", lambda: self.seq(self.inv(self.rf), self.co))

    @property
    def loc(self) -> Rel:
        """Same location, both executed (memory events only; reflexive on them)."""
        def make() -> Rel:
            mem = self.M
            may = [(a, b) for a in mem for b in mem
                   if set(self.events[a].locations) & set(self.events[b].locations)
                   and not self.apart(a, b)]

            def term(p: Pair) -> Term:
                a, b = p
                if a == b:
                    return self._exec[a]
                ea, eb = self.events[a], self.events[b]
                if len(ea.locations) == 1 and ea.locations == eb.locations:
                    return self.both(a, b)
                t = self.ex.same_location(a, b)
                return _and(self.ctx, True if z3.is_true(t) else t, self.both(a, b))
            return Lazy(self, may, term)
        return self._cached("loc", make)

    @property
    def int_(self) -> Rel:
        """Same CPU (reflexive); initial writes belong to none."""
        def make() -> Rel:
            return Base(self, {(a, b): self.both(a, b) for a in self.all for b in self.all
                               if self.events[a].thread >= 0
                               and self.events[a].thread == self.events[b].thread
                               and not self.apart(a, b)})
        return self._cached("int", make)

    @property
    def ext(self) -> Rel:
        """Different CPUs; an initial write is external to every event but itself."""
        def make() -> Rel:
            return Base(self, {(a, b): self.both(a, b) for a in self.all for b in self.all
                               if a != b and (self.events[a].thread < 0
                                              or self.events[a].thread != self.events[b].thread)})
        return self._cached("ext", make)

    def ident(self, s: EventSet | None = None) -> Rel:
        s = self.all if s is None else s
        return Base(self, {(a, a): self._exec[a] for a in s if a in self.all})

    def product(self, s: EventSet, t: EventSet) -> Rel:
        return Base(self, {(a, b): self.both(a, b) for a in s for b in t
                           if not self.apart(a, b)})

    # -- operators ------------------------------------------------------------------------
    def union(self, *rs: Rel) -> Rel:
        rs = tuple(r for r in rs if r.may)
        if len(rs) == 1:
            return rs[0]
        return Union_(self, rs)

    def inter(self, a: Rel, b: Rel) -> Rel:
        return Inter(self, a, b)

    def diff(self, a: Rel, b: Rel) -> Rel:
        if not (a.may & b.may):
            return a
        return Diff(self, a, b)

    def seq(self, *rs: Rel) -> Rel:
        out = rs[0]
        for r in rs[1:]:
            out = Seq(self, out, r)
        return out

    def inv(self, a: Rel) -> Rel:
        return Inverse(self, a)

    def restrict(self, a: Rel, dom: EventSet | None = None, rng: EventSet | None = None) -> Rel:
        return Restrict(self, a, dom, rng)

    def where(self, a: Rel, pred: Callable[[int, int], bool]) -> Rel:
        return Where(self, a, pred)

    def same_cpu(self, a: int, b: int) -> bool:
        ta = self.events[a].thread
        return ta >= 0 and ta == self.events[b].thread

    def internal(self, a: Rel) -> Rel:
        """r & int (static: the same CPU)."""
        return Where(self, a, self.same_cpu)

    def external(self, a: Rel) -> Rel:
        """r & ext (static: different CPUs, or an initial write)."""
        return Where(self, a, lambda x, y: x != y and not self.same_cpu(x, y))

    def opt(self, a: Rel) -> Rel:
        """r? (the identity on all executed events, or r)."""
        return self.union(self.ident(), a)

    def named(self, a: Rel, name: str) -> Rel:
        """One-directional fresh vars for a (see the module docstring)."""
        return Named(self, a, name)

    def plus(self, a: Rel, name: str, exact: bool = False) -> Rel:
        return Plus(self, a, name, exact)

    def star(self, a: Rel, name: str, exact: bool = False) -> Rel:
        return self.opt(self.plus(a, name, exact))

    def fixpoint(self, may: Iterable[Pair], name: str) -> Fixpoint:
        return Fixpoint(self, may, name)

    def fencerel(self, *tags: str) -> Rel:
        """po ; [F tagged with one of tags] ; po."""
        fences = self.tagged(*tags)
        return self.seq(self.restrict(self.po, rng=fences), self.po)

    # -- axioms ---------------------------------------------------------------------------
    def acyclic(self, r: Rel, name: str) -> z3.BoolRef:
        """acyclic r, with an integer rank per event on the SCC edges of r's may graph."""
        edges = sorted(scc_pairs(r.may))
        ranks: dict[int, z3.ArithRef] = {}

        def rank(e: int) -> z3.ArithRef:
            v = ranks.get(e)
            if v is None:
                v = z3.Int(f"{name}_rank_{e}!{next(self._ids)}", self.ctx)
                ranks[e] = v
            return v
        out: list[Term] = []
        for a, b in edges:
            t = r.term((a, b))
            if t is False:
                continue
            if a == b:
                out.append(_not(self.ctx, t))
            else:
                out.append(implies(self.ctx, t, _lt(self.ctx, rank(a), rank(b))))
        return to_z3(self.ctx, _and(self.ctx, *out))

    def acyclic_seq_star(self, x: Rel | Sequence[Rel], y: Rel, name: str) -> z3.BoolRef:
        """acyclic (x ; y*), exactly, without encoding y's closure: two integer clocks per
        event, r and s, with x(a,d) => r(a) < s(d), y(d,e) => s(d) <= s(e) and s(d) <= r(d).
        Along x ; y* the clocks give r(a) < s(d) <= s(b) <= r(b), so a cycle is impossible;
        conversely a cycle of these constraints with a strict edge must leave every s node
        through y edges or to its own r node and every r node through an x edge, which spells
        a cycle of x ; y*, so when there is none the constraints can be met. Only the edges in
        the strongly connected components of the may graph of x | y are encoded.

        x may be a sequence x1 ; ... ; xn, encoded without its composition: a clock t_i per
        event between the steps, x1(a,b) => r(a) < t_1(b), x_i(a,b) => t_(i-1)(a) <= t_i(b),
        xn(a,d) => t_(n-1)(a) <= s(d). A t_i node is left only by x_(i+1) edges, so a cycle
        with a strict edge still spells x1 ; ... ; xn ; y*, and along one the clocks still
        increase strictly: the same argument, with one constraint per pair of each step
        instead of one per pair of the composition."""
        xs = [x] if isinstance(x, Rel) else list(x)
        may: set[Pair] = set(y.may)
        for step in xs:
            may |= step.may
        keep = scc_pairs(may)
        clocks: dict[str, dict[int, z3.ArithRef]] = {}

        def clock(tag: str, e: int) -> z3.ArithRef:
            table = clocks.setdefault(tag, {})
            v = table.get(e)
            if v is None:
                v = z3.Int(f"{name}_{tag}_{e}!{next(self._ids)}", self.ctx)
                table[e] = v
            return v
        tags = ["r"] + [f"t{i}" for i in range(1, len(xs))] + ["s"]
        out: list[Term] = []
        for i, step in enumerate(xs):
            src, dst = tags[i], tags[i + 1]
            for a, d in sorted(step.may & keep):
                ca, cd = clock(src, a), clock(dst, d)
                out.append(implies(self.ctx, step.term((a, d)),
                                   _lt(self.ctx, ca, cd) if i == 0 else ca <= cd))
        for d, e in sorted(y.may & keep):
            if d != e:
                out.append(implies(self.ctx, y.term((d, e)), clock("s", d) <= clock("s", e)))
        r_clock, s_clock = clocks.get("r", {}), clocks.get("s", {})
        for d in sorted(set(s_clock) & set(r_clock)):
            out.append(s_clock[d] <= r_clock[d])
        return to_z3(self.ctx, _and(self.ctx, *out))

    def irreflexive(self, r: Rel) -> z3.BoolRef:
        return to_z3(self.ctx, _and(self.ctx, *(_not(self.ctx, r.term((a, a)))
                                                for a in sorted(self.all) if (a, a) in r.may)))

    def empty(self, r: Rel) -> z3.BoolRef:
        return to_z3(self.ctx, _and(self.ctx, *(_not(self.ctx, r.term(p)) for p in sorted(r.may))))

    def nonempty(self, r: Rel) -> z3.BoolRef:
        """The flag form: true exactly when some pair of r is related."""
        return to_z3(self.ctx, _or(self.ctx, (r.term(p) for p in sorted(r.may))))

    def pairs_in(self, r: Rel, m: z3.ModelRef) -> list[Pair]:
        """The pairs of r a Z3 model relates (for a flag's witness)."""
        return [p for p in sorted(r.may)
                if z3.is_true(m.eval(to_z3(self.ctx, r.term(p)), model_completion=True))]

"""Symmetry reduction: the search stores one canonical representative per orbit of states.

A spec's scalarsets (`type RM = scalarset(N)`, docs/language.md "Symmetry") are types whose
values the spec cannot tell apart: the checker refuses constants of them, arithmetic and
ordering on them, `for` loops over them and indexing anything not indexed by them. So every
permutation of their values (moving array elements and process instances, renaming stored
values and set elements: `ir.symmetry`) maps the initial states, the transitions and every
property onto themselves, and a breadth-first search over canonical representatives finds
exactly one state per orbit, with the same verdicts.

The representative is exact: the least state (as a tuple) over a set of permutations that
depends only on the orbit. Each element gets a signature that any permutation carries along
(its row of values in the arrays and processes it indexes, whether a global points at it or
contains it); the candidates are the permutations that sort the signatures, i.e. every
ordering of each class of equal signatures. When the signatures say everything (no stored
values of the type, no sets inside rows, no two-dimensional arrays over it) one candidate is
enough; otherwise all of them are tried (a product of factorials: fine for the small classes
of most states, exponential in the worst case). Several scalarsets that touch disjoint slots
are canonicalised one after the other; if some slot involves two of them, every permutation of
the product group is tried.

Under tso, pso and weak the memory model's slots (store buffers, write-barrier groups, stale
views) are keyed like the rest by the CPU and shared location they belong to (`spec.symmetry`)
and move with them; the buffer entries holding a value of the type or a shared address are
renamed only while in use (`ir.symmetry.Rename`): a freed entry keeps its zero, so a permuted
reachable state is reachable. Their values are left out of the signatures, which then never
decide alone.

Traces stay concrete: `concrete_path` turns a path of canonical states into a run of the spec
ending at the canonical state the search found (so the failing step or the violated state at
its end is the one recorded), by permuting every earlier state along (`SymmetricTraces`). The vector engine canonicalises
whole batches (`BatchCanonical`) into the very same states.
"""
from __future__ import annotations

import copy
import itertools
import math
import re
from typing import Any, Callable, Sequence, cast

from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import M63, WORD_BITS, Layout
from smp_explorer.ir.model import Model
from smp_explorer.ir.properties import Property
from smp_explorer.ir.symmetry import Rename, SymmetricType
from smp_explorer.ir.types import SetT
from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.pysource import load_source
from smp_explorer.runs.results import Trace
from smp_explorer.runs.traces import TraceBuilder

Perm = tuple[int, ...]   # p[k]: the new value of element k


class _Type:
    """One scalarset's action on the slots, precomputed."""

    def __init__(self, model: Model, st: SymmetricType):
        self.st = st
        self.n = n = st.size
        self.at: dict[tuple[int, tuple[int, ...]], int] = {}
        for slot, (b, c) in enumerate(zip(st.base, st.coords)):
            if b >= 0:
                self.at[(b, c)] = slot
        # (a memory model's slots hold values only while in use: `st.renames`)
        self.values = frozenset(s.index for s in model.slots
                                if s.type == st.type and not s.internal)
        self.sets = frozenset(s.index for s in model.slots
                              if isinstance(s.type, SetT) and s.type.elem == st.type)
        self.moved = [s for s in range(len(model.slots)) if st.base[s] >= 0]
        self.renamed = {r.slot: r for r in st.renames}
        self.touched = frozenset(self.moved) | self.values | self.sets | frozenset(self.renamed)
        self.address = {slot: i for i, slot in enumerate(st.addresses)}
        # every permutation has an image of every moved slot (a memory model allocated its
        # slots alike for every CPU and location): checked on generators of the group
        self.closed = all((b, tuple(p[c] for c in st.coords[s])) in self.at
                          for p in _generators(n) for s in self.moved
                          for b in (st.base[s],))
        rows: dict[int, list[int | None]] = {}
        self.wide = False   # some slot has two or more coordinates along this type
        for s in self.moved:
            if s in self.renamed:   # its signature would depend on the permutation
                continue
            c = st.coords[s]
            if len(c) > 1:
                self.wide = True
                continue
            rows.setdefault(st.base[s], [None] * n)[c[0]] = s
        # per base with one coordinate: its slot at each position (the element's row)
        self.rows = [[x for x in row if x is not None] for _, row in sorted(rows.items())]
        self.rows = [r for r in self.rows if len(r) == n]
        self.global_values = [s for s in self.values if st.base[s] < 0]
        self.global_sets = [s for s in self.sets if st.base[s] < 0]
        self.row_values = {s for s in self.values if st.base[s] >= 0}
        self.row_sets = {s for s in self.sets if st.base[s] >= 0}
        # the signatures determine the state up to the order of equal elements
        self.complete = not self.values and not self.row_sets and not self.wide and \
            not self.renamed
        self.plans: dict[Perm, list] = {}   # per permutation: its moves (`apply`)
        self.model = model
        self.signatures = self._generated_signatures()
        self.compiled: dict[Perm, Callable[[Sequence[int]], tuple[int, ...]]] = {}

    def _generated_signatures(self) -> Callable[[Sequence[int]], list[tuple]]:
        """`slow_signatures` as one generated function (the same tuples)."""
        parts: list[list[str]] = [[] for _ in range(self.n)]
        for row in self.rows:
            for k, slot in enumerate(row):
                if slot in self.row_values:
                    parts[k].append(f"(0 if s[{slot}] == {k} else 1)")
                elif slot in self.row_sets:
                    parts[k] += [f"bin(s[{slot}]).count('1')", f"(s[{slot}] >> {k} & 1)"]
                else:
                    parts[k].append(f"s[{slot}]")
        for slot in self.global_values:
            for k in range(self.n):
                parts[k].append(f"int(s[{slot}] == {k})")
        for slot in self.global_sets:
            for k in range(self.n):
                parts[k].append(f"(s[{slot}] >> {k} & 1)")
        body = ", ".join("(" + "".join(x + ", " for x in ps) + ")" for ps in parts)
        ns: dict = {}
        load_source(f"def signatures(s):\n    return [{body}]\n", self.model,
                    "symmetry", ns)
        return cast(Callable[[Sequence[int]], list[tuple]], ns["signatures"])

    def slow_signatures(self, s: Sequence[int]) -> list[tuple]:
        out: list[list[int]] = [[] for _ in range(self.n)]
        for row in self.rows:
            for k, slot in enumerate(row):
                v = s[slot]
                if slot in self.row_values:
                    out[k].append(0 if v == k else 1)
                elif slot in self.row_sets:
                    out[k] += (bin(v).count("1"), v >> k & 1)
                else:
                    out[k].append(v)
        for slot in self.global_values:
            v = s[slot]
            for k in range(self.n):
                out[k].append(int(v == k))
        for slot in self.global_sets:
            v = s[slot]
            for k in range(self.n):
                out[k].append(v >> k & 1)
        return [tuple(x) for x in out]

    def candidates(self, s: Sequence[int]) -> list[Perm]:
        """The permutations that sort the elements' signatures."""
        sig = self.signatures(s)
        order = sorted(range(self.n), key=sig.__getitem__)
        if self.complete or len(set(sig)) == self.n:   # no ties: one ordering
            p = [0] * self.n
            for i, k in enumerate(order):
                p[k] = i
            return [tuple(p)]
        classes: list[list[int]] = []
        for k in order:
            if classes and sig[classes[-1][0]] == sig[k]:
                classes[-1].append(k)
            else:
                classes.append([k])
        out = []
        for choice in itertools.product(*(itertools.permutations(c) for c in classes)):
            p = [0] * self.n
            i = 0
            for cls in choice:
                for k in cls:
                    p[k] = i
                    i += 1
            out.append(tuple(p))
        return out

    def apply(self, s: Sequence[int], p: Perm) -> tuple[int, ...]:
        f = self.compiled.get(p)
        if f is not None:
            return f(s)
        if self.n <= MAX_COMPILED:
            if p not in self.plans:
                self.plans[p] = self._plan(p)
            f = self.compiled[p] = self._compile(p, len(s))
            return f(s)
        return self.interpret(s, p)

    def interpret(self, s: Sequence[int], p: Perm) -> tuple[int, ...]:
        """`apply` by walking the plan (the generated code does the same)."""
        plan = self.plans.get(p)
        if plan is None:
            plan = self.plans[p] = self._plan(p)
        t = list(s)
        for src, dst, vmap in plan[0]:
            v = s[src]
            t[dst] = v if vmap is None else vmap(v)
        for src, dst, rename in plan[1]:
            t[dst] = rename(s, s[src])
        return tuple(t)

    def _compile(self, p: Perm, nslots: int) -> Callable[[Sequence[int]], tuple[int, ...]]:
        """`apply` for one permutation as one generated tuple expression (the same moves
        and renamings as the plan)."""
        st = self.st
        out = [f"s[{i}]" for i in range(nslots)]
        perm = repr(tuple(p))
        for src, dst, vmap in self.plans[p][0]:
            if vmap is None:
                out[dst] = f"s[{src}]"
            elif src in self.values:
                out[dst] = f"{perm}[s[{src}]]"
            else:
                out[dst] = f"S[s[{src}]]"
        for src, dst, _ in self.plans[p][1]:
            r = self.renamed[src]
            v = f"s[{src}]"
            used = f"s[{r.count}] > {r.entry}" if r.count >= 0 else \
                "(" + " or ".join(f"s[{f}]" for f in r.flags) + ")" if r.flags else "True"
            if r.kind == "value":
                out[dst] = f"({perm}[{v}] if {used} else {v})"
            elif r.kind == "address":
                out[dst] = f"(A[{v}] if {used} else {v})"
            else:
                out[dst] = f"({perm}[{v}] if {used} and T[s[{r.at}]] else {v})"
        def image(m: int) -> int:
            return sum(1 << p[k] for k in range(self.n) if m >> k & 1)
        addr_map = tuple(self.address[self._dest(a, p)] for a in st.addresses)
        ns: dict = {"S": tuple(image(m) for m in range(1 << self.n)) if self.sets else (),
                    "A": addr_map, "T": st.address_typed}
        load_source("def apply(s):\n    return (" + ", ".join(out) + ",)\n", self.model,
                    "symmetry", ns)
        return cast(Callable[[Sequence[int]], tuple[int, ...]], ns["apply"])

    def _dest(self, slot: int, p: Perm) -> int:
        b = self.st.base[slot]
        return self.at[(b, tuple(p[c] for c in self.st.coords[slot]))] if b >= 0 else slot

    def _plan(self, p: Perm) -> list:
        """Where each touched slot goes under p, and how its value is renamed."""
        st, n = self.st, self.n
        def image(m: int) -> int:
            return sum(1 << p[k] for k in range(n) if m >> k & 1)
        set_map: Callable[[int], int] = image
        if n <= 12:   # a table of every set's image
            set_map = [image(m) for m in range(1 << n)].__getitem__
        def dest(slot: int) -> int:
            return self._dest(slot, p)
        addr_map = [self.address[dest(a)] for a in st.addresses]
        plan = []
        conditional = []
        for slot in sorted(self.touched):
            dst = dest(slot)
            r = self.renamed.get(slot)
            if r is not None:
                conditional.append((slot, dst, _renamer(r, p, addr_map, st.address_typed)))
                continue
            vmap = p.__getitem__ if slot in self.values else \
                set_map if slot in self.sets else None
            if dst != slot or vmap is not None:
                plan.append((slot, dst, vmap))
        return [plan, conditional]


def _generators(n: int) -> list[Perm]:
    """A transposition and an n-cycle: they generate every permutation of n values."""
    if n < 2:
        return []
    swap = [1, 0] + list(range(2, n))
    return [tuple(swap), tuple(list(range(1, n)) + [0])]


def _renamer(r: Rename, p: Perm, addr_map: list[int], typed: tuple[bool, ...]
             ) -> Callable[[Sequence[int], int], int]:
    """A memory-model slot's new value under p, given the state and its value: renamed only
    while in use (`ir.symmetry.Rename`)."""
    count, entry, flags, at = r.count, r.entry, r.flags, r.at
    if r.kind == "value":
        def rename(v: int) -> int:
            return p[v]
    elif r.kind == "address":
        def rename(v: int) -> int:
            return addr_map[v]
    else:
        def rename(v: int) -> int:
            return v   # decided with the state below
    if count >= 0:
        def used(s: Sequence[int]) -> bool:
            return s[count] > entry
    elif flags:
        def used(s: Sequence[int]) -> bool:
            return any(s[f] for f in flags)
    else:
        def used(s: Sequence[int]) -> bool:
            return True
    if r.kind == "value_at":
        def apply(s: Sequence[int], v: int) -> int:
            return p[v] if used(s) and typed[s[at]] else v
    else:
        def apply(s: Sequence[int], v: int) -> int:
            return rename(v) if used(s) else v
    return apply


class Symmetry:
    """The scalarsets of a model and its canonical representatives."""

    def __init__(self, model: Model):
        self.model = model
        self.types = [_Type(model, st) for st in model.symmetry]
        seen: set[int] = set()
        self.independent = True
        for t in self.types:
            if t.touched & seen:
                self.independent = False
            seen |= t.touched

    def describe(self) -> str:
        """For the report: "symmetry: on (RM, 6! permutations)"."""
        parts = []
        for t in self.types:
            what = t.st.name
            if t.st.processes:
                what += " (processes " + ", ".join(t.st.processes) + ")"
            parts.append(f"{what}, {t.n}! permutations")
        return "symmetry: on (" + "; ".join(parts) + ")"

    def only(self, i: int) -> Symmetry:
        """The symmetry of the i-th scalarset alone (of independent ones: `BatchCanonical`)."""
        out = copy.copy(self)
        out.types = [self.types[i]]
        out.independent = True
        return out

    @property
    def group_size(self) -> int:
        return math.prod(math.factorial(t.n) for t in self.types)

    def canonical(self, s: tuple[int, ...]) -> tuple[int, ...]:
        return self.canonical_with(s)[0]

    def canonical_with(self, s: tuple[int, ...]) -> tuple[tuple[int, ...], list[Perm]]:
        """The representative of s's orbit, and the permutations (one per type, applied in
        order) that take s to it."""
        if self.independent:
            perms = []
            for t in self.types:
                best, bp = None, None
                for p in t.candidates(s):
                    u = t.apply(s, p)
                    if best is None or u < best:
                        best, bp = u, p
                assert best is not None and bp is not None
                s = best
                perms.append(bp)
            return s, perms
        best_s, best_p = None, None
        for ps in itertools.product(*(itertools.permutations(range(t.n)) for t in self.types)):
            u = s
            for t, p in zip(self.types, ps):
                u = t.apply(u, p)
            if best_s is None or u < best_s:
                best_s, best_p = u, list(ps)
        assert best_s is not None and best_p is not None
        return best_s, best_p

    def packed(self, fields: Sequence[tuple[int, int, int]]) -> Callable[[int], int]:
        """`canonical` over states packed into ints, each slot at (offset, mask, lo): one
        generated function (the scalar engine calls it on every new successor)."""
        unpack = ", ".join(f"((t >> {o}) & {m}) + {lo}" if lo else f"(t >> {o}) & {m}"
                           for o, m, lo in fields)
        pack = " | ".join(f"((c[{i}] - {lo}) << {o})" if lo else f"(c[{i}] << {o})"
                          for i, (o, _, lo) in enumerate(fields)) or "0"
        src = (f"def canon(t):\n    s = ({unpack},)\n    c = canonical(s)\n"
               f"    return t if c == s else {pack}\n")
        ns: dict = {"canonical": self.canonical}
        load_source(src, self.model, "symmetry", ns)
        return cast(Callable[[int], int], ns["canon"])

    def coverage(self, coverage: dict[str, int]) -> dict[str, int]:
        """Times each step fired, per orbit of steps ("RMPrepare(RM_*)"): a reduced search
        fires one step of an orbit for all of them."""
        names = [m for t in self.types for m in t.st.type.members]
        if not names:
            return coverage
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        out: dict[str, int] = {}
        for name, n in coverage.items():
            key = pattern.sub(lambda m: m.group(1).rsplit("_", 1)[0] + "_*", name)
            out[key] = out.get(key, 0) + n
        return out

    def permute(self, s: tuple[int, ...], perms: Sequence[Perm]) -> tuple[int, ...]:
        for t, p in zip(self.types, perms):
            s = t.apply(s, p)
        return s

    def inverse(self, perms: Sequence[Perm]) -> list[Perm]:
        out = []
        for p in perms:
            q = [0] * len(p)
            for k, v in enumerate(p):
                q[v] = k
            out.append(tuple(q))
        return out


def reduction(model: Model, options: Options, engine: str) -> tuple[Symmetry | None, list[str]]:
    """The symmetry a run uses (None: none) and what the report says about it."""
    if not model.symmetry:
        return None, []
    if not options.symmetry:
        return None, ["symmetry: off (--no-symmetry)"]
    if options.workers is not None:   # the Ray partitions (explorer.distributed) store states as found
        return None, ["symmetry: off (not with --workers: the partitions do not canonicalise)"]
    why = refusal(model)
    if why is not None:
        return None, [why]
    sym = Symmetry(model)
    return sym, [sym.describe()]


MAX_CANDIDATES = 40320   # 8!: the most permutations one state may need to try
MAX_COMPILED = 6         # up to 6 values: each permutation's `apply` is generated code
MAX_BATCH_VALUES = 4     # up to 4 values: the vector engine tries all 4! permutations at once
MAX_SORTED_VALUES = 8    # up to 8: it sorts in NumPy the states without ties (the others: one
                         # by one, through `Symmetry.canonical`)
BATCH_CHUNK = 16384      # states canonicalised together by `BatchCanonical._all_perms`
KEY_BITS = 62            # `BatchCanonical._all_perms`: the bits of one run of a signature's digits


def refusal(model: Model) -> str | None:
    """Why the model's symmetry cannot be used (None: it can, or there is none)."""
    if not model.symmetry:
        return None
    for st in model.symmetry:
        if st.refused:
            return f"symmetry: off ({st.refused} under {model.memory})"
    sym = Symmetry(model)
    for t in sym.types:
        if not t.closed:
            return (f"symmetry: off (the {model.memory} memory model's buffers and views are "
                    f"not alike for every value of {t.st.name})")
    worst = sym.group_size if not sym.independent else \
        max(1 if t.complete else math.factorial(t.n) for t in sym.types)
    if worst > MAX_CANDIDATES:
        return (f"symmetry: off (an exact canonical state could need {worst:,} permutations "
                f"of {', '.join(t.st.name for t in sym.types)}; at most {MAX_CANDIDATES:,})")
    return None


def concrete_path(cm: CompiledModel, sym: Symmetry, path: list[tuple[int, tuple[int, ...]]]
                  ) -> list[tuple[int, tuple[int, ...]]]:
    """A run of the spec for a path of canonical states [(action, state)], the first with
    action -1, each state the representative of the successor of the one before by that
    action. The run ends at the path's last state; each earlier state is permuted so that
    every step is a transition of the spec, and labelled with the action that takes it."""
    if not path:
        return []
    states = [path[-1][1]]
    labels: list[int] = []
    state = path[-1][1]          # the concrete state at this point of the run
    back: list[Perm] = [tuple(range(t.n)) for t in sym.types]   # concrete = back(canonical)
    for i in range(len(path) - 1, 0, -1):
        action = path[i][0]
        prev = path[i - 1][1]
        succ = next(t for a, t in cm.successors(prev)[0] if a == action)
        _, perms = sym.canonical_with(succ)
        # canonical(i) = perms(succ) and concrete(i) = back(canonical(i)): the step maps
        # back(perms(prev)) onto the concrete state, by the action back(perms(action))
        back = _compose(back, perms)
        pre = sym.permute(prev, back)
        label = next((a for a, t in cm.successors(pre)[0] if t == state), None)
        assert label is not None, "symmetry: a permuted step is not a transition"
        labels.append(label)
        states.append(pre)
        state = pre
    labels.append(-1)
    return list(zip(reversed(labels), reversed(states)))


def _compose(outer: list[Perm], inner: list[Perm]) -> list[Perm]:
    """The permutations of applying `inner` and then `outer`, per type."""
    return [tuple(o[i[k]] for k in range(len(i))) for o, i in zip(outer, inner)]


class SymmetricTraces(TraceBuilder):
    """Traces of a search over canonical states, as concrete runs of the spec."""

    def __init__(self, cm: CompiledModel, sym: Symmetry, canonical: Sequence[tuple],
                 parent: Sequence[int], via: Sequence[int]):
        super().__init__(cm.model, [], parent, via, cm.failures)
        self.cm = cm
        self.sym = sym
        self.canonical = canonical   # the canonical state at each position (`common.Replay`)
        self.all_parent = parent
        self.all_via = via

    def build(self, prop: Property, pos: int, action: int | None, failure: int | None,
              value: int | None) -> tuple[Trace, str]:
        chain = []
        p = pos
        while p != -1:
            chain.append(p)
            p = self.all_parent[p]
        chain.reverse()
        path = [(self.all_via[q] if i else -1, self.canonical[q]) for i, q in enumerate(chain)]
        run = concrete_path(self.cm, self.sym, path)
        self.states = cast(Sequence[tuple], {q: s for q, (_, s) in zip(chain, run)})
        self.via = cast(Sequence[int], {q: a for q, (a, _) in zip(chain, run)})
        self.parent = cast(Sequence[int], {q: (chain[i - 1] if i else -1)
                                           for i, q in enumerate(chain)})
        return super().build(prop, pos, action, failure, value)


class BatchCanonical:
    """`Symmetry.canonical` over a batch of packed states given as uint64 word columns (the
    vector engine's form), giving the same states as the scalar engine's canonicaliser.

    One scalarset whose signatures decide everything (`_Type.complete`, as TwoPhase's resource
    managers, or the processes of a spec without stored process ids), however many values it
    has: NumPy sorts each state's elements by their signature as one integer (a signature too
    wide for 62 bits: by its rank among the batch's signatures, `_ranked`), and moves the rows
    and the set bits. One scalarset of up to `MAX_SORTED_VALUES` values otherwise (memory-model
    slots, two-dimensional arrays, stored values): `_all_perms`, the one sorting permutation of
    the states without ties, and every sorting permutation of those with tied signatures (up to
    `MAX_BATCH_VALUES` values; above, these go one by one through `_rows`). Several scalarsets
    on disjoint slots: each of them in turn (`steps`). Otherwise (scalarsets that share a slot,
    or a scalarset of more than 8 values whose signatures do not decide, which `refusal` turns
    off anyway) each state goes through the Python canonicaliser (`_rows`)."""

    def __init__(self, sym: Symmetry, layout: Layout):
        import numpy as np
        self.np = np
        self.sym = sym
        self.layout = layout
        self.packed = sym.packed([(f.offset, f.mask, f.lo) for f in layout.fields])
        self.vectorised = False
        self.general = False   # every permutation over a batch (`_all_perms`)
        # several scalarsets on disjoint slots: each canonicalised over the batch in turn, as
        # `Symmetry.canonical_with` does state by state
        self.steps: list[BatchCanonical] = []
        if len(sym.types) != 1:
            if sym.independent:
                self.steps = [BatchCanonical(sym.only(i), layout) for i in range(len(sym.types))]
            return
        t = sym.types[0]
        if not t.complete:
            if t.n <= MAX_SORTED_VALUES:
                self._general(t)
            return
        fields = layout.fields
        # the signature's parts in `_Type.signatures` order, each (slots per element, span)
        parts = [(False, row, fields[row[0]].mask + 1) for row in t.rows]
        parts += [(True, [s] * t.n, 2) for s in t.global_sets]   # bit k of a set of the type
        # runs of parts whose mixed-radix number stays below 2 ** KEY_BITS; a wider signature
        # is several runs, ranked over the batch (`_ranked`)
        self.part_runs: list[list[tuple[bool, list[int], int]]] = []
        start, span = 0, 1
        for j, (_, _, size) in enumerate(parts):
            if j > start and span * size >= 1 << KEY_BITS:
                self.part_runs.append(parts[start:j])
                start, span = j, 1
            span *= size
        self.part_runs.append(parts[start:])
        self.t = t
        self.row_slots = np.array(t.rows, dtype=np.int64).reshape(len(t.rows), t.n)
        touched = sorted({x for row in t.rows for x in row} | set(t.global_sets))
        self.complete_unpack = self._unpacking(touched)
        self._packing(touched)
        self.vectorised = True

    def _general(self, t: _Type) -> None:
        """Prepare `_all_perms`: the signature of each element as a few integers, each the
        digits of a run of the signature that fits in 62 bits (their order, first integer
        first, is the order of `_Type.signatures`' tuples)."""
        fields = self.layout.fields
        self.t = t
        self.vplans: dict[Perm, tuple] = {}
        self.sources: dict[Perm, Any] = {}
        np = self.np
        self.lo = np.array([f.lo for f in fields], dtype=np.int64)
        # the slots a permutation writes (in slot order: the least image differs first in
        # one of them) and the ones it reads besides (a renamed entry's count, flags, `at`)
        self.written_slots = sorted(t.touched)
        read = set(t.touched)
        for r in t.st.renames:
            read |= {x for x in (r.count, r.at, *r.flags) if x >= 0}
        self.read = sorted(read)
        self._packing(self.written_slots)
        # a state without tied signatures: its elements in sorted order, as a number, give
        # its one candidate (`_candidate`)
        self.by_code: dict[int, Perm] = {}
        self.identity_code = sum(k * t.n ** (t.n - 1 - k) for k in range(t.n))
        self._digits(t)
        self.key_slots = sorted({x for slots, _ in self.digit_slots for x in slots})
        self.key_unpack = self._unpacking(self.key_slots)
        # the values unpacked: 32 bits where every field read fits (less memory to move)
        small = all(fields[i].mask < 1 << 30 and abs(fields[i].lo) < 1 << 30 for i in read)
        self.dtype = np.int32 if small else np.int64
        self.read_unpack = self._unpacking(self.read)
        self.general = max(self.bases, default=1) < 1 << 62   # each digit fits a run

    def _packing(self, slots: list[int]) -> None:
        """`_pack`'s plan for writing these slots back: per word, the slots in it and their
        shifts (`spots`), and the mask of its bits kept (`keep`)."""
        np = self.np
        fields = self.layout.fields
        self.written: list[list[tuple[int, int]]] = [[] for _ in range(self.layout.nwords)]
        self.keep = [(1 << 64) - 1] * self.layout.nwords
        for i in slots:
            f = fields[i]
            if f.width:
                self.written[f.word].append((i, f.shift))
                self.keep[f.word] &= ~(f.mask << f.shift)
        self.spots = [(np.array([i for i, _ in w], dtype=np.int64),
                       np.array([shift for _, shift in w], dtype=np.uint64))
                      for w in self.written]

    def _pack(self, words: list, cols, out: list, at=None) -> None:
        """Write the planned slots (`_packing`) of `cols` (a row per slot, a column per state)
        into the word columns `out` (at the rows `at` of them, default all), the other bits
        taken from `words` (the same states)."""
        np = self.np
        for w in range(len(words)):
            if not self.written[w]:
                continue
            slots, shifts = self.spots[w]
            v = np.bitwise_or.reduce(cols[slots].astype(np.uint64) << shifts[:, None], axis=0)
            if at is None:
                out[w] = (words[w] & np.uint64(self.keep[w])) | v
            else:
                out[w][at] = (words[w] & np.uint64(self.keep[w])) | v

    def _sorted(self, words: list) -> list:
        """The canonical states of a scalarset whose signatures decide (`_Type.complete`):
        per state, the elements in the stable order of their signatures (`part_runs`), the
        rows moved and the set bits with them."""
        np, t, n = self.np, self.t, self.t.n
        m = len(words[0])
        cols = np.empty((len(self.layout.fields), m), dtype=np.int64)   # a row per slot read
        self._unpack(words, self.complete_unpack, cols)
        ar = np.arange(n, dtype=np.int64)[:, None]
        runs = []
        for parts in self.part_runs:
            key = np.zeros((n, m), dtype=np.int64)   # a row per element
            for bit, slots, size in parts:
                key *= size
                key += (cols[slots[0]] >> ar) & 1 if bit else cols[slots]
            runs.append(key)
        order = np.argsort(self._ranked(runs), axis=0, kind="stable")   # order[i]: the i-th
        if len(self.row_slots):
            cols[self.row_slots] = np.take_along_axis(cols[self.row_slots], order[None], axis=1)
        for s in t.global_sets:
            bits = np.take_along_axis((cols[s] >> ar) & 1, order, axis=0)
            cols[s] = np.bitwise_or.reduce(bits << ar, axis=0)
        out = list(words)
        self._pack(words, cols, out)
        return out

    def _keys(self, cols):
        """Per element and state: its signature as one integer, ordered as the tuples (`cols`:
        a row per slot, a column per state; the keys: a row per element). Each
        run of digits (`_digits`, `self.groups`) is a mixed-radix number; with several runs,
        the elements' signatures of the whole chunk are ranked (equal signatures, equal
        ranks; ordered as the runs, first run first)."""
        return self._ranked([self._group_keys(cols, a, b) for a, b in self.groups])

    def _ranked(self, parts: list) -> Any:
        """One key array of the shape of each of `parts` (the runs of digits of the same
        signatures, first run first): the part itself if one, else each signature's rank among
        all of them (equal signatures, equal ranks; ordered as the runs)."""
        np = self.np
        if len(parts) == 1:
            return parts[0]
        flat = [p.reshape(-1) for p in parts]
        order = np.lexsort(flat[::-1])
        differs = np.zeros(len(order), dtype=bool)
        for f in flat:
            g = f[order]
            differs[1:] |= g[1:] != g[:-1]
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.cumsum(differs)
        return rank.reshape(parts[0].shape)

    def _group_keys(self, cols, a: int, b: int):
        """The digits a..b-1 of each element's signature as one integer: (elements, states)."""
        np, t = self.np, self.t
        key = np.empty((t.n, cols.shape[1]), dtype=np.int64)
        for k in range(t.n):
            slots, special = self.digit_slots[k]
            kinds = {j: kind for j, kind, _ in special}
            acc = key[k]
            acc[:] = 0
            for j in range(a, b):
                slot = slots[j]
                if j > a:
                    acc *= self.bases[j]
                kind = kinds.get(j)
                if not kind:
                    acc += cols[slot]
                    continue
                v = cols[slot] + self.lo[slot]
                if kind == "row_value":
                    acc += v != k
                elif kind == "row_set":
                    pop = np.zeros(cols.shape[1], dtype=np.int64)
                    for i in range(t.n):
                        pop += (v >> i) & 1
                    acc += pop * 2 + ((v >> k) & 1)
                elif kind == "global_value":
                    acc += v == k
                else:
                    acc += (v >> k) & 1
        return key

    def _digits(self, t: _Type) -> None:
        """Per element, the slots of its signature's digits and the digits that are not the
        slot's value (`_keys`), and the weight of each digit."""
        fields = self.layout.fields
        bases: list[int] = []
        self.digit_slots: list[tuple[list[int], list[tuple[int, str, int]]]] = []
        for k in range(t.n):
            slots: list[int] = []
            special: list[tuple[int, str, int]] = []
            for row in t.rows:
                slot = row[k]
                kind = "row_value" if slot in t.row_values else \
                    "row_set" if slot in t.row_sets else ""
                if kind:
                    special.append((len(slots), kind, slot))
                slots.append(slot)
                if not k:
                    bases.append(2 if kind == "row_value" else 2 * (t.n + 1)
                                 if kind == "row_set" else fields[slot].mask + 1)
            for kind, group in (("global_value", t.global_values),
                                ("global_set", t.global_sets)):
                for slot in group:
                    special.append((len(slots), kind, slot))
                    slots.append(slot)
                    if not k:
                        bases.append(2)
            self.digit_slots.append((slots, special))
        self.bases = bases
        # runs of digits whose mixed-radix number stays below 2 ** KEY_BITS
        self.groups: list[tuple[int, int]] = []
        start, span = 0, 1
        for j, base in enumerate(bases):
            if j > start and span * base >= 1 << KEY_BITS:
                self.groups.append((start, j))
                start, span = j, 1
            span *= base
        self.groups.append((start, len(bases)))

    def _all_perms(self, words: list) -> list:
        """`Symmetry.canonical` for one scalarset of few values over a batch. Per state, the
        signatures (`_keys`) are sorted: a state without ties has one candidate (the
        permutation that sorts them), and the states are grouped by it and permuted together
        (the identity's group is left as it is); only the states with tied signatures try
        every permutation that sorts them (moves, renamings while in use) and keep the least
        image, by the first slot where two differ. Only the slots a permutation reads or
        writes are unpacked, and only those it writes are packed back."""
        np, t = self.np, self.t
        fields = self.layout.fields
        nslots = len(fields)
        lo = self.lo
        n = t.n
        batch = len(words[0])
        out = [w.copy() for w in words]
        one_by_one = []   # tied states of a scalarset of more than MAX_BATCH_VALUES values
        for start in range(0, batch, BATCH_CHUNK):
            chunk = [w[start:start + BATCH_CHUNK] for w in words]
            m = len(chunk[0])
            cols = np.empty((nslots, m), dtype=self.dtype)   # a row per slot read
            self._unpack(chunk, self.key_unpack, cols)
            key = self._keys(cols)
            # the position of each element in the stable sort of the signatures (the number
            # of elements before it), and the code of the sorted order (`by_code`)
            pos = [np.zeros(m, dtype=np.int64) for _ in range(n)]
            tied = np.zeros(m, dtype=bool)
            for j in range(n):
                for k in range(j + 1, n):
                    less = key[j] <= key[k]   # j, before k, stays before it when equal
                    pos[k] += less
                    pos[j] += ~less
                    tied |= key[j] == key[k]
            code = np.zeros(m, dtype=np.int64)
            weight = np.array([n ** (n - 1 - i) for i in range(n)], dtype=np.int64)
            for k in range(1, n):
                code += k * weight[pos[k]]
            code[tied] = -1
            hit = np.flatnonzero(code != self.identity_code)   # the states that may move
            if not hit.size:
                continue
            hit = hit[np.argsort(code[hit], kind="stable")]   # each candidate's states together
            sub = [w[hit] for w in chunk]
            cols = np.empty((nslots, len(hit)), dtype=self.dtype)   # a row per slot read
            self._unpack(sub, self.read_unpack, cols)
            code = code[hit]
            best = np.empty_like(cols)
            bounds = np.flatnonzero(np.diff(code)) + 1
            for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(hit)]):
                c = int(code[a])
                if c >= 0:
                    best[:, a:b] = self._image(cols[:, a:b], lo, self._candidate(c))
                elif n <= MAX_BATCH_VALUES:   # tied signatures: every sorting permutation
                    best[:, a:b] = self._least(cols[:, a:b], key[:, hit[a:b]])
                else:   # (up to 8! of them): state by state, below
                    best[:, a:b] = cols[:, a:b]
                    one_by_one.append(start + hit[a:b])
            self._pack(sub, best, out, start + hit)
        if one_by_one:
            at = np.concatenate(one_by_one)
            for w, v in zip(out, self._rows([w[at] for w in words])):
                w[at] = v
        return out

    def _candidate(self, code: int) -> Perm:
        """The permutation that sorts a state's elements, from the code of their sorted
        order (its digits base n, first element first)."""
        p = self.by_code.get(code)
        if p is None:
            n = self.t.n
            q = [0] * n
            for i in range(n):
                q[code // n ** (n - 1 - i) % n] = i
            p = self.by_code[code] = tuple(q)
        return p

    def _least(self, cols, key):
        """The least image of each state (with tied signatures) over the permutations that
        sort its signatures (`cols`: a row per slot, a column per state)."""
        np, t = self.np, self.t
        m = cols.shape[1]
        best = cols.copy()
        have = np.zeros(m, dtype=bool)
        written = self.written_slots
        for p in itertools.permutations(range(t.n)):
            inv = [0] * t.n
            for k, v in enumerate(p):
                inv[v] = k
            valid = np.ones(m, dtype=bool)
            for i in range(t.n - 1):
                valid &= key[inv[i]] <= key[inv[i + 1]]
            rows = np.flatnonzero(valid)
            if not rows.size:
                continue
            img = self._image(cols[:, rows], self.lo, p)
            new = img[written]
            old = best[:, rows][written]
            diff = new != old
            first = np.argmax(diff, axis=0)
            at = np.arange(len(rows))
            less = diff[first, at] & (new[first, at] < old[first, at])
            take = ~have[rows] | less
            best[:, rows[take]] = img[:, take]
            have[rows] = True
        return best

    def _image(self, cols, lo, p: Perm):
        """Every state of a chunk under p: `cols` and the image hold a row of values per slot
        (a column per state)."""
        np, t = self.np, self.t
        plan = self.vplans.get(p)
        if plan is None:
            plan = self.vplans[p] = self._vplan(p, lo)
        moved, values, sets, counted, flagged, perm, addr_map, typed = plan
        source = self.sources.get(p)
        if source is None:   # per slot: the slot whose value it takes
            source = self.sources[p] = np.arange(cols.shape[0])
            source[moved[1]] = moved[0]
        img = cols[source]

        def rename(c, where):   # values of the type (field values, lows `where`)
            v = c + where
            ok = (v >= 0) & (v < t.n)
            return np.where(ok, perm[np.clip(v, 0, t.n - 1)] - where, c)
        src, dst = values
        if len(src):
            img[dst] = rename(cols[src], lo[src][:, None])
        for src, dst in sets:
            c = cols[src]
            m = np.zeros(len(c), dtype=np.int64)
            for k in range(t.n):
                m |= ((c >> k) & 1) << p[k]
            img[dst] = m
        for kind, (src, dst, count, entry, at) in counted.items():
            if not len(src):
                continue
            c = cols[src]
            where = lo[src][:, None]
            used = cols[count] + lo[count][:, None] > entry[:, None]
            if kind == "address":
                new = addr_map[np.clip(c + where, 0, len(addr_map) - 1)] - where
            else:
                if kind == "value_at":
                    used &= typed[np.clip(cols[at] + lo[at][:, None], 0, len(typed) - 1)]
                new = rename(c, where)
            img[dst] = np.where(used, new, c)
        for (src, dst, count, entry, at, kind) in flagged:
            c = cols[src]
            if count is not None:
                used = cols[count] + lo[count] > entry
            elif entry is not None:   # flags: in use while one is set
                used = (cols[entry] + lo[entry][:, None] != 0).any(axis=0)
            else:
                used = np.ones(len(c), dtype=bool)
            if kind == "address":
                a = c + lo[src]
                new = addr_map[np.clip(a, 0, len(addr_map) - 1)] - lo[src]
            else:
                if kind == "value_at":
                    used = used & typed[np.clip(cols[at] + lo[at], 0, len(typed) - 1)]
                new = rename(c, lo[src])
            img[dst] = np.where(used, new, c)
        return img

    def _vplan(self, p: Perm, lo) -> tuple:
        """`_image`'s moves for p, as index arrays grouped by what they do."""
        np, t = self.np, self.t
        if p not in t.plans:
            t.plans[p] = t._plan(p)
        moves, conditional = t.plans[p]
        ints = np.int64
        plain = [(a, b) for a, b, vmap in moves if vmap is None]
        vals = [(a, b) for a, b, vmap in moves if vmap is not None and a in t.values]
        sets = [(a, b) for a, b, vmap in moves if vmap is not None and a not in t.values]
        counts: dict[str, list[tuple[int, int, int, int, int]]] = {
            "value": [], "address": [], "value_at": []}
        flagged = []
        for src, dst, _ in conditional:
            r = t.renamed[src]
            at = r.at if r.at >= 0 else None
            if r.count >= 0:
                counts[r.kind].append((src, dst, r.count, r.entry, r.at))
            elif r.flags:
                flagged.append((src, dst, None, np.array(r.flags, dtype=ints), at, r.kind))
            else:   # always in use
                flagged.append((src, dst, None, None, at, r.kind))
        counted = {kind: tuple(np.array(col, dtype=ints) for col in zip(*rows))
                   if rows else ((),) * 5 for kind, rows in counts.items()}
        addr_map = np.array([t.address[t._dest(a, p)] for a in t.st.addresses] or [0],
                            dtype=ints)
        typed = np.array(t.st.address_typed or (False,), dtype=bool)
        return ((np.array([a for a, _ in plain], dtype=ints),
                 np.array([b for _, b in plain], dtype=ints)),
                (np.array([a for a, _ in vals], dtype=ints),
                 np.array([b for _, b in vals], dtype=ints)),
                sets, counted, flagged, np.array(p, dtype=ints), addr_map, typed)

    def _unpacking(self, slots: list[int]) -> list:
        """`_unpack`'s plan for these slots: per word, (word, slots, shifts, masks)."""
        np = self.np
        fields = self.layout.fields
        out = []
        for w in range(self.layout.nwords):
            mine = [i for i in slots if fields[i].word == w and fields[i].width]
            if mine:
                out.append((w, np.array(mine, dtype=np.int64),
                            np.array([fields[i].shift for i in mine], dtype=np.uint64)[:, None],
                            np.array([fields[i].mask for i in mine], dtype=np.uint64)[:, None]))
        zero = [i for i in slots if not fields[i].width]
        if zero:
            out.append((-1, np.array(zero, dtype=np.int64), None, None))
        return out

    def _unpack(self, words, plan: list, cols) -> None:
        """The field values of the planned slots (`_unpacking`) into the rows of `cols`."""
        for w, slots, shifts, masks in plan:
            cols[slots] = 0 if w < 0 else (words[w][None, :] >> shifts) & masks

    def __call__(self, words: list) -> list:
        np = self.np
        if not len(words[0]):
            return words
        if self.steps:
            for step in self.steps:
                words = step(words)
            return words
        if self.general:
            return self._all_perms(words)
        if not self.vectorised:
            return self._rows(words)
        return self._sorted(words)

    def _rows(self, words: list) -> list:
        """State by state, through the packed canonicaliser."""
        np = self.np
        nw = self.layout.nwords
        cols = [w.tolist() for w in words]
        ints = cols[0] if nw == 1 else \
            [sum(x << (WORD_BITS * k) for k, x in enumerate(r)) for r in zip(*cols)]
        canon = [self.packed(x) for x in ints]
        return [np.array([(x >> (WORD_BITS * k)) & M63 for x in canon], dtype=np.uint64)
                for k in range(nw)]

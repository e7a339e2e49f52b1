"""`explorer check --z3-check`: the two engines side by side on every state the search visits.

`CrossCheck` is a search visitor (`runs.visitor.SearchVisitor`, passed as `Options.visitor`):
the engine that runs tells it what it computed for each distinct state it discovers and each
state it expands, and Z3 (the encoder's terms, evaluated in a Z3 model that fixes the state's
slots) must agree exactly on
- every checked invariant and reachable goal: which are false / true, which cannot be evaluated;
- every step from the state: which actions complete and with which successor, and which fail
  which property (assertion, runtime error);
- the state itself: every slot within its declared type (what the symbolic engines assume).
The first disagreement raises `EngineDisagreement`, naming the state and both answers. This puts
Z3 on the per-state path, so it is slow, and never on by default.
"""
from __future__ import annotations

from typing import Sequence

import z3

from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.runs.visitor import State
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.invariants.z3enc import Encoder
from smp_explorer.ir.expr import Expr
from smp_explorer.ir.model import Model


class CrossCheck:
    def __init__(self, cm: CompiledModel):
        self.cm = cm
        self.model: Model = cm.model
        self.enc = Encoder(self.model)
        self.st = self.enc.state("z3check")
        self.states = 0
        self._model: z3.ModelRef | None = None
        self._state: tuple | None = None
        self._decls = [v.decl() for v in self.st.vars]
        self._nums: dict[int, z3.ExprRef] = {}
        enc, st = self.enc, self.st
        invs = [self.model.property(n) for n in cm.invariant_names]
        goals = [self.model.property(n) for n in cm.goal_names]
        self.inv_terms = [self._evaluation(p.condition) for p in invs]
        self.goal_terms = [self._evaluation(p.condition) for p in goals]
        self.in_types = enc.term(enc.in_types(st))
        self.actions = []
        for a in self.model.actions:
            t = enc.action(a, st)
            self.actions.append((a.index, enc.term(t.guard_defined), enc.term(t.enabled),
                                 enc.term(t.fires), {slot: v for slot, v in t.next.items()},
                                 {p: enc.term(c) for p, c in t.failures.items()}))

    # ---- evaluation ---------------------------------------------------------------------
    def _evaluation(self, e: Expr) -> tuple[z3.BoolRef, z3.BoolRef]:
        """Terms for: `e` can be evaluated; `e` is true."""
        enc, st = self.enc, self.st
        return enc.term(enc.defined(e, st)), enc.term(enc.truth(e, st))

    def _at(self, state: tuple) -> z3.ModelRef:
        if self._state != state:
            m = z3.Model(ctx=self.enc.ctx)
            ctx = m.ctx.ref()
            for decl, x in zip(self._decls, state):  # ModelRef.update_value, minus its checks
                value = self._nums.get(x)
                if value is None:
                    value = self._nums[x] = self.enc.num(x)
                z3.Z3_add_const_interp(ctx, m.model, decl.ast, value.as_ast())
            self._model, self._state = m, state
            if not self._true(self.in_types):
                self._fail(state, "a slot holds a value outside its declared type",
                           "within the types", "outside")
        return self._model

    # evaluation through the C API (ModelRef.eval wraps every answer in Python objects, which
    # costs more than the evaluation itself at tens of thousands of terms per second)
    def _raw(self, t: z3.ExprRef):
        m = self._model
        out = (z3.Ast * 1)()
        if not z3.Z3_model_eval(m.ctx.ref(), m.model, t.as_ast(), True, out):  # type: ignore[union-attr]
            raise z3.Z3Exception(f"cannot evaluate {t}")
        return out[0]

    def _true(self, t: z3.BoolRef) -> bool:
        return z3.Z3_get_bool_value(self._model.ctx.ref(), self._raw(t)) == z3.Z3_L_TRUE  # type: ignore[union-attr]

    def _number(self, t: z3.ExprRef) -> int:
        value = int(z3.Z3_get_numeral_string(self._model.ctx.ref(), self._raw(t)))  # type: ignore[union-attr]
        width = self.enc.width
        if width is not None and value >= 1 << (width - 1):
            value -= 1 << width  # bit-vector numerals are unsigned
        return value

    def _fail(self, state: tuple, what: str, z3_says, compiled_says) -> None:
        raise EngineDisagreement(
            f"--z3-check: {what} in state {self.model.describe(state)}: Z3 says {z3_says}, the "
            f"compiled explorer says {compiled_says}")

    # ---- the checks -----------------------------------------------------------------------
    def _per_state(self, state: tuple, got: Sequence[int | Undefined], terms, negate: bool,
                   names: list[str], what: str) -> None:
        self._at(state)
        want: list[int | str] = []
        for k, (defined, truth) in enumerate(terms):
            if not self._true(defined):
                want.append("undefined")
            elif self._true(truth) != negate:
                want.append(k)
        seen = ["undefined" if isinstance(x, Undefined) else x for x in got]
        if seen != want:
            def show(xs):
                return [x if x == "undefined" else names[x] for x in xs]
            self._fail(state, what, show(want), show(seen))

    def discovered(self, state: State, failing_invariants: Sequence[int | Undefined],
                   reached_goals: Sequence[int | Undefined] | None) -> None:
        self.states += 1
        self._per_state(state, failing_invariants, self.inv_terms, True,
                        self.cm.invariant_names, "the invariants that are false")
        if reached_goals is not None:
            self._per_state(state, reached_goals, self.goal_terms, False, self.cm.goal_names,
                            "the goals that hold")

    def expanded(self, state: State, successors: Sequence[tuple[int, State]],
                 failures: Sequence[tuple[int, str]]) -> None:
        self._at(state)
        want_out, want_bad = set(), set()
        for index, guard_defined, enabled, fires, nxt, fails in self.actions:
            if self._true(guard_defined) and not self._true(enabled):
                continue  # disabled: nothing happens
            if self._true(fires):
                succ = list(state)
                for slot, v in nxt.items():
                    succ[slot] = self._number(v)
                want_out.add((index, tuple(succ)))
            for prop, cond in fails.items():
                if self._true(cond):
                    want_bad.add((index, prop))
        seen_out = set(successors)
        seen_bad = set(failures)
        names = self.model.actions
        if seen_out != want_out:
            self._fail(state, "the steps that complete",
                       sorted(f"{names[a].name} -> {self.model.describe(t)}" for a, t in want_out),
                       sorted(f"{names[a].name} -> {self.model.describe(t)}" for a, t in seen_out))
        if seen_bad != want_bad:
            self._fail(state, "the steps that fail",
                       sorted(f"{names[a].name}: {p}" for a, p in want_bad),
                       sorted(f"{names[a].name}: {p}" for a, p in seen_bad))


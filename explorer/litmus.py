"""Running a litmus test: translate it to a spec for one memory model, explore it, read the
verdict of its final condition. The reading and translation live in `spec.litmus`."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Sequence

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.ir.evaluate import evaluate
from smp_explorer.ir.expr import TRUE as ir_true, slots_read
from smp_explorer.ir.properties import Kind, Property
from smp_explorer.ir.model import Model, Slot
from smp_explorer.runs.compiled import Undefined, compile_model
from smp_explorer.runs.visitor import State
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.litmus import PROPERTY, LitmusTest, Unsupported, translate, verdict_of
from smp_explorer.spec.pipeline import model_from_text

EVERY_STATE = "every state"  # the invariant that keeps a search exhaustive


def exhaustive(model: Model) -> Model:
    """The model with an invariant no state violates: a search of it goes on until every
    reachable state is found, even once every other property is decided (for a visitor that
    needs them all: the final states of a litmus test, the state graph of `--dot`)."""
    return replace(model, properties=model.properties + (
        Property(EVERY_STATE, Kind.INVARIANT, ir_true),))


@dataclass
class Outcome:
    """The verdict of one test under one memory model."""

    verdict: str              # Allowed | Forbidden | Always | Not always | unsupported: ... | error: ...
    states: int | None = None
    seconds: float = 0.0
    spec: str | None = None   # the translated spec text
    # the final states reached (every thread done, buffers drained) projected on what the
    # condition names: (((name, value), ...), how many final states, condition true)
    outcomes: list[tuple[tuple[tuple[str, object], ...], int, bool]] | None = None

    @property
    def unsupported(self) -> bool:
        return self.verdict.startswith("unsupported")


def run_test(test: LitmusTest, memory: str, max_states: int | None = None,
             timeout: float | None = None, reduction: bool = False) -> Outcome:
    """Translate and check one test under one memory model; never raises for a bad test.
    `reduction`: with partial-order reduction (it keeps every final state: they are the states
    where no step is enabled; the state counts shown are the full graph's without it)."""
    start = time.perf_counter()
    try:
        tr = translate(test, memory)
    except Unsupported as u:
        return Outcome(str(u), None, time.perf_counter() - start)
    try:
        model = model_from_text(tr.text, test.file, None, memory, tr.buffer)
        finals = FinalStates(model)
        model = exhaustive(model)
        result = explore(compile_model(model), Options(check_deadlock=False, max_states=max_states,
                                                       timeout=timeout, visitor=finals,
                                                       reduction=reduction), memory)
    except (SpecError, SpecErrors) as e:
        # the translation produced a spec the language rejects: a gap of the translator or of
        # the prelude, reported per test (the message names the construct)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return Outcome(f"unsupported: {_spec_error_construct(msg)}", None,
                       time.perf_counter() - start, tr.text)
    except Exception as e:  # a bug: reported for this test, the batch goes on
        return Outcome(f"error: internal error: {type(e).__name__}: {e}", None,
                       time.perf_counter() - start, tr.text)
    seconds = time.perf_counter() - start
    cond = next((p for p in result.properties if p.name == PROPERTY), None)
    failures = [p for p in result.properties
                if p.name != PROPERTY and p.kind in ("runtime", "assertion") and p.failed]
    if failures:
        return Outcome(f"error: {failures[0].message or failures[0].name}", result.stats.states,
                       seconds, tr.text)
    if cond is None:  # pragma: no cover
        return Outcome("error: no condition property", result.stats.states, seconds, tr.text)
    if not result.complete and cond.status == "unknown":
        return Outcome(f"error: incomplete ({result.stop_reason})", result.stats.states,
                       seconds, tr.text)
    return Outcome(verdict_of(tr.quantifier, cond.status), result.stats.states, seconds, tr.text,
                   finals.outcomes() if result.complete else None)


class FinalStates:
    """A search visitor (runs.visitor) that counts the final states of a litmus test: every
    thread at Done and every store buffer drained, projected on the registers and locations
    its condition names (herd7's final states), with whether the condition holds there."""

    def __init__(self, model: Model):
        self.model = model
        self.cond = model.property(PROPERTY).condition
        slots = [model.slots[i] for i in sorted(slots_read(self.cond))]
        self.shown = [s for s in slots if not s.is_pc and not s.internal]
        self.procs = [p.name for p in model.processes]
        self.counts: dict[tuple[tuple[str, object], ...], list] = {}

    def name(self, s: Slot) -> str:
        """herd7's name: `0:EAX` for a register of the first thread, `x` for a location (the
        translation renames one that clashes with a keyword: `reg_`/`loc_` before, `_` after)."""
        plain = re.sub(r"^(reg_|loc_)|_+$", "", s.var if s.owner in self.procs else s.name)
        return f"{self.procs.index(s.owner)}:{plain}" if s.owner in self.procs else plain

    def final(self, state: State) -> bool:
        m = self.model
        return all(state[p.pc_slot] == p.done for p in m.processes) and \
            all(not v.render(state) for v in m.views if v.name.endswith(".store_buffer"))

    def discovered(self, state: State, failing_invariants: Sequence[int | Undefined],
                   reached_goals: Sequence[int | Undefined] | None) -> None:
        if not self.final(state):
            return
        key = tuple((self.name(s), _hashable(s.show(state[s.index]))) for s in self.shown)
        entry = self.counts.setdefault(key, [0, bool(evaluate(self.cond, state))])
        entry[0] += 1

    def expanded(self, state: State, successors: Sequence[tuple[int, State]],
                 failures: Sequence[tuple[int, str]]) -> None:
        pass

    def outcomes(self) -> list[tuple[tuple[tuple[str, object], ...], int, bool]]:
        return sorted((k, n, ok) for k, (n, ok) in self.counts.items())


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _spec_error_construct(message: str) -> str:
    m = re.search(r"error: (.*)", message)
    return m.group(1) if m else message

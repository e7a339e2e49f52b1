"""Results of the symbolic engines, and traces decoded from Z3 models.

A path found by Z3 (concrete states and the action taken at each step) is replayed through the
compiled successor function of the explicit engine before it becomes a `Trace`: every step must
be one the explorer also takes, and the last state or step must fail the property the same way.
So a symbolic trace is rendered exactly like a BFS trace (the same `TraceBuilder`, the same
messages), and a disagreement between the engines is an error, never a wrong report.
"""
from __future__ import annotations

from smp_explorer.runs.compiled import CompiledModel, Undefined
from smp_explorer.runs.results import PropertyResult, RunResult, Stats, Trace
from smp_explorer.runs.traces import TraceBuilder
from smp_explorer.ir.properties import Kind, Property
from smp_explorer.ir.evaluate import EvalError, evaluate
from smp_explorer.ir.expr import describe_failure
from smp_explorer.ir.model import Model

# statuses beyond those of `check`
PROVED = "proved"
NOT_INDUCTIVE = "not-inductive"
BOUNDED = "bounded"


class EngineDisagreement(Exception):
    """Z3 and the compiled explicit engine disagree about the same model: a bug in one of
    them. The message says where, with the state."""


def property_result(p: Property, status: str, message: str | None,
                    trace: Trace | None) -> PropertyResult:
    """The result of one property as prove and bmc report it."""
    return PropertyResult(p.name, p.kind.value, status, p.description,
                          p.span.line if p.span else None, message, trace)


def symbolic_result(model: Model, memory: str | None, engine: str, bound: int, seconds: float,
                    properties: list[PropertyResult], complete: bool,
                    stop_reason: str) -> RunResult:
    """The run of `prove` (`bound` = k) or `bmc` (`bound` = the depth) as one `RunResult`."""
    return RunResult(model.name, memory or model.memory, complete, stop_reason,
                     Stats(seconds=seconds), properties, engine,
                     k=bound if engine == "prove" else None,
                     depth=bound if engine == "bmc" else None)


class Replayer:
    """Turns concrete paths into traces, checking each step against the compiled model."""

    def __init__(self, model: Model, cm: CompiledModel):
        self.model = model
        self.cm = cm

    def _step_ok(self, state: tuple, action: int, nxt: tuple) -> None:
        out, _ = self.cm.successors(state)
        if (action, nxt) not in out:
            raise EngineDisagreement(
                f"Z3 found step '{self.model.actions[action].name}' from {self.model.describe(state)}"
                f" to {self.model.describe(nxt)}, which the explicit engine does not take")

    def _builder(self, states: list[tuple], actions: list[int]) -> TraceBuilder:
        for k, a in enumerate(actions):
            self._step_ok(states[k], a, states[k + 1])
        parent = [-1] + list(range(len(states) - 1))
        via = [-1] + list(actions)
        return TraceBuilder(self.model, states, parent, via, self.cm.failures)

    def violation(self, prop: Property, states: list[tuple], actions: list[int],
                  where: str, action: int | None = None) -> tuple[Trace, str]:
        """The trace and message of a discovery exactly as BFS would report it.

        `where` says how the last state fails: "state" (an invariant is false there, a goal is
        reached, a deadlock), "evaluation" (evaluating a checked invariant or goal fails),
        "step" (an action fails from it; `action` is the one Z3 chose)."""
        builder = self._builder(states, actions)
        pos, last = len(states) - 1, states[-1]
        if where == "step":
            _, bad = self.cm.successors(last)
            found = [(ai, fid, value) for ai, fid, value in bad
                     if self.cm.failures[fid].property == prop.name]
            found.sort(key=lambda f: f[0] != action)  # Z3's choice first when the engines agree
            if not found:
                raise EngineDisagreement(
                    f"Z3 says a step fails {prop.name} from {self.model.describe(last)}; the "
                    "explicit engine finds no such failure")
            ai, fid, value = found[0]
            return builder.build(prop, pos, ai, fid, value)
        if where == "evaluation":
            for u in list(self.cm.invariants(last)) + list(self.cm.goals(last)):
                if isinstance(u, Undefined):  # the first failure, as BFS records it
                    return builder.build(prop, pos, None, u.site, u.value)
            raise EngineDisagreement(
                f"Z3 says evaluating a property fails in {self.model.describe(last)}; the "
                "explicit engine evaluates them all")
        self._check_state(prop, last)
        return builder.build(prop, pos, None, None, None)

    def _check_state(self, prop: Property, state: tuple) -> None:
        cm, model = self.cm, self.model
        if prop.kind is Kind.INVARIANT:
            ok = prop.name in cm.invariant_names and \
                cm.invariant_names.index(prop.name) in cm.invariants(state)
        elif prop.kind is Kind.REACHABLE:
            ok = cm.goal_names.index(prop.name) in cm.goals(state)
        elif prop.kind is Kind.DEADLOCK:
            out, bad = cm.successors(state)
            ok = not out and not bad and (not model.processes or any(
                state[p.pc_slot] != p.done for p in model.processes))
        else:
            ok = False
        if not ok:
            raise EngineDisagreement(
                f"Z3 says {prop.name} is {'reached' if prop.kind is Kind.REACHABLE else 'violated'}"
                f" in {model.describe(state)}; the explicit engine disagrees")

    def failing_end(self, prop: Property, states: list[tuple], actions: list[int],
                    evaluated: list[Property]) -> tuple[Trace, str]:
        """A path whose last state is bad for `prop` as a state predicate (Encoder.good);
        `evaluated`: the properties whose evaluation errors count as runtime errors."""
        last = states[-1]
        if prop.kind is Kind.INVARIANT:
            builder = self._builder(states, actions)
            trace = builder.trace(len(states) - 1)
            try:
                if evaluate(prop.condition, last):
                    raise EngineDisagreement(
                        f"Z3 says {prop.name} is false in {self.model.describe(last)}; the "
                        "reference evaluator says it holds")
            except EvalError as err:
                return trace, f"evaluating {prop.name} fails: " \
                    f"{describe_failure(err.node, err.value)}"
            return trace, f"{prop.name} is false: {prop.description}"
        if prop.kind is Kind.DEADLOCK:
            return self.violation(prop, states, actions, "state")
        if prop.kind is Kind.RUNTIME:
            for p in evaluated:
                try:
                    evaluate(p.condition, last)
                except EvalError as err:
                    trace = self._builder(states, actions).trace(len(states) - 1)
                    return trace, f"evaluating {p.name} fails: " \
                        f"{describe_failure(err.node, err.value)}"
        return self.violation(prop, states, actions, "step")


def is_step_property(prop: Property) -> bool:
    """Violated by a failing step rather than by a state."""
    return prop.kind in (Kind.ASSERTION, Kind.RUNTIME)


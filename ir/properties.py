"""Properties are data: a kind, a name, an IR expression and where it was written.

Whether a discovery (a state or step that matches) is a failure or the goal is decided here
once, as Stateright's `Expectation` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from smp_explorer.ir.expr import Expr
from smp_explorer.ir.span import Span


class Kind(str, Enum):
    INVARIANT = "invariant"   # expr holds in every reachable state
    ASSERTION = "assertion"   # an in-code `assert` holds whenever its step runs
    RUNTIME = "runtime"       # no value leaves its range, no division by zero, no bad index
    DEADLOCK = "deadlock"     # no reachable state without an enabled step (unless all terminated)
    REACHABLE = "reachable"   # some reachable state satisfies expr
    LIVENESS = "liveness"     # every fair infinite run satisfies `temporal` (Model.liveness)

    @property
    def discovery_is_failure(self) -> bool:
        return self is not Kind.REACHABLE


TEMPORAL_FORMS = ("eventually", "always_eventually", "eventually_always", "leads_to")


@dataclass(frozen=True)
class Temporal:
    """The temporal structure of a liveness property, over state conditions p and q:
    `eventually p` (<>p from the initial states), `always_eventually p` ([]<>p),
    `eventually_always p` (<>[]p), `leads_to` (p ~> q: [](p => <>q))."""

    form: str
    p: Expr
    q: Expr | None = None

    def text(self, p: str, q: str = "") -> str:
        if self.form == "leads_to":
            return f"{p} leads_to {q}"
        return f"{self.form.replace('_', ' ')} {p}"


@dataclass(frozen=True)
class Property:
    name: str
    kind: Kind
    expr: Expr | None = None  # invariant / reachable: over one state
    span: Span | None = None
    description: str = ""
    temporal: Temporal | None = None  # liveness only

    @property
    def condition(self) -> Expr:
        """The state condition of an invariant or reachable goal."""
        if self.expr is None:
            raise ValueError(f"{self.kind.value} {self.name} has no state condition")
        return self.expr

    @property
    def per_state(self) -> bool:
        return self.kind in (Kind.INVARIANT, Kind.REACHABLE)


RUNTIME_NAME = "no_runtime_error"
DEADLOCK_NAME = "deadlock_free"

"""What an engine tells a watcher about its search, state by state (as Stateright's
`CheckerBuilder.visitor`): `--z3-check` is one such watcher (`invariants.crosscheck`).

An engine calls the visitor with what it computed itself, so a watcher that recomputes the same
facts another way checks the engine that ran. States are given as tuples of slot values.
"""
from __future__ import annotations

from typing import Protocol, Sequence

from smp_explorer.runs.compiled import Undefined

State = tuple[int, ...]


class SearchVisitor(Protocol):
    def discovered(self, state: State, failing_invariants: Sequence[int | Undefined],
                   reached_goals: Sequence[int | Undefined] | None) -> None:
        """A distinct state was found. The positions (in `CompiledModel.invariant_names` /
        `goal_names`, ascending) of the invariants false and the goals true in it, an
        `Undefined` at a property that cannot be evaluated; goals None: not evaluated."""

    def expanded(self, state: State, successors: Sequence[tuple[int, State]],
                 failures: Sequence[tuple[int, str]]) -> None:
        """A state's steps were computed: (action, next state) of each step that completes,
        (action, property) of each step that fails."""

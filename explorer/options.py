"""What a run is asked to do; every engine takes the same options."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from smp_explorer.explorer.checkpoint import Checkpointer
from smp_explorer.runs.visitor import SearchVisitor

ENGINES = ("auto", "scalar", "vector")


class Progress(Protocol):
    """Receives plain numbers while a search runs; engines never print."""

    def __call__(self, states: int, transitions: int, depth: int, seconds: float) -> None: ...


@dataclass
class Options:
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    stop_at_first: bool = False
    check_deadlock: bool = True
    properties: list[str] | None = None  # check only these invariants / goals (None: all)
    progress: Progress | Callable[..., None] | None = None
    progress_every: float = 0.25         # seconds between progress reports
    engine: str = "auto"                 # auto | scalar | vector (| reference, for tests)
    exact: bool = False                  # store whole states even when they need > 2 words
    visitor: SearchVisitor | None = None  # told of every state and step (e.g. --z3-check)
    checkpoint: Checkpointer | None = None  # save the search between levels; resume from it
    max_memory: int | None = None        # bytes the search may add (explorer.spill); None: no cap
    workers: int | None = None           # partitions on Ray (explorer.distributed); None: here
    ray_address: str | None = None       # join this Ray cluster instead of starting one
    symmetry: bool = True                # canonical states of the spec's scalarsets (--no-symmetry)
    reduction: bool = False              # partial-order reduction (explorer.por); the CLI's default
    until_found: set[str] | None = None  # stop once these properties are all found (explorer.por)

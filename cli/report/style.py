"""The styles and words every report view shares."""
from __future__ import annotations

PLAIN_WIDTH = 80      # mail-friendly line length for plain output

MEMORY = "memory"     # the trace column of globals / shared memory
ACTION = "action"     # the trace column of TLA+-style actions (steps of no process)

# check's statuses, and those prove and bmc add
STATUS_STYLE = {"holds": "bold green", "violated": "bold red", "unreached": "bold red",
                "unknown": "bold yellow", "proved": "bold green", "bounded": "green",
                "not-inductive": "bold red"}
CHANGED = "bold yellow"
FAILED = "bold red"
LABEL = "bold"
DIM = "dim"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")

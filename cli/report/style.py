"""The styles and words every report view shares."""
from __future__ import annotations

from functools import lru_cache

from rich.syntax import Syntax
from rich.text import Text

from smp_explorer.spec.lexer import SmpLexer

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


@lru_cache(maxsize=1)
def _highlighter() -> Syntax:
    # "ansi_dark": the terminal's own colours, no background
    return Syntax("", SmpLexer(), theme="ansi_dark", background_color="default")


def spec_source(line: str, plain: bool = False) -> Text:
    """A line of spec source, highlighted with the spec language's lexer (as is with plain)."""
    if plain:
        return Text(line)
    text = _highlighter().highlight(line)
    text.rstrip()
    text.end = ""
    return text

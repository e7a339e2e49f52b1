"""A live progress line for long runs; appears only after about a second, only on a terminal."""
from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.text import Text


class LiveProgress:
    """A `Progress` callback for the engines, rendering states, depth and rate with Rich."""

    def __init__(self, console: Console, label: str, delay: float = 1.0):
        self.console = console
        self.label = label
        self.delay = delay
        self.live: Live | None = None

    def __call__(self, states: int, transitions: int, depth: int, seconds: float) -> None:
        if seconds < self.delay:
            return
        rate = states / seconds if seconds > 0 else 0.0
        text = Text.assemble((f"{self.label} ", "bold"),
                             f"{states:,} states  {transitions:,} transitions  depth {depth}  "
                             f"{rate:,.0f} states/s  {seconds:.1f} s")
        if self.live is None:
            self.live = Live(text, console=self.console, transient=True, auto_refresh=False)
            self.live.start()
        self.live.update(text, refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

"""Progress of long runs: a live line on a terminal (after about a second, gone at the end),
and elsewhere (CI logs, a pipe) a plain line on stderr every ~10 s."""
from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from smp_explorer.runs.results import mebibytes, peak_memory_bytes

LOG_EVERY = 10.0  # seconds between logged progress lines


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


class LogProgress:
    """A `Progress` callback for a non-terminal: one plain line every `every` seconds
    (states, depth, states/s, peak memory), kept in the log."""

    def __init__(self, stream: TextIO, label: str, every: float | None = None):
        self.stream = stream
        self.label = label
        self.every = LOG_EVERY if every is None else every
        self.next = self.every

    def __call__(self, states: int, transitions: int, depth: int, seconds: float) -> None:
        if seconds < self.next:
            return
        self.next = seconds + self.every
        rate = states / seconds if seconds > 0 else 0.0
        self.stream.write(f"{self.label}: {states:,} states, depth {depth}, {rate:,.0f} "
                          f"states/s, {seconds:.0f} s, peak memory "
                          f"{mebibytes(peak_memory_bytes())}\n")
        self.stream.flush()

    def close(self) -> None:
        pass

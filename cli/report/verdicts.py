"""What a run decided: the verdict of each property (one table per run, or a matrix of
memory models), one verdict line over every run, and the size of an explicit search."""
from __future__ import annotations

from typing import Iterator, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from smp_explorer.cli.report.style import DIM, STATUS_STYLE, plural
from smp_explorer.cli.report.tables import TableView
from smp_explorer.runs.results import PropertyResult, RunResult, mebibytes

STOP_REASONS = {
    "all decided": "every property was decided",
    "first violation": "stopped at the first violation",
    "max-states": "the state limit was reached",
    "max-depth": "the depth limit was reached",
    "timeout": "the time limit ran out",
    "interrupted": "interrupted",
    "out of memory": "memory ran out",
    "max-memory": "the memory budget (--max-memory) was reached",
}

# The verdict when nothing failed and nothing is undecided, by engine.
SUCCESS = {"explore": "OK", "prove": "PROVED", "bmc": "NO VIOLATION FOUND", "axiomatic": "OK"}


def _status(status: str, kind: str = "", unroll: int | None = None) -> Text:
    """A verdict as a table shows it: a reachable goal that holds was "reached"; an axiomatic
    run's `bounded` says its --unroll bound."""
    shown = "reached" if kind == "reachable" and status == "holds" else status
    if status == "bounded" and unroll is not None:
        shown = f"bounded (unroll {unroll})"
    return Text(shown, style=STATUS_STYLE.get(status, ""))


def _unroll(result: RunResult) -> int | None:
    return result.unroll if result.engine == "axiomatic" else None


class VerdictTable:
    """One run: each property with its kind, status and what it says (`check`: its
    description; prove and bmc: what was found)."""

    def __init__(self, result: RunResult, plain: bool = False):
        self.result = result
        self.plain = plain

    def grid(self) -> TableView:
        if self.result.engine == "explore":
            # An assertion named by its message would say the same thing twice.
            last, says = "description", [
                "" if p.description == p.name else p.description for p in self.result.properties]
        else:
            last, says = "result", [_found(p) for p in self.result.properties]
        rows = [[Text(p.name), Text(p.kind), _status(p.status, p.kind, _unroll(self.result)),
                 Text(text)]
                for p, text in zip(self.result.properties, says)]
        return TableView(["property", "kind", "status", last], rows, plain=self.plain)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.grid()


def _found(p: PropertyResult) -> str:
    """What prove or bmc found for a property, in a few words."""
    if p.status == "holds" and p.trace is not None:
        return f"reached in {len(p.trace)} steps"
    if p.failed and p.trace is not None:
        kind = "counterexample to induction" if p.may_be_unreachable else "counterexample"
        return f"{kind}: {len(p.trace)} step{'s' if len(p.trace) != 1 else ''}"
    return p.message or ""


class VerdictMatrix:
    """Several runs of one spec (one per memory model): properties x memory models."""

    def __init__(self, results: Sequence[RunResult], plain: bool = False):
        self.results = list(results)
        self.plain = plain

    def grid(self) -> TableView:
        # Runs may check different property sets: rows are the union, in first-seen order.
        kinds: dict[str, str] = {}
        status: dict[tuple[str, int], str] = {}
        for k, r in enumerate(self.results):
            for p in r.properties:
                kinds.setdefault(p.name, p.kind)
                status[p.name, k] = p.status
        rows = [[Text(name), Text(kind)]
                + [_status(status[name, k], kind, _unroll(self.results[k])) if (name, k) in status
                   else Text("-", style=DIM)
                   for k in range(len(self.results))]
                for name, kind in kinds.items()]
        return TableView(["property", "kind"] + [r.memory for r in self.results], rows,
                         plain=self.plain)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.grid()


def verdict_line(results: Sequence[RunResult]) -> Text:
    """One line over every run: FAILED, UNDECIDED or the engine's word for success, and how
    many properties ended in each status."""
    counts: dict[str, int] = {}
    for r in results:
        for p in r.properties:
            counts[p.status] = counts.get(p.status, 0) + 1
    engine = results[0].engine if results else "explore"
    if any(r.violated for r in results):
        word, style = "FAILED", STATUS_STYLE["violated"]
    elif any(r.undecided for r in results):
        word, style = "UNDECIDED", STATUS_STYLE["unknown"]
    else:
        word, style = SUCCESS[engine], STATUS_STYLE["holds"]
    if engine not in ("explore", "axiomatic"):  # each status prove or bmc gave, in order
        return Text.assemble(("verdict: ", "bold"), (word, style),
                             " (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")
    parts = [f"{n} {'hold' if s == 'holds' and n != 1 else s}"
             for s in ("violated", "unreached", "unknown", "bounded", "holds")
             if (n := counts.get(s, 0))]
    summary = ", ".join(parts) or "no properties checked"
    line = Text.assemble(("verdict: ", "bold"), (word, style), f" ({summary})")
    incomplete = [r for r in results if not r.complete and r.stop_reason != "all decided"]
    if incomplete:
        reasons = sorted({r.stop_reason for r in incomplete})
        line.append(f"; incomplete: {', '.join(reasons)}", style=STATUS_STYLE["unknown"])
    return line


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


class StatsView:
    """The size of the search, whether it finished, and steps that never fired."""

    def __init__(self, result: RunResult, show_memory: bool = False):
        self.result = result
        self.show_memory = show_memory

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r, s = self.result, self.result.stats
        prefix = f"{r.memory}: " if self.show_memory else ""
        if r.engine == "axiomatic":
            yield from self._axiomatic(prefix)
            return
        # Two short lines rather than one that wraps mid-phrase in an 80-column mail.
        yield Text(prefix + ", ".join([
            plural(s.states, "distinct state"), plural(s.transitions, "transition"),
            f"depth {s.depth}", plural(s.initial_states, "initial state")]))
        yield Text(" " * len(prefix) + f"time {_duration(s.seconds)}, {s.rate:,.0f} states/s"
                   + (f", peak memory {mebibytes(s.peak_memory)}" if s.peak_memory else ""),
                   style=DIM)
        if s.liveness is not None:   # the stage after the search: its time, and the total
            live = s.liveness
            pad = " " * len(prefix)
            yield Text(pad + f"liveness time {_duration(live.seconds)} (graph "
                       f"{_duration(live.graph_seconds)}, fair cycles "
                       f"{_duration(live.analysis_seconds)})", style=DIM)
            yield Text(pad + f"total time {_duration(s.seconds + live.seconds)}: search and "
                       "liveness", style=DIM)
        if r.complete:
            yield Text("search complete: every reachable state was explored", style=DIM)
        elif r.stop_reason == "all decided":
            yield Text("stopped early: every property was decided; the counts cover the "
                       "states explored until then", style=DIM)
        else:
            why = STOP_REASONS.get(r.stop_reason)
            yield Text.assemble(
                (f"incomplete: {r.stop_reason}", STATUS_STYLE["unknown"]),
                f" ({why})" if why else "",
                "; the counts are what was found so far")
        yield from self._notes()
        for line in s.reductions:   # partial-order reduction (explorer.por), symmetry, ...
            yield Text(line, style=DIM)
        yield from self._coverage()

    def _axiomatic(self, prefix: str) -> Iterator[Text]:
        """An axiomatic run has no states: how it was checked, its time and its notes."""
        r, s = self.result, self.result.stats
        yield Text(prefix + f"axiomatic model (Z3), loops unrolled up to {r.unroll} "
                   f"iteration{'s' if r.unroll != 1 else ''} (--unroll)")
        yield Text(" " * len(prefix) + f"time {_duration(s.seconds)}"
                   + (f", peak memory {mebibytes(s.peak_memory)}" if s.peak_memory else ""),
                   style=DIM)
        if not r.complete and r.stop_reason not in ("exhausted", "all decided"):
            why = STOP_REASONS.get(r.stop_reason)
            yield Text.assemble((f"incomplete: {r.stop_reason}", STATUS_STYLE["unknown"]),
                                f" ({why})" if why else "")
        yield from self._notes()

    def _notes(self) -> Iterator[Text]:
        for note in self.result.stats.notes:
            if note.startswith("warning: "):
                yield Text.assemble(("warning: ", "bold yellow"), note.removeprefix("warning: "))
            else:
                yield Text.assemble(("note: ", "bold"), note)

    def _coverage(self) -> Iterator[Text]:
        never = self.result.stats.never_fired
        if never:
            # In an unfinished search a step may still fire later: say "so far".
            when = "never fired" if self.result.complete else "not fired so far"
            yield Text.assemble(("warning: ", "bold yellow"),
                                f"{plural(len(never), 'step')} {when}: {', '.join(never)}")

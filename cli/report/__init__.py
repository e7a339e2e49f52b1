"""Terminal reports of check, prove, bmc and litmus: verdicts, statistics, counterexample
traces and spec errors.

The result objects (runs.results) know nothing of the terminal; everything Rich lives here.
Each view is a small class implementing `__rich_console__`, so a caller can print it on any
Console. Every view can also render itself as plain text (`plain=True`): ASCII only, no colour,
at most 80 columns where that fits, ready to paste into a mail. Both forms are Rich tables
built from the same cell contents (`tables.TableView`), so they cannot drift apart.

    tables    the two renderings of a table, section headings
    verdicts  property verdicts, the verdict line, search statistics
    trace     traces, states, counterexamples
    errors    spec errors against their source
    litmus    the lines and the agreement table of `explorer litmus`
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterator, Sequence

from rich.console import Console, Group, RenderableType
from rich.text import Text

from smp_explorer.cli.report.errors import (SpecErrorView, caret_position, render_spec_error,
                                            render_spec_errors)
from smp_explorer.cli.report.style import PLAIN_WIDTH
from smp_explorer.cli.report.tables import plain_console
from smp_explorer.cli.report.trace import CounterexampleView, StateView, TraceView
from smp_explorer.cli.report.verdicts import StatsView, VerdictMatrix, VerdictTable, verdict_line
from smp_explorer.ir.model import Model
from smp_explorer.runs.results import RunResult
from smp_explorer.spec.memory import caveat

__all__ = ["CounterexampleView", "SpecErrorView", "StateView", "StatsView", "TraceView",
           "VerdictMatrix", "VerdictTable", "caret_position", "render_plain", "render_results",
           "render_spec_error", "render_spec_errors", "verdict_line"]


def render_results(console: Console, results: list[RunResult], model: Model, *,
                   plain: bool = False, quiet: bool = False, width: int | None = None,
                   all_columns: bool = False, witness: bool = False) -> None:
    """Print the verdicts, statistics and counterexamples of one spec's runs (of one engine);
    `witness`: the witness traces of reached goals too."""
    # check's layout for the explicit search and the axiomatic engine (lkmm), alone or mixed;
    # prove and bmc (an lkmm run among bmc's included) have theirs
    explored = not any(r.engine in ("prove", "bmc") for r in results)
    shown = _Shown(plain, all_columns, witness)
    parts = list(_explored(results, model, shown, quiet) if explored
                 else _symbolic(results, model, shown, quiet))
    if not plain:
        for part in parts:
            console.print(part)
        return
    console.out(render_plain(Group(*parts), width or PLAIN_WIDTH), end="", highlight=False)


@dataclass(frozen=True)
class _Shown:
    plain: bool
    all_columns: bool = False
    witness: bool = False


def render_plain(renderable: RenderableType, width: int = PLAIN_WIDTH) -> str:
    """Plain text of a view: styles dropped, prose wrapped at `width`, tables as laid out."""
    buf = io.StringIO()
    plain_console(width, buf).print(renderable, crop=False)
    # Rich pads and leaves the space it wrapped at; trailing blanks only get in a mail's way.
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def _explored(results: Sequence[RunResult], model: Model, shown: _Shown,
              quiet: bool) -> Iterator[RenderableType]:
    plain = shown.plain
    several = len(results) > 1
    if several:
        yield Text(f"{model.name}: verdicts per memory model", style="bold")
        yield VerdictMatrix(results, plain)
    elif results:
        yield Text(f"{model.name} (memory model {results[0].memory})", style="bold")
        yield VerdictTable(results[0], plain)
    yield verdict_line(results)
    yield from _caveats(results)
    if quiet:
        return
    yield Text("")
    for r in results:
        yield StatsView(r, show_memory=several)
    yield from _counterexamples(results, model, shown)


def _symbolic(results: Sequence[RunResult], model: Model, shown: _Shown,
              quiet: bool) -> Iterator[RenderableType]:
    plain = shown.plain
    for r in results:
        what = f"k-induction, k up to {r.k}" if r.engine == "prove" else \
            f"axiomatic model, loops unrolled up to {r.unroll}" if r.engine == "axiomatic" else \
            f"bounded model checking up to depth {r.depth}"
        yield Text(f"{model.name} (memory model {r.memory}): {what}, {r.stats.seconds:.2f} s",
                   style="bold")
        if r.properties:
            yield VerdictTable(r, plain)
        else:
            yield Text("nothing to prove: the spec has no invariant (name other properties "
                       "with --invariant)" if r.engine == "prove" else "no property to check")
    if not any(r.properties for r in results):
        return
    yield verdict_line(results)
    yield from _caveats(results)
    if not quiet:
        yield from _counterexamples(results, model, shown)


def _caveats(results: Sequence[RunResult]) -> Iterator[Text]:
    """One line per memory model of the runs that does not explore everything (weak)."""
    for memory in dict.fromkeys(r.memory for r in results):
        said = caveat(memory)
        if said:
            yield Text.assemble(("caveat: ", "bold yellow"), said)


def _counterexamples(results: Sequence[RunResult], model: Model,
                     shown: _Shown) -> Iterator[RenderableType]:
    """Each failed property's view (prove and bmc: those with a trace); with `witness`, each
    reached goal's witness too."""
    several = len(results) > 1
    for r in results:
        for p in r.properties:
            drawn = p.trace is not None or p.execution is not None
            reached = shown.witness and p.kind == "reachable" and p.status == "holds" and drawn
            if not reached and (not p.failed or (not drawn and r.engine != "explore")):
                continue
            yield Text("")
            if p.may_be_unreachable:
                yield Text("Counterexample to induction: step 0 is a state where the property "
                           "(and any helpers) hold, not necessarily reachable from an initial "
                           "state. Strengthen the invariant, add a helper (--assume), or try a "
                           "larger --k.", style="bold yellow")
            yield CounterexampleView(p, model, r.memory if several else None, shown.plain,
                                     shown.all_columns)

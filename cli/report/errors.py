"""Spec errors as a compiler shows them: location, message, the line, a caret under the span."""
from __future__ import annotations

from typing import Iterator

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from smp_explorer.cli.report.style import DIM, spec_source
from smp_explorer.cli.report.trace import source_line
from smp_explorer.spec.errors import SpecError, SpecErrors


class SpecErrorView:
    """A spec error as a compiler shows it: location, message, the line, a caret under the span."""

    GUTTER = 5

    def __init__(self, err: SpecError, source: str | None):
        self.err = err
        self.source = source

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        err, span = self.err, self.err.span
        # Like a compiler, leave long lines to the terminal: editors and scripts parse them.
        header = Text(no_wrap=True, overflow="ignore")
        if span is not None:
            header.append(f"{span}: ", style="bold")
        header.append("error: ", style="bold red")
        header.append(err.message, style="bold")
        yield header
        yield from self._excerpt()
        for note in err.notes:
            yield Text.assemble(("note: ", "bold cyan"), note, no_wrap=True, overflow="ignore")

    def _excerpt(self) -> Iterator[Text]:
        span = self.err.span
        line = source_line(self.source or "", span.line if span else None)
        if span is None or line is None:
            return
        start, length = caret_position(line, span.col,
                                       span.end_col if span.end_line == span.line else None)
        gutter = " " * self.GUTTER + " | "
        # no_wrap: a wrapped source line would put the caret under the wrong character.
        yield Text.assemble((f"{span.line:>{self.GUTTER}} | ", DIM),
                            spec_source(line.expandtabs()),
                            no_wrap=True, overflow="ignore")
        yield Text.assemble((gutter, DIM), " " * start,
                            ("^" + "~" * (length - 1), "bold green"),
                            no_wrap=True, overflow="ignore")


def caret_position(line: str, col: int, end_col: int | None) -> tuple[int, int]:
    """Display offset and length of the underline for 1-based `col`..`end_col` (exclusive).

    Without an end on this line (a span running onto later lines) the underline runs to the end
    of the line. Tabs are expanded the same way as in the displayed line.
    """
    col = max(1, min(col, len(line) + 1))
    end = len(line) + 1 if end_col is None else max(col + 1, min(end_col, len(line) + 1))
    start = len(line[:col - 1].expandtabs())
    stop = len(line[:end - 1].expandtabs())
    return start, max(1, stop - start)


def render_spec_error(console: Console, err: SpecError, source: str | None) -> None:
    console.print(SpecErrorView(err, source), crop=False)


def render_spec_errors(console: Console, errs: SpecErrors | list[SpecError],
                       sources: dict[str, str]) -> None:
    """Several errors, each shown against the source of its own file (by span.file)."""
    errors = errs.errors if isinstance(errs, SpecErrors) else list(errs)
    for err in errors:
        render_spec_error(console, err, sources.get(err.span.file) if err.span else None)
    if len(errors) > 1:
        console.print(Text(f"{len(errors)} errors", style="bold red"))

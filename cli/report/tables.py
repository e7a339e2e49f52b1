"""Tables of the reports: one content (headers, rows of Text cells), two renderings, both
Rich tables: a styled one for the terminal, and ASCII for mail (`plain`).

The plain table is `box.ASCII` without its outer edge: columns separated by " | ", the header
underlined by "-+-". Three things of its layout are ours, not Rich's, and are decided here
before Rich draws it: column widths (the widest wrappable column narrows one character at a
time, never below MIN_PLAIN_COLUMN: wider is better than unreadable), wrapping (a continuation
line is indented two spaces so it does not read as the cell's next entry, which Rich's
wrapping cannot do), and no dangling " |" after the last cell with something on a line.
"""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from typing import IO, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

MIN_PLAIN_COLUMN = 10  # below this a wrapped column becomes unreadable; go wider instead
PLAIN_SEP = " | "      # what box.ASCII draws between two columns with padding (0, 1)


@dataclass
class TableView:
    headers: list[str]
    rows: list[list[Text]]
    right: set[int] = field(default_factory=set)  # columns justified right (numbers)
    plain: bool = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.plain:
            yield Text("\n".join(self.ascii(options.max_width)), no_wrap=True,
                       overflow="ignore")
        else:
            yield self.rich()

    def rich(self) -> Table:
        # Inner rules only: the "CPU-0 | CPU-1" look of a mail sketch, without a frame.
        table = Table(box=box.MINIMAL, header_style="bold", pad_edge=False)
        for i, h in enumerate(self.headers):
            # fold, not ellipsis: a value cut short would misreport the state
            table.add_column(h, justify="right" if i in self.right else "left",
                             overflow="fold", min_width=len(h))
        for row in self.rows:
            table.add_row(*row)
        return table

    def ascii(self, width: int) -> list[str]:
        """The plain table's lines, cells wrapped to fit `width` where the columns allow."""
        widths = self._fit(width)
        cells = [[_wrap(cell.plain, w) for cell, w in zip(row, widths)] for row in self.rows]
        table = Table(box=box.ASCII, show_edge=False, pad_edge=False, padding=(0, 1),
                      header_style="", highlight=False)
        for i, (h, w) in enumerate(zip(self.headers, widths)):
            table.add_column(h, justify="right" if i in self.right else "left", width=w,
                             no_wrap=True)
        for row in cells:
            table.add_row(*(Text("\n".join(lines)) for lines in row))
        total = sum(widths) + len(PLAIN_SEP) * (len(widths) - 1)
        console = plain_console(total)
        drawn = ["".join(s.text for s in line)
                 for line in console.render_lines(table, console.options, pad=False)]
        # What each drawn line holds, cell by cell: the header, the rule, each row's lines.
        content: list[list[str] | None] = [self.headers, None]
        for row in cells:
            content += [[c[k] if k < len(c) else "" for c in row]
                        for k in range(max((len(c) for c in row), default=1))]
        return [_cut(line, shown, widths) for line, shown in zip(drawn, content)]

    def _fit(self, width: int) -> list[int]:
        """Natural column widths, narrowing the widest wrappable ones until the table fits."""
        natural = [max([len(h)] + [len(line) for row in self.rows
                                   for line in row[i].plain.split("\n")])
                   for i, h in enumerate(self.headers)]
        widths = list(natural)
        floor = [natural[i] if i in self.right else max(MIN_PLAIN_COLUMN, len(h))
                 for i, h in enumerate(self.headers)]
        budget = width - len(PLAIN_SEP) * (len(widths) - 1)
        while sum(widths) > budget:
            narrowable = [i for i, w in enumerate(widths) if w > floor[i]]
            if not narrowable:
                break
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1
        return widths


def plain_console(width: int, file: IO[str] | None = None) -> Console:
    """A console that writes text only: no escape codes, whatever the styles say."""
    return Console(file=file or io.StringIO(), width=width, color_system=None,
                   force_terminal=False, force_jupyter=False, force_interactive=False,
                   no_color=True, highlight=False, markup=False, emoji=False,
                   legacy_windows=False)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for part in text.split("\n"):
        # Continuations are indented so they do not read as the next entry of the cell.
        lines.extend(textwrap.wrap(part, width, subsequent_indent="  ", break_on_hyphens=False)
                     or [""])
    return lines


def _cut(line: str, cells: Sequence[str] | None, widths: Sequence[int]) -> str:
    """A drawn line up to the end of its last non-empty cell (`cells` None: the rule)."""
    if cells is not None:
        filled = [i for i, c in enumerate(cells) if c]
        end = sum(widths[:filled[-1] + 1]) + len(PLAIN_SEP) * filled[-1] if filled else 0
        line = line[:end]
    return line.rstrip()


class Heading:
    """A section title on a rule; a long title goes above the rule rather than be cut short."""

    def __init__(self, title: str, plain: bool):
        self.title = title
        # Rich's default rule is drawn with box characters, which plain text must not contain.
        self.characters = "-" if plain else "\u2500"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        title = Text(self.title, style="bold")
        if len(self.title) + 6 <= options.max_width:
            yield Rule(title, align="left", characters=self.characters)
        else:
            # A Rule truncates its title with an ellipsis (not ASCII, and loses the name).
            yield title
            yield Rule(characters=self.characters)

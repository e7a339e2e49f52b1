"""Terminal reports: verdicts, statistics, counterexample traces and spec errors.

The result objects (explorer.results) know nothing of the terminal; everything Rich lives here.
Each view is a small class implementing `__rich_console__`, so a caller can print it on any
Console. A trace is laid out the way kernel developers sketch races in mail: one column per
process instance ("CPU-0 | CPU-1"), plus one for shared memory, one row per step.

Every view can also render itself as plain text (`plain=True`): ASCII only, no colour, at most
80 columns where that fits, ready to paste into a mail. Both forms are built from the same cell
contents (`Grid`), so they cannot drift apart.
"""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from smp_explorer.runs.results import PropertyResult, RunResult, Step, Trace
from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError, SpecErrors

PLAIN_WIDTH = 80      # mail-friendly line length for plain output
MIN_PLAIN_COLUMN = 10  # below this a wrapped column becomes unreadable; go wider instead
PLAIN_SEP = " | "

MEMORY = "memory"     # the trace column of globals / shared memory
ACTION = "action"     # the trace column of TLA+-style actions (steps of no process)

STATUS_STYLE = {"holds": "bold green", "violated": "bold red", "unreached": "bold red",
                "unknown": "bold yellow"}
CHANGED = "bold yellow"
FAILED = "bold red"
LABEL = "bold"
DIM = "dim"

STOP_REASONS = {
    "all decided": "every property was decided",
    "first violation": "stopped at the first violation",
    "max-states": "the state limit was reached",
    "max-depth": "the depth limit was reached",
    "timeout": "the time limit ran out",
    "interrupted": "interrupted",
}


# ---------------------------------------------------------------------------------------------
# Values and slot names


def show_value(value: object) -> str:
    """A state value as the spec language writes it (true/false, {a, b})."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "{" + ", ".join(show_value(v) for v in value) + "}"
    return str(value)


def _assign(name: str, value: object, op: str, highlight: bool) -> Text:
    return Text.assemble(name, (f" {op} ", DIM), (show_value(value), CHANGED if highlight else ""))


def _base(name: str) -> str:
    """The declared variable of an element slot: "ipi[1]" -> "ipi", "m[0][1]" -> "m"."""
    return name.split("[", 1)[0]


def _groups(names: Sequence[str]) -> Iterator[list[str]]:
    """Consecutive slots of the same array together (slots of an array are adjacent)."""
    group: list[str] = []
    for name in names:
        if group and ("[" not in name or _base(name) != _base(group[0])):
            yield group
            group = []
        group.append(name)
    if group:
        yield group


@dataclass
class _Columns:
    """Which trace column each slot belongs to, and the name it is shown by there."""

    processes: list[str]
    owner: dict[str, str | None]  # slot -> its process column, None for the memory column

    @classmethod
    def of(cls, trace: Trace) -> "_Columns":
        procs = set(trace.processes)
        # Slots owned by something that is not a listed instance are shown as memory.
        return cls(list(trace.processes),
                   {s: o if o in procs else None for s, o in trace.owners.items()})

    def short(self, slot: str) -> str:
        """A local without its instance prefix: "Cpu[0].seen" -> "seen" in Cpu[0]'s column."""
        owner = self.owner.get(slot)
        prefix = f"{owner}."
        return slot[len(prefix):] if owner and slot.startswith(prefix) else slot

    def slots(self, column: str | None) -> list[str]:
        return [s for s, o in self.owner.items() if o == column]

    @staticmethod
    def pc(process: str) -> str:
        return f"{process}.pc"


def _state_lines(cols: _Columns, column: str | None, state: dict[str, object],
                 changed: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Text]:
    """A column's part of a state, arrays of one value folded ("ipi[*] = false")."""
    changed, skip = set(changed), set(skip)
    lines = []
    for group in _groups([s for s in cols.slots(column) if s not in skip]):
        values = [state.get(s) for s in group]
        hot = any(s in changed for s in group)
        if len(group) > 1 and all(v == values[0] for v in values):
            depth = group[0].count("[")
            name = _base(cols.short(group[0])) + "[*]" * depth
            lines.append(_assign(name, values[0], "=", hot))
        else:
            lines.extend(_assign(cols.short(s), state.get(s), "=", s in changed) for s in group)
    return lines


# ---------------------------------------------------------------------------------------------
# Grids: one content, two renderings (a Rich table, or ASCII text for mail)


@dataclass
class Grid:
    headers: list[str]
    rows: list[list[Text]]
    right: set[int] = field(default_factory=set)  # columns justified right (numbers)

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
        """Columns padded with spaces and separated by " | "; cells wrap to fit `width`."""
        widths = self._fit(width)
        out = [self._line(self.headers, widths),
               "-+-".join("-" * w for w in widths).rstrip()]
        for row in self.rows:
            cells = [_wrap(cell.plain, w) for cell, w in zip(row, widths)]
            for k in range(max((len(c) for c in cells), default=1)):
                out.append(self._line([c[k] if k < len(c) else "" for c in cells], widths))
        return out

    def _line(self, cells: Sequence[str], widths: Sequence[int]) -> str:
        cells = list(cells)
        while cells and not cells[-1]:
            cells.pop()  # no dangling " |" after the last cell with something in it
        padded = [c.rjust(w) if i in self.right else c.ljust(w)
                  for i, (c, w) in enumerate(zip(cells, widths))]
        return PLAIN_SEP.join(padded).rstrip()

    def _fit(self, width: int) -> list[int]:
        """Natural column widths, narrowing the widest wrappable ones until the grid fits."""
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
                break  # too many columns for the width: wider is better than unreadable
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1
        return widths


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for part in text.split("\n"):
        # Continuations are indented so they do not read as the next entry of the cell.
        lines.extend(textwrap.wrap(part, width, subsequent_indent="  ", break_on_hyphens=False)
                     or [""])
    return lines


class _PlainLines:
    """Lines that must not be re-wrapped (an ASCII grid, a source line under its caret)."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text("\n".join(self.lines), no_wrap=True, overflow="ignore")


def _grid(grid: Grid, plain: bool, width: int) -> RenderableType:
    return _PlainLines(grid.ascii(width)) if plain else grid.rich()


class _Heading:
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


# ---------------------------------------------------------------------------------------------
# Verdicts


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


class VerdictTable:
    """One run: each property with its kind, status and what it says."""

    def __init__(self, result: RunResult, plain: bool = False):
        self.result = result
        self.plain = plain

    def grid(self) -> Grid:
        # An assertion named by its message would say the same thing twice.
        rows = [[Text(p.name), Text(p.kind), _status(p.status),
                 Text("" if p.description == p.name else p.description)]
                for p in self.result.properties]
        return Grid(["property", "kind", "status", "description"], rows)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _grid(self.grid(), self.plain, options.max_width)


class VerdictMatrix:
    """Several runs of one spec (one per memory model): properties x memory models."""

    def __init__(self, results: Sequence[RunResult], plain: bool = False):
        self.results = list(results)
        self.plain = plain

    def grid(self) -> Grid:
        # Runs may check different property sets: rows are the union, in first-seen order.
        kinds: dict[str, str] = {}
        status: dict[tuple[str, int], str] = {}
        for k, r in enumerate(self.results):
            for p in r.properties:
                kinds.setdefault(p.name, p.kind)
                status[p.name, k] = p.status
        rows = [[Text(name), Text(kind)]
                + [_status(status[name, k]) if (name, k) in status else Text("-", style=DIM)
                   for k in range(len(self.results))]
                for name, kind in kinds.items()]
        return Grid(["property", "kind"] + [r.memory for r in self.results], rows)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _grid(self.grid(), self.plain, options.max_width)


def verdict_line(results: Sequence[RunResult]) -> Text:
    """One line: how many properties hold / fail / are undecided, over every run."""
    counts: dict[str, int] = {}
    for r in results:
        for p in r.properties:
            counts[p.status] = counts.get(p.status, 0) + 1
    if any(r.violated for r in results):
        word, style = "FAILED", STATUS_STYLE["violated"]
    elif any(r.undecided for r in results):
        word, style = "UNDECIDED", STATUS_STYLE["unknown"]
    else:
        word, style = "OK", STATUS_STYLE["holds"]
    parts = [f"{n} {'hold' if s == 'holds' and n != 1 else s}"
             for s in ("violated", "unreached", "unknown", "holds") if (n := counts.get(s, 0))]
    summary = ", ".join(parts) or "no properties checked"
    line = Text.assemble(("verdict: ", "bold"), (word, style), f" ({summary})")
    incomplete = [r for r in results if not r.complete and r.stop_reason != "all decided"]
    if incomplete:
        reasons = sorted({r.stop_reason for r in incomplete})
        line.append(f"; incomplete: {', '.join(reasons)}", style=STATUS_STYLE["unknown"])
    return line


# ---------------------------------------------------------------------------------------------
# Statistics


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class StatsView:
    """The size of the search, whether it finished, and steps that never fired."""

    def __init__(self, result: RunResult, show_memory: bool = False):
        self.result = result
        self.show_memory = show_memory

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r, s = self.result, self.result.stats
        prefix = f"{r.memory}: " if self.show_memory else ""
        # Two short lines rather than one that wraps mid-phrase in an 80-column mail.
        yield Text(prefix + ", ".join([
            _plural(s.states, "distinct state"), _plural(s.transitions, "transition"),
            f"depth {s.depth}", _plural(s.initial_states, "initial state")]))
        yield Text(" " * len(prefix) + f"time {_duration(s.seconds)}, {s.rate:,.0f} states/s",
                   style=DIM)
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
        for note in s.notes:
            yield Text.assemble(("note: ", "bold"), note)
        yield from self._coverage()

    def _coverage(self) -> Iterator[Text]:
        never = self.result.stats.never_fired
        if never:
            # In an unfinished search a step may still fire later: say "so far".
            when = "never fired" if self.result.complete else "not fired so far"
            yield Text.assemble(("warning: ", "bold yellow"),
                                f"{_plural(len(never), 'step')} {when}: {', '.join(never)}")


# ---------------------------------------------------------------------------------------------
# Traces


class TraceView:
    """A trace as a table: a column per process instance and one for memory, a row per step."""

    def __init__(self, trace: Trace, plain: bool = False):
        # The trace carries its own layout (owners, processes): no Model needed, so a trace
        # read back from JSON or from another memory model's run renders the same way.
        self.trace = trace
        self.plain = plain
        self.cols = _Columns.of(trace)
        procs = set(trace.processes)
        # An action column only when some step belongs to no process (TLA+-style actions).
        self.has_actions = any(s.process not in procs for s in trace.steps[1:])
        self.has_memory = any(o is None for o in self.cols.owner.values())

    def keys(self) -> list[str | None]:
        """The cell keys after the step number: process names, ACTION, None for memory."""
        keys: list[str | None] = list(self.cols.processes)
        if self.has_actions:
            keys.append(ACTION)
        if self.has_memory:
            keys.append(None)
        return keys

    def grid(self) -> Grid:
        keys = self.keys()
        headers = ["#"] + [MEMORY if k is None else k for k in keys]
        rows = []
        for n, step in enumerate(self.trace.steps):
            cells = self._initial(step) if n == 0 else self._step(step)
            rows.append([Text(str(n), style=DIM)] + [_join(cells.get(k, [])) for k in keys])
        return Grid(headers, rows, right={0})

    def _initial(self, step: Step) -> dict[str | None, list[Text]]:
        cells: dict[str | None, list[Text]] = {ACTION: [Text("initial state", style=DIM)]}
        for p in self.cols.processes:
            pc = self.cols.pc(p)
            at = [Text.assemble(("at ", DIM), (show_value(step.state[pc]), LABEL))] \
                if pc in step.state else []
            cells[p] = at + _state_lines(self.cols, p, step.state, skip=[pc])
        cells[None] = _state_lines(self.cols, None, step.state)
        return cells

    def _step(self, step: Step) -> dict[str | None, list[Text]]:
        actor = step.process if step.process in self.cols.processes else ACTION
        label = self._label(step)
        pc = self.cols.pc(step.process) if step.process in self.cols.processes else None
        if pc in step.changed and self._jumped(step, show_value(step.state.get(pc))):
            label.append(f" -> {show_value(step.state.get(pc))}", style=DIM)
        cells: dict[str | None, list[Text]] = {actor: [label]}
        if step.label == "flush":  # a memory-model step: say what became visible, and where
            shown = [f"{self.cols.short(k)}={show_value(step.state.get(k))}"
                     for k in step.changed if self.cols.owner.get(k) is None]
            if shown:
                cells[actor] = [Text.assemble(("store buffer: ", LABEL),
                                              f"{', '.join(shown)} becomes visible")]
        for slot in step.changed:
            # The actor moving to its next label is implied by its next row; other pc
            # changes (one process stopping another) are news and are shown.
            if step.process is not None and slot == self.cols.pc(step.process):
                continue
            column = self.cols.owner.get(slot)
            cells.setdefault(column, []).append(
                _assign(self.cols.short(slot), step.state.get(slot), ":=", True))
        if step.failed:
            cells[actor].append(Text(f"FAILED: {step.failed}", style=FAILED))
        return cells

    def _jumped(self, step: Step, target: str) -> bool:
        """Whether a step went anywhere but the label written after its own (a goto, a trap)."""
        order = self.trace.labels.get(step.process or "", [])
        if step.label not in order:
            return False
        i = order.index(step.label)
        return i + 1 >= len(order) or order[i + 1] != target

    @staticmethod
    def _label(step: Step) -> Text:
        where = f"  L{step.line}" if step.line is not None else ""
        return Text.assemble((step.label or step.action or "step", LABEL), (where, DIM))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _grid(self.grid(), self.plain, options.max_width)


def _join(lines: list[Text]) -> Text:
    return Text("\n").join(lines)


class StateView:
    """A whole state: per process its pc and locals, then the globals."""

    def __init__(self, trace: Trace, step: Step, plain: bool = False):
        self.cols = _Columns.of(trace)
        self.step = step
        self.plain = plain

    def grid(self) -> Grid:
        keys: list[str | None] = list(self.cols.processes)
        if any(o is None for o in self.cols.owner.values()):
            keys.append(None)
        row = [_join(_state_lines(self.cols, k, self.step.state, self.step.changed))
               for k in keys]
        return Grid([MEMORY if k is None else k for k in keys], [row])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _grid(self.grid(), self.plain, options.max_width)


# ---------------------------------------------------------------------------------------------
# Counterexamples


def source_line(source: str, line: int | None) -> str | None:
    if not source or line is None:
        return None
    lines = source.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


class CounterexampleView:
    """A failed property: where it is written, why it failed, the trace and the final state."""

    def __init__(self, prop: PropertyResult, model: Model, memory: str | None = None,
                 plain: bool = False):
        self.prop = prop
        self.model = model
        self.memory = memory
        self.plain = plain

    def title(self) -> str:
        p = self.prop
        under = f" under {self.memory}" if self.memory else ""
        status = "never reached" if p.status == "unreached" else p.status
        return f"{p.kind} {p.name}: {status}{under}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p = self.prop
        yield _Heading(self.title(), self.plain)
        text = source_line(self.model.source, p.line)
        if text is not None:
            yield Text.assemble((f"line {p.line}: ", DIM), text.strip())
        if p.status == "unreached":
            yield Text(f"no reachable state satisfies it: {p.description}",
                       style=STATUS_STYLE["unreached"])
            return
        if p.message:
            yield Text(p.message, style=FAILED)
        if p.explanation:  # found by Z3: the last state's values that alone make it false
            because = "violated because " if p.status == "violated" else "it fails because "
            yield Text.assemble((because, "bold"),
                                (", ".join(e["text"] for e in p.explanation), CHANGED))
        if p.trace is None:
            return
        yield Text("")
        yield Text(f"Trace ({_plural(len(p.trace), 'step')}):", style="bold")
        yield TraceView(p.trace, self.plain)
        yield from self._final_state(p.trace)

    def _final_state(self, trace: Trace) -> Iterator[RenderableType]:
        last = trace.steps[-1]
        n = len(trace.steps) - 1
        if last.failed:
            title = f"State when step {n} failed (the step did not complete):"
        elif n == 0:
            title = "Initial state:"
        else:
            title = f"State after step {n}:"
        yield Text("")
        yield Text(title, style="bold")
        yield StateView(trace, last, self.plain)


# ---------------------------------------------------------------------------------------------
# The whole run


def _run_renderables(results: Sequence[RunResult], model: Model, plain: bool,
                     quiet: bool) -> Iterator[RenderableType]:
    several = len(results) > 1
    if several:
        yield Text(f"{model.name}: verdicts per memory model", style="bold")
        yield VerdictMatrix(results, plain)
    elif results:
        yield Text(f"{model.name} (memory model {results[0].memory})", style="bold")
        yield VerdictTable(results[0], plain)
    yield verdict_line(results)
    if quiet:
        return
    yield Text("")
    for r in results:
        yield StatsView(r, show_memory=several)
    for r in results:
        for p in r.properties:
            if p.failed:
                yield Text("")
                yield CounterexampleView(p, model, r.memory if several else None, plain)


def render_run(console: Console, results: list[RunResult], model: Model, *,
               plain: bool = False, quiet: bool = False) -> None:
    """Print the verdicts, statistics and counterexamples of one spec's runs."""
    parts = list(_run_renderables(results, model, plain, quiet))
    if not plain:
        for part in parts:
            console.print(part)
        return
    console.out(render_plain(Group(*parts)), end="", highlight=False)


def render_plain(renderable: RenderableType, width: int = PLAIN_WIDTH) -> str:
    """Plain text of a view: styles dropped, prose wrapped at `width`, grids left as laid out."""
    buf = io.StringIO()
    # color_system=None makes Rich emit no escape codes at all, whatever the styles say.
    plain = Console(file=buf, width=width, color_system=None, force_terminal=False,
                    force_jupyter=False, force_interactive=False, no_color=True,
                    highlight=False, markup=False, emoji=False, legacy_windows=False)
    plain.print(renderable, crop=False)
    # Rich pads and leaves the space it wrapped at; trailing blanks only get in a mail's way.
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


# ---------------------------------------------------------------------------------------------
# Spec errors


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
        yield Text.assemble((f"{span.line:>{self.GUTTER}} | ", DIM), line.expandtabs(),
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

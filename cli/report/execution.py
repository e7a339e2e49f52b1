"""A candidate execution of an axiomatic memory model (lkmm), drawn the way kernel developers
draw litmus tests: one column per CPU, its events down the column in program order (not in
time: an axiomatic execution has no global order), each read saying the value it read and the
write it read it from, each write its place in its location's coherence order when that
location has several writes, fences and Linux tags, and the two accesses of a data race
flagged.

    initial: x=0, y=0

     P0                      | P1
    -------------------------+--------------------------
     L3 WRITE_ONCE(x, 1)     | L9 r1 = READ_ONCE(y)
        W x=1 [Once]         |    R y=1 [Once] from P0 L5
     L4 smp_mb()             | L10 r2 = READ_ONCE(x)
        F [Mb]               |    R x=0 [Once] from init
     ...

    final: x=1, y=1, P1.r1=1, P1.r2=0

The same cells make the Rich and the plain table (tables.TableView); `Drawing` gives the words
to the HTML fragment (`execution_html`) too, so the three cannot drift apart.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable
from typing import Iterator

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from smp_explorer.cli.report.style import DIM, FAILED, LABEL
from smp_explorer.cli.report.tables import TableView
from smp_explorer.ir.model import Model
from smp_explorer.runs.executions import ExecEvent, ExecutionTrace

INIT = "init"
# How a value of a location or local is written: (name, value) -> text ("b0", 1 -> "INT3")
Namer = Callable[[str, int | None], str]


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "?" if v is None else str(v)


def model_namer(model: Model | None) -> Namer:
    """Values as the spec writes them (enum members, true/false), by the slot of the model
    named like the location ("b0", "ipi[1]") or local ("Cpu[0].seen"); as numbers otherwise."""
    slots = {s.name: s for s in model.slots} if model is not None else {}

    def name(where: str, value: int | None) -> str:
        slot = slots.get(where)
        if slot is None or value is None:
            return _value(value)
        try:
            return slot.show_text(value)
        except (IndexError, KeyError, TypeError, ValueError):   # not a value of its type
            return _value(value)
    return name


def _tags(e: ExecEvent) -> str:
    return f" [{', '.join(e.tags)}]" if e.tags else ""


def _co_key(w: ExecEvent) -> tuple[int, int]:
    """Coherence order: the initial write first, then co_index (unknown ones last, by id)."""
    if w.cpu is None:
        return (0, w.id)
    return (w.co_index if w.co_index is not None else 1 << 30, w.id)


@dataclass(frozen=True)
class Cell:
    """One operation of a CPU: an event, or the read and write of an RMW together."""

    events: tuple[ExecEvent, ...]

    @property
    def first(self) -> ExecEvent:
        return self.events[0]

    @property
    def line(self) -> int | None:
        return self.first.line

    @property
    def text(self) -> str | None:
        """The operation as written, without the statement's `;`."""
        said = next((e.text for e in self.events if e.text), None)
        return said.rstrip().removesuffix(";") if said else None


class Drawing:
    """What the views draw of an execution: events by id, cells per CPU, and the words for
    each event (`where`, `facts`)."""

    def __init__(self, trace: ExecutionTrace, namer: Namer | None = None):
        self.trace = trace
        self.name = namer or model_namer(None)
        self.by_id = {e.id: e for e in trace.events}
        self.flagged = {i for pair in trace.flagged for i in pair}
        # writes per location, coherence order first (init: co_index 0)
        self.writes: dict[str, list[ExecEvent]] = {}
        for e in trace.events:
            if e.kind == "W" and e.location is not None:
                self.writes.setdefault(e.location, []).append(e)
        for ws in self.writes.values():
            ws.sort(key=_co_key)

    def initial(self) -> list[ExecEvent]:
        return [e for e in self.trace.events if e.cpu is None]

    def columns(self) -> list[str]:
        """The CPUs in declaration order, then any CPU an event names that the trace does not
        list (so that no event is ever left out)."""
        cols = list(self.trace.processes)
        for e in self.trace.events:
            if e.cpu is not None and e.cpu not in cols:
                cols.append(e.cpu)
        return cols

    def cells(self, cpu: str) -> list[Cell]:
        """The CPU's operations in program order; an RMW's two halves make one cell."""
        mine = sorted((e for e in self.trace.events if e.cpu == cpu), key=lambda e: (e.index, e.id))
        cells: list[Cell] = []
        taken: set[int] = set()
        for e in mine:
            if e.id in taken:
                continue
            pair = self.by_id.get(e.rmw_pair) if e.rmw_pair is not None else None
            group = (e,) if pair is None or pair.cpu != cpu or pair.id in taken else \
                tuple(sorted((e, pair), key=lambda x: (x.kind != "R", x.index)))
            taken.update(x.id for x in group)
            cells.append(Cell(group))
        return cells

    def where(self, event_id: int | None) -> str:
        """A write as a read names its source: "P0 L5", "init" (or "P0 #2" without a line)."""
        if event_id is None:
            return "?"   # the engine did not say (never for a read of a complete execution)
        e = self.by_id.get(event_id)
        if e is None:
            return f"event {event_id}"
        if e.cpu is None:
            return INIT
        return f"{e.cpu} L{e.line}" if e.line is not None else f"{e.cpu} #{e.index}"

    def several_writes(self, location: str | None) -> bool:
        """Whether co is worth showing: the location has two writes besides its initial one."""
        return location is not None and \
            sum(1 for w in self.writes.get(location, []) if w.cpu is not None) >= 2

    def facts(self, e: ExecEvent) -> str:
        """One event in a few words: "R y=1 [Once] from P0 L5", "W x=1 [Once] co 2",
        "F [Mb]"."""
        said = self.access(e)
        if e.kind == "R":
            said += f" from {self.where(e.reads_from)}"
        elif e.kind == "W" and e.co_index is not None and self.several_writes(e.location):
            said += f" co {e.co_index}"
        return said

    def access(self, e: ExecEvent) -> str:
        """The event without its rf / co: "R y=1 [Once]", "F [Mb]"."""
        if e.kind == "F":
            return f"F{_tags(e)}"
        return f"{e.kind} {e.location or '?'}={self.name(e.location or '', e.value)}{_tags(e)}"

    def race(self, e: ExecEvent) -> str | None:
        """For an access of a flagged pair: the other access."""
        for a, b in self.trace.flagged:
            if e.id in (a, b):
                other = b if e.id == a else a
                return self.where(other) if other in self.by_id else "?"
        return None

    def coherence(self) -> Iterator[str]:
        """ "x: init=0 -> P0 L3=1 -> P1 L9=2" for each location with several writes."""
        for loc in sorted(self.writes):
            if self.several_writes(loc):
                yield f"{loc}: " + " -> ".join(
                    f"{self.where(w.id)}={self.name(loc, w.value)}" for w in self.writes[loc])

    def races(self) -> Iterator[str]:
        for a, b in self.trace.flagged:
            ea, eb = self.by_id.get(a), self.by_id.get(b)
            if ea is None or eb is None:
                continue
            yield f"{self.where(a)} ({self.access(ea)}) and {self.where(b)} ({self.access(eb)})"

    def initial_text(self) -> str:
        return ", ".join(f"{e.location}={self.name(e.location, e.value)}"
                         for e in self.initial() if e.location is not None)

    def final_text(self) -> str:
        return ", ".join(f"{k}={self.name(k, v)}" for k, v in self.trace.final.items())


def _cell_text(d: Drawing, cell: Cell) -> Text:
    where = f"L{cell.line} " if cell.line is not None else ""
    head = cell.text or ("RMW" if len(cell.events) > 1 else "")
    lines = [Text.assemble((where, DIM), (head, LABEL))] if where or head else []
    for e in cell.events:
        lines.append(Text("   " + d.facts(e)))
        other = d.race(e)
        if other is not None:
            lines.append(Text(f"   data race with {other}", style=FAILED))
    return Text("\n").join(lines)


class ExecutionView:
    """An execution: the initial values, the CPU columns, co order where a location has
    several writes, the flagged pairs and the final values."""

    def __init__(self, trace: ExecutionTrace, plain: bool = False, model: Model | None = None):
        self.trace = trace
        self.plain = plain
        self.drawing = Drawing(trace, model_namer(model))

    def grid(self) -> TableView:
        d = self.drawing
        cols = d.columns()
        per_cpu = [d.cells(c) for c in cols]
        depth = max((len(c) for c in per_cpu), default=0)
        rows = [[_cell_text(d, cells[i]) if i < len(cells) else Text("") for cells in per_cpu]
                for i in range(depth)]
        return TableView(cols, rows, plain=self.plain)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        d = self.drawing
        init = d.initial_text()
        if init:
            yield Text.assemble(("initial: ", "bold"), init)
        yield self.grid()
        co = list(d.coherence())
        if co:
            yield Text("coherence order (co), per location:", style="bold")
            for line in co:
                yield Text(f"  {line}")
        for race in d.races():
            yield Text.assemble(("data race: ", FAILED), race)
        final = d.final_text()
        if final:
            yield Text.assemble(("final: ", "bold"), final)


def execution_html(trace: ExecutionTrace, model: Model | None = None) -> str:
    """The same drawing as an HTML fragment (for `check --html`): the initial values, a table
    with a column per CPU and a row per operation, co order, data races, the final values."""
    e = html.escape
    d = Drawing(trace, model_namer(model))
    cols = d.columns()
    per_cpu = [d.cells(c) for c in cols]
    parts = []
    if d.initial_text():
        parts.append(f"<p><b>initial:</b> <code>{e(d.initial_text())}</code></p>")
    parts.append("<table class='execution'><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols)
                 + "</tr>")
    for i in range(max((len(c) for c in per_cpu), default=0)):
        row = []
        for cells in per_cpu:
            if i >= len(cells):
                row.append("<td></td>")
                continue
            cell = cells[i]
            lines = []
            if cell.line is not None or cell.text:
                where = f"L{cell.line} " if cell.line is not None else ""
                lines.append(f"<span class='op'>{e(where)}<b>{e(cell.text or 'RMW')}</b></span>")
            for ev in cell.events:
                lines.append(f"<span class='event'>{e(d.facts(ev))}</span>")
                other = d.race(ev)
                if other is not None:
                    lines.append(f"<span class='failed'>data race with {e(other)}</span>")
            row.append(f"<td>{'<br>'.join(lines)}</td>")
        parts.append("<tr>" + "".join(row) + "</tr>")
    parts.append("</table>")
    co = list(d.coherence())
    if co:
        parts.append("<p><b>coherence order (co), per location:</b></p><ul>"
                     + "".join(f"<li><code>{e(line)}</code></li>" for line in co) + "</ul>")
    for race in d.races():
        parts.append(f"<p class='failed'>data race: {e(race)}</p>")
    if d.final_text():
        parts.append(f"<p><b>final:</b> <code>{e(d.final_text())}</code></p>")
    return "\n".join(parts)

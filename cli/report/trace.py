"""Traces laid out the way kernel developers sketch races in mail: one column per process
instance ("CPU-0 | CPU-1"), plus one for shared memory, one row per step; the final state;
and a failed property with where it is written, why it failed and its trace."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from smp_explorer.cli.report.style import (ACTION, CHANGED, DIM, FAILED, LABEL, MEMORY,
                                           STATUS_STYLE, plural)
from smp_explorer.cli.report.style import spec_source
from smp_explorer.cli.report.execution import ExecutionView
from smp_explorer.cli.report.tables import Heading, TableView
from smp_explorer.ir.model import Model
from smp_explorer.runs.results import PropertyResult, Step, Trace


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


class TraceView:
    """A trace as a table: a column per process instance and one for memory, a row per step."""

    def __init__(self, trace: Trace, plain: bool = False, all_columns: bool = False,
                 mentions: str = ""):
        # The trace carries its own layout (owners, processes): no Model needed, so a trace
        # read back from JSON or from another memory model's run renders the same way.
        self.trace = trace
        self.plain = plain
        self.cols = _Columns.of(trace)
        procs = set(trace.processes)
        moving = {s.process for s in trace.steps[1:]}
        if not all_columns and moving & procs:  # a column only for a process that moves
            self.cols.processes = [p for p in self.cols.processes if p in moving]
        self.touched = self._touched(mentions)
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

    def grid(self) -> TableView:
        keys = self.keys()
        headers = ["#"] + [MEMORY if k is None else k for k in keys]
        rows = []
        for n, step in enumerate(self.trace.steps):
            cells = self._initial(step) if n == 0 else self._step(step)
            rows.append([Text(str(n), style=DIM)] + [_join(cells.get(k, [])) for k in keys])
        if self.trace.loop_start is not None:  # a lasso: say where the run goes on forever
            rows.append([Text("")] + [Text(self._loop_text(), style="bold")] +
                        [Text("") for _ in keys[1:]])
        return TableView(headers, rows, right={0}, plain=self.plain)

    def _touched(self, mentions: str) -> set[str]:
        """What the initial row shows: the slots a step of the trace changes or reads, and
        those the failed property names (by their declared name); the final state shows all."""
        touched = {r["loc"] for s in self.trace.steps for r in s.reads}
        touched.update(k for s in self.trace.steps[1:] for k in s.changed)
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", mentions))
        touched.update(k for k in self.trace.owners
                       if _base(self.cols.short(k)).split(".")[-1] in words)
        return touched

    def _loop_text(self) -> str:
        start = self.trace.loop_start
        assert start is not None
        if start == len(self.trace.steps) - 1:
            return f"stays at step {start} forever (no step is enabled)"
        return f"back to step {start}: steps {start + 1}-{len(self.trace.steps) - 1} " \
               "repeat forever"

    def _initial(self, step: Step) -> dict[str | None, list[Text]]:
        cells: dict[str | None, list[Text]] = {ACTION: [Text("initial state", style=DIM)]}
        hidden = [k for k in step.state if k not in self.touched]
        for p in self.cols.processes:
            pc = self.cols.pc(p)
            at = [Text.assemble(("at ", DIM), (show_value(step.state[pc]), LABEL))] \
                if pc in step.state else []
            cells[p] = at + _state_lines(self.cols, p, step.state, skip=[pc] + hidden)
        cells[None] = _state_lines(self.cols, None, step.state, skip=hidden)
        return cells

    def _step(self, step: Step) -> dict[str | None, list[Text]]:
        actor = step.process if step.process in self.cols.processes else ACTION
        label = self._label(step)
        pc = self.cols.pc(step.process) if step.process in self.cols.processes else None
        if pc in step.changed and self._jumped(step, show_value(step.state.get(pc))):
            label.append(f" -> {show_value(step.state.get(pc))}", style=DIM)
        cells: dict[str | None, list[Text]] = {actor: [label] + [_read(r) for r in step.reads]}
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
        yield self.grid()


def read_text(r: dict) -> str:
    """A load as a trace row says it: "read mfc=0: memory (initial)"."""
    store = r.get("store")
    if store is None:
        whence = "initial"
    else:
        line = f"L{store['line']}" if store.get("line") is not None else ""
        whence = " ".join(x for x in (store.get("cpu") or "", line) if x) or "a store"
    return f"read {r['loc']}={show_value(r['value'])}: {r['from']} ({whence})"


def _read(r: dict) -> Text:
    return Text(read_text(r), style=DIM)


def _join(lines: list[Text]) -> Text:
    return Text("\n").join(lines)


class StateView:
    """A whole state: per process its pc and locals, then the globals."""

    def __init__(self, trace: Trace, step: Step, plain: bool = False):
        self.cols = _Columns.of(trace)
        self.step = step
        self.plain = plain

    def grid(self) -> TableView:
        keys: list[str | None] = list(self.cols.processes)
        if any(o is None for o in self.cols.owner.values()):
            keys.append(None)
        row = [_join(_state_lines(self.cols, k, self.step.state, self.step.changed))
               for k in keys]
        return TableView([MEMORY if k is None else k for k in keys], [row],
                         plain=self.plain)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.grid()


def source_line(source: str, line: int | None) -> str | None:
    if not source or line is None:
        return None
    lines = source.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


class CounterexampleView:
    """A failed property: where it is written, why it failed, the trace and the final state."""

    def __init__(self, prop: PropertyResult, model: Model, memory: str | None = None,
                 plain: bool = False, all_columns: bool = False):
        self.prop = prop
        self.model = model
        self.memory = memory
        self.plain = plain
        self.all_columns = all_columns

    def title(self) -> str:
        p = self.prop
        under = f" under {self.memory}" if self.memory else ""
        status = "never reached" if p.status == "unreached" else \
            "reached" if p.kind == "reachable" and p.status == "holds" else p.status
        return f"{p.kind} {p.name}: {status}{under}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p = self.prop
        yield Heading(self.title(), self.plain)
        text = source_line(self.model.source, p.line)
        if text is not None:
            yield Text.assemble((f"line {p.line}: ", DIM), spec_source(text.strip(), self.plain))
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
        if p.execution is not None:   # an axiomatic model's execution: CPU columns, rf, co
            ex = p.execution
            what = "Witness execution" if p.status == "holds" else "Execution"
            yield Text("")
            yield Text(f"{what} under {ex.memory} ({plural(len(ex.events), 'event')}; each CPU's "
                       "events in program order, not in time):", style="bold")
            yield ExecutionView(ex, self.plain, self.model)
        if p.trace is None:
            return
        yield Text("")
        if p.trace.loop_start is not None:
            yield Text(f"Lasso ({plural(len(p.trace), 'step')}; from step "
                       f"{p.trace.loop_start} on they repeat forever):", style="bold")
        else:
            what = "Witness" if p.status == "holds" else "Trace"
            yield Text(f"{what} ({plural(len(p.trace), 'step')}):", style="bold")
        yield TraceView(p.trace, self.plain, self.all_columns, p.description)
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

"""Exports of a check: `--itf DIR` writes each trace in Apalache's Informal Trace Format (ADR-015:
`#meta`, `vars`, `states` with `#meta.index`; integers as `{"#bigint": "..."}`, sets as
`{"#set": [...]}`, a store buffer as a JSON list, oldest first), one file per trace;
`--dot FILE` draws the reachable state graph of a small model in Graphviz's language, the first
counterexample's path in red.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.ir.model import Model
from smp_explorer.ir.types import SetT
from smp_explorer.explorer.litmus import exhaustive
from smp_explorer.runs.compiled import CompiledModel, Undefined, compile_model
from smp_explorer.runs.results import RunResult, Trace
from smp_explorer.runs.visitor import State

DOT_LIMIT = 2000  # states: a larger graph is no picture anyone can read
ITF_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"


class ExportError(Exception):
    """An export that cannot be written (the message says why and what to do)."""


# ---- ITF ------------------------------------------------------------------------------------

def itf_value(value: Any, is_set: bool = False) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"#bigint": str(value)}
    if isinstance(value, (list, tuple)):
        items = [itf_value(v) for v in value]
        return {"#set": items} if is_set else items
    return str(value)


def itf_trace(trace: Trace, model: Model, memory: str, prop: str, status: str) -> dict:
    sets = {s.name for s in model.slots if isinstance(s.type, SetT)}
    names = list(trace.steps[0].state)
    states = []
    for i, step in enumerate(trace.steps):
        meta: dict[str, Any] = {"index": i}
        if step.action is not None:
            meta.update(action=step.action, process=step.process, label=step.label,
                        line=step.line)
        if step.reads:
            meta["reads"] = step.reads
        if step.failed:
            meta["failed"] = step.failed
        state: dict[str, Any] = {"#meta": meta}
        state.update({k: itf_value(step.state[k], k in sets) for k in names})
        states.append(state)
    return {"#meta": {"format": "ITF", "format-description": ITF_DESCRIPTION,
                      "source": model.name, "memory": memory, "property": prop,
                      "status": status,
                      "description": f"{prop} {status} under {memory} (smp-explorer)"},
            "vars": names, "states": states}


def write_itf(directory: str, model: Model, results: Sequence[RunResult]) -> list[Path]:
    """One file per trace: `<memory>-<property>.itf.json` in `directory` (made if missing)."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"--itf {directory}: {e.strerror}") from None
    written = []
    for r in results:
        for p in r.properties:
            if p.trace is None:
                continue
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", p.name)
            path = out / f"{r.memory}-{safe}.itf.json"
            doc = itf_trace(p.trace, model, r.memory, p.name, p.status)
            path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            written.append(path)
    return written


# ---- DOT ------------------------------------------------------------------------------------

class GraphCollector:
    """A search visitor (runs.visitor) keeping every state and step."""

    def __init__(self) -> None:
        self.ids: dict[State, int] = {}
        self.edges: list[tuple[int, int, int]] = []  # (from, action, to)

    def node(self, state: State) -> int:
        return self.ids.setdefault(state, len(self.ids))

    def discovered(self, state: State, failing_invariants: Sequence[int | Undefined],
                   reached_goals: Sequence[int | Undefined] | None) -> None:
        self.node(state)

    def expanded(self, state: State, successors: Sequence[tuple[int, State]],
                 failures: Sequence[tuple[int, str]]) -> None:
        a = self.node(state)
        for action, nxt in successors:
            self.edges.append((a, action, self.node(nxt)))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(model: Model, state: State) -> str:
    shown = model.describe(state)
    return "\n".join(f"{k}={_text(v)}" for k, v in shown.items())


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(_text(x) for x in v) + "}"
    return str(v)


def state_graph(cm: CompiledModel, memory: str, limit: int = DOT_LIMIT) -> GraphCollector:
    graph = GraphCollector()
    result = explore(compile_model(exhaustive(cm.model)),
                     Options(engine="reference", visitor=graph, max_states=limit + 1,
                             check_deadlock=False), memory)
    if not result.complete or len(graph.ids) > limit:
        raise ExportError(f"--dot: the state graph under {memory} has more than {limit:,} "
                          f"states; --dot draws graphs of at most {limit:,} (reduce the "
                          f"constants, or use --itf for the traces)")
    return graph


def dot_text(model: Model, graph: GraphCollector, trace: Trace | None) -> str:
    """The graph in DOT; the trace's states and steps (matched by what they show) in red."""
    states = {i: s for s, i in graph.ids.items()}
    on_path: set[int] = set()
    path_edges: set[tuple[int, int]] = set()
    if trace is not None:
        shown = {i: model.describe(s) for i, s in states.items()}
        current = [i for i in states if shown[i] == trace.steps[0].state][:1]
        for step in trace.steps[1:]:
            if not current or step.failed:
                break
            nxt = [b for a, _, b in graph.edges if a == current[0]
                   and shown[b] == step.state and model.actions[_].name == step.action]
            if not nxt:
                break
            path_edges.add((current[0], nxt[0]))
            on_path.update((current[0], nxt[0]))
            current = nxt[:1]
    lines = [f"digraph {_quote(Path(model.name).stem)} {{",
             '  node [shape=box, fontname="monospace", fontsize=9];',
             '  edge [fontname="monospace", fontsize=8];']
    initial = set(model.initial_states())
    for i, s in states.items():
        attrs = [f"label={_quote(_label(model, s))}"]
        if s in initial:
            attrs.append("penwidth=2")
        if i in on_path:
            attrs.append('color=red, fontcolor=red')
        lines.append(f"  s{i} [{', '.join(attrs)}];")
    for a, action, b in graph.edges:
        attrs = [f"label={_quote(model.actions[action].name)}"]
        if (a, b) in path_edges:
            attrs.append("color=red, fontcolor=red, penwidth=2")
        lines.append(f"  s{a} -> s{b} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(file: str, cm: CompiledModel, memory: str, result: RunResult) -> None:
    graph = state_graph(cm, memory)
    trace = next((p.trace for p in result.properties if p.failed and p.trace is not None), None)
    try:
        Path(file).write_text(dot_text(cm.model, graph, trace), encoding="utf-8")
    except OSError as e:
        raise ExportError(f"--dot {file}: {e.strerror}") from None

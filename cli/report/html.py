"""`check --html FILE`: one self-contained HTML page (inline CSS and JavaScript, nothing loaded
from the network): the verdict matrix, the statistics, and each failed property's trace (and
each reached goal's witness) with step-through: Previous/Next buttons and the arrow keys, the
step's process, label, source line and loads, the whole state with the cells and store buffers
the step changed highlighted. An axiomatic model's (lkmm) counterexample is an execution,
drawn statically in CPU columns (cli.report.execution).

The page carries the results as JSON (the `--json` document's traces, plus the source lines);
the script only lays them out.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Sequence

from smp_explorer.cli.export import ExportError
from smp_explorer.cli.report.execution import execution_html
from smp_explorer.cli.report.verdicts import STOP_REASONS
from smp_explorer.ir.model import Model
from smp_explorer.runs.results import RunResult


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }
.holds, .reached, .proved { color: #176d2c; font-weight: bold; }
.violated, .unreached { color: #b00020; font-weight: bold; }
.unknown { color: #8a6d00; font-weight: bold; }
.bounded { color: #176d2c; }
.execution td { font-family: monospace; white-space: pre; }
.execution .event { color: #444; }
.trace { border: 1px solid #999; padding: .8em; margin: 1em 0; }
.trace:focus { outline: 2px solid #4a7bd0; }
.step-info { font-family: monospace; white-space: pre-wrap; margin: .5em 0; }
.source { background: #f4f4f4; padding: .2em .4em; font-family: monospace; }
td.changed { background: #ffe58a; font-weight: bold; }
.failed { color: #b00020; font-weight: bold; }
.reads { color: #444; }
code, .state td { font-family: monospace; }
"""

SCRIPT = """
function show(view, n) {
  const t = view._trace;
  n = Math.max(0, Math.min(t.steps.length - 1, n));
  view._at = n;
  const s = t.steps[n];
  view.querySelector('.step-no').textContent = n;
  const info = view.querySelector('.step-info');
  info.textContent = '';
  const head = document.createElement('div');
  head.textContent = n === 0 ? 'initial state'
    : (s.process ? s.process + ': ' : '') + (s.label || s.action || 'step')
      + (s.line ? '  (line ' + s.line + ')' : '');
  info.appendChild(head);
  if (s.source) {
    const src = document.createElement('div');
    src.className = 'source';
    src.textContent = s.line + ': ' + s.source;
    info.appendChild(src);
  }
  for (const r of (s.reads || [])) {
    const d = document.createElement('div');
    d.className = 'reads';
    d.textContent = 'read ' + r.loc + '=' + text(r.value) + ': ' + r.from + ' ('
      + (r.store ? (r.store.cpu || '') + (r.store.line ? ' L' + r.store.line : '') : 'initial') + ')';
    info.appendChild(d);
  }
  if (s.failed) {
    const f = document.createElement('div');
    f.className = 'failed';
    f.textContent = 'FAILED: ' + s.failed;
    info.appendChild(f);
  }
  const changed = new Set(s.changed || []);
  for (const td of view.querySelectorAll('td[data-key]')) {
    const k = td.dataset.key;
    td.textContent = text(s.state[k]);
    td.classList.toggle('changed', changed.has(k));
  }
  view.querySelector('.prev').disabled = n === 0;
  view.querySelector('.next').disabled = n === t.steps.length - 1;
}
function text(v) {
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (Array.isArray(v)) return '{' + v.map(text).join(', ') + '}';
  return String(v);
}
document.addEventListener('DOMContentLoaded', () => {
  const data = JSON.parse(document.getElementById('traces').textContent);
  document.querySelectorAll('.trace').forEach((view, i) => {
    view._trace = data[i];
    view.querySelector('.prev').onclick = () => show(view, view._at - 1);
    view.querySelector('.next').onclick = () => show(view, view._at + 1);
    view.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'n') { show(view, view._at + 1); e.preventDefault(); }
      if (e.key === 'ArrowLeft' || e.key === 'p') { show(view, view._at - 1); e.preventDefault(); }
    });
    show(view, 0);
  });
});
"""


def _status(kind: str, status: str, unroll: int | None = None) -> str:
    if status == "bounded" and unroll is not None:
        return f"bounded (unroll {unroll})"
    return "reached" if kind == "reachable" and status == "holds" else status


def html_report(model: Model, results: Sequence[RunResult]) -> str:
    e = html.escape
    source = model.source.splitlines()
    parts = [f"<h1>{e(model.name)}</h1>", "<h2>Verdicts</h2>", "<table class='verdicts'>",
             "<tr><th>property</th><th>kind</th>"
             + "".join(f"<th>{e(r.memory)}</th>" for r in results) + "</tr>"]
    names: dict[str, str] = {}
    cells: dict[tuple[str, int], str] = {}
    for k, r in enumerate(results):
        for p in r.properties:
            names.setdefault(p.name, p.kind)
            cells[p.name, k] = _status(p.kind, p.status,
                                       r.unroll if r.engine == "axiomatic" else None)
    for name, kind in names.items():
        row = "".join(f"<td class='{e(cells.get((name, k), '').split(' ')[0])}'>"
                      f"{e(cells.get((name, k), '-'))}</td>" for k in range(len(results)))
        parts.append(f"<tr><td>{e(name)}</td><td>{e(kind)}</td>{row}</tr>")
    parts.append("</table>")
    parts.append("<h2>Statistics</h2><table class='stats'><tr><th>memory</th><th>states</th>"
                 "<th>transitions</th><th>depth</th><th>seconds</th><th>search</th></tr>")
    for r in results:
        st = r.stats
        if r.engine == "axiomatic":   # no states: how the model was checked
            parts.append(f"<tr><td>{e(r.memory)}</td><td colspan='3'>axiomatic model (Z3), "
                         f"loops unrolled up to {r.unroll}</td><td>{st.seconds:.3f}</td>"
                         "<td>axiomatic</td></tr>")
            continue
        how = "complete" if r.complete else STOP_REASONS.get(r.stop_reason, r.stop_reason)
        parts.append(f"<tr><td>{e(r.memory)}</td><td>{st.states:,}</td><td>{st.transitions:,}"
                     f"</td><td>{st.depth}</td><td>{st.seconds:.3f}</td><td>{e(how)}</td></tr>")
    parts.append("</table>")
    traces: list[dict[str, Any]] = []
    for r in results:
        for p in r.properties:
            witness = p.kind == "reachable" and p.status == "holds"
            if p.execution is not None and (p.failed or witness):
                what = "witness execution" if witness else "counterexample execution"
                parts.append(f"<h2>{e(p.kind)} {e(p.name)}: {e(_status(p.kind, p.status))} "
                             f"under {e(r.memory)} ({what}, {len(p.execution.events)} events; "
                             "each CPU's events in program order)</h2>")
                if p.message:
                    parts.append(f"<p class='message'>{e(p.message)}</p>")
                parts.append(execution_html(p.execution, model))
            if p.trace is None or not (p.failed or witness):
                continue
            steps = p.trace.to_json()
            for s in steps:
                line = s.get("line")
                if line is not None and 1 <= line <= len(source):
                    s["source"] = source[line - 1].strip()
            traces.append({"steps": steps})
            keys = list(p.trace.steps[0].state)
            what = "witness" if witness else "counterexample"
            parts.append(f"<h2>{e(p.kind)} {e(p.name)}: {e(_status(p.kind, p.status))} under "
                         f"{e(r.memory)} ({what}, {len(p.trace)} steps)</h2>")
            if p.message:
                parts.append(f"<p class='message'>{e(p.message)}</p>")
            rows = "".join(f"<tr><th>{e(k)}</th><td data-key='{e(k)}'></td></tr>" for k in keys)
            parts.append(
                "<div class='trace' tabindex='0'>"
                "<button class='prev'>&larr; Previous</button> "
                "<button class='next'>Next &rarr;</button> "
                f"step <span class='step-no'>0</span> of {len(p.trace)} "
                "<span class='hint'>(arrow keys step through)</span>"
                "<div class='step-info'></div>"
                f"<table class='state'>{rows}</table></div>")
    data = json.dumps(traces).replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(model.name)}: smp-explorer report</title><style>{CSS}</style></head>"
            "<body>" + "\n".join(parts)
            + f"<script type='application/json' id='traces'>{data}</script>"
            + f"<script>{SCRIPT}</script></body></html>\n")


def write_html(file: str, model: Model, results: Sequence[RunResult]) -> None:
    try:
        Path(file).write_text(html_report(model, results), encoding="utf-8")
    except OSError as err:
        raise ExportError(f"--html {file}: {err.strerror}") from None

"""The terminal report: verdicts, statistics, counterexample traces and spec errors.

Most tests render hand-built results (so they do not move when the engines change); one runs a
spec through the whole pipeline to check the report against real traces.
"""
from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from smp_explorer.cli.report import (SpecErrorView, StatsView, TraceView, VerdictMatrix,
                                     caret_position, render_plain, render_spec_error,
                                     render_spec_errors)
from smp_explorer.cli.report import render_results as render_run
from smp_explorer.runs.results import PropertyResult, RunResult, Stats, Step, Trace
from conftest import run
from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.ir.span import Span
from smp_explorer.spec.pipeline import model_from_text

ESC = "\x1b"
BOX = re.compile("[\u2500-\u257f]")

# The int3 patching race, as a spec would produce it (line numbers refer to SOURCE).
SOURCE = """\
var mfc: 0..1 = 0;
var b0: enum { NOP, INT3, CALL } = NOP;
var ipi: array[0..1] of bool = false;

process Cpu[i in 0..1] {
  local seen: 0..2 = 0;
  fetch: if b0 == INT3 { seen := 1; } else { seen := 2; }
  check: assert not (seen == 1 and mfc == 1): "saw int3 after sync";
}

process Patcher {
  a1: b0 := INT3;
  a2: mfc := 1;
  a3: ipi[0] := true;
  ipi[1] := true;
}
"""
OWNERS: dict[str, str | None] = {
    "mfc": None, "b0": None, "ipi[0]": None, "ipi[1]": None,
    "Cpu[0].pc": "Cpu[0]", "Cpu[0].seen": "Cpu[0]",
    "Cpu[1].pc": "Cpu[1]", "Cpu[1].seen": "Cpu[1]", "Patcher.pc": "Patcher"}
FAILURE = "saw int3 after sync"


def _state(**changes: object) -> dict[str, object]:
    state: dict[str, object] = {"mfc": 0, "b0": "NOP", "ipi[0]": False, "ipi[1]": False,
                                "Cpu[0].pc": "fetch", "Cpu[0].seen": 0,
                                "Cpu[1].pc": "fetch", "Cpu[1].seen": 0, "Patcher.pc": "a1"}
    state.update({k.replace("__", "."): v for k, v in changes.items()})
    return state


def two_cpu_trace(failure: str = FAILURE) -> Trace:
    """CPU 0 patches (b0, then mfc), CPU 1 fetches in between, as a two-column mail sketch."""
    owners = {k: v for k, v in OWNERS.items() if v != "Patcher"}
    full = int3_trace(failure)
    steps = []
    for step in full.steps:
        state = {k: v for k, v in step.state.items() if k in owners}
        actor = "Cpu[0]" if step.process == "Patcher" else step.process
        changed = [c for c in step.changed if c in owners]
        steps.append(Step(actor, step.label, step.line, step.action, state, changed, step.failed))
    return Trace(steps, owners, ["Cpu[0]", "Cpu[1]"])


def int3_trace(failure: str = FAILURE) -> Trace:
    s1 = _state(b0="INT3", Patcher__pc="a2")
    s2 = {**s1, "Cpu[1].pc": "check", "Cpu[1].seen": 1}
    s3 = {**s2, "mfc": 1, "Patcher.pc": "a3"}
    steps = [
        Step(None, None, None, None, _state()),
        Step("Patcher", "a1", 12, "Patcher: a1", s1, ["b0", "Patcher.pc"]),
        Step("Cpu[1]", "fetch", 7, "Cpu[1]: fetch", s2, ["Cpu[1].pc", "Cpu[1].seen"]),
        Step("Patcher", "a2", 13, "Patcher: a2", s3, ["mfc", "Patcher.pc"]),
        Step("Cpu[1]", "check", 8, "Cpu[1]: check", s3, [], failed=failure),
    ]
    return Trace(steps, OWNERS, ["Cpu[0]", "Cpu[1]", "Patcher"])


def int3_result(memory: str = "sc", *, complete: bool = True, stop: str = "exhausted",
                failure: str = FAILURE, coverage: dict[str, int] | None = None) -> RunResult:
    props = [
        PropertyResult(FAILURE, "assertion", "violated", FAILURE, 8, FAILURE,
                       int3_trace(failure=failure)),
        PropertyResult("patched", "reachable", "unreached", "b0 == CALL", 30),
        PropertyResult("deadlock_free", "deadlock", "holds",
                       "some step is enabled in every state where a process has not terminated"),
    ]
    stats = Stats(84, 141, 7, 0.0125, 1, coverage or {"Cpu[0]: fetch": 18, "Patcher: a3": 25})
    return RunResult("int3.spec", memory, complete, stop, stats, props)


MODEL = Model("int3.spec", (), (), (), (), (), source=SOURCE)


def console(**kw: object) -> Console:
    args: dict[str, object] = dict(file=io.StringIO(), width=100, color_system=None,
                                   force_terminal=False)
    args.update(kw)
    return Console(**args)  # type: ignore[arg-type]


def output(c: Console) -> str:
    return c.file.getvalue()  # type: ignore[attr-defined]


def render(renderable: object, **kw: object) -> str:
    c = console(**kw)
    c.print(renderable)
    return output(c)


def run_text(results: list[RunResult], **kw: object) -> str:
    c = console()
    render_run(c, results, MODEL, **kw)  # type: ignore[arg-type]
    return output(c)


def cell(view: TraceView, step: int, column: str) -> str:
    grid = view.grid()
    return grid.rows[step][grid.headers.index(column)].plain


# ---------------------------------------------------------------------------------------------
# Traces


def test_trace_has_a_column_per_process_in_order_then_memory():
    grid = TraceView(int3_trace(), all_columns=True).grid()
    assert grid.headers == ["#", "Cpu[0]", "Cpu[1]", "Patcher", "memory"]
    # by default only the processes that take a step (Cpu[0] never does here)
    assert TraceView(int3_trace()).grid().headers == ["#", "Cpu[1]", "Patcher", "memory"]


def test_each_step_is_in_the_column_of_its_process_with_label_and_line():
    view = TraceView(int3_trace(), all_columns=True)
    assert cell(view, 2, "Cpu[1]").splitlines()[0] == "fetch  L7"
    assert cell(view, 2, "Cpu[0]") == ""
    assert cell(view, 1, "Patcher").splitlines()[0] == "a1  L12"


def test_changed_globals_go_to_memory_and_changed_locals_to_their_process():
    view = TraceView(int3_trace())
    assert cell(view, 1, "memory") == "b0 := INT3"
    assert cell(view, 3, "memory") == "mfc := 1"
    assert "seen := 1" in cell(view, 2, "Cpu[1]").splitlines()
    # The acting process moving on to its next label is implied by its next row.
    assert "pc" not in cell(view, 1, "Patcher")


def test_initial_row_shows_where_each_process_starts_and_folds_uniform_arrays():
    # the property names seen and ipi; the trace changes b0, mfc and Cpu[1].seen
    view = TraceView(int3_trace(), all_columns=True, mentions="ipi[c] implies Cpu[c].seen")
    assert cell(view, 0, "Cpu[0]").splitlines() == ["at fetch", "seen = 0"]
    assert cell(view, 0, "memory").splitlines() == ["mfc = 0", "b0 = NOP", "ipi[*] = false"]


def test_initial_row_leaves_out_what_neither_the_trace_nor_the_property_touches():
    view = TraceView(int3_trace(), all_columns=True)
    assert cell(view, 0, "Cpu[0]").splitlines() == ["at fetch"]   # Cpu[0].seen: untouched
    assert cell(view, 0, "Cpu[1]").splitlines() == ["at fetch", "seen = 0"]  # changed at 2
    assert cell(view, 0, "memory").splitlines() == ["mfc = 0", "b0 = NOP"]  # ipi: untouched


def test_failed_step_shows_its_message_in_red():
    out = render(TraceView(int3_trace()), color_system="truecolor", force_terminal=True)
    assert re.search(r"\x1b\[[0-9;]*31m" + re.escape(f"FAILED: {FAILURE}"), out)


def test_changed_values_are_highlighted():
    out = render(TraceView(int3_trace()), color_system="truecolor", force_terminal=True)
    # The value after ":=" carries a style of its own; the name does not.
    assert re.search(r"mfc\x1b\[[0-9;]*m := \x1b\[0m\x1b\[[0-9;]+m1\x1b\[0m", out)


def test_trace_of_actions_of_no_process_gets_an_action_column():
    owners: dict[str, str | None] = {"x": None}
    steps = [Step(None, None, None, None, {"x": 0}),
             Step(None, "Inc(0)", 4, "Inc(0)", {"x": 1}, ["x"])]
    grid = TraceView(Trace(steps, owners, [])).grid()
    assert grid.headers == ["#", "action", "memory"]
    assert grid.rows[1][1].plain == "Inc(0)  L4"
    assert grid.rows[1][2].plain == "x := 1"


# ---------------------------------------------------------------------------------------------
# The whole run


def test_run_report_has_verdicts_stats_source_line_trace_and_final_state():
    out = run_text([int3_result()])
    assert re.search(rf"{FAILURE}\s.*assertion\s.*violated", out)
    assert "84 distinct states, 141 transitions, depth 7, 1 initial state" in out
    assert "12.5 ms" in out and "6,720 states/s" in out
    assert 'line 8: check: assert not (seen == 1 and mfc == 1): "saw int3 after sync";' in out
    assert "Trace (4 steps)" in out
    assert "State when step 4 failed" in out
    assert re.search(r"pc = check\s.*mfc = 1", out)


def test_unreached_goal_is_said_never_reached_without_a_trace():
    out = run_text([int3_result()])
    section = out[out.index("reachable patched"):]
    assert "never reached" in section.splitlines()[0]
    assert "line 30:" not in section  # past the end of SOURCE: no source line, no crash
    assert "b0 == CALL" in section


def test_verdict_statuses_are_coloured():
    c = console(color_system="truecolor", force_terminal=True)
    render_run(c, [int3_result()], MODEL, quiet=True)
    out = output(c)
    assert re.search(r"\x1b\[[0-9;]*31mviolated", out)
    assert re.search(r"\x1b\[[0-9;]*32mholds", out)


def test_quiet_prints_only_the_verdicts():
    out = run_text([int3_result()], quiet=True)
    assert "violated" in out and "verdict: FAILED" in out
    assert "Trace" not in out and "FAILED:" not in out and "distinct states" not in out


def test_incomplete_run_says_why_and_that_counts_are_partial():
    out = render(StatsView(int3_result(complete=False, stop="max-states")))
    assert "incomplete: max-states (the state limit was reached)" in out
    assert "found so far" in out
    assert "search complete" not in out
    assert "incomplete: max-states" in run_text([int3_result(complete=False, stop="max-states")],
                                                quiet=True)


def test_steps_that_never_fired_are_a_warning():
    out = render(StatsView(int3_result(coverage={"Cpu[0]: fetch": 3, "Patcher: a3": 0})))
    assert "warning: 1 step never fired: Patcher: a3" in out
    quiet = render(StatsView(int3_result(coverage={"Cpu[0]: fetch": 3})))
    assert "warning" not in quiet


def test_several_memory_models_give_a_verdict_matrix():
    sc = int3_result("sc")
    tso = int3_result("tso", complete=False, stop="timeout")
    tso.properties[0].status = "unknown"
    grid = VerdictMatrix([sc, tso]).grid()
    assert grid.headers == ["property", "kind", "sc", "tso"]
    row = [t.plain for t in grid.rows[0]]
    assert row == [FAILURE, "assertion", "violated", "unknown"]
    out = run_text([sc, tso])
    assert "sc: 84 distinct states" in out and "tso: 84 distinct states" in out
    assert "incomplete: timeout" in out
    assert f"assertion {FAILURE}: violated under sc" in out


# ---------------------------------------------------------------------------------------------
# Plain text for mail


def _assert_mailable(out: str, width: int = 80) -> None:
    assert ESC not in out
    assert not BOX.search(out), BOX.search(out)
    long = [line for line in out.splitlines() if len(line) > width]
    assert not long, long


def _column(lines: list[str], name: str) -> str:
    """The words of one column of an ASCII grid, its wrapped lines joined again."""
    rows = [line.split(" | ") for line in lines if " | " in line]
    k = [h.strip() for h in rows[0]].index(name)
    return " ".join(r[k].strip() for r in rows[1:] if len(r) > k and r[k].strip())


LONG_FAILURE = " ".join(["saw INT3 at the patched site after the sync IPI"] * 3)


def test_plain_report_is_ascii_and_fits_80_columns():
    # A long failure message and description must wrap inside their columns.
    out = run_text([int3_result(failure=LONG_FAILURE)], plain=True)
    _assert_mailable(out)
    assert out.isascii()
    trace = out[out.index("Trace ("):out.index("State when")].splitlines()[1:]
    # Cpu[0] takes no step in the trace: no column
    assert [h.strip() for h in trace[0].split("|")] == ["#", "Cpu[1]", "Patcher", "memory"]
    assert "b0 := INT3" in _column(trace, "memory")
    # Every word of the wrapped message is still there, in order, in the CPU's column.
    assert f"FAILED: {LONG_FAILURE}" in _column(trace, "Cpu[1]")


def test_plain_report_has_no_escape_codes_even_on_a_colour_terminal():
    c = console(color_system="truecolor", force_terminal=True)
    render_run(c, [int3_result()], MODEL, plain=True)
    _assert_mailable(output(c))


def test_plain_two_process_trace_fits_80_columns():
    lines = TraceView(two_cpu_trace(LONG_FAILURE), plain=True).grid().ascii(80)
    assert max(len(line) for line in lines) <= 80
    assert f"FAILED: {LONG_FAILURE}" in _column(lines, "Cpu[1]")
    assert [h.strip() for h in lines[0].split(" | ")] == ["#", "Cpu[0]", "Cpu[1]", "memory"]
    assert lines[1].startswith("--+-")


def test_plain_grid_goes_wider_rather_than_unreadable_with_many_processes():
    procs = [f"Worker[{i}]" for i in range(8)]
    owners: dict[str, str | None] = {f"{p}.pc": p for p in procs}
    steps = [Step(None, None, None, None, {f"{p}.pc": "start" for p in procs})]
    lines = TraceView(Trace(steps, owners, procs), plain=True).grid().ascii(80)
    assert len(lines[0]) > 80
    assert all(name in lines[0] for name in procs)  # headers are never wrapped


def test_plain_wide_trace_is_neither_cropped_nor_rewrapped():
    procs = [f"Worker[{i}]" for i in range(8)]
    owners: dict[str, str | None] = {f"{p}.pc": p for p in procs}
    steps = [Step(None, None, None, None, {f"{p}.pc": "start" for p in procs})]
    out = render_plain(TraceView(Trace(steps, owners, procs), plain=True))
    header = out.splitlines()[0]
    assert header.split(" | ")[-1] == "Worker[7]"
    assert out.splitlines()[2].count("at start") == 8


def test_plain_keeps_a_long_property_name_whole_and_ascii():
    # The language names an assertion by its message, so names can be long.
    name = "the CPU must never execute a torn instruction while the patcher is in phase two"
    result = int3_result()
    result.properties[0].name = name
    out = run_text([result], plain=True)
    assert out.isascii()
    assert f"assertion {name}:" in re.sub(r"\s*\n", " ", out)


def test_plain_run_of_a_real_spec():
    text = """\
var lock: bool = false;
process P[i in 0..1] {
  local x: 0..3 = 0;
  a: await not lock;
  b: lock := true;
  cs: x := 1;
  d: lock := false; goto a;
}
invariant mutex: not (P[0] at cs and P[1] at cs);
"""
    model = model_from_text(text, "mutex.spec")
    result = run(text)
    c = console()
    render_run(c, [result], model, plain=True)
    out = output(c)
    _assert_mailable(out)
    assert "# | P[0]" in out and "| P[1]" in out
    assert "lock := true" in out
    assert "line 9: invariant mutex: not (P[0] at cs and P[1] at cs);" in out


# ---------------------------------------------------------------------------------------------
# Spec errors


BAD = "var x: 0..3 = 0;\nvar y: bool = x + 1;\n"


def test_spec_error_shows_location_line_and_caret_under_the_span():
    # "x + 1" starts at column 15 of line 2 ("var y: bool = " is 14 characters).
    err = SpecError("expected a constant", Span("bad.spec", 2, 15, 2, 20), ["constants only"])
    c = console()
    render_spec_error(c, err, BAD)
    lines = output(c).splitlines()
    assert lines[0] == "bad.spec:2:15: error: expected a constant"
    source, carets = lines[1], lines[2]
    assert source.endswith("var y: bool = x + 1;")
    start = carets.index("^")
    assert carets[start:].rstrip() == "^~~~~"
    assert source[start:start + 5] == "x + 1"
    assert lines[3] == "note: constants only"


def test_caret_for_a_span_running_onto_later_lines_underlines_to_end_of_line():
    err = SpecError("unclosed", Span("bad.spec", 2, 13, 3, 1))
    lines = render(SpecErrorView(err, BAD)).splitlines()
    start = lines[2].index("^")
    assert lines[1][start:] == "= x + 1;"
    assert lines[2][start:].rstrip() == "^~~~~~~~"


def test_long_source_line_keeps_the_caret_under_its_column_on_a_narrow_console():
    source = "invariant safe: " + " and ".join(f"c{i} == 0" for i in range(8)) + ";"
    col = source.index("c7") + 1
    c = console(width=40)
    render_spec_error(c, SpecError("unknown variable 'c7'", Span("w.spec", 1, col, 1, col + 2)),
                      source)
    lines = output(c).splitlines()
    assert lines[1].endswith(source)  # neither wrapped nor cropped
    assert lines[1][lines[2].index("^"):].startswith("c7 == 0;")


def test_caret_position_counts_tabs_as_displayed():
    # col 3 is "b" of "\tab": after an 8-column tab and "a".
    assert caret_position("\tab", 3, 4) == (9, 1)
    assert caret_position("abc", 2, 2) == (1, 1)  # an empty span still gets one caret


def test_spec_error_without_span_or_source_is_one_line():
    assert render(SpecErrorView(SpecError("no such file: x.spec"), None)) == \
        "error: no such file: x.spec\n"
    no_source = SpecError("bad value", Span("--const", 1, 3, 1, 5))
    assert render(SpecErrorView(no_source, None)) == "--const:1:3: error: bad value\n"


def test_several_errors_each_use_their_own_file():
    errs = SpecErrors([SpecError("first", Span("a.spec", 1, 5, 1, 6)),
                       SpecError("from the command line", Span("--const", 1, 1, 1, 2)),
                       SpecError("second", Span("b.spec", 1, 1, 1, 4))])
    c = console()
    render_spec_errors(c, errs, {"a.spec": "var q: bool;", "b.spec": "xyz"})
    lines = output(c).splitlines()
    assert lines[0] == "a.spec:1:5: error: first"
    assert lines[1].endswith("| var q: bool;") and lines[2].index("^") == lines[1].index("q")
    assert lines[3] == "--const:1:1: error: from the command line"
    assert lines[4] == "b.spec:1:1: error: second"
    assert lines[5].endswith("| xyz") and lines[6].rstrip().endswith("^~~")
    assert lines[-1] == "3 errors"


def test_error_from_the_pipeline_points_into_the_spec():
    with pytest.raises(SpecErrors) as info:
        model_from_text(BAD.replace("x + 1", "zzz"), "bad.spec")
    err = info.value.errors[0]
    c = console()
    render_spec_errors(c, info.value, {"bad.spec": BAD.replace("x + 1", "zzz")})
    lines = output(c).splitlines()
    assert lines[0].startswith(f"bad.spec:{err.span.line}:{err.span.col}: error: ")
    assert "zzz" in lines[0]
    assert lines[1][lines[2].index("^"):].startswith("zzz")

"""The counterexample of an axiomatic model (lkmm), drawn as kernel developers draw litmus
tests: a column per CPU, events in program order, each read with the write it reads from.

The executions here are built by hand (runs.executions is the contract between the engine and
the reports), so these tests do not move when the engine changes. The expected drawings are
written out by hand below, from the executions' definitions, before the code drew them; the
golden files (tests/golden/execution-*) hold the full reports (Rich, plain, HTML, JSON) and
were reviewed against these drawings line by line.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from smp_explorer.cli.report import render_plain, render_results
from smp_explorer.cli.report.execution import Drawing, ExecutionView, execution_html
from smp_explorer.cli.report.html import html_report
from smp_explorer.ir.model import Model
from smp_explorer.runs.executions import ExecEvent as E
from smp_explorer.runs.executions import ExecutionTrace
from smp_explorer.runs.results import PropertyResult, RunResult, Stats, document, exit_status

GOLDEN = Path(__file__).resolve().parent / "golden"

# The xchg_relaxed lock of issue 9: both CPUs take the lock with xchg_relaxed and release it
# with smp_store_release; the counter increment inside is a READ_ONCE and a WRITE_ONCE.
LOCK_SOURCE = """\
use linux.generic;
shared l: 0..1 = 0;
shared c: 0..2 = 0;
process P[i in 0..1] {
  local r: 0..1 = 0;
  local t: 0..2 = 0;
  take: r := xchg_relaxed(l, 1); await r == 0;
  get:  t := READ_ONCE(c);
  put:  WRITE_ONCE(c, t + 1);
  drop: smp_store_release(l, 0);
}
"""


def lost_update() -> ExecutionTrace:
    """LKMM allows it: P[1]'s xchg_relaxed reads P[0]'s release of l, but a relaxed RMW is no
    acquire, so P[1]'s READ_ONCE(c) may still read the initial 0: c ends at 1, not 2.
    co(l): init -> P[0] take (1) -> P[0] drop (0) -> P[1] take (1) -> P[1] drop (0);
    co(c): init -> P[0] put (1) -> P[1] put (1)."""
    ev = [E(0, None, 0, "W", ("IW",), "l", 0, co_index=0),
          E(1, None, 0, "W", ("IW",), "c", 0, co_index=0)]
    for cpu, base, take_from, c_from, lco, cco in (("P[0]", 2, 0, 1, 1, 1),
                                                    ("P[1]", 7, 6, 1, 3, 2)):
        ev += [E(base, cpu, 0, "R", ("Once",), "l", 0, 7, "take", "r := xchg_relaxed(l, 1)",
                 reads_from=take_from, rmw_pair=base + 1),
               E(base + 1, cpu, 1, "W", ("Once",), "l", 1, 7, "take", None, co_index=lco,
                 rmw_pair=base),
               E(base + 2, cpu, 2, "R", ("Once",), "c", 0, 8, "get", "t := READ_ONCE(c)",
                 reads_from=c_from),
               E(base + 3, cpu, 3, "W", ("Once",), "c", 1, 9, "put", "WRITE_ONCE(c, t + 1)",
                 co_index=cco),
               E(base + 4, cpu, 4, "W", ("Release",), "l", 0, 10, "drop",
                 "smp_store_release(l, 0)", co_index=lco + 1)]
    return ExecutionTrace("lkmm", tuple(ev), ("P[0]", "P[1]"),
                          {"l": 0, "c": 1, "P[0].t": 0, "P[1].t": 0})


# Drawn by hand from lost_update(): the lines (L7..L10) of each CPU's operations, the RMW's two
# halves in one cell, each read's source ("init" or CPU and line), co positions on l and c
# (both have several writes), the co order per location, the final values.
LOST_UPDATE_PLAIN = """\
initial: l=0, c=0
P[0]                        | P[1]
----------------------------+------------------------------
L7 r := xchg_relaxed(l, 1)  | L7 r := xchg_relaxed(l, 1)
   R l=0 [Once] from init   |    R l=0 [Once] from P[0] L10
   W l=1 [Once] co 1        |    W l=1 [Once] co 3
L8 t := READ_ONCE(c)        | L8 t := READ_ONCE(c)
   R c=0 [Once] from init   |    R c=0 [Once] from init
L9 WRITE_ONCE(c, t + 1)     | L9 WRITE_ONCE(c, t + 1)
   W c=1 [Once] co 1        |    W c=1 [Once] co 2
L10 smp_store_release(l, 0) | L10 smp_store_release(l, 0)
   W l=0 [Release] co 2     |    W l=0 [Release] co 4
coherence order (co), per location:
  c: init=0 -> P[0] L9=1 -> P[1] L9=1
  l: init=0 -> P[0] L7=1 -> P[0] L10=0 -> P[1] L7=1 -> P[1] L10=0
final: l=0, c=1, P[0].t=0, P[1].t=0
"""


def racy_mp() -> ExecutionTrace:
    """Message passing with a plain store of the data: P0 `x = 1; smp_store_release(y, 1)`,
    P1 `r1 = READ_ONCE(y); r2 = x` with no acquire: the plain read races with the plain
    write (LKMM flags it); a fence F[Mb] appears as its own event."""
    ev = (E(0, None, 0, "W", ("IW",), "x", 0, co_index=0),
          E(1, None, 0, "W", ("IW",), "y", 0, co_index=0),
          E(2, "P0", 0, "W", ("Plain",), "x", 1, 3, "a", "x = 1", co_index=1),
          E(3, "P0", 1, "F", ("Mb",), None, None, 4, "a", "smp_mb()"),
          E(4, "P0", 2, "W", ("Release",), "y", 1, 5, "a", "smp_store_release(y, 1)",
            co_index=1),
          E(5, "P1", 0, "R", ("Once",), "y", 1, 8, "b", "r1 = READ_ONCE(y)", reads_from=4),
          E(6, "P1", 1, "R", ("Plain",), "x", 0, 9, "b", "r2 = x", reads_from=0))
    return ExecutionTrace("lkmm", ev, ("P0", "P1"), {"x": 1, "y": 1, "P1.r1": 1, "P1.r2": 0},
                          flagged=((2, 6),))


# By hand: one write per location (no co shown), the fence as `F [Mb]`, both racing accesses
# marked in their cells and the pair said below the table.
RACY_MP_PLAIN = """\
initial: x=0, y=0
P0                         | P1
---------------------------+---------------------------
L3 x = 1                   | L8 r1 = READ_ONCE(y)
   W x=1 [Plain]           |    R y=1 [Once] from P0 L5
   data race with P1 L9
L4 smp_mb()                | L9 r2 = x
   F [Mb]                  |    R x=0 [Plain] from init
                           |    data race with P0 L3
L5 smp_store_release(y, 1)
   W y=1 [Release]
data race: P0 L3 (W x=1 [Plain]) and P1 L9 (R x=0 [Plain])
final: x=1, y=1, P1.r1=1, P1.r2=0
"""


def plain(trace: ExecutionTrace, width: int = 80) -> str:
    return render_plain(ExecutionView(trace, plain=True), width)


def test_lost_update_is_drawn_as_by_hand():
    assert plain(lost_update()) == LOST_UPDATE_PLAIN


def test_data_race_is_drawn_as_by_hand():
    assert plain(racy_mp()) == RACY_MP_PLAIN


def test_every_event_appears_once_in_its_cpus_column_in_program_order():
    d = Drawing(lost_update())
    for cpu in ("P[0]", "P[1]"):
        ids = [e.id for cell in d.cells(cpu) for e in cell.events]
        mine = [e for e in lost_update().events if e.cpu == cpu]
        assert ids == [e.id for e in sorted(mine, key=lambda e: e.index)]


def test_a_read_names_its_source_write_by_cpu_and_line_or_init():
    d = Drawing(lost_update())
    assert d.facts(d.by_id[7]) == "R l=0 [Once] from P[0] L10"
    assert d.facts(d.by_id[2]) == "R l=0 [Once] from init"


def test_co_is_shown_only_where_a_location_has_several_writes():
    d = Drawing(racy_mp())
    assert d.facts(d.by_id[2]) == "W x=1 [Plain]" and list(d.coherence()) == []


def test_an_event_of_a_cpu_not_listed_still_gets_a_column():
    t = racy_mp()
    t2 = ExecutionTrace(t.memory, t.events, ("P1",), t.final, t.flagged)
    assert Drawing(t2).columns() == ["P1", "P0"]


def test_rich_output_has_the_same_cells():
    c = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)
    c.print(ExecutionView(lost_update()))
    text = c.file.getvalue()  # type: ignore[attr-defined]
    for line in ("R l=0 [Once] from P[0] L10", "W c=1 [Once] co 2",
                 "l: init=0 -> P[0] L7=1 -> P[0] L10=0 -> P[1] L7=1 -> P[1] L10=0"):
        assert line in text


def test_execution_json_carries_every_event_with_its_rf_source():
    doc = lost_update().to_json()
    assert doc["memory"] == "lkmm" and doc["processes"] == ["P[0]", "P[1]"]
    assert len(doc["events"]) == 12 and [e["id"] for e in doc["events"]] == list(range(12))
    reads = {e["id"]: e["reads_from"] for e in doc["events"] if e["kind"] == "R"}
    assert reads == {2: 0, 4: 1, 7: 6, 9: 1}
    assert json.loads(json.dumps(doc)) == doc


def test_html_fragment_has_a_column_per_cpu_and_the_same_words():
    text = html.unescape(re.sub(r"<[^>]+>", " ", execution_html(lost_update())))
    for words in ("P[0]", "P[1]", "R l=0 [Once] from P[0] L10", "W l=0 [Release] co 4",
                  "c: init=0 -> P[0] L9=1 -> P[1] L9=1", "final:"):
        assert words in text


# ---- the whole report of an lkmm run (hand-built results) --------------------------------------

MODEL = Model("lock.spec", (), (), (), (), (), source=LOCK_SOURCE)


def lock_results() -> list[RunResult]:
    """sc: the lock works (an operational run); lkmm: the lost update, and a second goal that
    an execution reaching the --unroll bound left `bounded`."""
    sc = RunResult("lock.spec", "sc", True, "exhausted", Stats(40, 60, 9, 0.01, 1),
                   [PropertyResult("counted", "reachable", "holds", "c == 2"),
                    PropertyResult("lost", "reachable", "unreached", "c == 1 and Done", 14)])
    lkmm = RunResult("lock.spec", "lkmm", True, "exhausted", Stats(seconds=0.2),
                     [PropertyResult("counted", "reachable", "bounded", "c == 2",
                                     message="an execution reached the --unroll 2 bound"),
                      PropertyResult("lost", "reachable", "holds", "c == 1 and Done", 14,
                                     execution=lost_update())],
                     engine="axiomatic", unroll=2)
    return [sc, lkmm]


def report(results: list[RunResult], plain: bool, **kw: object) -> str:
    c = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)
    render_results(c, results, MODEL, plain=plain, **kw)  # type: ignore[arg-type]
    return c.file.getvalue()  # type: ignore[attr-defined]


def test_the_matrix_shows_bounded_with_its_unroll_bound():
    text = report(lock_results(), plain=True)
    assert re.search(r"counted +\| reachable \| reached +\| bounded \(unroll 2\)", text)
    assert "verdict: FAILED" in text   # lost is unreached under sc


def test_bounded_alone_is_undecided_not_ok():
    lkmm = lock_results()[1]
    lkmm.properties = lkmm.properties[:1]
    assert exit_status([lkmm]) == 3
    text = report([lkmm], plain=True)
    assert "verdict: UNDECIDED (1 bounded)" in text


def test_the_witness_execution_is_drawn_in_the_report():
    text = report(lock_results(), plain=True, witness=True)
    assert "Witness execution under lkmm (12 events" in text
    assert LOST_UPDATE_PLAIN.splitlines()[4] in text
    assert "axiomatic model (Z3), loops unrolled up to 2 iterations (--unroll)" in text


def test_json_result_of_an_axiomatic_run():
    doc = document("lock.spec", lock_results())
    lkmm = doc["results"][1]
    assert lkmm["engine"] == "axiomatic" and lkmm["unroll"] == 2 and "depth" not in lkmm
    lost = lkmm["properties"][1]
    assert lost["execution"]["events"][7]["reads_from"] == 6


# ---- golden files ------------------------------------------------------------------------------

GOLDEN_CASES = {
    "execution-lock.rich": lambda: report(lock_results(), plain=False, witness=True),
    "execution-lock.plain": lambda: report(lock_results(), plain=True, witness=True),
    "execution-lock.json": lambda: json.dumps(document("lock.spec", lock_results()), indent=2)
    + "\n",
    # the execution's fragment of the --html page (the page around it is html.py's own text)
    "execution-lock.html": lambda: execution_html(lost_update()) + "\n",
    "execution-race.plain": lambda: plain(racy_mp()),
}


def _mask(text: str) -> str:
    return re.sub(r"time [0-9.]+ ?(?:us|ms|s)\b", "time T", text)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_execution_reports(name: str) -> None:
    got = _mask(GOLDEN_CASES[name]())
    path = GOLDEN / name
    if os.environ.get("SMP_UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"{path} is missing: SMP_UPDATE_GOLDEN=1 writes it"
    assert got == path.read_text(encoding="utf-8")


def test_values_are_written_as_the_spec_writes_them():
    from smp_explorer.cli.report.execution import model_namer
    from smp_explorer.spec.pipeline import model_from_text
    model = model_from_text("shared b0: enum { OLD0, INT3, NEW0 } = OLD0;\n"
                            "process P { local on: bool = true; a: b0 := INT3; }\n", "t.spec")
    t = ExecutionTrace("lkmm", (E(0, None, 0, "W", ("IW",), "b0", 0, co_index=0),
                                E(1, "P", 0, "W", ("Plain",), "b0", 1, 2, "a", "b0 := INT3",
                                  co_index=1)), ("P",), {"b0": 1, "P.on": 1})
    d = Drawing(t, model_namer(model))
    assert d.facts(d.by_id[1]) == "W b0=INT3 [Plain]"
    assert d.initial_text() == "b0=OLD0" and d.final_text() == "b0=INT3, P.on=true"
    assert "W b0=INT3 [Plain]" in render_plain(ExecutionView(t, plain=True, model=model))


def test_the_html_page_draws_the_execution_and_the_bound():
    page = html_report(MODEL, lock_results())
    assert execution_html(lost_update()) in page
    assert "<td class='bounded'>bounded (unroll 2)</td>" in page
    assert "reachable lost: reached under lkmm (witness execution, 12 events" in page

"""The stages of check, prove and bmc called one at a time, the request built from argparse,
one result type and one exit status over every engine, and the report's tables."""
from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.text import Text

from test_cli import MUTEX_BROKEN as BROKEN

from smp_explorer.cli.args import CheckRequest, LitmusRequest, Output, ProveRequest, parse_request
from smp_explorer.cli.check import explore_model, fold_findings, vacuity
from smp_explorer.cli.report import render_plain, verdict_line
from smp_explorer.cli.report.litmus import Agreement, VerdictLine, litmus_text
from smp_explorer.cli.report.tables import TableView
from smp_explorer.cli.stages import load_models, select_goals
from smp_explorer.cli.symbolic import run_prove
from smp_explorer.invariants.induction import prove
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult, RunResult, Stats, exit_status
from smp_explorer.spec.errors import SpecErrors

# a valid invariant too: the pre-check warns about it
MUTEX_BROKEN = BROKEN + "invariant Always: lock or not lock;\n"


@pytest.fixture
def mutex(tmp_path) -> str:
    path = tmp_path / "mutex.spec"
    path.write_text(MUTEX_BROKEN)
    return str(path)


def check_request(file: str, *flags: str) -> CheckRequest:
    request = parse_request(["check", file, *flags])
    assert isinstance(request, CheckRequest)
    return request


def test_argparse_is_read_once_into_a_request(mutex):
    request = check_request(mutex, "--memory", "sc,tso", "--invariant", "Mutex", "--plain",
                            "--no-deadlock", "--no-z3", "--max-states", "7")
    assert request.memories == ["sc", "tso"] and request.properties == ["Mutex"]
    assert request.output == Output(plain=True)
    assert not request.check_deadlock and not request.z3 and request.max_states == 7
    prove_request = parse_request(["prove", mutex, "--k", "2", "--assume", "Always"])
    assert isinstance(prove_request, ProveRequest)
    assert prove_request.k == 2 and prove_request.assume == ["Always"]
    litmus = parse_request(["litmus", "a.litmus"])
    assert isinstance(litmus, LitmusRequest) and litmus.memories == ["sc", "tso", "pso", "weak"]


def test_check_stages_run_one_at_a_time(mutex):
    request = check_request(mutex, "--memory", "sc,tso")
    err = Console(file=io.StringIO(), width=200)
    models = list(load_models(request))                                       # load
    assert [memory for memory, _ in models] == ["sc", "tso"]
    memory, model = models[0]
    select_goals(model, request.properties, one_error_each=False)             # select
    warned: set[str] = set()
    findings = vacuity(model, request, err, warned)                           # vacuity
    assert warned == {"Always"} and "checks nothing" in err.file.getvalue()  # type: ignore[attr-defined]
    result = explore_model(compile_model(model), memory, request, err)        # compile, explore
    fold_findings(result, model, findings)
    by_name = {p.name: p for p in result.properties}
    assert by_name["Mutex"].status == "violated"
    assert by_name["Always"].warning is not None


def test_select_reports_every_unknown_name(mutex):
    _, model = next(load_models(check_request(mutex)))
    with pytest.raises(SpecErrors) as together:
        select_goals(model, ["Nope", "Neither"], one_error_each=False)
    assert len(together.value.errors) == 1
    with pytest.raises(SpecErrors) as each:
        select_goals(model, ["Nope", "Neither"], one_error_each=True)
    assert len(each.value.errors) == 2


def _result(engine: str, status: str) -> RunResult:
    return RunResult("t.spec", "sc", True, "decided", Stats(),
                     [PropertyResult("P", "invariant", status)], engine)


def test_one_exit_status_over_every_engine():
    assert exit_status([_result("explore", "holds"), _result("prove", "proved"),
                        _result("bmc", "bounded")]) == 0
    assert exit_status([_result("explore", "holds"), _result("prove", "not-inductive")]) == 1
    assert exit_status([_result("bmc", "unknown"), _result("explore", "holds")]) == 3
    assert exit_status([_result("bmc", "unknown"), _result("explore", "unreached")]) == 1


def test_one_verdict_line_says_what_each_engine_decided():
    assert verdict_line([_result("explore", "holds")]).plain == "verdict: OK (1 holds)"
    assert verdict_line([_result("prove", "proved")]).plain == "verdict: PROVED (1 proved)"
    assert verdict_line([_result("bmc", "bounded")]).plain == \
        "verdict: NO VIOLATION FOUND (1 bounded)"
    assert verdict_line([_result("prove", "not-inductive")]).plain == \
        "verdict: FAILED (1 not-inductive)"


def test_prove_is_a_run_result_of_its_engine(mutex):
    _, model = next(load_models(check_request(mutex)))
    result = prove(model, ["Mutex"], k=2)
    assert isinstance(result, RunResult) and result.engine == "prove" and result.k == 2
    assert result.to_json()["k"] == 2 and "states" not in result.to_json()


def test_prove_pipeline_prints_one_report(mutex, capsys):
    request = parse_request(["prove", mutex, "--invariant", "Mutex", "--plain", "--quiet"])
    assert isinstance(request, ProveRequest)
    out = Console(file=io.StringIO(), width=100)
    assert run_prove(request, out) == 1
    assert "verdict: FAILED" in out.file.getvalue()  # type: ignore[attr-defined]


def test_plain_table_leaves_no_dangling_separator_but_keeps_a_cell_ending_in_one():
    rows = [[Text("1"), Text("a |"), Text("")], [Text("2"), Text(""), Text("x")]]
    lines = TableView(["#", "left", "right"], rows, right={0}, plain=True).ascii(80)
    assert lines == ["# | left | right", "--+------+------", "1 | a |", "2 |      | x"]
    assert render_plain(TableView(["#", "left", "right"], rows, right={0},
                                  plain=True)).splitlines() == lines


def test_litmus_lines_and_agreement_table():
    line = litmus_text(VerdictLine("t/SB.litmus", "tso", "Allowed", 31, "Forbidden", 12))
    assert line == "t/SB.litmus   tso   Allowed           31 states   (MANIFEST: Forbidden)\n"
    agreement = Agreement(["sc", "tso"], {"x86": {"sc": {"agree": 2}, "tso": {"agree": 1,
                                                                            "disagree": 1}}},
                          {"x86": 2}, ["tso  x86/MP.litmus: Allowed, expected Forbidden"])
    text = litmus_text(agreement).splitlines()
    assert text[2:7] == ["source  tests           sc          tso",
                         "-" * 39,
                         "x86         2        2/0/0        1/1/0",
                         "-" * 39,
                         "total       2        2/0/0        1/1/0"]
    assert text[-2:] == ["disagreements:", "  tso  x86/MP.litmus: Allowed, expected Forbidden"]

"""The command line end to end: exit statuses, JSON, --plain, errors, limits, no tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import cli
from smp_explorer.cli.main import main

MUTEX_BROKEN = """
var lock: bool = false;
process P[i in 0..1] {
a:  await not lock;
b:  lock := true;
cs: skip;
d:  lock := false; goto a;
}
invariant Mutex: not (P[0] at cs and P[1] at cs);
"""

COUNTER = """
var x: 0..9 = 0;
process P { a: if x < 9 { x := x + 1; } goto a; }
invariant Fine: x >= 0;
"""


def test_exit_status_0_when_everything_holds(spec, capsys):
    code, out, _ = cli(capsys, "check", spec(COUNTER), "--plain")
    assert code == 0
    assert "Fine" in out and "holds" in out


def test_exit_status_1_on_violation_with_a_plain_trace(spec, capsys):
    code, out, _ = cli(capsys, "check", spec(MUTEX_BROKEN), "--plain")
    assert code == 1
    assert "Mutex" in out and "violated" in out
    assert "\x1b" not in out and not any(0x2500 <= ord(ch) <= 0x257F for ch in out)
    assert "P[0]" in out and "P[1]" in out


def test_exit_status_1_for_an_unreached_goal(spec, capsys):
    code, _, _ = cli(capsys, "check", spec(COUNTER + "reachable Ten: x == 10 - 0 and false;"),
                     "--quiet", "--plain")
    assert code == 1


def test_exit_status_3_when_a_limit_stops_the_run(spec, capsys):
    code, out, _ = cli(capsys, "check", spec(COUNTER), "--max-states", "3", "--plain")
    assert code == 3
    assert "incomplete" in out


def test_exit_status_1_beats_3_when_an_incomplete_run_found_a_violation(spec, capsys):
    code, _, _ = cli(capsys, "check", spec(MUTEX_BROKEN + COUNTER.replace("process P", "process Q")
                                           .replace("var x", "var y").replace("x", "y")),
                     "--max-depth", "5", "--plain", "--quiet")
    assert code == 1


def test_json_document_follows_the_schema(spec, capsys):
    path = spec(MUTEX_BROKEN)
    code, out, _ = cli(capsys, "check", path, "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["spec"] == path
    [res] = doc["results"]
    assert res["memory"] == "sc" and res["complete"] is True
    for key in ("states", "transitions", "depth"):
        assert isinstance(res[key], int)
    props = {p["name"]: p for p in res["properties"]}
    assert set(props) == {"Mutex", "deadlock_free"}
    m = props["Mutex"]
    assert m["kind"] == "invariant" and m["status"] == "violated"
    steps = m["trace"]
    assert steps[0]["process"] is None and steps[0]["state"]["lock"] is False
    for s in steps[1:]:
        assert set(s) >= {"process", "label", "line", "state"}
        assert s["process"] in ("P[0]", "P[1]") and isinstance(s["line"], int)
    assert steps[-1]["state"]["P[0].pc"] == "cs" and steps[-1]["state"]["P[1].pc"] == "cs"
    assert props["deadlock_free"]["status"] == "holds" and props["deadlock_free"]["trace"] is None


def test_json_liveness_stage_is_timed_apart(spec, capsys):
    """A run with liveness properties has `liveness` (the stage after the search: its time,
    split into the graph and the fair-cycle analysis, and the graph's size); `seconds` stays
    the search's; a run without them has no `liveness` key."""
    text = ("var x: 0..2 = 0;\nfair process P { a: x := 1; b: x := 2; }\n"
            "liveness Two: eventually x == 2;\n")
    code, out, _ = cli(capsys, "check", spec(text), "--json")
    assert code == 0
    [res] = json.loads(out)["results"]
    live = res["liveness"]
    assert set(live) == {"seconds", "graph_seconds", "analysis_seconds", "states", "edges"}
    assert live["states"] == 3 and live["edges"] == 2   # x = 0, 1, 2 (P at a, b, Done)
    assert live["seconds"] >= live["graph_seconds"] >= 0 and live["analysis_seconds"] >= 0
    assert isinstance(res["seconds"], float)
    code, out, _ = cli(capsys, "check", spec(COUNTER), "--json")
    assert "liveness" not in json.loads(out)["results"][0]


def test_invariant_flag_selects_properties(spec, capsys):
    text = COUNTER + "invariant Zero: x == 0;"
    code, out, _ = cli(capsys, "check", spec(text), "--invariant", "Fine", "--json")
    names = [p["name"] for p in json.loads(out)["results"][0]["properties"]]
    assert code == 0 and "Zero" not in names and "Fine" in names
    code, _, err = cli(capsys, "check", spec(text), "--invariant", "Nope")
    assert code == 2 and "Nope" in err and "Fine" in err


def test_const_override(spec, capsys):
    text = "const N = 2;\nvar x: 0..9 = 0;\nprocess P { a: await x < N; x := x + 1; goto a; }"
    code, out, _ = cli(capsys, "check", spec(text), "--const", "N=5", "--json", "--no-deadlock")
    assert code == 0 and json.loads(out)["results"][0]["states"] == 6  # x = 0..5


@pytest.mark.parametrize("args,fragment", [
    (["check", "{spec}", "--max-states", "0"], "--max-states"),
    (["check", "{spec}", "--max-states", "lots"], "whole number"),
    (["check", "{spec}", "--timeout", "-1"], "--timeout"),
    (["check", "{spec}", "--memory", "arm"], "allowed: sc"),
    (["check", "{spec}", "--const", "N"], "NAME=VALUE"),
    (["check", "{spec}", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_flags_say_what_is_allowed(spec, capsys, args, fragment):
    path = spec(COUNTER)
    with pytest.raises(SystemExit) as info:
        main([a.replace("{spec}", path) for a in args])
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize("text,consts,location,fragment", [
    ("var x: 0..3 = 0;\nprocess P { a: x := y; }", [], ":2:21:", "unknown name 'y'"),
    ("const N = 2\nvar x: bool;", [], ":1:12:", "missing ';'"),
    ("var x: 0..3 = 0;\nprocess P { a: x := 1;\na: skip; }", [], ":3:1:", "duplicate label"),
    ("var x: 0..3 = 0;\nprocess P { a: goto b; }", [], ":2:16:", "unknown label 'b'"),
    ("var x: 0..3 = 9;", [], ":1:15:", "outside 0..3"),
    ("const N = 2;", ["--const", "M=1"], "--const", "no constant 'M'"),
])
def test_spec_errors_show_file_line_col_and_exit_2(spec, capsys, text, consts, location, fragment):
    path = spec(text)
    code, out, err = cli(capsys, "check", path, "--plain", *consts)
    assert code == 2
    assert location in err and fragment in err
    assert "Traceback" not in err + out


def test_spec_error_shows_the_source_line_and_a_caret(spec, capsys):
    path = spec("var x: 0..3 = 0;\nprocess P { a: x := y; }")
    _, _, err = cli(capsys, "check", path, "--plain")
    lines = err.splitlines()
    src = next(i for i, line in enumerate(lines) if "process P { a: x := y; }" in line)
    caret_line = lines[src + 1]
    # the caret sits under column 21 of the source line, wherever the line starts in the output
    offset = lines[src].index("process P")
    assert caret_line.index("^") - offset == 20


def test_missing_file_and_directory(tmp_path, capsys):
    code, _, err = cli(capsys, "check", str(tmp_path / "nope.spec"))
    assert code == 2 and "no such file" in err
    code, _, err = cli(capsys, "check", str(tmp_path))
    assert code == 2 and "directory" in err


def test_python_dash_m_and_console_script_work():
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "smp_explorer", "check", "--help"], cwd=root,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--max-states" in r.stdout


# ---- no traceback on malformed specs ---------------------------------------------------

MALFORMED = [
    "", "process", "process P {", "process P { }", "var", "var x", "var x:", "var x: 0..",
    "var x: array[] of bool;", "var x: set of set of bool;", "const N = 1 / 0;",
    "const N = N;", "type T = T;", "var x: 0..3 = any any;", "invariant : true;",
    "process P { a: goto a }", "process P { a: while true { } }", "action A(x in 0..1) { a: skip; }",
    "var x: 0..3;\nprocess P { a: x := x / 0; }", "var x: 0..3;\ninvariant I: x[0] == 1;",
    "var a: array[0..1] of bool;\ninvariant I: a == 1;", "process P { a: with x in 5 { skip; } }",
    "var x: bool;\ninvariant I: forall y in x: y;", "process P[p in 0..1] { a: skip; }\n"
    "invariant I: P.x == 0;", "process P { a: skip; }\ninvariant I: P[0] at a;",
    "var s: set of 0..100;", "var x: 0..3;\nprocess P { a: x[1] := 0; }", "\x00\xff",
    "/* unterminated", "\"string\"", "var x: 0..3 = {1};", "var x: enum {A, A};",
    "process P { local pc: bool; a: skip; }", "const C = true;\nvar x: 0..C;",
    "action A { await false; }",  # no slots at all, deadlocked at once
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_specs_never_raise(spec, capsys, text):
    code, out, err = cli(capsys, "check", spec(text), "--plain", "--max-states", "1000")
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in out + err


TOKENS = ["const", "type", "var", "shared", "process", "action", "invariant", "reachable", "local",
          "await", "if", "else", "while", "goto", "either", "or", "with", "in", "assert", "skip",
          "terminate", "forall", "exists", "then", "at", "self", "true", "false", "any", "enum",
          "array", "of", "set", "bool", "x", "y", "P", "N", "a", "b", "0", "1", "3", "..", ":=",
          ":", ";", ",", "{", "}", "[", "]", "(", ")", "+", "-", "*", "/", "%", "==", "!=", "<",
          ">=", "and", "not", "implies", "union", "minus", "card", ".", "\"m\"", "\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_fuzzed_token_soup_never_raises(tmp_path, capsys, tokens):
    p = tmp_path / "fuzz.spec"
    p.write_text(" ".join(tokens))
    code = main(["check", str(p), "--plain", "--max-states", "200", "--timeout", "5"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in out + err


VALID_PREFIX = "const N = 2;\nvar x: 0..3 = 0;\nvar f: array[0..1] of bool = false;\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_fuzzed_process_bodies_never_raise(tmp_path, capsys, tokens):
    p = tmp_path / "fuzz.spec"
    p.write_text(VALID_PREFIX + "process P[i in 0..N-1] { a: " + " ".join(tokens) + " }\n")
    code = main(["check", str(p), "--plain", "--max-states", "200", "--timeout", "5"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in out + err


def test_ctrl_c_ends_cleanly_with_the_statistics_so_far():
    import signal
    import time
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "smp_explorer", "check",
                             str(root / "models" / "classic" / "filter.spec"), "--const", "N=6",
                             "--no-deadlock", "--plain", "--engine", "scalar"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # well inside the exploration: loading and compiling take a second or two (more on a
    # loaded machine), the scalar engine's search of N = 6 about half a minute
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert "interrupted" in out and "Traceback" not in out + err
    assert "distinct states" in out

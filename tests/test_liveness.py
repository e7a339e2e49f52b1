"""Liveness: eventually / leads_to / fairness, with lasso counterexamples (explorer.liveness).

Every expected verdict is derived by hand in the test's docstring or comment; every lasso is
checked step by step against the model's own successor function (a step the model allows, the
last state equal to the loop's first, the property's condition false on the whole loop).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smp_explorer.cli.main import main
from smp_explorer.explorer.liveness import check_liveness
from smp_explorer.ir.evaluate import evaluate
from smp_explorer.ir.model import Model
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import load_model, model_from_text

ROOT = Path(__file__).resolve().parent.parent
PETERSON = (ROOT / "models/classic/peterson.spec").read_text()
DINING = (ROOT / "models/classic/dining.spec").read_text()


def verdicts(model: Model, buffer_fairness: bool = True) -> dict[str, PropertyResult]:
    run = check_liveness(compile_model(model), list(model.liveness), buffer_fairness)
    for r in run.results:
        if r.status == "violated":
            check_lasso(model, r)
    return {r.name: r for r in run.results}


def check_lasso(model: Model, r: PropertyResult) -> None:
    """The lasso is a run of the model: each step is one of the model's steps from the state
    before (found by name and resulting state), and the last state is the loop's first."""
    trace = r.trace
    assert trace is not None and trace.loop_start is not None
    cm = compile_model(model)
    key = lambda st: repr(sorted(st.items(), key=str))  # noqa: E731
    states = {key(model.describe(s)): s for s in model.initial_states()}
    cur = states[key(trace.steps[0].state)]
    for step in trace.steps[1:]:
        out, _ = cm.successors(cur)
        nxt = [t for a, t in out if model.actions[a].name == step.action
               and key(model.describe(t)) == key(step.state)]
        assert nxt, f"step {step.action} is not a step of the model"
        cur = nxt[0]
    assert key(trace.steps[-1].state) == key(trace.steps[trace.loop_start].state)
    if trace.loop_start == len(trace.steps) - 1:  # an end state: nothing is enabled
        assert cm.successors(cur)[0] == []


def fair(text: str, proc: str) -> str:
    return text.replace(f"\nprocess {proc}", f"\nfair process {proc}", 1)


# ---- Peterson ----------------------------------------------------------------------------------

PETERSON_LIVE = """
liveness p0_enters: eventually P[0] at cs;
liveness p0_again: always eventually P[0] at cs;
liveness trying_enters[i in PID]: P[i] at p2 leads_to P[i] at cs;
"""


def test_peterson_weak_fairness_every_process_enters() -> None:
    """Weakly fair P[0] at p1 is always enabled (an assignment), so it moves to p2 and p3. At
    p3 it waits for `not flag[1] or turn == 0`. If P[1] is at p1/cs/p4 it either leaves flag[1]
    false or, entering again, sets turn := 0 at p2 and then waits at p3 (flag[0] and turn == 0):
    from then on P[0]'s await stays enabled until it moves, so weak fairness makes it enter. So
    P[0] enters again and again: all three properties hold (and symmetrically for P[1])."""
    model = model_from_text(fair(PETERSON, "P") + PETERSON_LIVE, "peterson-fair.spec")
    v = verdicts(model)
    assert {n: r.status for n, r in v.items()} == {
        "p0_enters": "holds", "p0_again": "holds", "trying_enters[0]": "holds",
        "trying_enters[1]": "holds"}


def test_peterson_without_fairness_one_process_stops() -> None:
    """Without fairness P[0] may stay at p1 forever while P[1] loops p1..p4 (P[1] is never
    blocked then: flag[0] is false): eventually P[0] at cs is violated, by a lasso in which
    P[0] never moves. But once P[0] is at p2 (flag[0] true), P[1] can pass at most once more
    before it blocks at p3 (turn == 0, flag[0] true), and then only P[0] can move, and some
    step is always taken: trying_enters holds even without fairness (bounded bypass)."""
    model = model_from_text(PETERSON + PETERSON_LIVE, "peterson.spec")
    v = verdicts(model)
    assert v["p0_enters"].status == "violated"
    assert v["p0_again"].status == "violated"
    assert v["trying_enters[0]"].status == "holds"
    assert v["trying_enters[1]"].status == "holds"
    trace = v["p0_enters"].trace
    assert trace is not None and trace.loop_start is not None
    loop = trace.steps[trace.loop_start + 1:]
    assert loop and all(s.process == "P[1]" for s in loop)
    assert all(s.state["P[0].pc"] == "p1" for s in trace.steps)
    assert "never moving: P[0] at p1" in (v["p0_enters"].message or "")


# ---- spinlock ----------------------------------------------------------------------------------

def test_xchg_spinlock_starves_under_weak_fairness() -> None:
    """Cpu[1] can take the lock, release it and take it again forever. A failed xchg of Cpu[0]
    writes 1 over 1 and stays at acquire: a step that changes nothing, neither taken nor
    enabled for fairness, so Cpu[0]'s real step (the xchg that gets 0) is enabled only while
    the lock is free: not continuously. Weak fairness does not force it: Cpu[0] starves."""
    v = verdicts(load_model(ROOT / "models/classic/spinlock.spec"))
    r = v["cpu0_progress"]
    assert r.status == "violated"
    assert r.trace is not None and r.trace.loop_start is not None
    loop = r.trace.steps[r.trace.loop_start + 1:]
    assert all(s.state["Cpu[0].pc"] == "acquire" for s in loop)
    assert {s.process for s in loop} == {"Cpu[1]"}


def test_xchg_spinlock_strong_fairness_of_acquire_holds() -> None:
    """With the acquire step strongly fair, Cpu[0] waiting at acquire sees the lock free
    infinitely often (Cpu[1] releases it each round: its process is weakly fair), so the
    successful xchg is enabled infinitely often and must be taken: cpu0_progress holds."""
    v = verdicts(load_model(ROOT / "models/classic/spinlock-strong.spec"))
    assert v["cpu0_progress"].status == "holds"


# ---- dining philosophers ------------------------------------------------------------------------

def test_dining_philosophers_starve() -> None:
    """dining.spec takes the left fork then the right one, with no resource order: with every
    philosopher weakly fair the state where each holds its left fork has no enabled step, and
    a run that ends there never lets philosopher 0 eat again. (Even without that deadlock, a
    neighbour may take fork 1 each time it is free: weak fairness does not help Phil[0].)"""
    text = fair(DINING, "Phil").replace("const N = 8;", "const N = 3;")
    model = model_from_text(text + "\nliveness phil0_eats: always eventually Phil[0] at eat;\n",
                            "dining.spec")
    v = verdicts(model)
    assert v["phil0_eats"].status == "violated"


# ---- other forms and corner cases ---------------------------------------------------------------

COUNTER = """
var x: 0..3 = 0;
fair process P {
  a: x := x + 1;
  b: if x < 3 { goto a; }
  c: x := 0;
     goto a;
}
liveness reaches3: eventually x == 3;
liveness stays_zero: eventually always x == 0;
liveness back_to_0: x == 3 leads_to x == 0;
"""


def test_forms_on_a_counter() -> None:
    """P counts 0,1,2,3 then resets to 0 forever (one process, weakly fair, never blocked):
    x reaches 3 (holds), returns to 0 after each 3 (holds), but x == 0 is not eventually
    always true: the run keeps counting (violated)."""
    v = verdicts(model_from_text(COUNTER, "counter.spec"))
    assert {n: r.status for n, r in v.items()} == {
        "reaches3": "holds", "stays_zero": "violated", "back_to_0": "holds"}


def test_unfair_process_may_stop_and_end_states_repeat() -> None:
    """Without `fair`, a single process may stop... only if something else moves: runs take a
    step when one is enabled (SPIN's semantics), so the lone counter still reaches 3. A process
    that terminates leaves an end state where the run stays: `eventually x == 2` after it
    stops at x == 1 is violated by a lasso ending there."""
    v = verdicts(model_from_text(COUNTER.replace("fair process", "process"), "c.spec"))
    assert v["reaches3"].status == "holds"
    ends = model_from_text("var x: 0..2 = 0;\nprocess P { a: x := 1; }\n"
                           "liveness two: eventually x == 2;\n", "e.spec")
    r = verdicts(ends)["two"]
    assert r.status == "violated" and r.trace is not None
    assert r.trace.loop_start == len(r.trace.steps) - 1 == 1


def test_deep_graph_has_no_recursion_limit() -> None:
    """A 20,000-state cycle: Tarjan is iterative."""
    model = model_from_text("var x: 0..19999 = 0;\nfair process P { a: x := (x + 1) % 20000; "
                            "goto a; }\nliveness hits: always eventually x == 19999;\n"
                            "liveness never: eventually x == 20000 - 1 and x == 0;\n", "d.spec")
    v = verdicts(model)
    assert v["hits"].status == "holds" and v["never"].status == "violated"


def test_bad_fairness_is_a_spec_error() -> None:
    with pytest.raises((SpecError, SpecErrors)) as e:
        model_from_text("var x: bool = false;\nfair(bogus) process P { a: x := true; }\n", "b.spec")
    assert "2:" in str(e.value) or "line 2" in str(e.value) or getattr(e.value, "span", None)


# ---- ftrace: buffer fairness ----------------------------------------------------------------------

@pytest.mark.parametrize("memory", ["sc", "tso", "pso", "weak"])
def test_ftrace_progress_needs_buffer_fairness(memory: str) -> None:
    """With weak fairness, the strongly fair interrupt at a boundary and draining buffers the
    patcher finishes and every trap returns. Without buffer fairness (tso/pso/weak) a CPU's
    acknowledgement `ipi[c] := false` may stay buffered forever: the patcher's await never
    sees it (patcher_finishes violated) and a CPU that traps meanwhile never passes IRET, a
    serializing fence that waits for its buffer to drain (trap_returns violated). Under sc
    nothing is buffered: both hold either way."""
    model = load_model(ROOT / "models/ftrace/v2-atomic.spec", memory=memory)
    on = verdicts(model)
    assert {r.status for r in on.values()} == {"holds"}
    off = verdicts(model, buffer_fairness=False)
    expected = "holds" if memory == "sc" else "violated"
    assert {r.status for r in off.values()} == {expected}
    if memory != "sc":
        r = off["patcher_finishes"]
        assert r.trace is not None and r.trace.loop_start is not None
        loop = r.trace.steps[r.trace.loop_start + 1:]
        assert all(s.label != "flush" for s in loop)  # the buffers never drain in the loop


# ---- command line -------------------------------------------------------------------------------

def test_cli_json_has_the_loop_and_prove_refuses(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "c.spec"
    spec.write_text(COUNTER)
    assert main(["check", str(spec), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    props = {p["name"]: p for run in doc["results"] for p in run["properties"]}
    p = props["stays_zero"]
    assert p["status"] == "violated" and isinstance(p["loop"], int)
    assert 0 <= p["loop"] < len(p["trace"])
    assert main(["check", str(spec), "--plain"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"back to step \d+: steps \d+-\d+ repeat forever", out)
    assert main(["prove", str(spec), "--invariant", "reaches3"]) == 2
    assert "does not check liveness" in capsys.readouterr().err


def test_cli_no_buffer_fairness(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "models/ftrace/v2-atomic.spec")
    assert main(["check", spec, "--memory", "tso", "--plain", "--invariant",
                 "patcher_finishes", "--no-buffer-fairness"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"patcher_finishes \| liveness \| violated", out)
    assert re.search(r"buffer\s+fairness off", out)


# ---- SPIN -------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("spin") is None or shutil.which("gcc") is None,
                    reason="spin (apt-get install spin) and gcc are needed to compare with SPIN")
def test_same_verdicts_as_spin(tmp_path: Path) -> None:
    """bench/liveness.py runs each Promela model with `pan -a [-f]` next to ours."""
    out = subprocess.run([sys.executable, str(ROOT / "bench/liveness.py"), "--check"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr

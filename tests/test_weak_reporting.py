"""What the reports say about the operational models' limits (issue 9, item 1): the caveat every
result under weak carries, `explorer litmus --summary` against the stated (LKMM) verdicts with
the known gaps labelled, and the warning for a step that fires under sc but never under a weaker
model."""
from __future__ import annotations

import json
import shutil

from rich.console import Console

from smp_explorer.cli import report
from smp_explorer.cli.check import warn_sc_only_steps
from smp_explorer.cli.main import main
from smp_explorer.runs.results import RunResult, Stats
from smp_explorer.spec.memory import caveat
from smp_explorer.spec.pipeline import model_from_text

SB = """
shared x: 0..1 = 0;  shared y: 0..1 = 0;
process P0 { local r0: 0..1 = 0; a: x := 1; b: r0 := y; }
process P1 { local r1: 0..1 = 0; c: y := 1; d: r1 := x; }
invariant sb: not (P0 at Done and P1 at Done and P0.r0 == 0 and P1.r1 == 0);
"""


def test_every_weak_report_and_json_result_carries_the_caveat(tmp_path, capsys):
    spec = tmp_path / "sb.spec"
    spec.write_text(SB)
    said = caveat("weak")
    assert said and "load buffering (LB)" in said and "--memory lkmm" in said
    assert "non-multi-copy-atomic" in said and "release sequences" in said
    assert caveat("sc") is None and caveat("tso") is None and caveat("pso") is None
    main(["check", str(spec), "--memory", "sc,weak", "--plain"])
    out = capsys.readouterr().out
    assert out.count("caveat: weak does not explore") == 1
    main(["check", str(spec), "--memory", "sc,tso", "--plain"])
    assert "caveat" not in capsys.readouterr().out
    main(["check", str(spec), "--memory", "sc,weak", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert [r.get("caveat") for r in doc["results"]] == [None, said]


def _result(memory: str, coverage: dict[str, int], complete: bool = True) -> RunResult:
    return RunResult("t.spec", memory, complete, "exhausted" if complete else "max-states",
                     Stats(coverage=dict(coverage)), [])


def test_a_step_fired_under_sc_only_is_a_warning_of_its_own():
    # P: a fired 3 times under sc and never under tso; P: b fired under both; a flush step exists
    # only under tso and is never compared; pso fired everything.
    sc = _result("sc", {"P: a": 3, "P: b": 1})
    tso = _result("tso", {"P: a": 0, "P: b": 2, "P: flush x": 0})
    pso = _result("pso", {"P: a": 1, "P: b": 1, "P: flush x": 1})
    warn_sc_only_steps([sc, tso, pso])
    assert tso.stats.notes == ["warning: step P: a fires under sc but never under tso: check "
                               "that tso forbids it rather than hides it"]
    assert sc.stats.notes == [] and pso.stats.notes == []
    assert tso.to_json()["notes"] == tso.stats.notes
    console = Console(width=200, record=True)
    model = model_from_text(SB, "t.spec", memory="tso")
    report.render_results(console, [sc, tso, pso], model, plain=True)
    assert "warning: step P: a fires under sc but never under tso" in console.export_text()


def test_no_sc_only_warning_when_a_limit_stopped_a_run():
    sc = _result("sc", {"P: a": 3})
    tso = _result("tso", {"P: a": 0}, complete=False)  # may fire later
    warn_sc_only_steps([sc, tso])
    assert tso.stats.notes == []
    sc_cut, tso2 = _result("sc", {"P: a": 3}, complete=False), _result("tso", {"P: a": 0})
    warn_sc_only_steps([sc_cut, tso2])
    assert tso2.stats.notes == []
    warn_sc_only_steps([_result("tso", {"P: a": 0})])  # no sc run: nothing to compare


LINUX = "litmus/lkmm/herdtools7/catalogue/linux/tests/"


def test_litmus_summary_under_weak_compares_with_lkmm_and_labels_the_gaps(shared, capsys):
    # C-LB+o-o+o-o: LKMM Allowed (MANIFEST, herd7 .expected), tagged needs-promise; weak has no
    # promises so it answers Forbidden: a disagreement labelled with its class.
    # MP+polockonce+poacquiresilsil: LKMM Allowed, no tag: a plain disagreement.
    # C-MP+o-o+o-rmb-o: LKMM Allowed and weak Allowed (stores out of order): agrees.
    files = [str(shared / LINUX / f"{n}.litmus") for n in
             ("C-LB+o-o+o-o", "MP+polockonce+poacquiresilsil", "C-MP+o-o+o-rmb-o")]
    status = main(["litmus", *files, "--summary", "--memory", "weak"])
    out = capsys.readouterr().out
    assert status == 1
    assert "1/2/0" in out  # agree/disagree/unsupported
    gaps = out[out.index("disagreements in a documented gap"):]
    assert "C-LB+o-o+o-o.litmus: Forbidden, expected Allowed  [needs-promise:" in gaps
    plain = out[out.index("disagreements:"):out.index("disagreements in a documented gap")]
    assert "MP+polockonce+poacquiresilsil.litmus: Forbidden, expected Allowed" in plain
    assert "caveat (weak): weak does not explore" in out


def test_litmus_uses_a_tests_own_result_line_outside_the_corpus(shared, tmp_path, capsys):
    # outside the corpus (no MANIFEST.tsv above tmp_path) the herd7 `.expected` beside the file
    # states LKMM's verdict: Observation ... Sometimes = Allowed; weak answers Forbidden (LB).
    for suffix in (".litmus", ".litmus.expected"):
        shutil.copy(shared / LINUX / f"C-LB+o-o+o-o{suffix}", tmp_path)
    status = main(["litmus", str(tmp_path / "C-LB+o-o+o-o.litmus"), "--memory", "weak"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Forbidden" in out and "(stated: Allowed)" in out

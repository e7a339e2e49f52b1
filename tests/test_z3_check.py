"""`explorer check --z3-check`: Z3 evaluates every invariant, goal and step on every distinct
state the explorer visits, and any disagreement with the compiled code stops the run loudly.
On the shipped models there must be none (the verdicts stay those of a plain `check`); a
deliberately wrong encoder must be caught."""
from __future__ import annotations

import json

import pytest

import smp_explorer.invariants.z3enc as z3enc
from conftest import MODELS, cli
from smp_explorer.cli.main import main

SHIPPED = sorted(p.relative_to(MODELS).as_posix() for p in MODELS.rglob("*.spec"))


def run(capsys, *args: str) -> tuple[int, dict, str]:
    code, out, err = cli(capsys, *args)
    return code, (json.loads(out) if out.startswith("{") else {}), err


def cross_check(capsys, path: str, *extra: str) -> None:
    plain_code, plain, _ = run(capsys, "check", path, "--json", *extra)
    code, checked, err = run(capsys, "check", path, "--json", "--z3-check", *extra)
    assert "disagree" not in err and code == plain_code
    for a, b in zip(plain["results"], checked["results"]):
        assert [(p["name"], p["status"]) for p in a["properties"]] == \
            [(p["name"], p["status"]) for p in b["properties"]]
        assert b["states"] == a["states"]
        assert f"z3-check: Z3 agreed with the explorer on all {a['states']:,} states" \
            in b["notes"]


@pytest.mark.parametrize("rel", SHIPPED)
def test_no_disagreement_on_the_shipped_models(capsys, rel):
    cross_check(capsys, str(MODELS / rel))


def test_no_disagreement_under_the_memory_models(capsys):
    # store buffers and flush steps are IR slots and actions like any other
    cross_check(capsys, str(MODELS / "ftrace" / "v1-plain-int.spec"), "--memory",
                "tso,pso,weak")


def test_a_wrong_encoding_is_caught(capsys, monkeypatch):
    # make Z3 read `<` as `<=`: the first state where it matters must stop the run
    monkeypatch.setitem(z3enc._COMPARE, "lt", lambda x, y: x <= y)
    code = main(["check", str(MODELS / "classic" / "filter.spec"), "--z3-check", "--plain"])
    out, err = capsys.readouterr()
    assert code == 4
    assert "internal error: the engines disagree" in err and "Z3 says" in err
    assert "Traceback" not in out + err


def test_z3_check_and_no_z3_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", str(MODELS / "classic" / "peterson.spec"), "--z3-check", "--no-z3"])
    assert info.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["scalar", "vector"])
def test_the_engine_that_runs_is_checked(capsys, engine):
    # the visitor sees what the chosen engine computed: Z3 agrees with each on every state
    cross_check(capsys, str(MODELS / "classic" / "filter.spec"), "--engine", engine)
    cross_check(capsys, str(MODELS / "ftrace" / "v1-plain-int.spec"), "--engine", engine,
                "--memory", "tso")


def _corrupt_scalar(monkeypatch) -> None:
    from smp_explorer.explorer.engines.scalar import ScalarCode
    successor = ScalarCode._successor
    monkeypatch.setattr(ScalarCode, "_successor",
                        lambda self, updates, facts: f"(({successor(self, updates, facts)}) ^ 1)")


def _corrupt_vector(monkeypatch) -> None:
    from smp_explorer.explorer.engines.vector import VectorCode
    successor = VectorCode._successor
    monkeypatch.setattr(VectorCode, "_successor", lambda self, *args, **kw:
                        [f"({w} ^ _u64(1))" for w in successor(self, *args, **kw)])


@pytest.mark.parametrize("engine, corrupt", [("scalar", _corrupt_scalar),
                                             ("vector", _corrupt_vector)])
def test_a_wrong_engine_is_caught(capsys, monkeypatch, engine, corrupt):
    # the chosen engine's own generated code computes wrong successors (the lowest bit of the
    # packed state flipped): --z3-check stops at the first state that engine expands
    # (unreduced: a reduced run expands its states with the tuple code, explorer/por.py)
    corrupt(monkeypatch)
    spec = str(MODELS / "classic" / "filter.spec")
    code = main(["check", spec, "--engine", engine, "--z3-check", "--plain", "--no-reduction"])
    out, err = capsys.readouterr()
    assert code == 4
    assert "internal error: the engines disagree" in err and "the steps that complete" in err

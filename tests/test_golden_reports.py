"""Golden reports: the Rich, plain and JSON output of the shipped models, byte for byte.

These guard the *form* of the reports through refactors (the verdicts and counts in them are
asserted from independent sources elsewhere: test_models.py, test_peer_counts.py, the litmus
corpus). Timings are the only run-to-run difference and are masked. After a deliberate change
of format, regenerate with `SMP_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_reports.py`
and review the diff.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import MODELS, ROOT
from smp_explorer.cli.main import main

GOLDEN = Path(__file__).resolve().parent / "golden"
ALL_MODELS = sorted(p.relative_to(ROOT).as_posix() for p in MODELS.glob("*/*.spec"))
MEMORY_MODELS = [m for m in ALL_MODELS if "/ftrace/" in m or "/litmus/" in m
                 or m.endswith(("int3.spec", "broken-mutex.spec"))]

CASES: list[tuple[str, list[str]]] = []
for m in ALL_MODELS:
    stem = m.replace("models/", "").replace("/", "-").removesuffix(".spec")
    CASES.append((f"check-{stem}.rich", ["check", m]))
    CASES.append((f"check-{stem}.plain", ["check", m, "--plain"]))
for m in MEMORY_MODELS:
    stem = m.replace("models/", "").replace("/", "-").removesuffix(".spec")
    CASES.append((f"check-{stem}.4models.rich", ["check", m, "--memory", "sc,tso,pso,weak"]))
    CASES.append((f"check-{stem}.4models.plain",
                  ["check", m, "--memory", "sc,tso,pso,weak", "--plain"]))
CASES += [
    ("check-ftrace-v1-plain-int.json", ["check", "models/ftrace/v1-plain-int.spec", "--memory",
                                        "sc,pso", "--json"]),
    ("check-classic-broken-mutex.json", ["check", "models/classic/broken-mutex.spec", "--json"]),
    ("bmc-ftrace-v3-no-final-sync.plain", ["bmc", "models/ftrace/v3-no-final-sync.spec",
                                           "--depth", "17", "--plain", "--quiet"]),
    ("bmc-ftrace-v3-no-final-sync.rich", ["bmc", "models/ftrace/v3-no-final-sync.spec",
                                          "--depth", "17", "--quiet"]),
    ("bmc-classic-broken-mutex.plain", ["bmc", "models/classic/broken-mutex.spec", "--depth",
                                        "6", "--plain", "--quiet"]),
    # full counterexamples and CTIs: Z3 runs in a context of its own per encoder; the `.full.`
    # ones also run in a process of their own (run_process says why)
    ("bmc-classic-broken-mutex.json", ["bmc", "models/classic/broken-mutex.spec", "--depth", "6",
                                       "--json"]),
    ("bmc-ftrace-v3-no-final-sync.full.plain", ["bmc", "models/ftrace/v3-no-final-sync.spec",
                                                "--depth", "17", "--plain"]),
    ("prove-classic-twophase.full.plain", ["prove", "models/classic/twophase.spec", "--plain"]),
    ("prove-classic-peterson.rich", ["prove", "models/classic/peterson.spec", "--quiet"]),
    ("prove-classic-peterson.plain", ["prove", "models/classic/peterson.spec", "--plain",
                                     "--quiet"]),
    ("prove-classic-twophase.plain", ["prove", "models/classic/twophase.spec", "--plain",
                                     "--quiet"]),
]

LITMUS = ["x86/herdtools7/catalogue/x86/tests/SB.litmus",
          "x86/herdtools7/catalogue/x86/tests/MP.litmus",
          "lkmm/herdtools7/catalogue/linux/tests/C-MP+o-o+o-rmb-o.litmus",
          "lkmm/herdtools7/catalogue/linux/tests/C-LB+o-o+o-o.litmus"]
LITMUS_CASES = [("litmus.rich", []),
                ("litmus.json", ["--json"]), ("litmus-spec.txt", ["--spec"])]

_TIMING = [
    (re.compile(r"time [0-9.,]+ ?(?:µs|us|ms|s|min|h)\b"), "time T"),
    (re.compile(r"[0-9][0-9,.]* states/s"), "R states/s"),
    (re.compile(r'"seconds": [0-9.e-]+'), '"seconds": T'),
    (re.compile(r"peak memory [0-9.,]+ MiB"), "peak memory M"),
    (re.compile(r'"peak_memory_bytes": [0-9]+'), '"peak_memory_bytes": M'),
    (re.compile(r'"codegen_seconds": [0-9.e-]+'), '"codegen_seconds": T'),
    (re.compile(r'"(graph_|analysis_)seconds": [0-9.e-]+'), r'"\1seconds": T'),
    (re.compile(r"\b(graph|fair cycles) [0-9.,]+ ?(?:µs|us|ms|s|min)\b"), r"\1 T"),
    (re.compile(r'"generated_code_bytes": [0-9]+'), '"generated_code_bytes": B'),
    # a longer time can push its unit onto the next line of a heading: that break goes too
    (re.compile(r"(depth \d+|k up to \d+),\s+[0-9.,]+\s*(?:µs|us|ms|s|min)\b"), r"\1, T"),
]


def normalise(text: str) -> str:
    for pattern, repl in _TIMING:
        text = pattern.sub(repl, text)
    return text


def run_cli(argv: list[str], monkeypatch) -> str:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("SMP_EXPLORER_DUMP", raising=False)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(argv)
    return f"$ explorer {' '.join(argv)}\n[exit {status}]\n{out.getvalue()}" + \
        (f"[stderr]\n{err.getvalue()}" if err.getvalue() else "")


def compare(name: str, got: str) -> None:
    got = normalise(got)
    path = GOLDEN / name
    if os.environ.get("SMP_UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with SMP_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert got == expected, f"{name} differs from its golden file"


def run_process(argv: list[str]) -> str:
    """`explorer ARGV` as a user runs it: a process of its own. Z3's solvers keep some state
    per process, not per context (which model of a formula they pick can change after other Z3
    work in the same process, e.g. the axiomatic models' tests), so the full counterexamples
    Z3 chooses are compared from a fresh process: what a user gets, deterministically."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("SMP_EXPLORER_DUMP", None)
    done = subprocess.run([sys.executable, "-m", "smp_explorer", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return f"$ explorer {' '.join(argv)}\n[exit {done.returncode}]\n{done.stdout}" + \
        (f"[stderr]\n{done.stderr}" if done.stderr else "")


@pytest.mark.parametrize("name,argv", CASES, ids=[c[0] for c in CASES])
def test_golden_report(name: str, argv: list[str], monkeypatch) -> None:
    full = ".full." in name   # a whole Z3-chosen counterexample
    compare(name, run_process(argv) if full else run_cli(argv, monkeypatch))


@pytest.mark.parametrize("name,flags", LITMUS_CASES, ids=[c[0] for c in LITMUS_CASES])
def test_golden_litmus(name: str, flags: list[str], shared: Path, monkeypatch) -> None:
    paths = [str(shared / "litmus" / p) for p in LITMUS]
    got = run_cli(["litmus", *paths, "--memory", "sc,tso,pso,weak", *flags], monkeypatch)
    compare(name, got.replace(str(shared), "SHARED"))

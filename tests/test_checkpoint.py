"""Checkpoint and resume (`explorer check --checkpoint DIR`, `explorer resume DIR`).

The reference for every comparison is an uninterrupted run of the same request; for filter
N=5 its counts are also rumur's (models/classic/filter.spec: 230965 states, 765745
transitions with deadlock checking off)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smp_explorer.cli.main import main
from smp_explorer.explorer.checkpoint import FORMAT, MAGIC, decode, encode, CheckpointError

ROOT = Path(__file__).resolve().parent.parent
FILTER = str(ROOT / "models/classic/filter.spec")


def explorer(*args: str) -> subprocess.CompletedProcess:
    """`explorer ARGS` in this process: its exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def results(stdout: str) -> list[dict]:
    """The JSON report's per-model results without the timings and the memory used."""
    doc = json.loads(stdout)
    for r in doc["results"]:
        r.pop("seconds", None)
        r.pop("peak_memory_bytes", None)
        r.pop("codegen_seconds", None), r.pop("generated_code_bytes", None)
    return doc["results"]


@pytest.mark.parametrize("sig,status", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 3)],
                         ids=["SIGKILL", "SIGINT"])
def test_killed_mid_run_then_resumed_gives_the_uninterrupted_results(tmp_path, sig, status):
    """SIGKILL leaves the last checkpoint; so does Ctrl-C (exit 3, the statistics so far)."""
    args = [FILTER, "--const", "N=5", "--no-deadlock", "--json", "--engine", "scalar",
            "--no-reduction"]   # the counts of every interleaving, as Rumur's
    whole = subprocess.run([sys.executable, "-m", "smp_explorer.cli.main", "check", *args],
                           capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    expected = results(whole.stdout)
    assert (expected[0]["states"], expected[0]["transitions"]) == (230965, 765745)  # rumur

    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-m", "smp_explorer.cli.main", "check", *args,
                             "--checkpoint", str(ck), "--checkpoint-every", "0.05"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (ck / "sc.ckpt").exists():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == status  # stopped mid-run, not finished
    saved = decode((ck / "sc.ckpt").read_bytes(), "sc.ckpt")["state"]
    assert 0 < len(saved["search"]["parent"]) < 230965

    resumed = explorer("resume", str(ck))
    assert resumed.returncode == 0, resumed.stderr
    assert results(resumed.stdout) == expected


@pytest.mark.parametrize("engine", ["auto", "scalar", "vector"])
@pytest.mark.parametrize("memory", ["sc", "tso"])
def test_resume_from_a_checkpoint_at_every_level(tmp_path, engine, memory):
    """A violated property, a goal and a deadlock, checkpointed at every level (every=1e-9):
    resuming from the last checkpoint gives the whole run's verdicts, traces and counts."""
    spec = tmp_path / "sb.spec"
    spec.write_text("""
shared x: 0..1 = 0;
shared y: 0..1 = 0;
process A { local r: 0..1 = 0;
  a1: x := 1;
  a2: r := y;
  a3: await r == 1; }
process B { local r: 0..1 = 0;
  b1: y := 1;
  b2: r := x; }
invariant not_both_zero: not (A at a3 and B at Done and A.r == 0 and B.r == 0);
reachable both_one: A.r == 1 and B.r == 1;
""")
    args = [str(spec), "--json", "--engine", engine, "--memory", memory, "--no-z3"]
    whole = explorer("check", *args)
    ck = tmp_path / "ck"
    once = explorer("check", *args, "--checkpoint", str(ck), "--checkpoint-every", "1e-9")
    assert results(once.stdout) == results(whole.stdout)
    assert (ck / f"{memory}.ckpt").exists()
    resumed = explorer("resume", str(ck))
    assert resumed.returncode == whole.returncode
    assert results(resumed.stdout) == results(whole.stdout)


def _made(tmp_path) -> Path:
    ck = tmp_path / "ck"
    r = explorer("check", FILTER, "--const", "N=3", "--no-deadlock", "--checkpoint", str(ck),
                 "--checkpoint-every", "1e-9", "--no-z3")
    assert r.returncode == 0, r.stderr
    return ck


def _refused(ck: Path, words: str) -> None:
    r = explorer("resume", str(ck))
    assert r.returncode == 2, r.stdout + r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


def test_corrupt_checkpoint_is_refused(tmp_path):
    ck = _made(tmp_path)
    f = ck / "sc.ckpt"
    data = bytearray(f.read_bytes())
    data[-10] ^= 0xFF
    f.write_bytes(bytes(data))
    _refused(ck, "checksum mismatch")


def test_truncated_checkpoint_is_refused(tmp_path):
    ck = _made(tmp_path)
    f = ck / "sc.ckpt"
    f.write_bytes(f.read_bytes()[:20])
    _refused(ck, "truncated")
    f.write_bytes(f.read_bytes()[:1000] if len(f.read_bytes()) > 1000 else b"")
    _refused(ck, "truncated")


def test_future_version_is_refused(tmp_path):
    ck = _made(tmp_path)
    f = ck / "sc.ckpt"
    data = f.read_bytes()
    f.write_bytes(MAGIC + (FORMAT + 1).to_bytes(4, "big") + data[12:])
    _refused(ck, "newer smp-explorer")
    doc = json.loads((ck / "run.json").read_text())
    doc["format"] = FORMAT + 1
    (ck / "run.json").write_text(json.dumps(doc))
    _refused(ck, "newer smp-explorer")


def test_foreign_checkpoint_is_refused(tmp_path):
    """A checkpoint of another run (other flags) copied into the directory."""
    ck = _made(tmp_path)
    other = tmp_path / "other"
    r = explorer("check", FILTER, "--const", "N=3", "--checkpoint", str(other),
                 "--checkpoint-every", "1e-9", "--no-z3")   # deadlock checking on
    assert r.returncode == 0, r.stderr
    (ck / "sc.ckpt").write_bytes((other / "sc.ckpt").read_bytes())
    _refused(ck, "belongs to another run")


def test_changed_spec_is_refused(tmp_path):
    spec = tmp_path / "f.spec"
    spec.write_text(Path(FILTER).read_text())
    ck = tmp_path / "ck"
    r = explorer("check", str(spec), "--checkpoint", str(ck), "--checkpoint-every", "1e-9")
    assert r.returncode == 0, r.stderr
    spec.write_text(spec.read_text().replace("const N = 3;", "const N = 2;"))
    _refused(ck, "the spec changed")


def test_edited_run_description_and_missing_directory_are_refused(tmp_path):
    ck = _made(tmp_path)
    doc = json.loads((ck / "run.json").read_text())
    doc["flags"]["max_states"] = 10
    (ck / "run.json").write_text(json.dumps(doc))
    _refused(ck, "checksum mismatch")
    _refused(tmp_path / "nowhere", "not a checkpoint directory")


def test_decode_checks_magic_before_anything():
    with pytest.raises(CheckpointError, match="not an smp-explorer checkpoint"):
        decode(b"X" * 100, "f")
    assert decode(encode({"a": 1}), "f") == {"a": 1}


class Counter:
    """A search visitor counting the states an engine expands."""

    def __init__(self):
        self.expanded_states = 0

    def discovered(self, state, failing_invariants, reached_goals):
        pass

    def expanded(self, state, successors, failures):
        self.expanded_states += 1


@pytest.mark.parametrize("engine", ["reference", "scalar", "vector", "auto"])
def test_resume_expands_only_what_the_checkpoint_left(tmp_path, engine):
    """Resumed from its last checkpoint (saved between the last two levels), a run expands only
    the last frontier, and gives the counts, verdicts and traces of the whole run."""
    from smp_explorer.explorer.checkpoint import Checkpointer
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.pipeline import load_model

    model = load_model(FILTER, {"N": "3"})

    def run(checkpoint=None, visitor=None):
        r = explore(compile_model(model), Options(engine=engine, checkpoint=checkpoint,
                                                  visitor=visitor), "sc")
        return (r.stats.states, r.stats.transitions, r.stats.depth, r.stats.coverage,
                r.stop_reason, [(p.name, p.status, p.trace.to_json() if p.trace else None)
                                for p in r.properties])
    whole = run()
    path = tmp_path / "sc.ckpt"
    assert run(Checkpointer(path, {"id": 1}, every=0.0)) == whole
    saved = Checkpointer(path, {"id": 1}, resume=True).resume
    assert saved is not None
    pos0, width = saved["state"]["pos0"], saved["state"]["width"]
    counter = Counter()
    assert run(Checkpointer(path, {"id": 1}, resume=True), counter) == whole
    assert counter.expanded_states == whole[0] - pos0 and width <= whole[0] - pos0 < whole[0]
    with pytest.raises(CheckpointError, match="another run"):
        Checkpointer(path, {"id": 2}, resume=True)

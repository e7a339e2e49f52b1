"""Issue 11, item 6: what users expect of a CLI: --version, several files per check (the worst
exit status), shell completion, JSON error documents, progress lines off a terminal, peak
memory in the statistics, and the fingerprint note only when it is worth reading."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from importlib import metadata

import pytest

from conftest import MODELS, cli
from smp_explorer.cli import check as check_module
from smp_explorer.cli.main import worst
from smp_explorer.cli.progress import LogProgress
from smp_explorer.explorer.store import NOTE_PROBABILITY, fingerprint_note

PETERSON = str(MODELS / "classic" / "peterson.spec")          # holds under sc
BROKEN = str(MODELS / "classic" / "broken-mutex.spec")        # mutual exclusion violated
HOLDS = "process P { a: skip; }\ninvariant ok: true or P at a;\n"
BAD = "process P {\n  a: x := 1;\n}\n"                        # x undeclared: line 2


def test_version_is_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as info:
        cli(capsys, "--version")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() == f"explorer (smp-explorer) {metadata.version('smp-explorer')}"


def test_several_files_each_reported_worst_status(capsys, spec):
    # peterson holds under sc (0); broken-mutex breaks mutual exclusion (1): worst is 1
    code, out, _ = cli(capsys, "check", PETERSON, BROKEN, "--plain", "--quiet", "--no-z3")
    assert code == 1
    assert out.index("peterson.spec") < out.index("broken-mutex.spec")
    assert out.count("verdict:") == 2
    # a spec error (2) is worse than a violation (1)
    code, out, err = cli(capsys, "check", BROKEN, spec(BAD), "--plain", "--quiet", "--no-z3")
    assert code == 2 and "broken-mutex.spec" in out and "error:" in err


def test_severity_order():
    assert worst([0, 3]) == 3 and worst([3, 1]) == 1 and worst([1, 2]) == 2
    # Ctrl-C and SIGTERM end a run with 3, as a limit does (issue 13)
    assert worst([2, 3]) == 2 and worst([3, 4, 0]) == 4 and worst([0]) == 0


def test_several_files_json_is_one_document(capsys, spec):
    code, out, _ = cli(capsys, "check", PETERSON, spec(BAD), "--json", "--no-z3")
    assert code == 2
    doc = json.loads(out)
    assert doc["version"] == 1 and [f["spec"] for f in doc["files"]][0] == PETERSON
    first, second = doc["files"]
    assert first["results"][0]["memory"] == "sc" and first["exit_status"] == 0
    assert second["errors"][0]["line"] == 2 and second["exit_status"] == 2


def test_spec_error_as_json_document(capsys, spec):
    path = spec(BAD)
    code, out, err = cli(capsys, "check", path, "--json")
    assert code == 2 and "error:" in err
    doc = json.loads(out)
    assert doc["version"] == 1
    e = doc["errors"][0]
    assert (e["file"], e["line"], e["col"], e["kind"]) == (path, 2, 6, "spec")
    assert "x" in e["message"]


def test_usage_error_as_json_document(capsys):
    with pytest.raises(SystemExit) as info:
        cli(capsys, "check", PETERSON, "--json", "--memory", "arm")
    assert info.value.code == 2
    out, err = capsys.readouterr()
    e = json.loads(out)["errors"][0]
    assert e["kind"] == "usage" and e["file"] is None and "arm" in e["message"]
    assert "explorer: error:" in err
    # without --json, nothing on stdout
    with pytest.raises(SystemExit):
        cli(capsys, "check", PETERSON, "--memory", "arm")
    assert capsys.readouterr().out == ""


def test_missing_file_as_json_document(capsys):
    code, out, _ = cli(capsys, "check", "no/such.spec", "--json")
    assert code == 2 and "no such file" in json.loads(out)["errors"][0]["message"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_script(capsys):
    with pytest.raises(SystemExit) as info:
        cli(capsys, "--print-completion", "bash")
    assert info.value.code == 0
    script = capsys.readouterr().out
    for word in ("check", "litmus", "prove", "bmc", "--memory", "--stop-at-first"):
        assert word in script
    # the script is valid bash and completes the subcommands
    probe = script + '\nCOMP_WORDS=(explorer ch); COMP_CWORD=1; COMP_LINE="explorer ch"; ' \
        'COMP_POINT=${#COMP_LINE}; _shtab_explorer; echo "${COMPREPLY[@]}"\n'
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["check"]


def test_log_progress_every_interval():
    stream = io.StringIO()
    p = LogProgress(stream, "t.spec [sc]", every=10.0)
    for states, t in [(10, 5.0), (1000, 10.5), (1200, 12.0), (5000, 21.0)]:
        p(states, 2 * states, 7, t)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"t\.spec \[sc\]: 1,000 states, depth 7, 95 states/s, 10 s, "
                        r"peak memory [0-9,]+ MiB", lines[0])
    assert lines[1].startswith("t.spec [sc]: 5,000 states")


@pytest.mark.parametrize("flags, logged", [([], True), (["--json"], True), (["--plain"], True),
                                           (["--quiet"], False)])
def test_progress_logged_off_a_terminal(capsys, monkeypatch, flags, logged):
    made = []

    class Recorder(LogProgress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(check_module, "LogProgress", Recorder)
    cli(capsys, "check", PETERSON, "--no-z3", *flags)
    assert bool(made) == logged


def test_peak_memory_in_stats(capsys):
    code, out, _ = cli(capsys, "check", PETERSON, "--json", "--no-z3")
    peak = json.loads(out)["results"][0]["peak_memory_bytes"]
    # a Python process with NumPy and Rich loaded: more than 10 MiB, less than 64 GiB
    assert 10 * 2 ** 20 < peak < 64 * 2 ** 30
    code, out, _ = cli(capsys, "check", PETERSON, "--plain", "--no-z3")
    assert re.search(r"states/s, peak memory [0-9,]+ MiB", out)


class _Layout:
    """A fingerprint layout as the note reads it."""
    bits = 150

    @staticmethod
    def collision_probability(states: int, transitions: int) -> float:
        return states * max(transitions, states) / 2.0 ** 64


def test_fingerprint_note_only_when_worth_reading():
    # 773 states, 2,000 transitions: 773 * 2000 / 2**64 ~ 8.4e-14, not worth a line
    assert fingerprint_note(_Layout(), 773, 2000) is None  # type: ignore[arg-type]
    # 1e5 states, 2e5 transitions: 2e10 / 1.8e19 ~ 1.1e-9 > 1e-9
    note = fingerprint_note(_Layout(), 100_000, 200_000)  # type: ignore[arg-type]
    assert note is not None and "1.1e-09" in note
    assert NOTE_PROBABILITY == 1e-9


def test_ctrl_c_outside_a_search_ends_every_file(capsys, monkeypatch):
    from smp_explorer.cli import main as main_module
    calls = []

    def interrupted(request):
        calls.append(request.file)
        raise KeyboardInterrupt

    monkeypatch.setattr(main_module, "run", interrupted)
    code, _, err = cli(capsys, "check", PETERSON, BROKEN, "--plain")
    assert code == 3 and calls == [PETERSON] and "interrupted" in err  # as a limit (issue 13)

"""Issue 11, item 7: the Python API (`from smp_explorer import check, load`) returns the result
objects the CLI reports, labels each with the memory model it ran under, and the README's
pytest example runs as written."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import MODELS, ROOT, cli
from smp_explorer import check, load
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.errors import SpecError, SpecErrors

PETERSON = str(MODELS / "classic" / "peterson.spec")
# Store buffering: each CPU writes its flag, then reads the other's. Under sc one of the reads
# must see 1 (whichever store came first precedes the other CPU's load); under tso both stores
# can sit in the buffers while both loads read 0 from memory.
SB = """
shared x: 0..1 = 0;
shared y: 0..1 = 0;
var r0: 0..1 = 0;
var r1: 0..1 = 0;
process A { w: x := 1; r: r0 := y; }
process B { w: y := 1; r: r1 := x; }
reachable both_zero: A at Done and B at Done and r0 == 0 and r1 == 0;
"""


def test_readme_pytest_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "README's Python API section has no python block"
    code = block.group(1)
    assert "from smp_explorer import check" in code
    example = tmp_path / "test_readme_example.py"
    example.write_text(code, encoding="utf-8")
    (tmp_path / "none.ini").write_text("[pytest]\n")   # not the project's addopts/testpaths
    # run from the repository root, as the README's paths are relative to it
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-c", str(tmp_path / "none.ini"), "--rootdir", str(tmp_path),
                           str(example)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b3 passed\b", done.stdout), done.stdout


@pytest.mark.parametrize("memory, verdict", [("sc", "unreached"), ("tso", "holds"),
                                             ("pso", "holds"), ("weak", "holds")])
def test_check_text_labels_the_memory_model(memory, verdict):
    result = check(SB, memory=memory)
    assert result.memory == memory
    assert result.get("both_zero").status == verdict


def test_explore_labels_the_model_memory_without_being_told():
    # the root of the old bug: explore() said "sc" for a pso model unless told twice
    model = load(SB, memory="pso")
    assert explore(compile_model(model)).memory == "pso"
    with pytest.raises(ValueError, match="lowered under pso"):
        explore(compile_model(model), None, "sc")


def test_consts_and_errors():
    text = "const N = 1;\nvar v: 0..3 = N;\nprocess P { a: skip; }\ninvariant small: v < 2;\n"
    assert check(text).statuses["small"] == "holds"
    assert check(text, consts={"N": 2}).statuses["small"] == "violated"
    with pytest.raises(SpecError):
        load("no/such.spec")
    with pytest.raises((SpecError, SpecErrors)):
        check("process P {\n a: x := 1;\n}\n")
    with pytest.raises(KeyError):
        check(text).get("nosuch")
    with pytest.raises(ValueError):
        check(load(text), memory="tso")


def test_same_results_as_the_cli(capsys):
    code, out, _ = cli(capsys, "check", PETERSON, "--memory", "tso", "--json")
    from_cli = json.loads(out)["results"][0]
    from_api = check(PETERSON, memory="tso").to_json()
    for r in (from_cli, from_api):
        r.pop("seconds"), r.pop("peak_memory_bytes"), r.pop("codegen_seconds")
    assert from_api == from_cli

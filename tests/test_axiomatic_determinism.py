"""The axiomatic engine's answer to a test does not depend on what ran before it in the process.

Every run builds its terms in a Z3 context of its own (invariants/z3enc.py), and the lowering
builds them through the C API in the order z3's Python operators did (axiomatic/terms.py):
so the same C test gives the same JSON, witness execution included (rf sources, co positions,
final values), whether it runs alone in a fresh process or after other tests, in either order.
Each case runs in a process of its own: what Z3 answers may depend on earlier Z3 work in the
process, which is exactly what is checked here."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

TESTS = "lkmm/herdtools7/catalogue/linux/tests"
# two witnesses (Allowed), after Forbidden and Allowed tests with and without locks
TARGET = [f"{TESTS}/C-LB+o-o+o-o.litmus", f"{TESTS}/C-2+2W+o-o+o-o.litmus"]
OTHERS = [f"{TESTS}/C-MP+o-o+o-rmb-o.litmus", f"{TESTS}/C-SB+o-o+o-o.litmus",
          f"{TESTS}/MP+polocks.litmus", f"{TESTS}/ISA2+pooncelock+pooncelock+pombonce.litmus"]

SCRIPT = """
import json, sys
from smp_explorer.invariants.axiomatic.engine import run
from smp_explorer.runs.results import document
from smp_explorer.spec.litmus import read_litmus, translate
from smp_explorer.spec.pipeline import model_from_text
out = {}
for path in sys.argv[1:]:
    tr = translate(read_litmus(path), "weak")
    model = model_from_text(tr.text, path, None, "lkmm", None)
    out[path] = document(path, [run(model, "lkmm", unroll=2)])
print(json.dumps(out, sort_keys=True))
"""


def _runs(paths: list[str], cwd) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *paths], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    # each test's own JSON, without its run time
    return {p: re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', json.dumps(d, sort_keys=True))
            for p, d in docs.items()}


def test_a_test_gives_the_same_json_alone_and_after_others(shared):
    root = shared / "litmus"
    paths = [p for p in TARGET + OTHERS if (root / p).is_file()]
    if len(paths) < len(TARGET + OTHERS):
        pytest.skip("the corpus lacks the tests this compares")
    alone = {p: _runs([p], root)[p] for p in TARGET}
    after = _runs(OTHERS + TARGET, root)
    reverse = _runs(list(reversed(TARGET)) + list(reversed(OTHERS)), root)
    for p in TARGET:
        assert '"events"' in alone[p]          # a witness execution is compared, not only a status
        assert after[p] == alone[p], p
        assert reverse[p] == alone[p], p

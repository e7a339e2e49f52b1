"""Events on two paths of one process's unrolling tree never both execute (build.py,
Built.exclusive, with its proof): the lowering and the relation algebra leave their pairs out.

Checked by hand on a small tree, and differentially: every seed model's verdicts with the
pruning equal those with it switched off (the unpruned encoding is the reference)."""
from __future__ import annotations

from pathlib import Path

import pytest

from smp_explorer.invariants.axiomatic.build import Built
from smp_explorer.invariants.axiomatic.engine import run
from smp_explorer.spec.pipeline import load_model, model_from_text

ROOT = Path(__file__).resolve().parent.parent

# P's tree: step a has two actions (two writes), each followed by the read of step b, so the
# tree has two paths: [W x=1, R x] and [W x=2, R x].
TWO_PATHS = """use linux.generic;
shared x: 0..2 = 0;
process P { local r: 0..2 = 0;
  a: either { WRITE_ONCE(x, 1); } or { WRITE_ONCE(x, 2); }
  b: r := READ_ONCE(x);
}
"""


def test_events_on_two_paths_are_exclusive_and_get_no_rf_or_co():
    b = Built(model_from_text(TWO_PATHS, "t.spec", memory="lkmm"), 1)
    assert b.branching
    iw = [e.id for e in b.events if e.thread < 0]
    writes = [e.id for e in b.events if e.kind == "W" and e.thread == 0]
    reads = [e.id for e in b.events if e.kind == "R"]
    assert len(iw) == 1 and len(writes) == 2 and len(reads) == 2
    po = b.static("po")
    w1, w2 = writes
    # by hand: the two writes are the two choices at step a
    assert b.exclusive(w1, w2) and b.exclusive(w2, w1)
    assert b.co(w1, w2) is None and b.co(w2, w1) is None
    for w in writes:
        for r in reads:
            same_path = (w, r) in po          # a read follows exactly the write of its path
            assert b.exclusive(w, r) == (not same_path)
            assert (b.rf(w, r) is None) == (not same_path)
    # the two reads: one per path; the initial write is on no path
    assert b.exclusive(*reads)
    assert not any(b.exclusive(iw[0], e.id) for e in b.events)
    assert sum((w, r) in po for w in writes for r in reads) == 2


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "models/ftrace").glob("*.spec")))
def test_pruning_changes_no_seed_verdict(monkeypatch, name):
    model = load_model(str(ROOT / "models/ftrace" / f"{name}.spec"), {}, memory="lkmm")
    pruned = run(model, "lkmm", unroll=1).statuses
    monkeypatch.setattr(Built, "exclusive", lambda self, a, b: False)
    unpruned = run(model, "lkmm", unroll=1).statuses
    assert pruned == unpruned
    assert len(pruned) >= 7    # the file's properties and no_data_race were all checked

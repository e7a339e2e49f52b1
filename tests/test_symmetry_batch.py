"""Symmetry reduction with many symmetric values, canonicalised over whole batches.

The vector engine canonicalises a batch of successors in NumPy (`symmetry.BatchCanonical`):
signatures too wide for one integer are ranked over the batch, several scalarsets on disjoint
slots are canonicalised one after the other, and `auto` hands symmetric runs to the vector
engine from narrow levels on. The expected counts come from outside the tool: TwoPhase's orbits
enumerated here from the TLA+ next-state relation over (globals, multiset of the resource
managers' rows), checked against TLC's published 314 / 553 / 920, and the brute-force orbit
counts of tests/test_symmetry.py on small specs forced through each path.
"""
from __future__ import annotations

import json
from collections import deque

import pytest

from conftest import MODELS, cli
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text
from test_symmetry import DISJOINT, MUTEX, full_graph, orbit_count, verdicts

TWOPHASE = MODELS / "classic" / "twophase.spec"

# processes without stored ids: the signatures decide (one sorting permutation per state),
# and each process row has several slots (a wide signature once the runs are narrow)
WORKERS = """
const N = 3;
type W = scalarset(N);
var busy: set of W = {};
var done: 0..3 = 0;
process Worker[i in W] {
  local jobs: 0..2 = 0;
  local hot: bool = false;
  take: await jobs < 2; jobs := jobs + 1; busy := busy union {self};
  work: hot := not hot;
  give: busy := busy minus {self}; done := (done + 1) % 4;
        goto take;
}
invariant few: card(busy) <= N;
reachable all_busy: forall w in W: w in busy;
"""
# the same with a 62-bit local: one row's signature no longer fits one int64 (the stamp is
# jobs * 10 ** 12, so the orbits are WORKERS')
WIDE_WORKERS = WORKERS.replace(
    "local hot: bool = false;",
    "local hot: bool = false;\n  local stamp: 0..4611686018427387903 = 0;").replace(
    "jobs := jobs + 1;", "jobs := jobs + 1; stamp := jobs * 1000000000000;")


def twophase_orbits(n: int) -> tuple[int, int]:
    """Orbits and reduced transitions of TwoPhase.tla with n resource managers, enumerated from
    the TLA+ actions over orbit keys: (tmState, Commit sent, Abort sent, the sorted rows
    (rmState, in tmPrepared, Prepared sent) of the resource managers). A permutation of the
    resource managers moves exactly these rows, so two states share an orbit iff their keys
    are equal; each orbit's transitions are those of any of its states."""
    init = ("init", False, False, (("working", False, False),) * n)

    def successors(s):
        tm, commit, abort, rms = s
        out = []

        def with_rm(i, row):
            return tuple(sorted(rms[:i] + (row,) + rms[i + 1:]))
        for i, (st, tp, mp) in enumerate(rms):
            if tm == "init" and mp:                                  # TMRcvPrepared(rm)
                out.append((tm, commit, abort, with_rm(i, (st, True, mp))))
            if st == "working":                                      # RMPrepare(rm)
                out.append((tm, commit, abort, with_rm(i, ("prepared", tp, True))))
            if st == "working":                                      # RMChooseToAbort(rm)
                out.append((tm, commit, abort, with_rm(i, ("aborted", tp, mp))))
            if commit:                                               # RMRcvCommitMsg(rm)
                out.append((tm, commit, abort, with_rm(i, ("committed", tp, mp))))
            if abort:                                                # RMRcvAbortMsg(rm)
                out.append((tm, commit, abort, with_rm(i, ("aborted", tp, mp))))
        if tm == "init" and all(tp for _, tp, _ in rms):             # TMCommit
            out.append(("committed", True, abort, rms))
        if tm == "init":                                             # TMAbort
            out.append(("aborted", commit, True, rms))
        return out
    return search(init, successors)


def search(init, successors) -> tuple[int, int]:
    """The states and transitions reachable from `init` (orbit keys here)."""
    seen = {init}
    todo = deque([init])
    transitions = 0
    while todo:
        for t in successors(todo.popleft()):
            transitions += 1
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return len(seen), transitions


def test_the_orbit_enumeration_gives_tlc_counts():
    # TLC with SYMMETRY Permutations(RM) (issue 10): this enumeration is the reference below
    assert [twophase_orbits(n)[0] for n in (5, 6, 7)] == [314, 553, 920]


@pytest.mark.parametrize("n", [12, 16])
@pytest.mark.parametrize("engine", ["auto", "vector"])
def test_twophase_with_many_resource_managers_counts_the_orbits(n, engine):
    cm = compile_model(load_model(TWOPHASE, {"NRM": str(n)}))
    r = explore(cm, Options(engine=engine))
    assert r.stats.reductions[0] == f"symmetry: on (RM, {n}! permutations)"
    assert (r.stats.states, r.stats.transitions) == twophase_orbits(n)
    # by hand: no RM commits while another aborts; a commit needs every RM prepared
    v = verdicts(r)
    assert v["TCConsistent"] == "holds" and v["deadlock_free"] == "holds"
    commit = next(p for p in r.properties if p.name == "SomeCommit").trace
    assert commit is not None and len(commit) == 2 * n + 2   # n prepares, n receipts, commit, one


def test_wide_signatures_are_ranked_runs(monkeypatch):
    # 2 bits a run: every part of TwoPhase's signature (4 RM states, two set bits) is a run of
    # its own, ranked over the batch; the batch must equal the state-by-state canonical states
    from smp_explorer.explorer import symmetry
    from smp_explorer.explorer.store import Layout
    from test_symmetry_memory import assert_batch_is_scalar
    monkeypatch.setattr(symmetry, "KEY_BITS", 2)
    for text, consts, names in ((TWOPHASE.read_text(), {"NRM": "4"}, {"RM": 4}),
                                (WORKERS, {}, {"W": 3})):
        model = model_from_text(text, "<spec>", consts)
        sym = symmetry.Symmetry(model)
        layout = Layout(model)
        batch = symmetry.BatchCanonical(sym, layout)
        assert batch.vectorised and len(batch.part_runs) > 2
        _, states = full_graph(model)
        assert_batch_is_scalar(layout, sym, batch, sorted(states))
        reduced = explore(compile_model(model), Options(engine="vector"))
        assert reduced.stats.states == orbit_count(model, names)


@pytest.mark.parametrize("text,runs", [(WORKERS, 1), (WIDE_WORKERS, 3)])
def test_twelve_processes_keep_the_orbit_count(text, runs):
    # 12 workers; with the stamp a row's signature is pc, jobs, hot, the stamp (2 ** 62 values)
    # and the bit in `busy`: three runs, ranked. The orbits are counted by a search over (done,
    # the multiset of the workers' rows) written from the spec text
    from smp_explorer.explorer import symmetry
    from smp_explorer.explorer.store import Layout
    model = model_from_text(text, "<spec>", {"N": "12"})
    batch = symmetry.BatchCanonical(symmetry.Symmetry(model), Layout(model))
    assert batch.vectorised and len(batch.part_runs) == runs
    for engine in ("vector", "auto"):
        r = explore(compile_model(model), Options(engine=engine))
        assert r.stats.states == worker_orbits(12)


def worker_orbits(n: int) -> int:
    """WORKERS' orbits by a search over (done, sorted rows (pc, jobs, hot))."""
    def successors(s):
        done, rows = s
        for i, (pc, jobs, hot) in enumerate(rows):
            if pc == "take" and jobs < 2:
                row, d = ("work", jobs + 1, hot), done
            elif pc == "work":
                row, d = ("give", jobs, not hot), done
            elif pc == "give":
                row, d = ("take", jobs, hot), (done + 1) % 4
            else:
                continue
            yield d, tuple(sorted(rows[:i] + (row,) + rows[i + 1:]))
    return search((0, (("take", 0, False),) * n), successors)[0]


def test_independent_scalarsets_are_canonicalised_in_turn():
    from smp_explorer.explorer import symmetry
    from smp_explorer.explorer.store import Layout
    from test_symmetry_memory import assert_batch_is_scalar
    model = model_from_text(DISJOINT)
    sym = symmetry.Symmetry(model)
    layout = Layout(model)
    batch = symmetry.BatchCanonical(sym, layout)
    assert [len(step.sym.types) for step in batch.steps] == [1, 1]
    assert all(step.vectorised for step in batch.steps)
    _, states = full_graph(model)
    assert_batch_is_scalar(layout, sym, batch, sorted(states))
    r = explore(compile_model(model), Options(engine="vector"))
    assert r.stats.states == orbit_count(model, {"A": 2, "B": 3})


def report(capsys, *args) -> dict:
    code, out, _ = cli(capsys, "check", *args, "--json")
    doc = json.loads(out)
    run = doc["results"][0] if "results" in doc else doc
    for key in ("seconds", "peak_memory_bytes", "codegen_seconds", "generated_code_bytes",
                "notes"):
        run.pop(key, None)
    return {"code": code, **run}


@pytest.mark.parametrize("spec,consts", [(TWOPHASE, ["--const", "NRM=6"]),
                                         ("mutex", []), ("workers", ["--const", "N=8"]),
                                         ("wide", ["--const", "N=6"])])
def test_auto_reports_what_the_scalar_engine_reports(tmp_path, capsys, monkeypatch, spec,
                                                     consts):
    # auto hands symmetric runs to the vector engine from narrow levels on (and here from the
    # first level): the counts, verdicts and traces stay the scalar engine's
    from smp_explorer.explorer.engines import packed
    if spec in ("mutex", "workers", "wide"):
        path = tmp_path / f"{spec}.spec"
        path.write_text({"mutex": MUTEX, "workers": WORKERS, "wide": WIDE_WORKERS}[spec])
        spec = path
    monkeypatch.setattr(packed, "WIDE_SYMMETRIC", 1)
    auto = report(capsys, str(spec), *consts)
    scalar = report(capsys, str(spec), *consts, "--engine", "scalar")
    assert auto == scalar
    assert auto["reductions"][0].startswith("symmetry: on (")
    full = report(capsys, str(spec), *consts, "--no-symmetry", "--no-reduction")
    assert {p["name"]: p["status"] for p in auto["properties"]} == \
        {p["name"]: p["status"] for p in full["properties"]}


@pytest.mark.parametrize("text,consts,memory,names", [
    (MUTEX, {}, "sc", {"P": 3}),
])
def test_tied_states_of_larger_scalarsets_go_one_by_one(monkeypatch, text, consts, memory,
                                                        names):
    # a scalarset whose signatures do not decide, of more than MAX_BATCH_VALUES values: the
    # states without ties are sorted over the batch, the tied ones canonicalised one by one
    # (forced at 3 values by lowering the limit to 2)
    from smp_explorer.explorer import symmetry
    from smp_explorer.explorer.store import Layout
    from test_symmetry_memory import assert_batch_is_scalar
    monkeypatch.setattr(symmetry, "MAX_BATCH_VALUES", 2)
    model = model_from_text(text, "<spec>", consts, memory=memory)
    sym = symmetry.Symmetry(model)
    layout = Layout(model)
    batch = symmetry.BatchCanonical(sym, layout)
    assert batch.general and not sym.types[0].complete
    _, states = full_graph(model)
    assert_batch_is_scalar(layout, sym, batch, sorted(states))
    reduced = explore(compile_model(model), Options(engine="vector"))
    assert reduced.stats.states == orbit_count(model, names)
    assert verdicts(reduced) == verdicts(explore(compile_model(model),
                                                 Options(engine="vector", symmetry=False)))

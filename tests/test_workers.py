"""`--workers` / `--ray`: the search partitioned across Ray actors (explorer/distributed.py)
gives one process's results exactly: the same states, transitions, depth, coverage, stop
reason, verdicts and traces (the whole JSON of each trace: the same shortest counterexample,
ties broken the same way).

The definition is the reference engine (explorer/engines/reference.py, the first BFS over
tuples); the counts of filter.spec are rumur's (written in the spec's header). Ray starts once
per module (about ten seconds on a busy machine): one test runs by default, the rest with
`-m slow`. Without Ray installed these skip; the command line's answer without Ray is tested
either way.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import MODELS, ROOT, cli
from fuzzspecs import MEMORIES, specs
from smp_explorer.explorer.distributed import Scratch, gather, thin
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model, model_from_text

SPECS = sorted(p.relative_to(MODELS).as_posix() for p in MODELS.rglob("*.spec"))


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
    yield
    if started:
        ray.shutdown()


def summary(r):
    notes = [n for n in r.stats.notes if "fingerprint" not in n and not n.startswith("ray:")]
    return (r.stats.states, r.stats.transitions, r.stats.depth, r.complete, r.stop_reason,
            r.stats.initial_states, r.stats.coverage, notes,
            [(p.name, p.status, p.message, p.trace.to_json() if p.trace else None)
             for p in r.properties])


def agree(model, memory: str, workers=(2,), **options):
    """The partitioned search gives the reference engine's result; that result."""
    cm = compile_model(model)
    # the partitions store states as found: symmetry reduction is off with --workers (and the
    # report says so), so they give the reference engine's --no-symmetry result
    want = explore(cm, Options(engine="reference", symmetry=not model.symmetry, **options),
                   memory)
    for n in workers:
        got = explore(cm, Options(workers=n, **options), memory)
        assert summary(got) == summary(want), f"{n} workers differ on {model.name} {options}"
        if model.symmetry:
            assert any(note.startswith("symmetry: off (not with --workers") for note in
                       got.stats.reductions)
        assert any(note.startswith(f"ray: {n} partitions") for note in got.stats.notes)
    return want


def test_two_workers_give_one_process_results(ray_session):
    filt = load_model(MODELS / "classic" / "filter.spec", {"N": "3"})
    r = agree(filt, "sc", check_deadlock=False)
    assert (r.stats.states, r.stats.transitions) == (465, 1047)        # rumur
    # a violation with a trace, a decision that ends the run, a limit inside a level
    int3 = load_model(MODELS / "peers" / "int3.spec", memory="pso")
    r = agree(int3, "pso")
    assert {p.name: p.status for p in r.properties}["crash: int3 trap with mfc = 0"] == \
        "violated"
    agree(int3, "pso", stop_at_first=True)
    agree(int3, "pso", max_states=700)
    dining = load_model(MODELS / "classic" / "dining.spec", {"N": "5"})
    agree(dining, "sc", stop_at_first=True, max_states=120)


def test_levels_run_ahead_of_the_driver_with_one_process_traces(ray_session):
    """The partitions expand a level before the driver has ranked it (rows numbered per
    partition, translated by the next merge); the level the run stops in is counted by a look
    back, and the last level's trace links are the driver's. Every cut below falls in a
    different level, on 1 to 3 partitions."""
    # broken-mutex (derivation in test_models.py): P[0] test, P[1] test, P[0] set, P[1] set,
    # both at cs: 4 steps, found in the last level the run looks at under --stop-at-first
    mutex = load_model(MODELS / "classic" / "broken-mutex.spec")
    for stop in (False, True):
        r = agree(mutex, "sc", workers=(1, 2, 3), stop_at_first=stop)
        trace = {p.name: p.trace for p in r.properties}["mutual_exclusion"]
        assert len(trace.steps) - 1 == 4
        assert trace.steps[-1].state["P[0].pc"] == trace.steps[-1].state["P[1].pc"] == "cs"
    # dining N = 5 (its header): the deadlock is every philosopher holding its left fork, N
    # `left` steps; the run goes on to the end (forks_consistent holds), so the trace's links
    # come from the partitions
    dining = load_model(MODELS / "classic" / "dining.spec", {"N": "5"})
    r = agree(dining, "sc", workers=(2, 3))
    trace = {p.name: p.trace for p in r.properties}["deadlock_free"]
    assert [s.label for s in trace.steps[1:]] == ["left"] * 5
    # a deadlock in the last state of the last level: under --stop-at-first one process has
    # no state left to stop before, so the search is exhausted (found by test_random_specs)
    last = model_from_text("var r: 0..1 = 0;\nprocess A {\n  a0: r := 1;\n"
                           "  a1: await r == 0;\n}\n", "last.spec", None, "sc")
    r = agree(last, "sc", stop_at_first=True)
    assert (r.stats.states, r.stop_reason, r.complete) == (2, "exhausted", True)


# A 4-cube: four processes each set their own flag once. Hand derivation: 2 ** 4 = 16 states,
# 4 * 2 ** 3 = 32 transitions; a state of level k is reached from k parents of level k - 1
# (every order of the same k steps), so most candidates of a level are duplicates of another
# one of the same level. Breadth-first order (parent position, then action) makes the trace to
# "all set" take the processes in declaration order: A, B, C, D.
CUBE = """var a: bool = false;
var b: bool = false;
var c: bool = false;
var d: bool = false;
process A { s: a := true; }
process B { s: b := true; }
process C { s: c := true; }
process D { s: d := true; }
invariant not_all: not (a and b and c and d);
"""


def test_duplicate_candidates_keep_the_first_parent(ray_session):
    """Each partition sends one candidate per key, that of smallest sort key (`thin`): one
    partition holds every parent of a level (1 worker), or some (2, 3)."""
    cube = model_from_text(CUBE, "cube.spec", None, "sc")
    for stop in (False, True):
        r = agree(cube, "sc", workers=(1, 2, 3), stop_at_first=stop)
        if not stop:
            assert (r.stats.states, r.stats.transitions) == (16, 32)
        trace = {p.name: p.trace for p in r.properties}["not_all"]
        assert [s.process for s in trace.steps[1:]] == ["A", "B", "C", "D"]


def keeps_first(keys: list, sortkey, kept) -> bool:
    """Whether `kept` (indices) holds, for every key, its candidate of smallest sort key."""
    best: dict[tuple, tuple[int, int]] = {}
    for i, key in enumerate(zip(*(k.tolist() for k in keys))):
        if key not in best or sortkey[i] < best[key][0]:
            best[key] = (int(sortkey[i]), i)
    return {i for _, i in best.values()} <= set(np.asarray(kept).tolist())


@pytest.mark.parametrize("n, distinct, words", [(500, 450, 1), (3000, 40, 1), (2000, 300, 3),
                                                (1, 1, 1), (0, 0, 1)])
def test_thinned_batches_keep_every_keys_first_candidate(n, distinct, words):
    """`thin` (each batch before it is sent) may leave duplicates (keys sharing a cell of its
    table) but never drops a key's candidate of smallest sort key; one that kept the largest
    instead fails the same check."""
    rng = np.random.default_rng(n + distinct + words)
    pool = [rng.integers(0, 1 << 63, distinct, dtype=np.uint64) for _ in range(words)]
    if words > 1:      # keys equal in their first word, different in another: both kept
        pool[0][: distinct // 2] = pool[0][0]
    pick = rng.integers(0, max(distinct, 1), n)
    keys = [col[pick] if distinct else np.zeros(0, dtype=np.uint64) for col in pool]
    sortkey = rng.permutation(n).astype(np.int64) * 7 + 3
    scratch = Scratch()
    for _ in range(2):      # the scratch table is reused: it starts clean again
        kept = thin(keys, sortkey, scratch)
        assert keeps_first(keys, sortkey, kept)
        assert len(set(kept.tolist())) == len(kept) <= n
    if n > 2 * distinct:
        assert len(kept) < n
        assert not keeps_first(keys, sortkey, thin(keys, -sortkey, Scratch()))


@pytest.mark.parametrize("sizes", [(5,), (0, 7), (4, 0, 9), (3, 3, 3, 1)])
def test_a_merge_gathers_the_new_states_from_the_batches_as_from_their_join(sizes):
    """The words of a merge's new states are taken from each batch (not from the batches
    joined first): rows numbered through the batches one after the other, in any order."""
    rng = np.random.default_rng(sum(sizes))
    parts = [[rng.integers(0, 1 << 63, n, dtype=np.uint64) for _ in range(3)] for n in sizes]
    joined = [np.concatenate([p[k] for p in parts]) for k in range(3)]
    at = rng.permutation(sum(sizes))[: max(1, sum(sizes) // 2)]
    got = gather(parts, at)
    for k in range(3):
        assert got[k].tolist() == joined[k][at].tolist()


def test_sort_keys_too_wide_for_32_bits_travel_as_64(ray_session, monkeypatch):
    """Sort keys go between partitions as 32 bits when every one of a batch fits, else as 64
    (a partition's level of more than 2 ** 31 / ranks rows): forced to 64 bits, the counts and
    the traces are the reference engine's, and the bytes sent per candidate grow from 8 + 4
    (filter's one-word states) to 8 + 8."""
    from smp_explorer.explorer import distributed

    class Wide(distributed.Partition):    # (defined here: Ray ships it by value)
        @staticmethod
        def _wire(sortkey):
            return sortkey.astype(np.int64)

    def sent(r) -> float:
        note = next(n for n in r.stats.notes if n.startswith("ray:"))
        return float(note.split(" bytes/state sent between partitions")[0].rsplit(" ", 1)[1])

    filt = load_model(MODELS / "classic" / "filter.spec", {"N": "4"})
    narrow = explore(compile_model(filt), Options(workers=2, check_deadlock=False), "sc")
    monkeypatch.setattr(distributed, "Partition", Wide)
    agree(filt, "sc", workers=(2,), check_deadlock=False)    # counts and traces
    wide = explore(compile_model(filt), Options(workers=2, check_deadlock=False), "sc")
    assert summary(narrow) == summary(wide)
    assert abs(sent(wide) - sent(narrow) * 16 / 12) < 0.2, (sent(narrow), sent(wide))


def test_an_expansion_that_fails_ends_the_run(ray_session, monkeypatch):
    """An expansion that fails in one partition: the other partition's merge takes its batch
    as an argument, so Ray fails that merge too instead of running it without the batch (or
    waiting for it for ever); the run stops with the levels done and a note saying what
    failed (no hang: the timeout below is a guard)."""
    from smp_explorer.explorer import distributed

    class Failing(distributed.Partition):    # (defined here: Ray ships it by value)
        def expand(self, level, pending):
            if level >= 2 and self.index == 1:
                raise ValueError("expansion failed")
            return super().expand(level, pending)

    monkeypatch.setattr(distributed, "Partition", Failing)
    filt = load_model(MODELS / "classic" / "filter.spec", {"N": "3"})
    started = time.monotonic()
    r = explore(compile_model(filt), Options(workers=2, check_deadlock=False, timeout=120),
                "sc")
    assert time.monotonic() - started < 100
    assert r.stop_reason == "interrupted" and not r.complete
    failed = [n for n in r.stats.notes if n.startswith("ray: a worker failed")]
    assert len(failed) == 1 and "expansion failed" in failed[0], r.stats.notes
    assert 1 <= r.stats.states < 465      # (465: filter N = 3 in full, rumur)


@pytest.mark.slow
def test_a_cut_in_every_level(ray_session):
    # a cut by --max-states in (nearly) every level of filter N = 3 (465 states, rumur), the
    # initial states' included, and by --max-depth
    filt = load_model(MODELS / "classic" / "filter.spec", {"N": "3"})
    for limit in (1, 2, 5, 17, 40, 100, 230, 464, 465, 466):
        agree(filt, "sc", workers=(2, 3), max_states=limit, check_deadlock=False)
    r = agree(filt, "sc", workers=(2,), check_deadlock=False, max_depth=5)
    assert r.stop_reason == "max-depth"


@pytest.mark.slow
@pytest.mark.parametrize("name", SPECS)
def test_every_shipped_model(ray_session, name):
    for memory in ("sc", "tso", "pso", "weak"):
        model = load_model(MODELS / name, memory=memory)
        limit = None if memory in ("sc", "tso") else 3000
        agree(model, memory, workers=(2, 3), max_states=limit)
        agree(model, memory, stop_at_first=True, max_states=limit)


@pytest.mark.slow
def test_wide_exact_states_in_the_partitions(ray_session):
    """The partitions' tables are the one-process engines': dining at N = 16 takes exactly 64
    bits (a one-word key that may be all ones, the free slot's marker, kept apart) and at
    N = 18 72 bits (a quotient table, test_visited.py); counts, verdicts and traces as the
    reference engine's Python set of whole states."""
    for n in (16, 18):
        model = load_model(MODELS / "classic" / "dining.spec", {"N": str(n)})
        agree(model, "sc", workers=(2, 3), max_states=20000)


@pytest.mark.slow
def test_filter4_counts_on_one_to_four_workers(ray_session):
    model = load_model(MODELS / "classic" / "filter.spec", {"N": "4"})
    r = agree(model, "sc", workers=(1, 2, 4), check_deadlock=False)
    assert (r.stats.states, r.stats.transitions) == (9820, 27228)      # rumur


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs())
def test_random_specs(ray_session, text):
    for memory in MEMORIES:
        model = model_from_text(text, "fuzz.spec", None, memory)
        agree(model, memory, max_states=2000)
        agree(model, memory, stop_at_first=True, max_states=300)


# ---- the command line ----------------------------------------------------------------------------

def test_without_ray_workers_say_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)    # `import ray` fails
    code, out, err = cli(capsys, "check", str(MODELS / "classic" / "spinlock.spec"),
                         "--workers", "2", "--plain")
    assert code == 2, (out, err)
    assert "pip install 'smp-explorer[ray]'" in err and "Traceback" not in out + err


def test_workers_do_not_combine_with_a_checkpoint(capsys, tmp_path):
    code, out, err = cli(capsys, "check", str(MODELS / "classic" / "spinlock.spec"),
                         "--workers", "2", "--checkpoint", str(tmp_path / "c"), "--plain")
    assert code == 2 and "--checkpoint" in err and "--workers" in err


def start_filter(n: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "smp_explorer", "check",
                             str(MODELS / "classic" / "filter.spec"), "--const", f"N={n}",
                             "--no-deadlock", "--plain", "--workers", "2", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.slow
def test_ctrl_c_ends_a_distributed_run_with_its_statistics():
    pytest.importorskip("ray")
    proc = start_filter(7)      # (N = 6 can be done in 25 s)
    out = ""
    deadline = time.monotonic() + 120
    time.sleep(25)     # Ray's start-up, then inside the search (minutes for N = 7)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=max(10.0, deadline - time.monotonic()))
    assert proc.returncode == 3, (out, err)
    assert "Traceback" not in out + err
    assert "distinct states" in out and "interrupted" in out


@pytest.mark.slow
def test_timeout_ends_a_distributed_run_with_its_statistics():
    pytest.importorskip("ray")
    proc = start_filter(6, "--timeout", "3")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 3, (out, err)
    assert "distinct states" in out and "timeout" in out

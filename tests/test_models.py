"""The verdicts of the shipped models (models/**/*.spec) under sequential consistency.

Every expected verdict and every trace length below is derived by hand from the model's text, in
the comment next to it; none is copied from the tool's output. A trace's length is its number of
steps (`len(trace)`): for an invariant, the steps to the first state where it is false; for a
reachable goal, the steps to the first state where it is true; for deadlock, the steps to the
stuck state; for a failing assertion, the steps before it plus the failing step itself. The search
is breadth-first, so each trace is a shortest one, and that is what the derivations count.

Notation in the derivations: "sync" = the patcher's send step (set every IPI flag), one
acknowledgement step per CPU at its instruction boundary (N = 2 CPUs), and the patcher's wait
step: 1 + N + 1 = 4 steps when nothing else happens in between.
"""
from __future__ import annotations

import pytest

from conftest import MODELS, prop
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult
from smp_explorer.spec.pipeline import load_model


HOLDS = ("holds", None)          # an invariant, assertion or deadlock freedom that holds
VIOLATED = "violated"
REACHED = "holds"                # a reachable goal that is reached (its trace is the witness)

# properties the language adds by itself (range checks); they must hold when present
AUTOMATIC = {"no_runtime_error"}


def run(rel: str, consts: dict[str, str] | None = None, deadlock: bool = True) -> RunResult:
    model = load_model(MODELS / rel, consts)
    return explore(compile_model(model), Options(check_deadlock=deadlock))


def verdicts(r: RunResult) -> dict[str, tuple[str, int | None]]:
    return {p.name: (p.status, None if p.trace is None else len(p.trace)) for p in r.properties}


def check(r: RunResult, expected: dict[str, tuple[str, int | None]]) -> None:
    got = verdicts(r)
    assert r.complete, r.stop_reason
    for name in set(got) - set(expected):
        assert name in AUTOMATIC, f"unexpected property {name}: {got[name]}"
        assert got[name] == HOLDS, f"{name}: {got[name]}"
    assert {k: got.get(k) for k in expected} == expected


# ---- ftrace: the int3 patching protocol ------------------------------------------------------
#
# Shared derivations for the ftrace models (patcher P, CPUs Cpu[0], Cpu[1]):
# - handler_sees_mfc holds whenever the final sync is there: a CPU traps only while b0 == INT3,
#   i.e. after mfc was incremented and before P writes the new first byte; the trapped CPU is in
#   its handler (not at `boundary`) until after its read of mfc, so it cannot acknowledge the
#   final sync before that read, and P decrements only after every CPU acknowledged.
# - no_torn_instruction holds whenever the first sync is there: a CPU that fetched the old first
#   byte before the INT3 store is at `fetch_tail` (not at `boundary`) until it has fetched the
#   tail, so it cannot acknowledge sync 1 before that fetch, and P writes the tail only after
#   sync 1 completes. A new first byte is written after the new tail and the tail never goes back,
#   so (NEW0, OLDT) is impossible in every variant.
# - deadlock_free holds: a CPU at `boundary` can always fetch, and every other CPU label has an
#   unguarded step; the CPUs loop forever.
# - trap_taken (some CPU at h_read): P makes mfc non-zero (1 step if atomic, 2 if load + store),
#   writes INT3 (1), then a CPU fetches it and traps (1).
# - new_insn_executed (a CPU at exec with the new first byte): every P step up to and including
#   write_b0, then one CPU fetches b0 (1) and the tail (1).
# - patcher_done: every P step, with N acknowledgements per sync.

FTRACE_V1 = {
    "handler_sees_mfc": HOLDS,
    "no_torn_instruction": HOLDS,
    "deadlock_free": HOLDS,
    # inc_load, inc_store, write_int3, Cpu fetch+trap
    "trap_taken": (REACHED, 2 + 1 + 1),
    # inc (2) + write_int3 (1) + sync1 (4) + write_tail (1) + sync2 (4) + write_b0 (1)
    # + fetch b0 (1) + fetch tail (1)
    "new_insn_executed": (REACHED, 2 + 1 + 4 + 1 + 4 + 1 + 2),
    # inc (2) + write_int3 + sync1 (4) + write_tail + sync2 (4) + write_b0 + sync3 (4) + dec (2)
    "patcher_done": (REACHED, 2 + 1 + 4 + 1 + 4 + 1 + 4 + 2),
}

FTRACE_V2 = {
    "handler_sees_mfc": HOLDS,
    "no_torn_instruction": HOLDS,
    "deadlock_free": HOLDS,
    "trap_taken": (REACHED, 1 + 1 + 1),                              # inc, write_int3, trap
    "new_insn_executed": (REACHED, 1 + 1 + 4 + 1 + 4 + 1 + 2),       # as v1, inc in 1 step
    "patcher_done": (REACHED, 1 + 1 + 4 + 1 + 4 + 1 + 4 + 1),       # as v1, inc/dec 1 step
}

# v3: the final sync removed. The violation needs a handler to read mfc after the decrement.
# That read belongs to a trap taken while b0 == INT3, so before write_b0; and since P's dec
# comes right after write_b0 now, the only constraint left on the trap is the syncs: a CPU in
# the handler cannot acknowledge, so a trap taken before the CPU's sync-2 acknowledgement would
# be followed by its read (mfc = 1) before P can pass sync2_wait. The shortest trace:
#   inc (1), write_int3 (1), sync1 (4), write_tail (1), sync2 (4), Cpu traps (1),
#   write_b0 (1), dec (1), Cpu h_read: seen := 0 (1)  -> Cpu at h_check with seen == 0
#   = 15 steps. Nothing can be dropped: every P step up to dec, N acks per sync, trap, read.
FTRACE_V3 = {
    "handler_sees_mfc": (VIOLATED, 1 + 1 + 4 + 1 + 4 + 1 + 1 + 1 + 1),
    "no_torn_instruction": HOLDS,
    "deadlock_free": HOLDS,
    "trap_taken": (REACHED, 3),                                      # as v2
    "new_insn_executed": (REACHED, 1 + 1 + 4 + 1 + 4 + 1 + 2),       # as v2 (sync3 comes after)
    "patcher_done": (REACHED, 1 + 1 + 4 + 1 + 4 + 1 + 1),            # no sync3
}

# no-first-sync: the sync after write_int3 removed. Torn (OLD0, NEWT): a CPU fetches b0 while
# it is still OLD0, P then writes INT3 and the tail, and the CPU fetches the tail:
#   inc (1), Cpu fetches b0 = OLD0 (1; it may also come first), write_int3 (1),
#   write_tail (1), Cpu fetches tail = NEWT (1)  -> Cpu at exec with (OLD0, NEWT) = 5 steps.
# P needs its 3 steps to write the tail, the CPU its 2 fetches; (NEW0, OLDT) stays impossible.
NO_FIRST_SYNC = {
    "handler_sees_mfc": HOLDS,
    "no_torn_instruction": (VIOLATED, 3 + 2),
    "deadlock_free": HOLDS,
    "trap_taken": (REACHED, 3),
    # inc, write_int3, write_tail, sync2 (4), write_b0, fetch b0, fetch tail
    "new_insn_executed": (REACHED, 1 + 1 + 1 + 4 + 1 + 2),
    # inc, write_int3, write_tail, sync2 (4), write_b0, sync3 (4), dec
    "patcher_done": (REACHED, 1 + 1 + 1 + 4 + 1 + 4 + 1),
}


@pytest.mark.parametrize("rel, expected", [
    ("ftrace/v1-plain-int.spec", FTRACE_V1),
    ("ftrace/v2-atomic.spec", FTRACE_V2),
    ("ftrace/v3-no-final-sync.spec", FTRACE_V3),
    ("ftrace/no-first-sync.spec", NO_FIRST_SYNC),
])
def test_ftrace_verdicts(rel, expected):
    check(run(rel), expected)


def test_v3_counterexample_is_the_exit_race():
    """Linus's case (a): the handler reads mfc after the patcher wrote NEW0 and decremented."""
    r = run("ftrace/v3-no-final-sync.spec")
    steps = prop(r, "handler_sees_mfc").trace.steps
    last = steps[-1]
    assert last.process.startswith("Cpu[") and last.label == "h_read"
    cpu = last.process
    assert last.state["mfc"] == 0 and last.state[f"{cpu}.seen"] == 0
    assert last.state["b0"] == "NEW0"
    assert [(s.process, s.label) for s in steps[-3:-1]] == [("Patcher", "write_b0"),
                                                             ("Patcher", "dec")]
    # the trap was taken while b0 was INT3, after the CPU's last acknowledgement
    trap = max(k for k, s in enumerate(steps) if s.process == cpu and s.label == "boundary"
               and s.state[f"{cpu}.pc"] == "h_read")
    assert steps[trap - 1].state["b0"] == "INT3"


def test_no_first_sync_counterexample_is_torn():
    r = run("ftrace/no-first-sync.spec")
    last = prop(r, "no_torn_instruction").trace.steps[-1]
    cpu = last.process
    assert last.label == "fetch_tail"
    assert (last.state[f"{cpu}.fb"], last.state[f"{cpu}.ft"]) == ("OLD0", "NEWT")


# ---- the int3 peer model ------------------------------------------------------------------------

# C = 2, SYNC2 = true: the assertion holds by the argument for handler_sees_mfc above (the
# second sync plays the final sync's role: mfc is decremented only after it). The CPUs loop at
# `fetch` forever (a self-loop step is always enabled there), so there is no deadlock.
INT3 = {"crash: int3 trap with mfc = 0": HOLDS, "deadlock_free": HOLDS}

# SYNC2 = false, CHECK = true: a5 goes straight to a8. The failing trap must be taken after the
# CPU acknowledged sync 1 (a CPU in the handler cannot acknowledge, and a trap before the ack
# reads mfc = 1 before a4 completes) and before a5 (site := NEW):
#   a0, a1, a2, a3 (4), ack Cpu[0], ack Cpu[1] (2), a4 (1), Cpu fetch -> trap_read (1),
#   a5, a8, a9 (3; mfc = 0), trap_read: t := 0 (1), trap_check: the assertion fails (1)
#   = 13 steps, the last one the failing step.
INT3_NOSYNC2 = {"crash: int3 trap with mfc = 0": (VIOLATED, 4 + 2 + 1 + 1 + 3 + 1 + 1),
                "deadlock_free": HOLDS}


def test_int3_peer_model_verdicts():
    check(run("peers/int3.spec"), INT3)
    check(run("peers/int3.spec", {"C": "3"}), INT3)
    check(run("peers/int3.spec", {"SYNC2": "false"}), INT3_NOSYNC2)


def test_int3_without_check_cannot_fail():
    r = run("peers/int3.spec", {"SYNC2": "false", "CHECK": "false"})
    check(r, INT3)


# ---- classic algorithms -----------------------------------------------------------------------

# Peterson: mutual exclusion holds (the textbook proof); a process alone reaches cs by p1, p2,
# p3 (its p3 guard holds because the other flag is false) = 3 steps; both loop forever and one
# of them can always move, so no deadlock.
PETERSON = {"mutual_exclusion": HOLDS, "someone_in_cs": (REACHED, 3), "deadlock_free": HOLDS}


def test_peterson():
    check(run("classic/peterson.spec"), PETERSON)


def test_peterson_is_filter_with_two_processes():
    """The filter lock for N = 2 is Peterson's algorithm, so their state graphs have one size.

    Map level[i] = 1 <-> flag[i] and turn = 1 - victim[1]: filter's p1..p4 become Peterson's
    step for step. The initial victim[1] = 0 is turn = 1, not Peterson's turn = 0, but swapping
    the two process ids maps the graph from one initial state onto the graph from the other.
    """
    a = run("classic/peterson.spec", deadlock=False)
    b = run("classic/filter.spec", {"N": "2"}, deadlock=False)
    assert (a.stats.states, a.stats.transitions) == (b.stats.states, b.stats.transitions)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_filter(n):
    # mutual exclusion holds; a process alone climbs N-1 levels, each level p1, p2, p3 (the p3
    # guard holds as every other level is 0), and its last p3 enters cs: 3*(N-1) steps; the
    # filter lock is deadlock-free.
    check(run("classic/filter.spec", {"N": str(n)}),
          {"mutual_exclusion": HOLDS, "someone_in_cs": (REACHED, 3 * (n - 1)),
           "deadlock_free": HOLDS})


@pytest.mark.parametrize("n", [3, 6, 8])
def test_dining_deadlock(n):
    # Deadlock: eat and put are always enabled, so in a stuck state every philosopher is at left
    # or right. One at left is blocked only if fork[i] is held, i.e. by philosopher i-1 as its
    # right fork, which puts i-1 at eat or put: impossible. So all N are at right, holding their
    # left forks: each needs its `left` step, and N steps suffice.
    # someone_eats: left, right = 2 steps. forks_consistent holds: every step that changes a
    # fork moves the philosopher that holds or releases it past the matching label.
    r = run("classic/dining.spec", {"N": str(n)})
    check(r, {"deadlock_free": (VIOLATED, n), "forks_consistent": HOLDS,
              "someone_eats": (REACHED, 2)})
    last = prop(r, "deadlock_free").trace.steps[-1]
    assert all(last.state[f"Phil[{i}].pc"] == "right" for i in range(n))
    assert all(last.state[f"fork[{i}]"] is True for i in range(n))


def test_dining_without_deadlock_check():
    r = run("classic/dining.spec", {"N": "6"}, deadlock=False)
    check(r, {"forks_consistent": HOLDS, "someone_eats": (REACHED, 2)})


def test_broken_mutex():
    # P[0] test, P[1] test (both see the lock free), P[0] set, P[1] set: both at cs = 4 steps.
    # Fewer is impossible: each process needs test and set to reach cs. someone_in_cs: test,
    # set = 2 steps. No deadlock: one of the processes at test is enabled once the holder
    # releases, and set, cs, rel are unguarded.
    r = run("classic/broken-mutex.spec")
    check(r, {"mutual_exclusion": (VIOLATED, 2 + 2), "someone_in_cs": (REACHED, 2),
              "deadlock_free": HOLDS})
    last = prop(r, "mutual_exclusion").trace.steps[-1].state
    assert last["P[0].pc"] == last["P[1].pc"] == "cs"


# ---- determinism ----------------------------------------------------------------------------------

SHIPPED = [
    ("ftrace/v1-plain-int.spec", None),
    ("ftrace/v2-atomic.spec", None),
    ("ftrace/v3-no-final-sync.spec", None),
    ("ftrace/no-first-sync.spec", None),
    ("peers/int3.spec", {"SYNC2": "false"}),
    ("classic/peterson.spec", None),
    ("classic/filter.spec", None),
    ("classic/dining.spec", {"N": "5"}),
    ("classic/broken-mutex.spec", None),
]


def test_the_models_checked_here_exist():
    # other models (e.g. TLA+-style ones) are tested by their own files
    shipped = {p.relative_to(MODELS).as_posix() for p in MODELS.rglob("*.spec")}
    assert {rel for rel, _ in SHIPPED} <= shipped


@pytest.mark.parametrize("rel, consts", SHIPPED)
def test_runs_are_deterministic(rel, consts):
    """Two runs from scratch give the same counts, verdicts and (shortest) traces."""
    def summary(r: RunResult):
        return (r.stats.states, r.stats.transitions, r.stats.depth, r.stop_reason,
                [(p.name, p.status, p.message, p.trace.to_json() if p.trace else None)
                 for p in r.properties])
    assert summary(run(rel, consts)) == summary(run(rel, consts))

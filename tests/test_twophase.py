"""TLA+'s TwoPhase commit written with `action`s: counts against an independent enumeration."""
from __future__ import annotations

from conftest import MODELS
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

RMS = ("r1", "r2", "r3")


def tla_twophase_reachable() -> tuple[int, int]:
    """States and transitions of TwoPhase.tla's Next, enumerated directly in Python.

    A state: (rmState tuple, tmState, tmPrepared frozenset, msgs frozenset). This follows the
    TLA+ text action by action, independently of the spec language.
    """
    init = (("working",) * 3, "init", frozenset(), frozenset())
    seen = {init}
    frontier = [init]
    transitions = 0

    def successors(s):
        rm_state, tm_state, tm_prepared, msgs = s
        out = []
        for i, rm in enumerate(RMS):
            if tm_state == "init" and ("Prepared", rm) in msgs:       # TMRcvPrepared(rm)
                out.append((rm_state, tm_state, tm_prepared | {rm}, msgs))
        if tm_state == "init" and tm_prepared == frozenset(RMS):      # TMCommit
            out.append((rm_state, "committed", tm_prepared, msgs | {("Commit",)}))
        if tm_state == "init":                                        # TMAbort
            out.append((rm_state, "aborted", tm_prepared, msgs | {("Abort",)}))

        def with_rm(i, v):
            return rm_state[:i] + (v,) + rm_state[i + 1:]
        for i, rm in enumerate(RMS):
            if rm_state[i] == "working":                              # RMPrepare(rm)
                out.append((with_rm(i, "prepared"), tm_state, tm_prepared,
                            msgs | {("Prepared", rm)}))
            if rm_state[i] == "working":                              # RMChooseToAbort(rm)
                out.append((with_rm(i, "aborted"), tm_state, tm_prepared, msgs))
            if ("Commit",) in msgs:                                   # RMRcvCommitMsg(rm)
                out.append((with_rm(i, "committed"), tm_state, tm_prepared, msgs))
            if ("Abort",) in msgs:                                    # RMRcvAbortMsg(rm)
                out.append((with_rm(i, "aborted"), tm_state, tm_prepared, msgs))
        return out

    while frontier:
        nxt = []
        for s in frontier:
            for t in successors(s):
                transitions += 1
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return len(seen), transitions


def test_twophase_counts_equal_an_independent_enumeration_of_the_tla_spec():
    # every state: the resource managers are a scalarset, so this turns symmetry off
    r = explore(compile_model(load_model(MODELS / "classic" / "twophase.spec")),
                Options(symmetry=False, reduction=False))
    states, transitions = tla_twophase_reachable()
    assert (r.stats.states, r.stats.transitions) == (states, transitions)
    verdicts = {p.name: p.status for p in r.properties}
    assert verdicts["TCConsistent"] == "holds"
    assert verdicts["SomeCommit"] == "holds"
    assert verdicts["deadlock_free"] == "holds"


def test_twophase_shortest_commit_takes_eight_steps():
    # By hand: every RM must prepare (3 steps), the TM must receive each Prepared message
    # (3 steps), then TMCommit (1) and one RMRcvCommitMsg (1): 8 steps to a committed RM.
    r = explore(compile_model(load_model(MODELS / "classic" / "twophase.spec")))
    witness = next(p for p in r.properties if p.name == "SomeCommit").trace
    assert witness is not None and len(witness) == 8
    assert witness.steps[-1].label.startswith("RMRcvCommitMsg")


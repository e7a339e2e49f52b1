"""Specs with many labels: processes of hundreds and thousands of statements.

The generated code dispatches on a process's program counter with a binary search over its
labels once there are more than a few (`Emitter.switch`; an if/elif chain of thousands cannot
even be compiled by Python), and the scalar engine counts the firings of more than
`LOCAL_COUNTERS` actions in the search's own list. Both are checked against counts derived by
hand for two independent straight-line processes.
"""
from __future__ import annotations

import pytest

from smp_explorer.explorer.engines.scalar import LOCAL_COUNTERS
from smp_explorer.runs.pysource import SWITCH_CHAIN
from tests.conftest import prop, run


def two_lines(n: int) -> str:
    """A counts y up through n labels; B flips z through n labels."""
    a = "".join(f"  a{i}: y := y + 1;\n" for i in range(n))
    b = "".join(f"  b{i}: z := 1 - z;\n" for i in range(n))
    checks = "".join(f"invariant at_{k}: A at a{k} implies y == {k};\n"
                     for k in (0, 1, n // 3, n // 2, n - 2, n - 1))
    return (f"var y: 0..{n} = 0;\nvar z: 0..1 = 0;\nprocess A {{\n{a}}}\nprocess B {{\n{b}}}\n"
            + checks + f"reachable both_done: A at Done and B at Done and y == {n} and "
            f"z == {n % 2};\n")


@pytest.mark.parametrize("engine", ["reference", "scalar", "vector", "auto"])
def test_many_labels_dispatch_to_their_own_code(engine):
    n = 300
    assert n > SWITCH_CHAIN and 2 * n > LOCAL_COUNTERS   # the paths under test
    r = run(two_lines(n), engine=engine)
    # by hand: A's position i (y = i) and B's position j (z = j mod 2) are independent, so
    # (n + 1)^2 states; from each, A steps unless i = n and B steps unless j = n
    assert r.stats.states == (n + 1) ** 2
    assert r.stats.transitions == 2 * n * (n + 1)
    assert r.stats.depth == 2 * n
    # each label fires once per position of the other process
    assert len(r.stats.coverage) == 2 * n
    assert set(r.stats.coverage.values()) == {n + 1}
    for k in (0, 1, n // 3, n // 2, n - 2, n - 1):
        assert prop(r, f"at_{k}").status == "holds"
    assert prop(r, "both_done").status == "holds"     # reached


def test_a_wrong_dispatch_would_be_seen():
    """The invariants above can fail: a label whose code counts twice breaks them."""
    n = 40
    text = two_lines(n).replace(f"a{n // 3}: y := y + 1;", f"a{n // 3}: y := y + 2;")
    text = text.replace(f"var y: 0..{n} = 0", f"var y: 0..{n + 1} = 0")
    r = run(text, engine="scalar")
    assert prop(r, f"at_{n // 2}").status == "violated"
    assert prop(r, "at_1").status == "holds"


@pytest.mark.slow
def test_twelve_thousand_labels_in_one_process():
    """Python could not compile the old if/elif dispatch of 12,000 labels (MemoryError)."""
    n = 12_000
    text = "var x: 0..1 = 0;\nprocess A {\n" + \
        "".join(f"  l{i}: x := {i % 2};\n" for i in range(n)) + "}\n"
    for engine in ("reference", "auto"):
        r = run(text, engine=engine)
        assert r.stats.states == n + 1          # by hand: one state per label, and the first
        assert r.stats.transitions == n
        assert r.stats.depth == n
        assert set(r.stats.coverage.values()) == {1}


@pytest.mark.parametrize("n", [40, 300])
def test_wide_states_keep_every_slot(n):
    """States of more than SPREAD_SLOTS slots: the tuple code copies the untouched runs of a
    successor as slices of the state; at N = 300 (600 bits) the scalar engine's fingerprints
    are computed by a call (`fp_packed`). A relay of N processes, each setting its flag once
    its predecessor's is set: by hand N + 1 states in one line, the last with every flag set."""
    from smp_explorer.explorer.store import INLINE_KEY_WORDS, WORD_BITS
    from smp_explorer.runs.compiled import SPREAD_RUN, SPREAD_SLOTS
    if n == 300:
        assert 2 * n > WORD_BITS * INLINE_KEY_WORDS
    text = (f"const N = {n};\ntype PID = 0..N-1;\nvar x: array[PID] of bool = false;\n"
            "process P[i in PID] {\n  a: await i == 0 or x[(i + N - 1) % N];\n"
            "     x[i] := true;\n}\n"
            "invariant relay: forall i in PID: x[i] implies (i == 0 or x[(i + N - 1) % N]);\n"
            "reachable all_set: forall i in PID: x[i];\n")
    assert 2 * n > SPREAD_SLOTS and n > SPREAD_RUN    # (a pc and a flag per process)
    for engine in ("reference", "scalar", "auto"):
        r = run(text, engine=engine)
        assert (r.stats.states, r.stats.transitions, r.stats.depth) == (n + 1, n, n)
        assert prop(r, "relay").status == "holds"
        goal = prop(r, "all_set")
        assert goal.status == "holds" and goal.trace is not None and len(goal.trace) == n

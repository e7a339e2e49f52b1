"""Every C test of ../shared/litmus under the axiomatic LKMM against the MANIFEST's LKMM column
(`expected_lkmm_or_arch`: the kernel's own `Result:` lines, herd7's `.expected` outputs with the
kernel's model, Dat3M's LKMM expectations; spec/litmus/corpus/manifest.py reads it).

The target is all of them, with no unsupported construct: a test that does not run is named
with its reason and fails the test. The same C tests under the axiomatic SC model must give the
MANIFEST's SC column (an independent derivation: exhaustive interleavings), which also shows
that the LKMM verdicts are not a property of the translation alone. Skipped with a reason
without ../shared (tests/conftest.py), a failure under SMP_REQUIRE_SHARED=1."""
from __future__ import annotations

import pytest

from smp_explorer.cli.args import DEFAULT_UNROLL
from smp_explorer.cli.litmus import run_axiomatic_test
from smp_explorer.invariants.axiomatic.engine import run as engine_run
from smp_explorer.spec.litmus import (PROPERTY, read_litmus, read_manifest, translate, verdict,
                                     verdict_of)
from smp_explorer.spec.pipeline import model_from_text

# Each test's solver calls are bounded so that a regression shows as a failure, not a hang
# (a test takes well under a second; bench/lkmm.py measures them).
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def c_tests(shared):
    root = shared / "litmus"
    rows = read_manifest(root / "MANIFEST.tsv")
    return {p: (r, read_litmus(root / p)) for p, r in rows.items() if r.arch == "C"}


def _axiomatic_sc(test) -> str:
    """A C test's verdict under the axiomatic SC model: the same translation and lowering to
    events as under lkmm (engine.run's docstring), SC's axioms."""
    tr = translate(test, "weak")
    model = model_from_text(tr.text, test.file, None, "lkmm", None)
    result = engine_run(model, "sc", unroll=DEFAULT_UNROLL, properties=[PROPERTY],
                        timeout=TIMEOUT)
    return verdict_of(tr.quantifier, next(p for p in result.properties
                                          if p.name == PROPERTY).status)


def _check(c_tests, memory: str, column) -> tuple[list[str], list[str]]:
    broken, disagree = [], []
    for path, (row, test) in sorted(c_tests.items()):
        want = verdict(column(row), row.quantifier)
        got = (run_axiomatic_test(test, memory, TIMEOUT).verdict if memory == "lkmm"
               else _axiomatic_sc(test))
        if got.startswith(("unsupported", "error")):
            broken.append(f"{path}: {got}")
        elif got != want:
            disagree.append(f"{path}: {got}, MANIFEST says {want}")
    return broken, disagree


def test_every_c_test_gets_its_lkmm_verdict(c_tests):
    assert len(c_tests) == 144
    broken, disagree = _check(c_tests, "lkmm", lambda r: r.lkmm_or_arch)
    assert not broken, f"{len(broken)} C tests did not run under lkmm:\n" + "\n".join(broken)
    assert not disagree, f"{len(disagree)} LKMM verdicts disagree:\n" + "\n".join(disagree)


@pytest.mark.slow
def test_c_tests_under_axiomatic_sc(c_tests):
    broken, disagree = _check(c_tests, "sc", lambda r: r.sc)
    assert not broken, "\n".join(broken)
    assert not disagree, "\n".join(disagree)


def test_the_corpus_separates_the_models(c_tests):
    """Sanity of the two checks above: the corpus has LKMM-Allowed tests that SC forbids (so
    an SC-strength LKMM would fail the first) and LKMM-Forbidden ones (so an anything-goes
    model would)."""
    lk = {p: verdict(r.lkmm_or_arch, r.quantifier) for p, (r, _) in c_tests.items()}
    sc = {p: verdict(r.sc, r.quantifier) for p, (r, _) in c_tests.items()}
    assert sum(lk[p] == "Allowed" and sc[p] == "Forbidden" for p in lk) >= 30
    assert sum(v == "Forbidden" for v in lk.values()) >= 80

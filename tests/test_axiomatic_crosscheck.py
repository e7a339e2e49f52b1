"""Differential test of the two engine families: the axiomatic engine (invariants/axiomatic/:
the spec unrolled into one symbolic execution, constrained by h14's axiomatic SC and x86-TSO
models) against what the operational engines say.

- The x86 litmus corpus (../shared/litmus, 191 tests): each test's axiomatic sc and tso
  verdict must be the MANIFEST's (expected_sc, expected_tso), the independent source the
  operational engines are held to in test_litmus_corpus.py; equal to both, they agree.
- Every shipped model (models/**.spec): each property the axiomatic engine can express gets
  the operational explorer's status under sc and tso (or `bounded`, within --unroll 2, where
  the explorer says holds / unreached: no execution within the bound breaks it; int3's and
  the seqlocks' loops never end, so their safety properties stay `bounded`). The ones it
  cannot express are named below with the reason, and the engine must refuse exactly those
  with a spec error at their place.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.invariants.axiomatic.engine import run
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.litmus.corpus.manifest import expected, read_manifest
from smp_explorer.spec.litmus.parse import read_litmus
from smp_explorer.spec.litmus.translate import translate, verdict_of
from smp_explorer.spec.pipeline import load_model, model_from_text

CORPUS = ROOT.parent / "shared" / "litmus"
ROWS = read_manifest(CORPUS / "MANIFEST.tsv") if (CORPUS / "MANIFEST.tsv").is_file() else {}
X86 = sorted(path for path, row in ROWS.items() if row.arch == "x86")
# a few shapes for the quick run (SB, MP, LB, IRIW, 2+2W with fences and locked RMWs)
QUICK = [p for p in X86 if any(k in p for k in ("/SB+mfences", "/MP.", "/LB.", "/IRIW.",
                                                 "/2+2W+mfence-rmws"))][:8]


def axiomatic_verdict(path: str, memory: str) -> str:
    test = read_litmus(CORPUS / path)
    tr = translate(test, memory)
    model = model_from_text(tr.text, path, memory="lkmm")
    return verdict_of(tr.quantifier, run(model, memory, unroll=2,
                                         properties=["Cond"]).get("Cond").status)


def _check_x86(path: str) -> None:
    row = ROWS[path]
    for memory in ("sc", "tso"):
        want, _ = expected(row, memory)
        assert axiomatic_verdict(path, memory) == want, (path, memory)


@pytest.mark.skipif(not QUICK, reason="the litmus corpus (../shared/litmus) is not here")
@pytest.mark.parametrize("path", QUICK)
def test_x86_corpus_quick(path):
    _check_x86(path)


@pytest.mark.slow
@pytest.mark.skipif(not X86, reason="the litmus corpus (../shared/litmus) is not here")
def test_x86_corpus_all_191():
    assert len(X86) == 191
    wrong = []
    for path in X86:
        try:
            _check_x86(path)
        except AssertionError as err:
            wrong.append(str(err))
    assert not wrong


# ---- shipped models ----------------------------------------------------------------------------

ARBITRARY = "at an arbitrary moment"   # a property over shared memory or several processes
GHOST = "ghost var"                    # a `var` several processes share outside memory
ACTION = "TLA+-style action"           # actions change memory atomically
# (model, property) -> why the axiomatic engine cannot express it; "*": every property.
NOT_EXPRESSIBLE = {
    ("classic/broken-mutex", "mutual_exclusion"): ARBITRARY,   # two processes' pcs
    ("classic/peterson", "mutual_exclusion"): ARBITRARY,
    ("classic/spinlock", "mutual_exclusion"): ARBITRARY,
    ("classic/spinlock-strong", "mutual_exclusion"): ARBITRARY,
    ("classic/filter", "mutual_exclusion"): ARBITRARY,
    ("classic/dining", "*"): GHOST,           # the forks are `var`s every philosopher takes
    ("classic/twophase", "*"): ACTION,        # a TLA+ specification: actions only
    ("tutorial/percpu", "a_half_raised"): ARBITRARY,   # shared flags mid-run
    ("tutorial/percpu", "b_half_raised"): ARBITRARY,
}
# each step runs at most this often per process (--unroll); v3-no-final-sync's violation
# needs a CPU's third pass through its fetch loop
UNROLL = 2
UNROLL_FOR = {"ftrace/v3-no-final-sync": 3}
MODELS = sorted(p for p in (ROOT / "models").rglob("*.spec"))


def _reason(stem: str, prop: str) -> str | None:
    return NOT_EXPRESSIBLE.get((stem, prop)) or NOT_EXPRESSIBLE.get((stem, "*"))


def _agrees(axiomatic: str, operational: str) -> bool:
    return axiomatic == operational or \
        (axiomatic == "bounded" and operational in ("holds", "unreached"))


@pytest.mark.slow
@pytest.mark.parametrize("spec", MODELS, ids=[str(p.relative_to(ROOT / "models"))
                                              for p in MODELS])
def test_shipped_models_agree(spec: Path):
    stem = str(spec.relative_to(ROOT / "models").with_suffix(""))
    unroll = UNROLL_FOR.get(stem, UNROLL)
    for memory in ("sc", "tso"):
        op = explore(compile_model(load_model(spec, memory=memory)),
                     Options(check_deadlock=False)).statuses
        try:
            model = load_model(spec, memory="lkmm")
        except SpecError as err:  # pragma: no cover - every shipped model lowers
            pytest.fail(str(err))
        names = [n for n in op if n != "deadlock_free"]
        refused = [n for n in names if _reason(stem, n)]
        for name in refused:  # each refused at its place, with the reason
            with pytest.raises(SpecError) as err:
                run(model, memory, unroll=unroll, properties=[name])
            assert _reason(stem, name) in str(err.value), (stem, name, str(err.value))
            assert err.value.span is not None and err.value.span.line > 0
        rest = [n for n in names if n not in refused]
        if not rest:
            continue
        got = run(model, memory, unroll=unroll, properties=rest).statuses
        for name in rest:
            assert _agrees(got[name], op[name]), (stem, memory, name, got[name], op[name])

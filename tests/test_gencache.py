"""The cache of the scalar and NumPy engines' generated code (`explorer.engines.gencache`):
a second generation from the same model (in a fresh compilation of it) is read from the cache (the generators do not run)
and is exactly the first (source and tables); anything the code is generated from that
differs misses; an unreadable file or SMP_EXPLORER_GEN_CACHE=off generates afresh; and a
search with cached code finds what the reference engine finds."""
from __future__ import annotations

import pytest

from conftest import MODELS, ROOT
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.engines.common import Search
from smp_explorer.explorer.engines.scalar import ScalarCode
from smp_explorer.explorer.engines.vector import VectorCode
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import Layout
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import load_model

SPEC = ROOT / "bench" / "int3" / "percpu-refs.spec"
CONSTS = {"N": "2", "BATCHES": "1"}


MODELS_LOADED: dict = {}


def model(path, consts, memory):
    """One IR object per (spec, constants, memory model) in this process: an IR built again
    in the same process may share its nodes differently (`ir.expr.make` interns them), so
    that it pickles, and keys, differently (a miss, never a wrong hit)."""
    k = (str(path), tuple(sorted(consts.items())), memory)
    if k not in MODELS_LOADED:
        MODELS_LOADED[k] = load_model(path, consts, memory)
    return MODELS_LOADED[k]


def generate(memory="pso", consts=CONSTS, **opts):
    """Compile the model afresh (its tuple code) and generate both engines' code."""
    cm = compile_model(model(SPEC, consts, memory))
    options = Options(engine="vector", symmetry=False, **opts)
    layout = Layout(cm.model, options.exact)
    search = Search(cm, options, memory, "vector", layout)
    scalar = ScalarCode(cm, layout, options, search.symmetry)
    return cm, scalar, VectorCode(cm, layout, options, scalar)


def tables(cm, scalar, vector):
    return (scalar.source, scalar.max_succ, cm.failures, vector.source, vector.order,
            vector.fallback_masks, vector.action_checks, vector.residuals, vector.pc_of,
            vector.props, vector.consts)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SMP_EXPLORER_CACHE", str(tmp_path))
    monkeypatch.delenv("SMP_EXPLORER_GEN_CACHE", raising=False)
    return tmp_path


def no_generation(monkeypatch):
    """Make the generators fail if they run."""
    def boom(self):
        raise AssertionError("generated, not read from the cache")
    monkeypatch.setattr(ScalarCode, "_generate", boom)
    monkeypatch.setattr(VectorCode, "_generate", boom)


def test_second_generation_is_read_and_identical(cache, monkeypatch):
    first = tables(*generate())
    assert len(list(cache.glob("gen-*.pickle"))) == 2        # the scalar and the NumPy code
    with monkeypatch.context() as m:
        no_generation(m)
        second = tables(*generate())
    assert second == first


@pytest.mark.parametrize("change", [dict(memory="tso"), dict(consts={"N": "2", "BATCHES": "2"}),
                                    dict(check_deadlock=False), dict(exact=True)])
def test_what_the_code_depends_on_misses(cache, monkeypatch, change):
    generate()
    calls = []
    real = ScalarCode._generate
    monkeypatch.setattr(ScalarCode, "_generate", lambda self: calls.append(1) or real(self))
    generate(**change)
    assert calls == [1]


def test_unreadable_or_off_generates_afresh(cache, monkeypatch):
    first = tables(*generate())
    for p in cache.glob("gen-*.pickle"):
        p.write_bytes(b"not a pickle")
    calls = []
    real = ScalarCode._generate
    monkeypatch.setattr(ScalarCode, "_generate", lambda self: calls.append(1) or real(self))
    assert tables(*generate()) == first and calls == [1]
    monkeypatch.setenv("SMP_EXPLORER_GEN_CACHE", "off")
    assert tables(*generate()) == first and calls == [1, 1]


@pytest.mark.parametrize("path, consts, memory", [
    (SPEC, CONSTS, "pso"),
    (MODELS / "ftrace" / "v2-atomic.spec", {"N": "2"}, "weak"),
    (MODELS / "classic" / "filter.spec", {"N": "3"}, "tso"),
    (ROOT / "bench" / "int3" / "desc-stack.spec", {"N": "1"}, "tso")])
def test_search_with_cached_code_agrees_with_reference(cache, monkeypatch, path, consts, memory):
    def run(engine):
        cm = compile_model(model(path, consts, memory))
        r = explore(cm, Options(engine=engine, symmetry=False, reduction=False))
        return (r.stats.states, r.stats.transitions,
                [(p.name, p.status, p.message, p.trace) for p in r.properties])
    reference = run("reference")
    for engine in ("scalar", "vector", "auto"):
        assert run(engine) == reference                    # generated (and stored)
    with monkeypatch.context() as m:
        no_generation(m)
        for engine in ("scalar", "vector", "auto"):
            assert run(engine) == reference                # read from the cache


def test_short_code_is_not_stored(cache):
    from smp_explorer.runs import pysource
    cm = compile_model(model(MODELS / "classic" / "broken-mutex.spec", {}, "tso"))
    options = Options(symmetry=False)
    layout = Layout(cm.model, options.exact)
    scalar = ScalarCode(cm, layout, options)
    vector = VectorCode(cm, layout, options, scalar)
    assert max(len(scalar.source), len(vector.source)) < pysource.CODE_CACHE_MIN
    assert not list(cache.glob("gen-*.pickle"))

"""Differential fuzzing: random valid specs (tests/fuzzspecs.py) through every engine and memory
model. The engines must agree exactly (states, transitions, depth, verdicts, coverage, each
counterexample's length and final state), bmc must find what breadth-first search finds within
its bound, and without ghost variables what is found under a memory model must be found under
every weaker one. The CI set is a fixed, derandomized sample; the slow test draws many more
(bench/fuzz.py runs thousands and shrinks what it finds)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from fuzzspecs import LIMITS, cases, differences, specs


@settings(derandomize=True, max_examples=25, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(cases())
def test_engines_and_memory_models_agree_on_random_specs(case):
    text, limit = case
    found = differences(text, limits=[{}, limit])
    assert not found, "\n".join(map(str, found)) + "\n" + text


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(specs())
def test_engines_and_memory_models_agree_on_many_random_specs(text):
    found = differences(text, limits=LIMITS)
    assert not found, "\n".join(map(str, found)) + "\n" + text


@settings(derandomize=True, max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(specs())
def test_the_generator_writes_valid_specs(text):
    """Every generated spec loads under every memory model (a spec error is the generator's)."""
    from fuzzspecs import MEMORIES, _model
    for memory in MEMORIES:
        _model(text, memory)

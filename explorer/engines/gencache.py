"""The scalar and NumPy engines' generated code, cached by everything it is generated from.

Generating the scalar loop and the NumPy functions of a memory-model spec takes 15-70 ms (the
rewriting and simplifying of every guard, update and property part per action), a large share
of a search of 10,000-150,000 states (bench/int3.py). Their output depends only on
  - the model's IR (slots, initial values, actions with their spans, processes, properties,
    monitors, scalarsets, memory model, buffer depth) and so the layout (`options.exact`),
  - the options the generators read (a visitor or not, deadlock checking), whether symmetry
    reduction canonicalises successors, and how many failure sites the tuple code registered
    (the scalar code numbers its own after them),
  - the generators' own code: the text of every module of `ir`, `runs`, `explorer.engines`
    and `explorer.store` (so an edited generator never meets the output of the old one),
  - the interpreter (pickle and the compiled code's format),
so the key is the SHA-256 of all of that (the IR pickled: a deterministic encoding of frozen
dataclasses; two equal models that pickled differently would only miss). The value is what the
generator computed: its source and the tables beside it (`ScalarCode`, `VectorCode`). Stored
with `runs.pysource.save_generated` in the private cache directory when the source is at least
`CODE_CACHE_MIN` long (shorter ones are quick to generate), within the compiled-code cache's
byte budget; SMP_EXPLORER_GEN_CACHE=off generates afresh every time.
"""
from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path
from typing import Any

from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.pysource import load_generated, save_generated
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.store import Layout

_VERSION: list[bytes] = []      # the generators' code, hashed once per process


def _code_version() -> bytes:
    if not _VERSION:
        import smp_explorer.explorer.engines as engines
        import smp_explorer.ir as ir
        import smp_explorer.runs as runs
        from smp_explorer.explorer import store
        h = hashlib.sha256()
        files = [Path(store.__file__ or "")]
        for pkg in (ir, runs, engines):
            files += sorted(Path(pkg.__file__ or "").parent.glob("*.py"))
        for path in files:
            h.update(path.name.encode())
            h.update(path.read_bytes())
        _VERSION.append(h.digest())
    return _VERSION[0]


def key(generator: str, cm: CompiledModel, layout: Layout, options: Options,
        symmetric: bool, failures: int) -> bytes | None:
    """The cache key of one generator's output (None: the model cannot be encoded, so it is
    not cached)."""
    m = cm.model
    try:
        ir = pickle.dumps((m.name, m.slots, m.init_values, m.actions, m.processes,
                           m.properties, m.monitors, m.symmetry, m.memory, m.buffer,
                           cm.invariant_names, cm.goal_names,
                           layout.fields, layout.nwords, layout.exact),
                          protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    flags = (options.visitor is not None, options.check_deadlock, symmetric, failures)
    return b"\0".join([generator.encode(), _code_version(), sys.version.encode(),
                       repr(flags).encode(), hashlib.sha256(ir).digest()])


def load(k: bytes | None) -> Any:
    return None if k is None else load_generated(k)


def save(k: bytes | None, value: Any, source: str) -> None:
    """Store `value` (which holds `source`) under key `k` (if the source is long enough to
    be worth it: `runs.pysource.save_generated`)."""
    if k is not None:
        save_generated(k, value, len(source))

"""The packed engines as policies over the one driver (`driver.run`): which strategy expands
each level. `scalar` always the generated loop (`scalar.ScalarLevels`), `vector` always the
NumPy batches (`vector.VectorLevels`), `auto` the scalar loop until a level reaches `WIDE`
states (`WIDE_FINGERPRINTED` when states are fingerprinted, `WIDE_SYMMETRIC` under symmetry
reduction), then the NumPy batches for the rest
of the run (unless some action cannot be vectorised: then scalar throughout).
"""
from __future__ import annotations

from smp_explorer.explorer.engines.common import Search
from smp_explorer.explorer.engines.driver import Strategy, run
from smp_explorer.explorer.engines.scalar import ScalarCode, ScalarLevels
from smp_explorer.explorer.options import Options
from smp_explorer.explorer.spill import not_counted
from smp_explorer.explorer.store import Layout
from smp_explorer.runs.compiled import CompiledModel
from smp_explorer.runs.results import RunResult

WIDE = 4096            # auto: a level at least this wide is expanded by the vector engine
# ... or this wide when states are fingerprinted (several words, not exact): the scalar loop
# then hashes every successor's words in Python (`store.fp_python`, about half its time on the
# int3 workloads under pso), so the NumPy batches pay off on narrower levels: from about 200
# states on there (bench/int3.py at N = 2 under pso: 256 beat 128, 512 and 1024)
WIDE_FINGERPRINTED = 256
# ... or this wide under symmetry reduction: the scalar loop canonicalises every new successor
# in Python (`Symmetry.canonical`, some 10-20 us each), the NumPy batches canonicalise them
# together (`symmetry.BatchCanonical`): TwoPhase at RM = 20, whose levels stay under 2,000
# states, ran 10x faster on them (bench/symmetry.py --twophase-rm)
WIDE_SYMMETRIC = 64


class PackedPolicy:
    """Which strategy expands each level of a packed run (`engine`: scalar, vector or auto)."""

    def __init__(self, search: Search, code: ScalarCode, engine: str):
        self.search = search
        self.code = code
        self.engine = engine
        self.scalar: ScalarLevels | None = None
        self.current: Strategy | None = None
        self.scalar_only = engine == "scalar"

    def __call__(self, width: int) -> Strategy:
        if self.scalar is None:
            self.scalar = ScalarLevels(self.search, self.code)
            self.current = self.scalar
        scalar = self.scalar
        wide = WIDE if self.code.layout.exact else WIDE_FINGERPRINTED
        if self.search.symmetry is not None:
            wide = min(wide, WIDE_SYMMETRIC)
        if self.current is scalar and not self.scalar_only and \
                (self.engine == "vector" or width >= wide):
            from smp_explorer.explorer.engines.vector import VectorCode, VectorLevels
            search = self.search
            with not_counted(search.budget):
                vcode = VectorCode(search.cm, self.code.layout, search.options, self.code)
            if self.engine == "auto" and vcode.fallback_masks:
                self.scalar_only = True   # some action is not vectorised: stay scalar
            else:
                self.current = VectorLevels(vcode, scalar)
        assert self.current is not None
        return self.current


def explore_packed(cm: CompiledModel, options: Options, memory: str, engine: str) -> RunResult:
    layout = Layout(cm.model, options.exact)
    search = Search(cm, options, memory, engine, layout)
    code = ScalarCode(cm, layout, options, search.symmetry)
    return run(search, PackedPolicy(search, code, engine))

"""Memory models as lowering rules: each module lowers shared accesses of one model."""
from __future__ import annotations

from smp_explorer.spec.memory.base import MemoryModel
from smp_explorer.spec.memory.events import Events
from smp_explorer.spec.memory.pso import Pso
from smp_explorer.spec.memory.sc import Sc
from smp_explorer.spec.memory.tso import Tso
from smp_explorer.spec.memory.weak import CAVEAT as WEAK_CAVEAT
from smp_explorer.spec.memory.weak import Weak

MODELS: dict[str, type[MemoryModel]] = {"sc": Sc, "tso": Tso, "pso": Pso, "weak": Weak}
# lowerings for the axiomatic engines (invariants/axiomatic): steps become memory events; the
# same lowering serves every axiomatic model (lkmm, and sc/tso for the cross-check)
AXIOMATIC: dict[str, type[MemoryModel]] = {"lkmm": Events}
DEFAULT_CAPACITY = 2
CAVEATS: dict[str, str] = {"weak": WEAK_CAVEAT}


def caveat(memory: str) -> str | None:
    """The one line every report and JSON result under `memory` carries, if any: what the
    model does not explore."""
    return CAVEATS.get(memory)


__all__ = ["AXIOMATIC", "CAVEATS", "DEFAULT_CAPACITY", "MODELS", "MemoryModel", "caveat"]

"""Memory models as lowering rules: each module lowers shared accesses of one model."""
from __future__ import annotations

from smp_explorer.spec.memory.base import MemoryModel
from smp_explorer.spec.memory.pso import Pso
from smp_explorer.spec.memory.sc import Sc
from smp_explorer.spec.memory.tso import Tso
from smp_explorer.spec.memory.weak import Weak

MODELS: dict[str, type[MemoryModel]] = {"sc": Sc, "tso": Tso, "pso": Pso, "weak": Weak}
DEFAULT_CAPACITY = 2

__all__ = ["DEFAULT_CAPACITY", "MODELS", "MemoryModel"]

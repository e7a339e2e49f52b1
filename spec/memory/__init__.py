"""Memory models as lowering rules: each module lowers shared accesses of one model."""
from __future__ import annotations

from spec.memory.base import MemoryModel
from spec.memory.pso import Pso
from spec.memory.sc import Sc
from spec.memory.tso import Tso
from spec.memory.weak import Weak

MODELS: dict[str, type[MemoryModel]] = {"sc": Sc, "tso": Tso, "pso": Pso, "weak": Weak}
DEFAULT_CAPACITY = 2

__all__ = ["DEFAULT_CAPACITY", "MODELS", "MemoryModel"]

"""Explicit-state engines: breadth-first search over a compiled Model (`engines/`), state storage
(`store.py`), and running litmus tests (`litmus.py`)."""
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options

__all__ = ["Options", "explore"]

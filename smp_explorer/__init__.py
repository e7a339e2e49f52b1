"""smp-explorer: a model checker for concurrent low-level protocols under memory models.

One import name for the whole project; its layers live in top-level folders of the repository,
mapped here by setuptools (pyproject.toml), bottom to top:

- `smp_explorer.ir`: the Model every engine works on (values and types, spans, expressions,
  the operator table, properties);
- `smp_explorer.spec`: the language (grammar, checker, lowering, memory models, litmus reading);
- `smp_explorer.runs`: what a run produces (results, traces) and the Model compiled to Python,
  the executable meaning both engine families replay traces through;
- `smp_explorer.explorer` (explicit-state search) and `smp_explorer.invariants` (Z3), side by side;
- `smp_explorer.cli`: the `explorer` command and its reports.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smp_explorer.api import check, load

__all__ = ["check", "load"]


def __getattr__(name: str) -> Any:
    """`from smp_explorer import check, load` (smp_explorer.api), imported on first use so
    that importing one layer does not load every other one."""
    if name in __all__:
        from smp_explorer import api
        return getattr(api, name)
    raise AttributeError(f"module 'smp_explorer' has no attribute {name!r}")

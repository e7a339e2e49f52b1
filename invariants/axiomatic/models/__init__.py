"""The axiomatic models: each constrains an Execution (see ../execution.py) with its axioms.

`get(name)` returns the model for a `--memory` name: "lkmm", "sc" or "tso"."""
from __future__ import annotations

from smp_explorer.invariants.axiomatic.execution import AxiomaticModel


def get(name: str) -> AxiomaticModel:
    from smp_explorer.invariants.axiomatic.models.lkmm import LKMM
    from smp_explorer.invariants.axiomatic.models.sc import SC
    from smp_explorer.invariants.axiomatic.models.tso import TSO
    models: dict[str, AxiomaticModel] = {"lkmm": LKMM(), "sc": SC(), "tso": TSO()}
    try:
        return models[name]
    except KeyError:
        raise KeyError(f"no axiomatic model {name!r} (known: lkmm, sc, tso)") from None

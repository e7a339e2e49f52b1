"""The Python API: load a spec and check it, getting the result objects the CLI reports.

    from smp_explorer import check, load
    result = check("models/classic/peterson.spec", memory="tso")
    assert result.get("mutual_exclusion").status == "holds"

`check` runs the same stages as `explorer check` for one memory model (Z3's pre-check of the
invariants, the search, Z3's explanations) and returns a `runs.results.RunResult`; `load` gives
the `ir.model.Model`, lowered under one memory model. Mistakes in the spec raise
`spec.errors.SpecError` or `SpecErrors` (each error has a message and a `span`: file:line:col).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from smp_explorer.cli.check import fold_findings, z3_precheck
from smp_explorer.cli.stages import select_goals
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.invariants.explain import explain_results
from smp_explorer.invariants.vacuity import Finding
from smp_explorer.invariants.z3enc import EncodingError
from smp_explorer.ir.model import Model
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult, RunResult
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import load_model, model_from_text

__all__ = ["check", "load", "Model", "RunResult", "PropertyResult", "SpecError", "SpecErrors"]

Const = bool | int | str


def const_text(value: Const) -> str:
    """A constant's value as `--const` takes it (`true`, `3`, an enum member's name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load(source: str | Path, *, consts: Mapping[str, Const] | None = None,
         memory: str | None = None, buffer: int | None = None) -> Model:
    """The spec lowered under `memory` (None: the memory model the spec names, else sc).

    `source` is a path (a `Path`, or a string without a newline) or the spec's text (a string
    with a newline). `consts` overrides constants like `--const` (`{"N": 3, "WMB": True}`);
    `buffer` is the store-buffer capacity (`--buffer`)."""
    given = {k: const_text(v) for k, v in (consts or {}).items()}
    if isinstance(source, str) and "\n" in source:
        return model_from_text(source, "<text>", given, memory, buffer)
    return load_model(source, given, memory, buffer)


def check(spec: str | Path | Model, *, consts: Mapping[str, Const] | None = None,
          memory: str | None = None, buffer: int | None = None,
          invariants: list[str] | None = None, max_states: int | None = None,
          max_depth: int | None = None, timeout: float | None = None, deadlock: bool = True,
          stop_at_first: bool = False, engine: str = "auto", z3: bool = True,
          reduction: bool = True) -> RunResult:
    """Check a spec (a path, its text, or a Model from `load`) under one memory model, as
    `explorer check` does; the result is labelled with the memory model it was checked under.

    Keyword arguments mirror the CLI: `invariants` (--invariant), `max_states`, `max_depth`,
    `timeout`, `deadlock=False` (--no-deadlock), `stop_at_first`, `engine`, `z3=False`
    (--no-z3), `reduction=False` (--no-reduction: no partial-order reduction). With a Model, `consts`, `memory` and `buffer` must be left out (it is lowered)."""
    if isinstance(spec, Model):
        if consts or memory or buffer:
            raise ValueError("check(model): consts, memory and buffer are fixed by load()")
        model = spec
    else:
        model = load(spec, consts=consts, memory=memory, buffer=buffer)
    select_goals(model, invariants, one_error_each=False)
    findings = _precheck(model, invariants) if z3 else []
    options = Options(max_states=max_states, max_depth=max_depth, timeout=timeout,
                      stop_at_first=stop_at_first, check_deadlock=deadlock,
                      properties=invariants, engine=engine, reduction=reduction)
    result = explore(compile_model(model, invariants), options)
    fold_findings(result, model, findings)
    if z3:
        explain_results(model, result.properties)
    return result


def _precheck(model: Model, invariants: list[str] | None) -> list[Finding]:
    """Z3's pre-check as in the CLI (an invariant that can never hold is a spec error); a
    model Z3 cannot encode is checked without it."""
    try:
        return z3_precheck(model, invariants)
    except EncodingError:
        return []

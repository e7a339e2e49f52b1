"""The axiomatic stage of check and bmc: a spec under an axiomatic memory model (lkmm) is not
explored state by state; its processes are unrolled into one symbolic execution whose memory
model is a set of axioms, and Z3 looks for an execution that breaks a property
(invariants/axiomatic/engine.py). `check` and `bmc` call `run_axiomatic` for each axiomatic
model of --memory and the operational engines for the others; the results share one report.

What the axiomatic engine cannot check is said, never skipped silently: liveness properties
named with --invariant are an error, unnamed ones a note in the run's result (the engine's);
the explicit search's options given beside an operational model apply to that model only (a
warning).
"""
from __future__ import annotations

from rich.console import Console
from rich.text import Text

from smp_explorer.cli.args import (AXIOMATIC_MODELS, DEFAULT_UNROLL, DEPTH_UNDER_LKMM,
                                   MEMORY_MODELS, UNROLL_WITHOUT_LKMM, BmcRequest, CheckRequest,
                                   SpecRequest, UsageError, depth_required,
                                   search_options_refused)
from smp_explorer.invariants.axiomatic.engine import run as engine_run
from smp_explorer.ir.model import Model
from smp_explorer.runs.results import RunResult
from smp_explorer.spec.errors import SpecError, SpecErrors


def is_axiomatic(memory: str) -> bool:
    return memory in AXIOMATIC_MODELS


def run_axiomatic(model: Model, memory: str, request: SpecRequest) -> RunResult:
    """One spec under one axiomatic model: the engine's result (what it did not check is in
    its notes). Spec errors the engine finds (an unsupported construct, an invariant with
    no meaning under the model) are raised as SpecError with their place in the spec."""
    names = request.properties
    named = [p for p in model.liveness if names is not None and p.name in names]
    if named:
        raise SpecErrors([SpecError(
            f"--invariant {p.name}: a liveness property; under --memory {memory} the axiomatic "
            f"engine checks safety only (assertions, invariants over one process, reachable "
            f"goals, final states): check it under {', '.join(MEMORY_MODELS)}", p.span)
            for p in named])
    unroll = request.unroll if request.unroll is not None else DEFAULT_UNROLL
    result = engine_run(model, memory, unroll=unroll,
                        properties=list(names) if names is not None else None,
                        timeout=request.timeout)
    if result.unroll is None:
        result.unroll = unroll
    return result


def check_own_model(request: SpecRequest, memory: str) -> None:
    """Without --memory the spec's own model (`memory lkmm;` or not) is known once it is read:
    the options that do not fit it are refused then, before anything runs, as the command line
    refuses them with --memory."""
    if request.memories is not None:
        return
    if not is_axiomatic(memory):
        if request.unroll is not None:
            raise UsageError(f"{UNROLL_WITHOUT_LKMM}; {request.file} is checked under {memory}")
        if isinstance(request, BmcRequest) and request.depth is None:
            raise UsageError(depth_required([memory]))
        return
    if isinstance(request, BmcRequest) and request.depth is not None:
        raise UsageError(f"{DEPTH_UNDER_LKMM} ({request.file} says `memory {memory};`)")
    if isinstance(request, CheckRequest):
        refused = list(request.search_options) + \
            (["--checkpoint"] if request.checkpoint is not None else [])
        if refused:
            raise UsageError(f"{search_options_refused(refused)} ({request.file} says "
                             f"`memory {memory};`)")


def warn_search_options(request: SpecRequest, options: tuple[str, ...], err: Console) -> None:
    """The explicit search's options given beside lkmm apply to the operational models only."""
    memories = request.memories or []
    axiomatic = [m for m in memories if is_axiomatic(m)]
    if not options or not axiomatic:
        return
    operational = [m for m in memories if not is_axiomatic(m)]
    err.print(Text.assemble(
        ("warning: ", "bold yellow"),
        f"{', '.join(options)} applies to {', '.join(operational)} only: "
        f"{', '.join(axiomatic)} is checked by the axiomatic engine, where it has no meaning"),
        highlight=False, soft_wrap=True)

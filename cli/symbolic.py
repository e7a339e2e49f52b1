"""`explorer prove` and `explorer bmc`: flat pipelines sharing check's load and select stages.

    load     the spec, lowered once per memory model          (cli.stages)
    select   the properties named by --invariant / --assume
    prove    k-induction (invariants.induction) | bmc: bounded model checking (invariants.bmc)
    explain  why each violated invariant is false             (invariants.explain)
    render   the report or the JSON document                  (cli.report)

Both print the document `check` prints with `--json`; a property's status may also be
`proved`, `not-inductive` (its trace is a counterexample to induction, flagged
`may_be_unreachable`) or `bounded` (nothing found up to the depth). `bmc --memory lkmm` runs
the axiomatic engine (cli.axiomatic) for lkmm beside the bounded search of the other models.
Exit status: 0 proved / no violation found; 1 violated or not inductive; 2 a usage or spec
error; 3 a time limit left a property undecided, or under lkmm an execution reached the
--unroll bound (`bounded`); 4 the two engines disagree (an internal error).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console

from smp_explorer.cli.args import BmcRequest, ProveRequest, UsageError
from smp_explorer.cli.axiomatic import check_own_model, is_axiomatic, run_axiomatic
from smp_explorer.cli.stages import load_models, reject_liveness, render, select_goals
from smp_explorer.invariants.bmc import bmc
from smp_explorer.invariants.explain import explain_results
from smp_explorer.invariants.induction import prove
from smp_explorer.invariants.z3enc import EncodingError
from smp_explorer.ir.model import Model
from smp_explorer.ir.properties import Kind
from smp_explorer.runs.results import RunResult, exit_status
from smp_explorer.spec.errors import SpecError, SpecErrors


def run_prove(request: ProveRequest, out: Console) -> int:
    results: list[RunResult] = []
    for memory, model in load_models(request):
        if is_axiomatic(memory):   # the spec's own `memory lkmm;` (--memory lkmm: cli.args)
            raise UsageError(f"{request.file} says `memory {memory};`: `explorer prove` does "
                             "not check axiomatic models; use `explorer check` or `explorer "
                             "bmc`, or prove it under --memory sc,tso,pso,weak")
        reject_liveness(model, request.properties, "prove")
        select_provable(model, request)
        with encodable(model):
            result = prove(model, request.properties, request.assume, request.k, memory,
                           request.timeout)
        explain_results(model, result.properties)
        results.append(result)
    render(out, request.output, request.file, model, results)
    return exit_status(results)


def run_bmc(request: BmcRequest, out: Console) -> int:
    results: list[RunResult] = []
    for memory, model in load_models(request):
        check_own_model(request, memory)
        if is_axiomatic(memory):   # lkmm: the axiomatic engine, loops unrolled (--unroll)
            results.append(run_axiomatic(model, memory, request))
            continue
        assert request.depth is not None   # (args and check_own_model: required here)
        reject_liveness(model, request.properties, "bmc")
        select_goals(model, request.properties, one_error_each=True)
        with encodable(model):
            result = bmc(model, request.depth, request.properties, request.check_deadlock,
                         memory, request.timeout)
        explain_results(model, result.properties)
        results.append(result)
    render(out, request.output, request.file, model, results)
    return exit_status(results)


def select_provable(model: Model, request: ProveRequest) -> None:
    """--invariant names safety properties (induction does not prove reachability);
    --assume names invariants."""
    errors = []
    props = {p.name: p for p in model.properties}
    for name in request.properties or []:
        p = props.get(name)
        if p is None:
            known = [q.name for q in model.properties if q.kind is not Kind.REACHABLE]
            errors.append(f"--invariant {name}: no such property in {model.name} (known: "
                          f"{', '.join(known) or 'none'})")
        elif p.kind is Kind.REACHABLE:
            errors.append(f"--invariant {name}: a reachable goal is not proved by "
                          "induction; use `explorer check` or `explorer bmc`")
    for name in request.assume:
        p = props.get(name)
        if p is None or p.kind is not Kind.INVARIANT:
            known = [q.name for q in model.properties if q.kind is Kind.INVARIANT]
            errors.append(f"--assume {name}: no such invariant in {model.name} (known: "
                          f"{', '.join(known) or 'none'})")
    if errors:
        raise SpecErrors([SpecError(e) for e in errors])


@contextmanager
def encodable(model: Model) -> Iterator[None]:
    """A model Z3 cannot encode is a spec error of prove and bmc."""
    try:
        yield
    except EncodingError as e:
        raise SpecError(f"Z3 cannot encode {model.name}: {e}") from None

"""`explorer check`: one flat pipeline of named stages, read top to bottom in `run_check`.

    load     the spec, lowered once per memory model          (cli.stages)
    select   the properties named by --invariant              (cli.stages)
    vacuity  Z3's pre-check of the invariants                 (invariants.vacuity)
    compile  the model to Python over state tuples            (runs.compiled)
    explore  breadth-first search                             (explorer.engines)
    explain  why each violated invariant is false             (invariants.explain)
    render   the report or the JSON document                  (cli.report)

Each stage is a small function of typed inputs; a mistake in the spec raises `SpecError`,
reported once by `cli.main`.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from smp_explorer.cli.args import CheckRequest, UsageError
from smp_explorer.cli.progress import LiveProgress
from smp_explorer.cli.stages import load_models, render, select_goals
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.invariants.crosscheck import CrossCheck
from smp_explorer.invariants.explain import explain_results
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.invariants.vacuity import INITIAL, NEVER, VALID, Finding, precheck
from smp_explorer.invariants.z3enc import EncodingError
from smp_explorer.ir.model import Model
from smp_explorer.runs.compiled import CompiledModel, compile_model
from smp_explorer.runs.results import RunResult, exit_status
from smp_explorer.runs.traces import TraceBuilder
from smp_explorer.spec.errors import SpecError, SpecErrors


def run_check(request: CheckRequest, out: Console, err: Console) -> int:
    results: list[RunResult] = []
    warned: set[str] = set()  # a valid invariant is worth one warning, not one per model
    for memory, model in load_models(request):
        select_goals(model, request.properties, one_error_each=False)
        findings = vacuity(model, request, err, warned)
        cm = compile_model(model, request.properties)
        result = explore_model(cm, memory, request, err)
        fold_findings(result, model, findings)
        if request.z3:
            explain_results(model, result.properties)
        results.append(result)
    render(out, request.output, request.file, model, results)
    return exit_status(results)


# ---- vacuity --------------------------------------------------------------------------------

def vacuity(model: Model, request: CheckRequest, err: Console,
            warned: set[str]) -> list[Finding]:
    """Z3's findings on the invariants `check` will check. An invariant that can never hold
    is a spec error; one that is valid is a warning (once per name in `warned`)."""
    if not request.z3:
        return []
    try:
        findings = precheck(model, request.properties)
    except EncodingError as e:
        err.print(Text.assemble(("warning: ", "bold yellow"),
                                f"Z3 pre-check skipped: cannot encode {model.name}: {e}"))
        return []
    never = [f for f in findings if f.kind == NEVER]
    if never:
        raise SpecErrors([SpecError(f.message, f.prop.span) for f in never])
    for f in findings:
        if f.kind == VALID and f.prop.name not in warned:
            warned.add(f.prop.name)
            where = f"{f.prop.span}: " if f.prop.span else ""
            err.print(Text.assemble(where, ("warning: ", "bold yellow"), f.message),
                      highlight=False, soft_wrap=True)
    return findings


def fold_findings(result: RunResult, model: Model, findings: list[Finding]) -> None:
    """The pre-check's verdicts in the run's result: a warning on a valid invariant; an
    invariant false initially decides what a limit left unknown (and contradicts `holds`)."""
    by_name = {p.name: p for p in result.properties}
    for f in findings:
        p = by_name.get(f.prop.name)
        if p is None:
            continue
        if f.kind == VALID:
            p.warning = f.message
        elif f.kind == INITIAL and p.status == "holds":
            assert f.state is not None
            raise EngineDisagreement(
                f"Z3 finds {p.name} false in the initial state {model.describe(f.state)}; the "
                "explorer says it holds")
        elif f.kind == INITIAL and p.status == "unknown":
            assert f.state is not None
            trace, message = TraceBuilder(model, [f.state], [-1], [-1], []).build(
                f.prop, 0, None, None, None)
            p.status, p.message, p.trace = "violated", message, trace


# ---- explore --------------------------------------------------------------------------------

def explore_model(cm: CompiledModel, memory: str, request: CheckRequest,
                  err: Console) -> RunResult:
    """Breadth-first search of the compiled model, with a live progress line on a terminal."""
    out = request.output
    show_progress = err.is_terminal and not (out.json or out.plain or out.quiet)
    progress = LiveProgress(err, f"{Path(cm.model.name).name} [{memory}]") \
        if show_progress else None
    z3_check = z3_check_visitor(cm) if request.z3_check else None
    from smp_explorer.cli.resume import checkpointer
    options = Options(max_states=request.max_states, max_depth=request.max_depth,
                      timeout=request.timeout, stop_at_first=request.stop_at_first,
                      check_deadlock=request.check_deadlock, properties=request.properties,
                      progress=progress, engine=request.engine, exact=request.exact,
                      visitor=z3_check, checkpoint=checkpointer(request, memory))
    try:
        result = explore(cm, options, memory)
    finally:
        if progress is not None:
            progress.close()
    if z3_check is not None:
        result.stats.notes.append(f"z3-check: Z3 agreed with the explorer on all "
                                  f"{z3_check.states:,} states")
    return result


def z3_check_visitor(cm: CompiledModel) -> CrossCheck:
    """--z3-check: Z3 evaluates every invariant, goal and step on every distinct state, as the
    engine that runs reports them (a visitor every engine calls)."""
    try:
        return CrossCheck(cm)
    except EncodingError as e:
        raise UsageError(f"--z3-check: Z3 cannot encode {cm.model.name}: {e}") from None

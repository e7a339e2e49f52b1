"""`explorer check`: one flat pipeline of named stages, read top to bottom in `run_check`.

    load     the spec, lowered once per memory model          (cli.stages)
    select   the properties named by --invariant              (cli.stages)
    vacuity  Z3's pre-check of the invariants                 (invariants.vacuity)
    compile  the model to Python over state tuples            (runs.compiled)
    explore  breadth-first search                             (explorer.engines)
    liveness fair cycles, when the spec has liveness properties (explorer.liveness)
    explain  why each violated invariant is false             (invariants.explain)
    render   the report or the JSON document                  (cli.report)

Each stage is a small function of typed inputs; a mistake in the spec raises `SpecError`,
reported once by `cli.main`.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.text import Text

from smp_explorer.cli.args import CheckRequest, UsageError
from smp_explorer.cli.axiomatic import (check_own_model, is_axiomatic, run_axiomatic,
                                        warn_search_options)
from smp_explorer.cli.export import ExportError, write_dot, write_itf
from smp_explorer.cli.progress import LiveProgress, LogProgress
from smp_explorer.cli.report.html import write_html
from smp_explorer.cli.stages import (load_models, quiet_stdout, render, select_goals,
                                     split_liveness)
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.liveness import check_liveness
from smp_explorer.explorer.options import Options
from smp_explorer.invariants.crosscheck import CrossCheck
from smp_explorer.invariants.explain import explain_results
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.invariants.vacuity import INITIAL, NEVER, VALID, Finding, precheck
from smp_explorer.invariants.z3enc import EncodingError
from smp_explorer.ir.model import Model
from smp_explorer.explorer.spill import default_budget
from smp_explorer.runs.compiled import CompiledModel, compile_model
from smp_explorer.runs.results import LivenessStats, RunResult, exit_status, peak_memory_bytes
from smp_explorer.runs.traces import TraceBuilder
from smp_explorer.spec.errors import SpecError, SpecErrors


STOPPED = ("interrupted", "out of memory")   # stop reasons that end a multi-model run


def run_check(request: CheckRequest, out: Console, err: Console) -> int:
    results: list[RunResult] = []
    warned: set[str] = set()  # a valid invariant is worth one warning, not one per model
    model: Model | None = None
    phase = "loading the spec"
    stopped: str | None = None  # Ctrl-C (SIGTERM, SIGHUP) or memory, outside a search
    graphs: list[tuple[CompiledModel, str, RunResult]] = []  # --dot: drawn after the report
    deferred: SpecError | SpecErrors | None = None  # an lkmm spec error, after the others
    warn_search_options(request, request.search_options, err)
    try:
        for memory, model in load_models(request):
            check_own_model(request, memory)
            if is_axiomatic(memory):   # lkmm: Z3 over unrolled executions, no search
                phase = f"checking under {memory}"
                try:
                    results.append(run_axiomatic(model, memory, request))
                except (SpecError, SpecErrors) as e:
                    # a property with no meaning under lkmm: the other models' verdicts are
                    # still worth a report (not in a JSON document: that is the errors')
                    if request.output.json or len(request.memories or []) < 2:
                        raise
                    deferred = e
                phase = "loading the spec for the next memory model"
                continue
            live, safety = split_liveness(model, request.properties)
            req = request if safety == request.properties else \
                replace(request, properties=safety)
            select_goals(model, req.properties, one_error_each=False)
            phase = f"the Z3 pre-check under {memory}"
            findings = vacuity(model, req, err, warned)
            phase = f"compiling under {memory}"
            cm = compile_model(model, req.properties)
            result = explore_model(cm, memory, req, err)
            fold_findings(result, model, findings)
            if live and result.stop_reason not in STOPPED:
                phase = f"checking liveness under {memory}"
                liveness(cm, live, result, request)
            if request.z3:
                explain_results(model, result.properties)
            results.append(result)
            if request.dot:
                graphs.append((cm, memory, result))
            if result.stop_reason in STOPPED:   # one signal ends the whole run
                stopped = result.stop_reason
                break
            phase = "loading the spec for the next memory model"
    except KeyboardInterrupt:
        stopped = "interrupted"
    except MemoryError:
        stopped = "out of memory"
    if stopped is not None:
        done = ", ".join(r.memory for r in results)
        where = f"while {phase}" if not results or results[-1].stop_reason not in STOPPED \
            else f"during the search under {results[-1].memory}"
        err.print(f"explorer: {'memory ran out' if stopped == 'out of memory' else stopped} "
                  f"{where}; " + (f"reporting what was decided under {done}" if results
                                  else "nothing was explored"), highlight=False, soft_wrap=True)
    warn_sc_only_steps(results)
    if results and model is not None:
        try:
            render(out, request.output, request.file, model, results)
        except KeyboardInterrupt:
            stopped = stopped or "interrupted"
        except BrokenPipeError:   # nobody reads the report: the status still tells the verdict
            quiet_stdout()
    if results and model is not None and stopped is None:
        export(request, model, results, graphs)
    if deferred is not None and stopped is None:
        raise deferred   # reported after the report (cli.main), exit status 2
    status = exit_status(results)
    return 3 if stopped is not None and status == 0 else status


def export(request: CheckRequest, model: Model, results: list[RunResult],
           graphs: list[tuple[CompiledModel, str, RunResult]]) -> None:
    """--dot, --itf, --html, after the report: one that cannot be written leaves the verdicts
    shown."""
    several = len(request.memories or []) > 1
    for cm, memory, result in graphs:
        assert request.dot is not None
        dot = str(Path(request.dot).with_suffix(f".{memory}.dot")) if several else request.dot
        _export(lambda: write_dot(dot, cm, memory, result))
    if request.itf:
        _export(lambda: write_itf(request.itf or "", model, results))
    if request.html:
        _export(lambda: write_html(request.html or "", model, results))


def warn_sc_only_steps(results: list[RunResult]) -> None:
    """A process step that fired under sc but never under a weaker model M is a warning of its
    own in M's notes (report and JSON; issue 9): the weaker model may hide a behaviour rather
    than forbid it. Only runs that finished count (an unfinished one may fire it later); memory
    model steps (flushes) do not exist under sc, so they are never named."""
    sc = next((r for r in results if r.memory == "sc" and r.engine == "explore"), None)
    if sc is None or not sc.complete:
        return
    fired = [step for step, n in sc.stats.coverage.items() if n > 0]
    for r in results:
        if r is sc or r.engine != "explore" or not r.complete:
            continue
        never = [step for step in fired if r.stats.coverage.get(step, 1) == 0]
        for step in never:
            r.stats.notes.append(f"warning: step {step} fires under sc but never under "
                                 f"{r.memory}: check that {r.memory} forbids it rather than "
                                 "hides it")


def _export(write: Callable[[], object]) -> None:
    try:
        write()
    except ExportError as e:
        raise UsageError(str(e)) from None


# ---- vacuity --------------------------------------------------------------------------------

def vacuity(model: Model, request: CheckRequest, err: Console,
            warned: set[str]) -> list[Finding]:
    """Z3's findings on the invariants `check` will check. An invariant that can never hold
    is a spec error; one that is valid is a warning (once per name in `warned`)."""
    if not request.z3:
        return []
    try:
        findings = z3_precheck(model, request.properties)
    except EncodingError as e:
        err.print(Text.assemble(("warning: ", "bold yellow"),
                                f"Z3 pre-check skipped: cannot encode {model.name}: {e}"))
        return []
    for f in findings:
        if f.kind == VALID and f.prop.name not in warned:
            warned.add(f.prop.name)
            where = f"{f.prop.span}: " if f.prop.span else ""
            err.print(Text.assemble(where, ("warning: ", "bold yellow"), f.message),
                      highlight=False, soft_wrap=True)
    return findings


def z3_precheck(model: Model, selection: list[str] | None) -> list[Finding]:
    """Z3's findings on the selected invariants; one that can never hold is a spec error
    (raised); a model Z3 cannot encode raises EncodingError."""
    findings = precheck(model, selection)
    never = [f for f in findings if f.kind == NEVER]
    if never:
        raise SpecErrors([SpecError(f.message, f.prop.span) for f in never])
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


# ---- liveness -------------------------------------------------------------------------------

def liveness(cm: CompiledModel, names: list[str], result: RunResult,
             request: CheckRequest) -> None:
    """The named liveness properties' verdicts, after the safety ones (a graph search of its
    own: a safety-only run keeps no edges), and what the stage cost."""
    run = check_liveness(cm, [p for p in cm.model.liveness if p.name in names],
                         request.buffer_fairness, request.max_states, request.timeout,
                         request.max_memory or default_budget())
    result.properties.extend(run.results)
    # the report's peak memory covers this stage too
    result.stats.peak_memory = max(result.stats.peak_memory, peak_memory_bytes())
    g = run.graph
    result.stats.liveness = LivenessStats(run.seconds, run.graph_seconds,
                                          0 if g is None else len(g.states),
                                          0 if g is None else g.edges)
    if g is not None:
        fair = "" if request.buffer_fairness or not any(f.memory for f in cm.model.fairness) \
            else "; buffer fairness off"
        result.stats.notes.append(
            f"liveness: {len(g.states):,} states, {g.edges:,} edges, "
            f"{g.bytes_per_state:.0f} bytes/state of edges{fair}")


# ---- explore --------------------------------------------------------------------------------

def explore_model(cm: CompiledModel, memory: str, request: CheckRequest,
                  err: Console) -> RunResult:
    """Breadth-first search of the compiled model, with a live progress line on a terminal
    (not with --json, --plain or --quiet) and a logged one every ~10 s elsewhere (not with
    --quiet; with --json it goes to stderr, beside the document)."""
    out = request.output
    label = f"{Path(cm.model.name).name} [{memory}]"
    progress: LiveProgress | LogProgress | None = None
    if err.is_terminal:
        if not (out.json or out.plain or out.quiet):
            progress = LiveProgress(err, label)
    elif not out.quiet:
        progress = LogProgress(sys.stderr, label)
    distributed(request)
    z3_check = z3_check_visitor(cm) if request.z3_check else None
    from smp_explorer.cli.resume import checkpointer
    options = Options(max_states=request.max_states, max_depth=request.max_depth,
                      timeout=request.timeout, stop_at_first=request.stop_at_first,
                      check_deadlock=request.check_deadlock, properties=request.properties,
                      progress=progress, engine=request.engine, exact=request.exact,
                      visitor=z3_check, checkpoint=checkpointer(request, memory),
                      max_memory=request.max_memory or default_budget(),
                      workers=request.workers, ray_address=request.ray,
                      symmetry=request.symmetry, reduction=request.reduction)
    try:
        result = explore(cm, options, memory)
    finally:
        if progress is not None:
            progress.close()
    if z3_check is not None:
        result.stats.notes.append(f"z3-check: Z3 agreed with the explorer on all "
                                  f"{z3_check.states:,} states")
    return result


def distributed(request: CheckRequest) -> None:
    """--workers / --ray: Ray is installed, and no option needs the whole search in one
    process."""
    if request.workers is None and request.ray is None:
        return
    for given, flag in ((request.checkpoint, "--checkpoint"), (request.z3_check, "--z3-check")):
        if given:
            raise UsageError(f"{flag} needs the whole search in one process: it cannot be "
                             "combined with --workers or --ray")
    from smp_explorer.explorer.distributed import ray_missing
    missing = ray_missing()
    if missing is not None:
        raise UsageError(missing)


def z3_check_visitor(cm: CompiledModel) -> CrossCheck:
    """--z3-check: Z3 evaluates every invariant, goal and step on every distinct state, as the
    engine that runs reports them (a visitor every engine calls)."""
    try:
        return CrossCheck(cm)
    except EncodingError as e:
        raise UsageError(f"--z3-check: Z3 cannot encode {cm.model.name}: {e}") from None

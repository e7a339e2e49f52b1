"""The command line of the Z3 features: `explorer prove`, `explorer bmc`, and what Z3 adds to
`explorer check` (the vacuity pre-check, explanations of violations, `--z3-check`).

    explorer prove FILE [--invariant NAME]... [--assume NAME]... [--k K] [--const NAME=VALUE]...
                        [--memory M,...] [--buffer N] [--timeout S] [--json | --plain] [--quiet]
    explorer bmc FILE --depth K [--invariant NAME]... [--const NAME=VALUE]... [--memory M,...]
                        [--buffer N] [--no-deadlock] [--timeout S] [--json | --plain] [--quiet]

Both print the document `check` prints with `--json`; a property's status may also be
`proved`, `not-inductive` (its trace is a counterexample to induction, flagged
`may_be_unreachable`) or `bounded` (nothing found up to the depth). Exit status: 0 proved / no
violation found; 1 violated or not inductive; 2 a usage or spec error; 3 a time limit left a
property undecided; 4 the two engines disagree (an internal error).

Rich is used here, never in invariants/ (the engines return plain result objects).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Iterator, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from smp_explorer.cli.args import (MEMORY_MODELS, const_assignment, memory_list, non_negative_int,
                               positive_int, seconds)
from smp_explorer.cli.main import EXIT_USAGE, _consoles, load, report_spec_errors
from smp_explorer.runs.results import PropertyResult, RunResult, document
from smp_explorer.ir.properties import Kind
from smp_explorer.invariants.symbolic import NOT_INDUCTIVE, EngineDisagreement
from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError

EXIT_DISAGREE = 4


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the spec file")
    p.add_argument("--const", metavar="NAME=VALUE", type=const_assignment, action="append", default=[],
                   help="override a constant of the spec (repeatable)")
    p.add_argument("--memory", metavar="M[,M...]", type=memory_list, default=None,
                   help=f"memory models to check under (allowed: {', '.join(MEMORY_MODELS)})")
    p.add_argument("--buffer", metavar="N", type=positive_int,
                   help="store-buffer capacity per CPU (tso) or per CPU and address (pso, "
                        "weak); default 2")
    p.add_argument("--timeout", metavar="S", type=seconds,
                   help="give up after S seconds (undecided properties are 'unknown')")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--plain", action="store_true",
                     help="plain text (no colour, no box drawing), ready to paste into a mail")
    p.add_argument("--quiet", action="store_true", help="verdicts only, no traces")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`prove` and `bmc`, and `check`'s --z3-check / --no-z3 (when `check` is defined)."""
    check = sub.choices.get("check")
    if check is not None:
        z3 = check.add_mutually_exclusive_group()
        z3.add_argument("--z3-check", action="store_true",
                        help="also evaluate every invariant, goal and step with Z3 on every "
                             "distinct state and fail on any disagreement (slow)")
        z3.add_argument("--no-z3", action="store_true",
                        help="skip the Z3 pre-check of the invariants (valid, unsatisfiable, "
                             "false initially) and the explanations of violations")
    prove = sub.add_parser(
        "prove", help="prove invariants by k-induction (Z3)",
        description="Prove each invariant (or the properties named) by k-induction over the "
                    "transition relation: 'proved', 'violated' with a real counterexample, or "
                    "'not-inductive' with a counterexample to induction, whose states need not "
                    "be reachable.")
    _common(prove)
    prove.add_argument("--invariant", metavar="NAME", action="append", default=None,
                       help="prove only these properties (invariants, assertions, "
                            "no_runtime_error, deadlock_free; repeatable; default: every "
                            "invariant)")
    prove.add_argument("--assume", metavar="NAME", action="append", default=[],
                       help="a helper invariant proved together with each property, to "
                            "strengthen the induction (repeatable)")
    prove.add_argument("--k", metavar="K", type=positive_int, default=1,
                       help="try k-induction for k = 1..K (default 1: plain induction)")
    prove.set_defaults(main=cmd_prove)
    bmc = sub.add_parser(
        "bmc", help="bounded symbolic search for violations within K steps (Z3)",
        description="Bounded model checking: every property's shortest violation (a "
                    "reachable goal's shortest witness) within K steps of an initial state, "
                    "or 'bounded': none up to depth K.")
    _common(bmc)
    bmc.add_argument("--depth", metavar="K", type=non_negative_int, required=True,
                     help="search traces of at most K steps")
    bmc.add_argument("--invariant", metavar="NAME", action="append", default=None,
                     help="check only these invariants / reachable goals (repeatable)")
    bmc.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    bmc.set_defaults(main=cmd_bmc)


# ---- prove and bmc -----------------------------------------------------------------------

def _models(args, err: Console) -> Iterator[tuple[str, Model | None]]:
    """The spec lowered under each requested memory model (as `check` does)."""
    first = load(args.file, args.const, err, args.memory[0] if args.memory else None,
                 args.buffer)
    if first is None:
        yield "", None
        return
    for memory in args.memory or [first.memory]:
        model = first if memory == first.memory else \
            load(args.file, args.const, err, memory, args.buffer)
        yield memory, model
        if model is None:
            return


def _check_names(model: Model, args, err: Console, command: str) -> bool:
    errors = []
    props = {p.name: p for p in model.properties}
    if command == "prove":
        for name in args.invariant or []:
            p = props.get(name)
            if p is None:
                known = [q.name for q in model.properties if q.kind is not Kind.REACHABLE]
                errors.append(f"--invariant {name}: no such property in {model.name} (known: "
                              f"{', '.join(known) or 'none'})")
            elif p.kind is Kind.REACHABLE:
                errors.append(f"--invariant {name}: a reachable goal is not proved by "
                              "induction; use `explorer check` or `explorer bmc`")
        for name in args.assume:
            p = props.get(name)
            if p is None or p.kind is not Kind.INVARIANT:
                known = [q.name for q in model.properties if q.kind is Kind.INVARIANT]
                errors.append(f"--assume {name}: no such invariant in {model.name} (known: "
                              f"{', '.join(known) or 'none'})")
    else:
        known = [p.name for p in model.properties if p.kind in (Kind.INVARIANT, Kind.REACHABLE)]
        for name in args.invariant or []:
            if name not in known:
                errors.append(f"--invariant {name}: no such invariant or reachable goal in "
                              f"{model.name} (known: {', '.join(known) or 'none'})")
    if errors:
        report_spec_errors(err, [SpecError(e) for e in errors])
    return not errors


def _symbolic(args, command: str) -> int:
    from smp_explorer.invariants.symbolic import exit_status
    from smp_explorer.invariants.z3enc import EncodingError
    out, err = _consoles(args)
    runs = []
    model = None
    for memory, model in _models(args, err):
        if model is None:
            return EXIT_USAGE
        if not _check_names(model, args, err, command):
            return EXIT_USAGE
        try:
            if command == "prove":
                from smp_explorer.invariants.induction import prove
                run = prove(model, args.invariant, args.assume, args.k, memory, args.timeout)
            else:
                from smp_explorer.invariants.bmc import bmc
                run = bmc(model, args.depth, args.invariant, not args.no_deadlock, memory,
                          args.timeout)
        except EncodingError as e:
            report_spec_errors(err, [SpecError(f"Z3 cannot encode {model.name}: {e}")])
            return EXIT_USAGE
        explain_results(model, run.properties)
        runs.append(run)
    if args.json:
        print(json.dumps(document(args.file, runs), indent=2))  # type: ignore[arg-type]
    else:
        render_symbolic(out, runs, model, plain=args.plain, quiet=args.quiet)  # type: ignore[arg-type]
    return exit_status(runs)


def cmd_prove(args) -> int:
    return _symbolic(args, "prove")


def cmd_bmc(args) -> int:
    return _symbolic(args, "bmc")


def disagreement(e: EngineDisagreement) -> int:
    sys.stderr.write(f"explorer: internal error: the engines disagree: {e}\n"
                     "(this is a bug in smp-explorer; please report it with the spec)\n")
    return EXIT_DISAGREE


# ---- what Z3 adds to `check` -------------------------------------------------------------

def precheck(model: Model, args, err: Console) -> list | None:
    """The vacuity pre-check of the invariants `check` will check: warnings are printed, an
    invariant that can never hold is a spec error (None: reported, exit 2)."""
    if getattr(args, "no_z3", False):
        return []
    from smp_explorer.invariants.vacuity import NEVER, VALID, precheck as run
    from smp_explorer.invariants.z3enc import EncodingError
    try:
        findings = run(model, args.invariant)
    except EncodingError as e:
        err.print(Text.assemble(("warning: ", "bold yellow"),
                                f"Z3 pre-check skipped: cannot encode {model.name}: {e}"))
        return []
    never = [f for f in findings if f.kind == NEVER]
    if never:
        report_spec_errors(err, [SpecError(f.message, f.prop.span) for f in never])
        return None
    warned = args.__dict__.setdefault("_z3_warned", set())
    for f in findings:
        if f.kind == VALID and f.prop.name not in warned:
            warned.add(f.prop.name)
            where = f"{f.prop.span}: " if f.prop.span else ""
            err.print(Text.assemble(where, ("warning: ", "bold yellow"), f.message),
                      highlight=False, soft_wrap=True)
    return findings


def before_explore(cm, args):
    """With --z3-check, the visitor that checks every state the engine visits against Z3."""
    if getattr(args, "z3_check", False):
        from smp_explorer.invariants.crosscheck import CrossCheck
        from smp_explorer.invariants.z3enc import EncodingError
        try:
            checker = args.__dict__["_z3_checker"] = CrossCheck(cm)
        except EncodingError as e:
            sys.stderr.write(f"explorer: error: --z3-check: Z3 cannot encode {cm.model.name}: "
                             f"{e}\n")
            raise SystemExit(EXIT_USAGE) from None
        return checker
    return None


def after_check(result: RunResult, model: Model, findings: list | None, args) -> RunResult:
    """Fold the pre-check's findings into the run's result, and explain the violations."""
    from smp_explorer.invariants.vacuity import INITIAL, VALID
    by_name = {p.name: p for p in result.properties}
    for f in findings or []:
        p = by_name.get(f.prop.name)
        if p is None:
            continue
        if f.kind == VALID:
            p.warning = f.message
        elif f.kind == INITIAL and p.status == "holds":
            raise EngineDisagreement(
                f"Z3 finds {p.name} false in the initial state {model.describe(f.state)}; the "
                "explorer says it holds")
        elif f.kind == INITIAL and p.status == "unknown":
            # the explorer stopped before it got there (a limit): the symbolic check decides it
            from smp_explorer.runs.traces import TraceBuilder
            trace, message = TraceBuilder(model, [f.state], [-1], [-1], []).build(
                f.prop, 0, None, None, None)
            p.status, p.message, p.trace = "violated", message, trace
    checker = args.__dict__.pop("_z3_checker", None)
    if checker is not None:
        result.stats.notes.append(f"z3-check: Z3 agreed with the explorer on all "
                                  f"{checker.states:,} states")
    if not getattr(args, "no_z3", False):
        explain_results(model, result.properties)
    return result


def explain_results(model: Model, results: Sequence[PropertyResult]) -> None:
    """Attach to each violated invariant (or counterexample to induction) the slot values of
    its last state that alone make it false."""
    todo = [p for p in results if p.kind == "invariant" and p.trace is not None
            and p.status in ("violated", NOT_INDUCTIVE)]
    if not todo:
        return
    from smp_explorer.invariants.explain import describe, explain, values_from_display
    from smp_explorer.invariants.z3enc import Encoder, EncodingError
    try:
        enc = Encoder(model)
    except EncodingError:
        return
    from smp_explorer.ir.expr import slots_read
    for p in todo:
        prop = model.property(p.name)
        values = values_from_display(model, p.trace.steps[-1].state,  # type: ignore[union-attr]
                                     slots_read(prop.expr))  # type: ignore[arg-type]
        slots = explain(model, prop, values, enc)
        if slots is not None:
            p.explanation = describe(model, slots, values)


# ---- rendering ---------------------------------------------------------------------------

STYLE = {"proved": "bold green", "holds": "bold green", "bounded": "green",
         "violated": "bold red", NOT_INDUCTIVE: "bold red", "unknown": "bold yellow"}


class SymbolicVerdicts:
    """One run of prove or bmc: each property with its status and what was found."""

    def __init__(self, run, plain: bool = False):
        self.run = run
        self.plain = plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from smp_explorer.cli.report import Grid
        rows = [[Text(p.name), Text(p.kind), Text(p.status, style=STYLE.get(p.status, "")),
                 Text(_summary(p))] for p in self.run.properties]
        grid = Grid(["property", "kind", "status", "result"], rows)
        if self.plain:
            yield Text("\n".join(grid.ascii(options.max_width)), no_wrap=True, overflow="ignore")
        else:
            yield grid.rich()


def _summary(p: PropertyResult) -> str:
    if p.status == "holds" and p.trace is not None:
        return f"reached in {len(p.trace)} steps"
    if p.status in ("violated", NOT_INDUCTIVE) and p.trace is not None:
        steps = len(p.trace)
        kind = "counterexample to induction" if p.may_be_unreachable else "counterexample"
        return f"{kind}: {steps} step{'s' if steps != 1 else ''}"
    return p.message or ""


def _verdict(runs) -> Text:
    counts: dict[str, int] = {}
    for r in runs:
        for p in r.properties:
            counts[p.status] = counts.get(p.status, 0) + 1
    if any(r.violated for r in runs):
        word, style = "FAILED", "bold red"
    elif any(r.undecided for r in runs):
        word, style = "UNDECIDED", "bold yellow"
    else:
        word, style = ("PROVED", "bold green") if runs and runs[0].engine == "prove" else \
            ("NO VIOLATION FOUND", "bold green")
    parts = [f"{n} {s}" for s, n in counts.items()]
    return Text.assemble(("verdict: ", "bold"), (word, style), " (" + ", ".join(parts) + ")")


def _heading(run, model: Model, several: bool) -> Text:
    what = f"k-induction, k up to {run.bound}" if run.engine == "prove" else \
        f"bounded model checking up to depth {run.bound}"
    return Text(f"{model.name} (memory model {run.memory}): {what}, {run.seconds:.2f} s",
                style="bold")


def _renderables(runs, model: Model, plain: bool, quiet: bool) -> Iterator[RenderableType]:
    from smp_explorer.cli.report import CounterexampleView
    several = len(runs) > 1
    for run in runs:
        yield _heading(run, model, several)
        if run.properties:
            yield SymbolicVerdicts(run, plain)
        else:
            yield Text("nothing to prove: the spec has no invariant (name other properties "
                       "with --invariant)" if run.engine == "prove" else "no property to check")
    if not any(run.properties for run in runs):
        return
    yield _verdict(runs)
    if quiet:
        return
    for run in runs:
        for p in run.properties:
            if p.status not in ("violated", NOT_INDUCTIVE) or p.trace is None:
                continue
            yield Text("")
            if p.may_be_unreachable:
                yield Text("Counterexample to induction: step 0 is a state where the property "
                           "(and any helpers) hold, not necessarily reachable from an initial "
                           "state. Strengthen the invariant, add a helper (--assume), or try a "
                           "larger --k.", style="bold yellow")
            yield CounterexampleView(p, model, run.memory if several else None, plain)


def render_symbolic(console: Console, runs, model: Model, *, plain: bool = False,
                    quiet: bool = False) -> None:
    from smp_explorer.cli.report import render_plain
    parts = list(_renderables(runs, model, plain, quiet))
    if not plain:
        for part in parts:
            console.print(part)
        return
    console.out(render_plain(Group(*parts)), end="", highlight=False)


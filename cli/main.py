"""The `explorer` command line. The only place that prints or exits."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from smp_explorer.cli.args import (MEMORY_MODELS, const_assignment, memory_list, positive_int,
                               seconds)
from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import RunResult, document, exit_status
from smp_explorer.ir.properties import Kind
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import load_model

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with status 2 through our own message format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"explorer: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="explorer", description="Check concurrent protocols exhaustively.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    check = sub.add_parser("check", help="explore every reachable state and check the properties",
                           description="Breadth-first exploration of every reachable state; "
                                       "reports each property's verdict and the shortest "
                                       "counterexample of each violation.")
    check.add_argument("file", metavar="FILE", help="the spec file")
    check.add_argument("--const", metavar="NAME=VALUE", type=const_assignment, action="append", default=[],
                       help="override a constant of the spec (repeatable)")
    check.add_argument("--invariant", metavar="NAME", action="append", default=None,
                       help="check only these invariants / reachable goals (repeatable)")
    check.add_argument("--memory", metavar="M[,M...]", type=memory_list, default=None,
                       help=f"memory models to check under (allowed: {', '.join(MEMORY_MODELS)})")
    check.add_argument("--buffer", metavar="N", type=positive_int,
                       help="store-buffer capacity per CPU (tso) or per CPU and address (pso, "
                            "weak); default 2")
    check.add_argument("--max-states", metavar="N", type=positive_int,
                       help="stop after N distinct states")
    check.add_argument("--max-depth", metavar="N", type=positive_int,
                       help="do not explore beyond N steps from an initial state")
    check.add_argument("--timeout", metavar="S", type=seconds, help="stop after S seconds")
    check.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    check.add_argument("--stop-at-first", action="store_true",
                       help="stop at the first violation instead of deciding every property")
    check.add_argument("--engine", choices=("auto", "scalar", "vector"), default="auto",
                       help="search engine: generated Python code (scalar), NumPy over whole "
                            "frontiers (vector), or scalar for narrow levels and vector for "
                            "wide ones (auto, the default); the results are the same")
    check.add_argument("--exact", action="store_true",
                       help="store whole states even when they need more than 128 bits "
                            "(default: 64-bit fingerprints there)")
    out = check.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--plain", action="store_true",
                     help="plain text (no colour, no box drawing), ready to paste into a mail")
    check.add_argument("--quiet", action="store_true", help="verdicts only, no traces")
    check.set_defaults(main=cmd_check)
    from smp_explorer.cli.litmus import add_litmus_command
    add_litmus_command(sub)
    from smp_explorer.cli import symbolic  # prove, bmc; check's --z3-check and --no-z3
    symbolic.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.main(args)
    except KeyboardInterrupt:
        sys.stderr.write("explorer: interrupted\n")
        return 130
    except EngineDisagreement as e:  # Z3 and the explorer differ on one model: a bug
        from smp_explorer.cli.symbolic import disagreement
        return disagreement(e)


def _consoles(args) -> tuple[Console, Console]:
    plain = getattr(args, "plain", False) or getattr(args, "json", False)
    out = Console(no_color=plain, highlight=False, emoji=False,
                  force_terminal=False if plain else None, soft_wrap=False)
    err = Console(stderr=True, highlight=False, no_color=plain,
                  force_terminal=False if plain else None)
    return out, err


def report_spec_errors(err_console: Console, errors: list[SpecError]) -> None:
    from smp_explorer.cli import report
    sources: dict[str, str] = {}
    for e in errors:
        if e.span and e.span.file not in sources:
            try:
                sources[e.span.file] = Path(e.span.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                pass
    report.render_spec_errors(err_console, errors, sources)


def load(path: str, consts: list[tuple[str, str]], err_console: Console,
         memory: str | None = None, buffer: int | None = None) -> Model | None:
    overrides: dict[str, str] = {}
    for name, value in consts:
        overrides[name] = value
    try:
        return load_model(path, overrides, memory, buffer)
    except SpecErrors as errs:
        report_spec_errors(err_console, errs.errors)
    except SpecError as e:
        report_spec_errors(err_console, [e])
    return None


def _select_properties(model: Model, names: list[str] | None, err: Console) -> bool:
    if names is None:
        return True
    known = [p.name for p in model.properties if p.kind in (Kind.INVARIANT, Kind.REACHABLE)]
    unknown = [n for n in names if n not in known]
    if unknown:
        report_spec_errors(err, [SpecError(
            f"--invariant {', '.join(unknown)}: no such invariant or reachable goal in "
            f"{model.name} (known: {', '.join(known) or 'none'})")])
        return False
    return True


def cmd_check(args) -> int:
    out, err = _consoles(args)
    model = load(args.file, args.const, err, args.memory[0] if args.memory else None, args.buffer)
    if model is None:
        return EXIT_USAGE
    if not _select_properties(model, args.invariant, err):
        return EXIT_USAGE
    memories = args.memory or [model.memory]
    results: list[RunResult] = []
    for memory in memories:  # the spec is lowered once per memory model
        if memory != model.memory:
            model = load(args.file, args.const, err, memory, args.buffer)
            if model is None:
                return EXIT_USAGE
        from smp_explorer.cli import symbolic  # Z3: vacuity pre-check, explanations
        findings = symbolic.precheck(model, args, err)
        if findings is None:
            return EXIT_USAGE
        results.append(symbolic.after_check(run_check(model, memory, args, err), model,
                                                findings, args))
    if args.json:
        print(json.dumps(document(args.file, results), indent=2))
    else:
        from smp_explorer.cli import report
        report.render_run(out, results, model, plain=args.plain, quiet=args.quiet)
    return exit_status(results)


def run_check(model: Model, memory: str, args, err: Console) -> RunResult:
    from smp_explorer.cli.progress import LiveProgress
    show_progress = err.is_terminal and not args.json and not args.plain and not args.quiet
    progress = LiveProgress(err, f"{Path(model.name).name} [{memory}]") if show_progress else None
    options = Options(max_states=args.max_states, max_depth=args.max_depth,
                      timeout=args.timeout, stop_at_first=args.stop_at_first,
                      check_deadlock=not args.no_deadlock, properties=args.invariant,
                      progress=progress, engine=getattr(args, "engine", "auto"),
                      exact=getattr(args, "exact", False))
    try:
        from smp_explorer.cli.symbolic import before_explore  # --z3-check
        cm = compile_model(model, args.invariant)
        options.visitor = before_explore(cm, args)
        return explore(cm, options, memory)
    finally:
        if progress is not None:
            progress.close()


if __name__ == "__main__":
    raise SystemExit(main())

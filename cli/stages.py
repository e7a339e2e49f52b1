"""The stages check, prove and bmc share: load the spec under each memory model, select the
properties named on the command line, and print the results.

A stage that finds a mistake in the spec or in the command line raises `SpecError` or
`SpecErrors`; `cli.main` reports it once (exit status 2).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

from rich.console import Console

from smp_explorer.cli import report
from smp_explorer.cli.args import Output, SpecRequest
from smp_explorer.ir.model import Model
from smp_explorer.ir.properties import Kind
from smp_explorer.runs.results import RunResult, document
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import load_model


def quiet_stdout() -> None:
    """Point stdout at /dev/null after its reader went away (`explorer ... | head`), so that
    nothing more is written and the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class ReportConsole(Console):
    """Rich's console, but a closed stdout raises BrokenPipeError for `cli.main` to end the
    run quietly with its own status (Rich would exit with status 1, the "violated" status)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        quiet_stdout()
        raise BrokenPipeError


def consoles(output: Output) -> tuple[Console, Console]:
    """The report's console and the console of errors and warnings."""
    plain = output.plain or output.json
    out = ReportConsole(no_color=plain, highlight=False, emoji=False,
                        force_terminal=False if plain else None, soft_wrap=False,
                        width=output.width)
    err = Console(stderr=True, highlight=False, no_color=plain,
                  force_terminal=False if plain else None)
    return out, err


def report_spec_errors(err: Console, errors: Sequence[SpecError]) -> None:
    """Each error against the source line of its own file, when that file can be read."""
    sources: dict[str, str] = {}
    for e in errors:
        if e.span and e.span.file not in sources:
            try:
                sources[e.span.file] = Path(e.span.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                pass
    report.render_spec_errors(err, list(errors), sources)


def spec_error_json(e: SpecError) -> dict:
    """One error of the --json error document: file, line, col (null without a place),
    message, end_line, end_col, notes and kind ("spec"; "usage" for the command line)."""
    span = e.span
    return {"file": span.file if span else None, "line": span.line if span else None,
            "col": span.col if span else None, "message": e.message,
            "end_line": span.end_line if span else None,
            "end_col": span.end_col if span else None, "notes": list(e.notes), "kind": "spec"}


# ---- load -----------------------------------------------------------------------------------

def load(request: SpecRequest, memory: str | None) -> Model:
    """The spec lowered under `memory` (None: the spec's own memory model)."""
    return load_model(request.file, dict(request.consts), memory, request.buffer)


def load_models(request: SpecRequest) -> Iterator[tuple[str, Model]]:
    """The spec lowered once per requested memory model, one at a time (a later model's spec
    error is reported after the earlier models ran, as they ran)."""
    first = load(request, request.memories[0] if request.memories else None)
    for memory in request.memories or [first.memory]:
        yield memory, first if memory == first.memory else load(request, memory)


# ---- select ---------------------------------------------------------------------------------

def goal_names(model: Model) -> list[str]:
    """What `--invariant` may name for check and bmc: invariants and reachable goals."""
    return [p.name for p in model.properties if p.kind in (Kind.INVARIANT, Kind.REACHABLE)]


def split_liveness(model: Model, names: list[str] | None) -> tuple[list[str], list[str] | None]:
    """--invariant names split into liveness properties (checked by explorer.liveness) and the
    rest (None: every property of both kinds)."""
    live = [p.name for p in model.liveness]
    if names is None:
        return live, None
    return [n for n in names if n in live], [n for n in names if n not in live]


def reject_liveness(model: Model, names: list[str] | None, command: str) -> None:
    """prove and bmc do not check liveness: naming a liveness property is an error."""
    errors = [SpecError(f"--invariant {p.name}: a liveness property; `explorer {command}` does "
                        "not check liveness (it has no ranking functions): use `explorer check`",
                        p.span) for p in model.liveness if p.name in (names or [])]
    if errors:
        raise SpecErrors(errors)


def unknown_goal(model: Model, names: Sequence[str]) -> SpecError:
    return SpecError(f"--invariant {', '.join(names)}: no such invariant or reachable goal in "
                     f"{model.name} (known: "
                     f"{', '.join(goal_names(model) + [p.name for p in model.liveness]) or 'none'})")


def select_goals(model: Model, names: list[str] | None, *, one_error_each: bool) -> None:
    """Every name an invariant or reachable goal of the model; `one_error_each`: bmc reports
    each unknown name on its own, check all of them in one error."""
    known = goal_names(model)
    unknown = [n for n in names or [] if n not in known]
    if not unknown:
        return
    if one_error_each:
        raise SpecErrors([unknown_goal(model, [n]) for n in unknown])
    raise SpecErrors([unknown_goal(model, unknown)])


# ---- render ---------------------------------------------------------------------------------

def render(out: Console, output: Output, spec: str, model: Model,
           results: list[RunResult]) -> None:
    """One JSON document, or the report of the runs (their engine says which)."""
    if output.json:
        print(json.dumps(document(spec, results), indent=2))
    else:
        report.render_results(out, results, model, plain=output.plain, quiet=output.quiet,
                              width=output.width, all_columns=output.all_columns,
                              witness=output.witness)

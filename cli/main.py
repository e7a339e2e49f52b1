"""The `explorer` command line: parse the request, run its pipeline, and turn what stopped it
into an exit status. The only place that catches errors; nothing below it exits."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys

from smp_explorer.cli.args import (EXIT_USAGE, CheckRequest, LitmusRequest, ProveRequest,
                                   Request, UsageError, error_document, parse_request,
                                   usage_error_json)
from smp_explorer.cli.check import run_check
from smp_explorer.cli.litmus import run_litmus
from smp_explorer.cli.stages import consoles, report_spec_errors, spec_error_json
from smp_explorer.cli.symbolic import run_bmc, run_prove
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.spec.errors import SpecError, SpecErrors

EXIT_INTERRUPTED = 130
EXIT_DISAGREE = 4


# Several files give one exit status, the worst of theirs, from worst to best:
# a bug (4), Ctrl-C (130), a usage or spec error (2), a violation (1), undecided (3), all hold.
SEVERITY = (EXIT_DISAGREE, EXIT_INTERRUPTED, EXIT_USAGE, 1, 3, 0)


def worst(statuses: list[int]) -> int:
    return min(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else -1)


def main(argv: list[str] | None = None) -> int:
    request = parse_request(argv)
    if isinstance(request, CheckRequest) and len(request.files) > 1:
        return check_files(request)
    return guarded(request)


def check_files(request: CheckRequest) -> int:
    """`check` of several files: each file's report in turn (with --json, one document whose
    `files` lists each file's document with its `spec` and `exit_status`), and the worst exit
    status."""
    statuses, documents = [], []
    for file in request.files:
        one = dataclasses.replace(request, file=file, files=[file])
        if not request.output.json:
            statuses.append(guarded(one))
            if statuses[-1] == EXIT_INTERRUPTED:  # Ctrl-C outside a search ends every file
                break
            continue
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            statuses.append(guarded(one))
        text = captured.getvalue().strip()  # empty after Ctrl-C or an internal error
        documents.append({"spec": file, "exit_status": statuses[-1],
                          **(json.loads(text) if text else {})})
        if statuses[-1] == EXIT_INTERRUPTED:  # Ctrl-C outside a search ends every file
            break
    if request.output.json:
        print(json.dumps({"version": 1, "files": documents}, indent=2))
    return worst(statuses)


def guarded(request: Request) -> int:
    """Run one request; what stopped it, as an exit status (and with --json, an error
    document on stdout)."""
    as_json = request.json if isinstance(request, LitmusRequest) else request.output.json
    try:
        return run(request)
    except KeyboardInterrupt:
        sys.stderr.write("explorer: interrupted\n")
        return EXIT_INTERRUPTED
    except UsageError as e:
        sys.stderr.write(f"explorer: error: {e}\n")
        if as_json:
            print(error_document([usage_error_json(str(e))]))
        return EXIT_USAGE
    except EngineDisagreement as e:  # Z3 and the explorer differ on one model: a bug
        sys.stderr.write(f"explorer: internal error: the engines disagree: {e}\n"
                         "(this is a bug in smp-explorer; please report it with the spec)\n")
        return EXIT_DISAGREE


def run(request: Request) -> int:
    if isinstance(request, LitmusRequest):
        return run_litmus(request)
    out, err = consoles(request.output)
    errors: list[SpecError]
    try:
        if isinstance(request, CheckRequest):
            return run_check(request, out, err)
        if isinstance(request, ProveRequest):
            return run_prove(request, out)
        return run_bmc(request, out)
    except SpecErrors as e:
        errors = e.errors
    except SpecError as e:
        errors = [e]
    report_spec_errors(err, errors)
    if request.output.json:
        print(error_document([spec_error_json(e) for e in errors]))
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

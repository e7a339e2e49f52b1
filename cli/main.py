"""The `explorer` command line: parse the request, run its pipeline, and turn what stopped it
into an exit status. The only place that catches errors; nothing below it exits."""
from __future__ import annotations

import sys

from smp_explorer.cli.args import (EXIT_USAGE, CheckRequest, LitmusRequest, ProveRequest,
                                   Request, ResumeRequest, UsageError, parse_request)
from smp_explorer.cli.check import run_check
from smp_explorer.cli.litmus import run_litmus
from smp_explorer.cli.resume import resumed_request, start
from smp_explorer.explorer.checkpoint import CheckpointError
from smp_explorer.cli.stages import consoles, report_spec_errors
from smp_explorer.cli.symbolic import run_bmc, run_prove
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.spec.errors import SpecError, SpecErrors

EXIT_INTERRUPTED = 130
EXIT_DISAGREE = 4


def main(argv: list[str] | None = None) -> int:
    request = parse_request(argv)
    try:
        return run(request)
    except KeyboardInterrupt:
        sys.stderr.write("explorer: interrupted\n")
        return EXIT_INTERRUPTED
    except (UsageError, CheckpointError) as e:
        sys.stderr.write(f"explorer: error: {e}\n")
        return EXIT_USAGE
    except EngineDisagreement as e:  # Z3 and the explorer differ on one model: a bug
        sys.stderr.write(f"explorer: internal error: the engines disagree: {e}\n"
                         "(this is a bug in smp-explorer; please report it with the spec)\n")
        return EXIT_DISAGREE


def run(request: Request) -> int:
    if isinstance(request, LitmusRequest):
        return run_litmus(request)
    if isinstance(request, ResumeRequest):
        request = resumed_request(request)
    out, err = consoles(request.output)
    try:
        if isinstance(request, CheckRequest):
            if request.checkpoint is not None and not request.resume:
                start(request)  # a new checkpoint directory
            return run_check(request, out, err)
        if isinstance(request, ProveRequest):
            return run_prove(request, out)
        return run_bmc(request, out)
    except SpecErrors as e:
        report_spec_errors(err, e.errors)
    except SpecError as e:
        report_spec_errors(err, [e])
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

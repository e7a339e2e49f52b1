"""The `explorer` command line: parse the request, run its pipeline, and turn what stopped it
into an exit status. The only place that catches errors; nothing below it exits."""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import io
import json
import signal
import sys
import threading
import time

from smp_explorer.cli.args import (EXIT_USAGE, CheckRequest, LitmusRequest, ProveRequest,
                                   Request, ResumeRequest, UsageError, error_document,
                                   parse_request,
                                   usage_error_json)
from smp_explorer.cli.check import run_check
from smp_explorer.cli.litmus import run_litmus
from smp_explorer.cli.resume import resumed_request, start
from smp_explorer.cli.stages import consoles, quiet_stdout, report_spec_errors, spec_error_json
from smp_explorer.explorer.allocator import set_for_search
from smp_explorer.explorer.checkpoint import CheckpointError
from smp_explorer.cli.symbolic import run_bmc, run_prove
from smp_explorer.invariants.symbolic import EngineDisagreement
from smp_explorer.spec.errors import SpecError, SpecErrors

EXIT_INTERRUPTED = 3   # as a limit: something was left undecided (README)
EXIT_DISAGREE = 4
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt   # SIGTERM and SIGHUP end a run as Ctrl-C does


# Deeply nested specs (an invariant of hundreds of `or`s, hundreds of nested `if`s, thousands of
# labels or unary minuses) are parsed, lowered and compiled by recursive code: the run gets a
# thread with a large stack and a recursion limit to match; deeper still is a clear error.
STACK_BYTES = 1 << 28
RECURSION_LIMIT = 50_000


# Several files give one exit status, the worst of theirs, from worst to best: a bug (4), a
# usage or spec error (2), a violation (1), undecided (3: a limit or a signal), all hold (0).
SEVERITY = (EXIT_DISAGREE, EXIT_USAGE, 1, EXIT_INTERRUPTED, 0)


def worst(statuses: list[int]) -> int:
    return min(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else -1)


def main(argv: list[str] | None = None) -> int:
    # before the thread that searches first allocates (it gets the main arena then)
    set_for_search()
    saved = {}
    if threading.current_thread() is threading.main_thread():
        saved = {s: signal.signal(s, _interrupt) for s in STOP_SIGNALS}
    try:
        return _in_big_stack(argv)
    except KeyboardInterrupt:   # a stop signal outside any run's own handling
        sys.stderr.write("explorer: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:   # stdout closed (`explorer ... | head`): end quietly
        quiet_stdout()
        return EXIT_INTERRUPTED
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _in_big_stack(argv: list[str] | None) -> int:
    """`_main` in a thread with a large stack. Signals arrive in this (the main) thread: a
    KeyboardInterrupt here is passed on to the worker, where the engines handle it. The stop
    signals are held back while the worker starts, so that one arriving then is passed on
    too (not raised between the start and the loop, which would leave the worker running
    with the small recursion limit restored)."""
    outcome: list = []
    waiting = threading.Event()   # set once this thread waits in its loop, signals unblocked

    def work() -> None:
        try:
            try:
                waiting.wait()
                _hold_signals(held, block=False)   # what this thread starts inherits its mask
            except KeyboardInterrupt:   # passed on before the run began
                sys.stderr.write("explorer: interrupted\n")
                outcome.append((True, EXIT_INTERRUPTED))
                return
            outcome.append((True, _main(argv)))
        except BaseException as e:   # SystemExit from argparse, BrokenPipeError: re-raised below
            outcome.append((False, e))
    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    held = _hold_signals({signal.SIGINT, *STOP_SIGNALS}, block=True)
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))   # before the worker can recurse
    worker = threading.Thread(target=work, name="explorer")
    try:
        threading.stack_size(STACK_BYTES)
        worker.start()
    except (RuntimeError, ValueError, MemoryError):   # no such stack (ulimit -v): run here
        sys.setrecursionlimit(old_limit)
        _hold_signals(held, block=False)
        return _main(argv)
    finally:
        threading.stack_size(old_size)
    try:
        while True:   # (not join: interrupting a join can mark the thread stopped)
            try:
                _hold_signals(held, block=False)   # at least once: a held signal lands here
                waiting.set()
                if outcome:
                    break
                time.sleep(0.02)
            except KeyboardInterrupt:
                _raise_in(worker, KeyboardInterrupt)
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    ok, value = outcome[0]
    if ok:
        return value
    raise value


def _hold_signals(signals: set[int], block: bool) -> set[int]:
    """Block `signals` (block) or set the mask to exactly `signals`, in this thread where the
    platform has signal masks; the previous mask."""
    if not hasattr(signal, "pthread_sigmask"):
        return set()
    how = signal.SIG_BLOCK if block else signal.SIG_SETMASK
    return set(signal.pthread_sigmask(how, signals))


def _raise_in(thread: threading.Thread, exc: type[BaseException]) -> None:
    """Raise `exc` in `thread` at its next bytecode (CPython's asynchronous exception)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(exc))


def _main(argv: list[str] | None) -> int:
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
    if isinstance(request, LitmusRequest):
        as_json = request.json
    elif isinstance(request, ResumeRequest):   # None: as the interrupted run printed
        as_json = request.output is not None and request.output.json
    else:
        as_json = request.output.json
    try:
        return run(request)
    except KeyboardInterrupt:
        sys.stderr.write("explorer: interrupted\n")
        return EXIT_INTERRUPTED
    except RecursionError:
        sys.stderr.write(f"explorer: error: the spec is nested too deeply (expressions, `if`s "
                         f"or steps beyond {RECURSION_LIMIT:,} levels of recursion)\n")
        return EXIT_USAGE
    except MemoryError:
        sys.stderr.write("explorer: memory ran out (try --max-states, a smaller spec, or more "
                         "memory)\n")
        return EXIT_INTERRUPTED
    except (UsageError, CheckpointError) as e:
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
    if isinstance(request, ResumeRequest):
        request = resumed_request(request)
    out, err = consoles(request.output)
    errors: list[SpecError]
    try:
        if isinstance(request, CheckRequest):
            if request.checkpoint is not None and not request.resume:
                start(request)  # a new checkpoint directory
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

"""The command line's arguments: one parser for every subcommand, and the request each
subcommand runs, built from argparse's namespace once.

The argument types say what is allowed when a value is bad; a usage error exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Callable, NoReturn, Union

import shtab

from smp_explorer.spec.memory import MODELS

MEMORY_MODELS = tuple(MODELS)          # operational: lowered and explored state by state
AXIOMATIC_MODELS = ("lkmm",)           # axiomatic: checked by invariants/axiomatic on Z3
ALL_MEMORY_MODELS = MEMORY_MODELS + AXIOMATIC_MODELS
# --unroll's default: loops other than `await` are unrolled this many iterations under lkmm
# (a spin-wait costs no unrolling); an execution that reaches the bound makes a property
# `bounded`, not `holds`
DEFAULT_UNROLL = 2


def whole_number(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value
    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:   # (NaN included: it is no number of seconds)
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_size(text: str) -> int:
    """A number of bytes: 4G, 512M, 1.5GiB, 800MB (binary units), or bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if m is None or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M or 4G, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def const_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def memory_list(text: str) -> list[str]:
    """`sc,tso,...`: known memory models, each once, in the order given."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ALL_MEMORY_MODELS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown memory model {', '.join(bad) or repr(text)}; allowed: "
            f"{', '.join(ALL_MEMORY_MODELS)} (comma-separated)")
    return list(dict.fromkeys(names))


# ---- requests -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Output:
    """How a report is printed: Rich (the default), `--plain` text, or one `--json` document."""

    json: bool = False
    plain: bool = False
    quiet: bool = False  # verdicts only, no traces
    width: int | None = None   # --width: columns of the report (None: the terminal's; plain 80)
    all_columns: bool = False  # --all-columns: a trace column for every process, moving or not
    witness: bool = False      # --witness: print the witness trace of each reached goal


@dataclass(frozen=True, kw_only=True)
class SpecRequest:
    """What check, prove and bmc share: the spec, how it is instantiated, what to check."""

    file: str
    consts: list[tuple[str, str]]
    memories: list[str] | None       # None: the spec's own memory model
    buffer: int | None
    properties: list[str] | None     # --invariant (None: every property)
    timeout: float | None
    output: Output
    unroll: int | None = None        # --unroll K under an axiomatic model (None: not given)


@dataclass(frozen=True, kw_only=True)
class CheckRequest(SpecRequest):
    files: list[str] = field(default_factory=list)  # every FILE given; `file` is the first
    max_states: int | None
    max_depth: int | None
    check_deadlock: bool
    stop_at_first: bool
    engine: str                      # auto | scalar | vector
    exact: bool
    z3_check: bool                   # --z3-check: Z3 re-evaluates every state
    z3: bool                         # False with --no-z3: no pre-check, no explanations
    html: str | None = None          # --html FILE: a self-contained report (cli.report.html)
    dot: str | None = None           # --dot FILE: the reachable state graph (cli.export)
    itf: str | None = None           # --itf DIR: each trace in the Informal Trace Format
    buffer_fairness: bool = True     # False with --no-buffer-fairness (liveness)
    symmetry: bool = True            # False with --no-symmetry (explorer.symmetry)
    checkpoint: str | None = None    # --checkpoint DIR (cli.resume)
    checkpoint_every: float = 60.0
    resume: bool = False             # go on from the checkpoints in `checkpoint`
    max_memory: int | None = None    # --max-memory, bytes (None: explorer.spill's default)
    # the explicit-search options given (with lkmm beside operational models: applied to
    # those only, said in a warning)
    search_options: tuple[str, ...] = ()
    workers: int | None = None       # --workers N: partitions on Ray (explorer.distributed)
    ray: str | None = None           # --ray ADDRESS: join this Ray cluster
    reduction: bool = True           # partial-order reduction (off with --no-reduction)


@dataclass(frozen=True, kw_only=True)
class ResumeRequest:
    directory: str
    output: Output | None            # None: as the interrupted run printed


@dataclass(frozen=True, kw_only=True)
class ProveRequest(SpecRequest):
    assume: list[str]
    k: int


@dataclass(frozen=True, kw_only=True)
class BmcRequest(SpecRequest):
    depth: int | None                # None: lkmm alone (no depth to bound)
    check_deadlock: bool


@dataclass(frozen=True, kw_only=True)
class LitmusRequest:
    paths: list[str]
    memories: list[str]
    json: bool
    summary: bool
    spec: bool
    max_states: int | None
    timeout: float | None
    herd: bool = False               # --herd: herd7's output (final states, Observation line)


Request = Union[CheckRequest, ProveRequest, BmcRequest, LitmusRequest, ResumeRequest]


def _spec_fields(ns: argparse.Namespace) -> dict:
    return dict(file=ns.file, consts=ns.const, memories=ns.memory, buffer=ns.buffer,
                properties=ns.invariant, timeout=ns.timeout, unroll=_unroll(ns),
                output=Output(json=ns.json, plain=ns.plain, quiet=ns.quiet, width=ns.width,
                              all_columns=ns.all_columns, witness=ns.witness))


def _check(ns: argparse.Namespace) -> CheckRequest:
    fields = _spec_fields(ns)
    files = fields.pop("file")
    return _axiomatic_check(ns, CheckRequest(**fields, file=files[0], files=files, max_states=ns.max_states, max_depth=ns.max_depth,
                        check_deadlock=not ns.no_deadlock, stop_at_first=ns.stop_at_first,
                        engine=ns.engine, exact=ns.exact, z3_check=ns.z3_check, z3=not ns.no_z3,
                        html=ns.html, dot=ns.dot, itf=ns.itf,
                        buffer_fairness=not ns.no_buffer_fairness, symmetry=not ns.no_symmetry,
                        checkpoint=ns.checkpoint, checkpoint_every=ns.checkpoint_every,
                        max_memory=ns.max_memory, workers=ns.workers, ray=ns.ray,
                        reduction=ns.reduction))


def _resume(ns: argparse.Namespace) -> ResumeRequest:
    given = ns.json or ns.plain or ns.quiet
    return ResumeRequest(directory=ns.directory, output=Output(
        json=ns.json, plain=ns.plain, quiet=ns.quiet) if given else None)


def _prove(ns: argparse.Namespace) -> ProveRequest:
    if axiomatic(ns.memory):
        raise _ArgumentError(
            f"--memory {', '.join(axiomatic(ns.memory))}: `explorer prove` does not check "
            "axiomatic models (k-induction is over the operational models' steps); use "
            "`explorer check` or `explorer bmc` with --memory lkmm", "")
    return ProveRequest(**_spec_fields(ns), assume=ns.assume, k=ns.k)


def _bmc(ns: argparse.Namespace) -> BmcRequest:
    if ns.memory is not None:   # (a spec's own model is known once it is read: cli.symbolic)
        operational = [m for m in ns.memory if m not in AXIOMATIC_MODELS]
        if ns.depth is None and operational:
            raise _ArgumentError(depth_required(operational), "")
        if ns.depth is not None and not operational:
            raise _ArgumentError(DEPTH_UNDER_LKMM, "")
    _reject_search_options(ns.memory, _given(ns, {"buffer": "--buffer"}))
    return BmcRequest(**_spec_fields(ns), depth=ns.depth, check_deadlock=not ns.no_deadlock)


def _litmus(ns: argparse.Namespace) -> LitmusRequest:
    _reject_search_options(ns.memory, _given(ns, {"max_states": "--max-states"}))
    return LitmusRequest(paths=ns.paths, memories=ns.memory, json=ns.json, summary=ns.summary,
                         spec=ns.spec, max_states=ns.max_states, timeout=ns.timeout,
                         herd=ns.herd)


# ---- axiomatic models (lkmm) ----------------------------------------------------------------

def axiomatic(memories: list[str] | None) -> list[str]:
    """The axiomatic models among `memories` (None: the spec's own model, known once read)."""
    return [m for m in memories or [] if m in AXIOMATIC_MODELS]


UNROLL_WITHOUT_LKMM = ("--unroll K applies to --memory lkmm only (the operational models "
                       "explore loops without a bound)")
DEPTH_UNDER_LKMM = ("--depth K has no meaning under --memory lkmm (an axiomatic model has no "
                    "steps to count): bound loops with --unroll K")


def depth_required(models: list[str]) -> str:
    return f"the following arguments are required: --depth (it bounds the search under " \
           f"{', '.join(models)})"


def _unroll(ns: argparse.Namespace) -> int | None:
    """--unroll K, only with an axiomatic model to unroll for (with no --memory, the spec's
    own model decides: cli.axiomatic.check_own_model)."""
    given = getattr(ns, "unroll", None)
    if given is not None and ns.memory is not None and not axiomatic(ns.memory):
        raise _ArgumentError(UNROLL_WITHOUT_LKMM, "")
    return None if given is None else int(given)


# Options of the explicit-state search, meaningless to the axiomatic engine (no states, no
# store buffers, no search order): with lkmm alone they are an error; beside operational models
# they apply to those only, and `explorer check` says so (cli.axiomatic.warn_search_options).
SEARCH_OPTIONS = {"buffer": "--buffer", "max_states": "--max-states", "max_depth": "--max-depth",
                  "stop_at_first": "--stop-at-first", "exact": "--exact",
                  "z3_check": "--z3-check", "no_z3": "--no-z3", "dot": "--dot", "itf": "--itf",
                  "no_buffer_fairness": "--no-buffer-fairness", "max_memory": "--max-memory",
                  "workers": "--workers", "ray": "--ray"}


def _given(ns: argparse.Namespace, options: dict[str, str]) -> list[str]:
    """The flags of `options` given on the command line (a value, or a flag set)."""
    given = [flag for dest, flag in options.items()
             if getattr(ns, dest, None) not in (None, False)]
    if getattr(ns, "engine", "auto") != "auto":
        given.append(f"--engine {ns.engine}")
    return given


def search_options_refused(given: list[str] | tuple[str, ...]) -> str:
    return f"{', '.join(given)}: no meaning under --memory lkmm, which the axiomatic engine " \
        "checks on Z3 (no states, store buffers or search order); these options apply to " \
        f"{', '.join(MEMORY_MODELS)}"


def _reject_search_options(memories: list[str] | None, given: list[str]) -> None:
    if given and memories is not None and all(m in AXIOMATIC_MODELS for m in memories):
        raise _ArgumentError(search_options_refused(given), "")


def _axiomatic_check(ns: argparse.Namespace, request: CheckRequest) -> CheckRequest:
    """check's options against lkmm: search options alone with it are an error; a checkpoint
    cannot hold an axiomatic run (resume replays explicit searches)."""
    if not axiomatic(request.memories):
        return replace(request, search_options=tuple(_given(ns, SEARCH_OPTIONS)))
    if request.checkpoint is not None:
        raise _ArgumentError(
            "--checkpoint: an axiomatic model (lkmm) has no search to save and resume; check "
            "lkmm in a run of its own without --checkpoint", "")
    _reject_search_options(request.memories, _given(ns, SEARCH_OPTIONS))
    return replace(request, search_options=tuple(_given(ns, SEARCH_OPTIONS)))


# ---- the parser -----------------------------------------------------------------------------

EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot run, found after parsing (`explorer: error: ...`, status 2)."""


class _ArgumentError(Exception):
    """A bad command line, raised by any of the parsers and reported once by `parse_request`."""

    def __init__(self, message: str, usage: str):
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with status 2 through our own message format."""

    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(message, self.format_usage())


def error_document(errors: list[dict]) -> str:
    """With --json, errors as one document on stdout: {"version": 1, "errors": [...]}; each
    error has file, line, col (null when it has no place in a spec) and message."""
    return json.dumps({"version": 1, "errors": errors}, indent=2)


def usage_error_json(message: str) -> dict:
    return {"file": None, "line": None, "col": None, "message": message, "end_line": None,
            "end_col": None, "notes": [], "kind": "usage"}


def package_version() -> str:
    """The installed distribution's version (pyproject.toml), as pip knows it."""
    try:
        return metadata.version("smp-explorer")
    except metadata.PackageNotFoundError:
        return "unknown (the package is not installed: pip install -e .)"


def _spec_options(p: argparse.ArgumentParser, timeout_help: str) -> None:
    """The spec and its instantiation (prove, bmc)."""
    _spec_file(p)
    _instantiation(p)
    p.add_argument("--timeout", metavar="S", type=seconds, help=timeout_help)


def _complete_files(action: argparse.Action) -> None:
    """Shell completion offers file names for this argument (shtab's `complete` hook)."""
    setattr(action, "complete", shtab.FILE)


def _spec_file(p: argparse.ArgumentParser, several: bool = False) -> None:
    if several:
        arg = p.add_argument("file", metavar="FILE", nargs="+",
                             help="spec files, each checked and reported in turn")
    else:
        arg = p.add_argument("file", metavar="FILE", help="the spec file")
    _complete_files(arg)
    p.add_argument("--const", metavar="NAME=VALUE", type=const_assignment, action="append",
                   default=[], help="override a constant of the spec (repeatable)")


def _instantiation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory", metavar="M[,M...]", type=memory_list, default=None,
                   help=f"memory models to check under (allowed: {', '.join(ALL_MEMORY_MODELS)};"
                        " lkmm: the Linux-kernel memory model, checked by the axiomatic engine)")
    p.add_argument("--buffer", metavar="N", type=positive_int,
                   help="store-buffer capacity per CPU (tso) or per CPU and address (pso, "
                        "weak); default 2, or the most stores one step makes to one buffer")


def _unroll_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unroll", metavar="K", type=positive_int, default=None,
                   help="under lkmm: unroll each loop up to K iterations (default "
                        f"{DEFAULT_UNROLL}; an `await` costs none); a property no execution "
                        "within the bound violates, but that an execution reaching the bound "
                        "might, is 'bounded', not 'holds'")


def _output_options(p: argparse.ArgumentParser) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--plain", action="store_true",
                     help="plain text (no colour, no box drawing), ready to paste into a mail")
    p.add_argument("--quiet", action="store_true", help="verdicts only, no traces")
    p.add_argument("--width", metavar="N", type=whole_number(40),
                   help="lay the report out in N columns (default: the terminal's; plain: 80)")
    p.add_argument("--all-columns", action="store_true",
                   help="a trace column for every process (default: only those that move)")
    p.add_argument("--witness", action="store_true",
                   help="also print the witness trace of each reached goal")


def _invariant_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--invariant", metavar="NAME", action="append", default=None, help=help)


def _ram_now() -> str:
    from smp_explorer.explorer.spill import default_budget
    budget = default_budget()
    return "" if budget is None else f", {budget / 2**30:.1f} GiB here"


_CHECKED = "check only these invariants / reachable goals (repeatable)"
_NO_DEADLOCK = "do not report deadlocks"


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="explore every reachable state and check the properties",
                       description="Breadth-first exploration of every reachable state; "
                                   "reports each property's verdict and the shortest "
                                   "counterexample of each violation.")
    _spec_file(p, several=True)
    _invariant_option(p, _CHECKED)
    _instantiation(p)
    _unroll_option(p)
    p.add_argument("--max-states", metavar="N", type=positive_int,
                   help="stop after N distinct states")
    p.add_argument("--max-depth", metavar="N", type=positive_int,
                   help="do not explore beyond N steps from an initial state")
    p.add_argument("--timeout", metavar="S", type=seconds, help="stop after S seconds")
    p.add_argument("--max-memory", metavar="SIZE", type=memory_size,
                   help="the memory the search may add (e.g. 512M, 8G; default: half of this "
                        f"machine's RAM{_ram_now()}): beyond it the visited set spills to "
                        "disk, or, where it cannot (the scalar engine, --exact states of more "
                        "than 64 bits), the search stops with its statistics and exit status 3")
    p.add_argument("--no-deadlock", action="store_true", help=_NO_DEADLOCK)
    p.add_argument("--stop-at-first", action="store_true",
                   help="stop at the first violation instead of deciding every property")
    p.add_argument("--no-buffer-fairness", action="store_true",
                   help="liveness: store buffers need not drain and stale views need not catch "
                        "up (by default they eventually do, as hardware does)")
    p.add_argument("--no-symmetry", action="store_true",
                   help="explore every state, not one per orbit of the spec's scalarsets "
                        "(symmetry reduction is on by default when the spec declares one)")
    p.add_argument("--engine", choices=("auto", "scalar", "vector"), default="auto",
                   help="search engine: generated Python code (scalar), NumPy over whole "
                        "frontiers (vector), or scalar for narrow levels and vector for "
                        "wide ones (auto, the default); the results are the same")
    p.add_argument("--exact", action="store_true",
                   help="store whole states even when they need more than 128 bits "
                        "(default: 64-bit fingerprints there)")
    p.add_argument("--workers", metavar="N", type=positive_int,
                   help="search on N partitions of the visited set, each a process of a local "
                        "Ray (with --ray: on the cluster); the results are the same (needs "
                        "pip install 'smp-explorer[ray]')")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="join the Ray cluster at ADDRESS (host:port, or auto) and search on "
                        "--workers partitions there (default: one per CPU of the cluster)")
    p.add_argument("--reduction", action=argparse.BooleanOptionalAction, default=True,
                   help="partial-order reduction (on by default): steps that commute with all "
                        "others and change nothing a property reads are explored in one order "
                        "only, where that pays; verdicts and trace lengths are the same, state "
                        "counts are the reduced graph's (--no-reduction: every interleaving, "
                        "counts comparable with other tools'; see README)")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="save the search in DIR every --checkpoint-every seconds, to go on "
                        "with `explorer resume DIR` after an interruption")
    p.add_argument("--checkpoint-every", metavar="S", type=seconds, default=60.0,
                   help="seconds between two checkpoints (default 60)")
    _output_options(p)
    p.add_argument("--html", metavar="FILE",
                   help="also write a self-contained HTML report: the verdicts, each trace "
                        "step by step, the statistics")
    p.add_argument("--dot", metavar="FILE",
                   help="also write the reachable state graph in Graphviz's DOT language, the "
                        "first counterexample in red (small models; FILE.MEMORY.dot for "
                        "several memory models)")
    p.add_argument("--itf", metavar="DIR",
                   help="also write each trace in Apalache's Informal Trace Format, one "
                        "MEMORY-PROPERTY.itf.json file per trace")
    z3 = p.add_mutually_exclusive_group()
    z3.add_argument("--z3-check", action="store_true",
                    help="also evaluate every invariant, goal and step with Z3 on every "
                         "distinct state and fail on any disagreement (slow)")
    z3.add_argument("--no-z3", action="store_true",
                    help="skip the Z3 pre-check of the invariants (valid, unsatisfiable, "
                         "false initially) and the explanations of violations")
    p.set_defaults(request=_check)


_SYMBOLIC_TIMEOUT = "give up after S seconds (undecided properties are 'unknown')"


def _add_prove(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prove", help="prove invariants by k-induction (Z3)",
        description="Prove each invariant (or the properties named) by k-induction over the "
                    "transition relation: 'proved', 'violated' with a real counterexample, or "
                    "'not-inductive' with a counterexample to induction, whose states need not "
                    "be reachable.")
    _spec_options(p, _SYMBOLIC_TIMEOUT)
    _output_options(p)
    _invariant_option(p, "prove only these properties (invariants, assertions, "
                         "no_runtime_error, deadlock_free; repeatable; default: every "
                         "invariant)")
    p.add_argument("--assume", metavar="NAME", action="append", default=[],
                   help="a helper invariant proved together with each property, to "
                        "strengthen the induction (repeatable)")
    p.add_argument("--k", metavar="K", type=positive_int, default=1,
                   help="try k-induction for k = 1..K (default 1: plain induction)")
    p.set_defaults(request=_prove)


def _add_bmc(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bmc", help="bounded symbolic search for violations within K steps (Z3)",
        description="Bounded model checking: every property's shortest violation (a "
                    "reachable goal's shortest witness) within K steps of an initial state, "
                    "or 'bounded': none up to depth K.")
    _spec_options(p, _SYMBOLIC_TIMEOUT)
    _output_options(p)
    p.add_argument("--depth", metavar="K", type=non_negative_int, default=None,
                   help="search traces of at most K steps (required, except under lkmm alone)")
    _unroll_option(p)
    _invariant_option(p, _CHECKED)
    p.add_argument("--no-deadlock", action="store_true", help=_NO_DEADLOCK)
    p.set_defaults(request=_bmc)


def _add_litmus(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "litmus", help="check herd7 .litmus tests (x86, Linux-kernel C) under memory models",
        description="Translate herd7 litmus tests (X86 Intel syntax, X86_64 AT&T syntax, "
                    "Linux-kernel C) into specs and give the verdict of each final condition "
                    "under each memory model. A directory runs every .litmus file below it.")
    paths = p.add_argument("paths", metavar="PATH", nargs="+",
                           help=".litmus files or directories")
    _complete_files(paths)
    # a litmus test is translated under every operational memory model (spec.litmus.translate)
    p.add_argument("--memory", metavar="M[,M...]", type=memory_list, default=list(MEMORY_MODELS),
                   help=f"memory models (default: all of {', '.join(MEMORY_MODELS)}; also "
                        "lkmm: the Linux-kernel memory model, on the axiomatic engine)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help='print {"tests": [{"path", "name", "memory", "verdict", "states", '
                          '"outcomes"}]}')
    out.add_argument("--summary", action="store_true",
                     help="an agreement table against the MANIFEST.tsv found beside the tests")
    out.add_argument("--spec", action="store_true",
                     help="print the translated spec of each test and model instead of running")
    out.add_argument("--herd", action="store_true",
                     help="herd7's output per test and model (final states, Ok/No, Witnesses, "
                          "Condition, Observation), to diff against herd7's")
    p.add_argument("--max-states", metavar="N", type=positive_int,
                   help="give up on a test after N distinct states")
    p.add_argument("--timeout", metavar="S", type=seconds,
                   help="give up on a test after S seconds (per test and model)")
    p.set_defaults(request=_litmus)


def _add_resume(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "resume", help="finish a `check --checkpoint DIR` run from its last checkpoint",
        description="Go on with an interrupted `explorer check --checkpoint DIR` run from its "
                    "last checkpoint, with the same spec and flags; the results are those of "
                    "an uninterrupted run.")
    p.add_argument("directory", metavar="DIR", help="the run's checkpoint directory")
    _output_options(p)
    p.set_defaults(request=_resume)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="explorer", description="Check concurrent protocols exhaustively.")
    parser.add_argument("--version", action="version",
                        version=f"explorer (smp-explorer) {package_version()}")
    shtab.add_argument_to(parser, "--print-completion",
                          help="print a shell completion script (bash, zsh or tcsh) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_check(sub)
    _add_litmus(sub)
    _add_prove(sub)
    _add_bmc(sub)
    _add_resume(sub)
    return parser


def parse_request(argv: list[str] | None = None) -> Request:
    """The request of the subcommand `argv` names (a usage error exits with status 2; with
    --json, it is also printed as a JSON error document on stdout)."""
    args = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except _ArgumentError as e:
        sys.stderr.write(e.usage)
        sys.stderr.write(f"explorer: error: {e}\n")
        if "--json" in args:
            print(error_document([usage_error_json(str(e))]))
        raise SystemExit(EXIT_USAGE) from None
    make: Callable[[argparse.Namespace], Request] = ns.request
    try:
        return make(ns)
    except _ArgumentError as e:   # options that cannot go together (lkmm and the search's)
        sys.stderr.write(f"explorer: error: {e}\n")
        if "--json" in args:
            print(error_document([usage_error_json(str(e))]))
        raise SystemExit(EXIT_USAGE) from None

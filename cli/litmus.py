"""`explorer litmus`: check herd7 litmus tests under the memory models.

    explorer litmus PATH... [--memory M,...] [--json | --summary] [--spec]
                            [--max-states N] [--timeout S]

Each PATH is a `.litmus` file or a directory (every `*.litmus` below it, in sorted order). For
each test and memory model it prints the verdict of the final condition: `Allowed`/`Forbidden`
(`exists`, `~exists`, `final`: whether the proposition is satisfiable), `Always`/`Not always`
(`forall`), or `unsupported: <construct>`. When a MANIFEST.tsv is found beside the tests (in the
directory of a PATH or above it), a verdict that differs from the expected one is marked, and
`--summary` prints an agreement table per corpus folder and model instead of the verdicts.

Exit status: 2 if a file could not be read as a litmus test (the other tests still run);
1 if `--summary` found a disagreement; 0 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smp_explorer.cli.args import memory_list, positive_int, seconds
from smp_explorer.spec.litmus import (MEMORY_MODELS, LitmusError, LitmusTest, Row, Unsupported,
                                     expected, find_manifest, read_litmus, read_manifest, translate)
from smp_explorer.explorer.litmus import Outcome, run_test

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2


def add_litmus_command(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "litmus", help="check herd7 .litmus tests (x86, Linux-kernel C) under memory models",
        description="Translate herd7 litmus tests (X86 Intel syntax, X86_64 AT&T syntax, "
                    "Linux-kernel C) into specs and give the verdict of each final condition "
                    "under each memory model. A directory runs every .litmus file below it.")
    p.add_argument("paths", metavar="PATH", nargs="+", help=".litmus files or directories")
    p.add_argument("--memory", metavar="M[,M...]", type=memory_list, default=list(MEMORY_MODELS),
                   help=f"memory models (default: all of {', '.join(MEMORY_MODELS)})")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help='print {"tests": [{"path", "name", "memory", "verdict", "states"}]}')
    out.add_argument("--summary", action="store_true",
                     help="an agreement table against the MANIFEST.tsv found beside the tests")
    out.add_argument("--spec", action="store_true",
                     help="print the translated spec of each test and model instead of running")
    p.add_argument("--max-states", metavar="N", type=positive_int,
                   help="give up on a test after N distinct states")
    p.add_argument("--timeout", metavar="S", type=seconds,
                   help="give up on a test after S seconds (per test and model)")
    p.set_defaults(main=cmd_litmus)
    return p


# ---- collecting the tests ---------------------------------------------------------------------------

@dataclass
class _Item:
    shown: str                      # the path as given, joined with the path below a directory
    file: Path
    manifest_key: str | None = None
    row: Row | None = None


@dataclass
class _Manifests:
    rows: dict[Path, dict[str, Row]] = field(default_factory=dict)  # manifest dir -> rows

    def lookup(self, file: Path) -> tuple[str | None, Row | None]:
        m = find_manifest(file)
        if m is None:
            return None, None
        d = m.parent
        if d not in self.rows:
            try:
                self.rows[d] = read_manifest(m)
            except (OSError, ValueError):
                self.rows[d] = {}
        try:
            key = file.resolve().relative_to(d).as_posix()
        except ValueError:
            return None, None
        return key, self.rows[d].get(key)


def _collect(paths: list[str]) -> tuple[list[_Item], list[str]]:
    items: list[_Item] = []
    problems: list[str] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.litmus") if f.is_file())
            if not found:
                problems.append(f"{arg}: no .litmus files below this directory")
            for f in found:
                rel = f.relative_to(p).as_posix()
                items.append(_Item(os.path.join(arg, rel), f))
        elif p.exists():
            items.append(_Item(arg, p))
        else:
            problems.append(f"{arg}: no such file or directory")
    return items, problems


# ---- running ----------------------------------------------------------------------------------------

@dataclass
class _Result:
    item: _Item
    name: str | None
    memory: str
    outcome: Outcome
    expected: str | None = None
    why: str = ""

    @property
    def status(self) -> str:
        """agree | disagree | unsupported | unchecked | error"""
        v = self.outcome.verdict
        if v.startswith("unsupported"):
            return "unsupported"
        if v.startswith("error"):
            return "error"
        if self.expected is None:
            return "unchecked"
        return "agree" if v == self.expected else "disagree"


def _weak_x86(test: LitmusTest) -> str | None:
    """The reference verdict of an x86 test under weak (spec.litmus.oracle), if it has one."""
    from smp_explorer.spec.litmus.corpus import oracle
    try:
        return oracle.verdict(test, "weak")
    except Unsupported:
        return None


def _expect(item: _Item, test: LitmusTest, memory: str) -> tuple[str | None, str]:
    if item.row is None:
        return None, "not in MANIFEST.tsv"
    exp, why = expected(item.row, memory)
    if exp is None and memory == "weak" and item.row.arch == "x86":
        ref = _weak_x86(test)
        if ref is not None:
            return ref, "Decision 2 rules, enumerated (spec.litmus.oracle)"
    return exp, why


def cmd_litmus(args) -> int:
    out = sys.stdout
    err = sys.stderr
    items, problems = _collect(args.paths)
    status = EXIT_OK
    for msg in problems:
        err.write(f"explorer: {msg}\n")
        status = EXIT_USAGE
    manifests = _Manifests()
    results: list[_Result] = []
    width = max([len(i.shown) for i in items] + [4])
    for item in items:
        item.manifest_key, item.row = manifests.lookup(item.file)
        try:
            test = read_litmus(item.file)
            test.file = item.shown
        except LitmusError as e:
            e.file = item.shown
            where = f"{e.file}:{e.line}" if e.line else e.file
            err.write(f"{where}: error: {e.message}\n")
            err.flush()
            status = EXIT_USAGE
            for memory in args.memory:
                results.append(_Result(item, None, memory, Outcome(f"error: {e}")))
            continue
        except (Unsupported, RecursionError, ValueError) as u:
            text = str(u) if isinstance(u, Unsupported) else f"error: internal error: {u!r}"
            for memory in args.memory:
                r = _Result(item, None, memory, Outcome(text))
                results.append(r)
                if not args.json and not args.summary and not args.spec:
                    _print_result(out, r, width)
            continue
        if args.spec:
            for memory in args.memory:
                out.write(_spec_text(test, memory))
            continue
        for memory in args.memory:
            outcome = run_test(test, memory, args.max_states, args.timeout)
            exp, why = _expect(item, test, memory) if item.row is not None else (None, "")
            r = _Result(item, test.name, memory, outcome, exp, why)
            results.append(r)
            if not args.json and not args.summary:
                _print_result(out, r, width)
    if args.spec:
        return status
    if args.json:
        doc = {"tests": [{"path": r.item.shown, "name": r.name, "memory": r.memory,
                          "verdict": r.outcome.verdict, "states": r.outcome.states}
                         for r in results]}
        out.write(json.dumps(doc, indent=2) + "\n")
    elif args.summary:
        if not any(r.item.row is not None for r in results) and results:
            err.write("explorer: no MANIFEST.tsv found beside the tests; --summary needs one\n")
            return EXIT_USAGE
        if _print_summary(out, results, args.memory) and status == EXIT_OK:
            status = EXIT_DISAGREE
    return status


def _spec_text(test: LitmusTest, memory: str) -> str:
    try:
        tr = translate(test, memory)
    except Unsupported as u:
        return f"// {test.file} [{memory}]: {u}\n\n"
    return f"// buffer {tr.buffer}\n{tr.text}\n"


def _print_result(out, r: _Result, width: int) -> None:
    mark = ""
    if r.status == "disagree":
        mark = f"   (MANIFEST: {r.expected})"
    states = f"{r.outcome.states:>7} states" if r.outcome.states is not None else ""
    line = f"{r.item.shown:<{width}}  {r.memory:<4}  {r.outcome.verdict:<11}  {states}{mark}"
    out.write(line.rstrip() + "\n")
    out.flush()


def _print_summary(out, results: list[_Result], models: list[str]) -> bool:
    """The agreement table; True if some verdict disagrees with the manifest."""
    groups: dict[str, dict[str, dict[str, int]]] = {}
    tests: dict[str, set[str]] = {}
    for r in results:
        src = r.item.row.corpus if r.item.row is not None else "(not in MANIFEST)"
        cell = groups.setdefault(src, {}).setdefault(r.memory, {})
        cell[r.status] = cell.get(r.status, 0) + 1
        tests.setdefault(src, set()).add(r.item.shown)
    width = max([len(s) for s in groups] + [6])
    out.write("agreement with MANIFEST.tsv: agree/disagree/unsupported per memory model\n\n")
    head = f"{'source':<{width}}  {'tests':>5}" + "".join(f"  {m:>11}" for m in models)
    out.write(head + "\n")
    out.write("-" * len(head) + "\n")
    totals: dict[str, dict[str, int]] = {}
    for src in sorted(groups):
        line = f"{src:<{width}}  {len(tests[src]):>5}"
        for m in models:
            c = groups[src].get(m, {})
            t = totals.setdefault(m, {})
            for k, v in c.items():
                t[k] = t.get(k, 0) + v
            line += f"  {_cell(c):>11}"
        out.write(line + "\n")
    out.write("-" * len(head) + "\n")
    line = f"{'total':<{width}}  {sum(len(v) for v in tests.values()):>5}"
    for m in models:
        line += f"  {_cell(totals.get(m, {})):>11}"
    out.write(line + "\n")
    for kind, what in (("unchecked", "no expected verdict"), ("error", "could not be run")):
        counts = [f"{m} {totals.get(m, {}).get(kind, 0)}" for m in models
                  if totals.get(m, {}).get(kind)]
        if counts:
            out.write(f"{kind} ({what}): {', '.join(counts)}\n")
    bad = [r for r in results if r.status == "disagree"]
    if bad:
        out.write("\ndisagreements:\n")
        for r in bad[:12]:
            out.write(f"  {r.memory:<4} {r.item.manifest_key or r.item.shown}: "
                      f"{r.outcome.verdict}, expected {r.expected}\n")
        if len(bad) > 12:
            out.write(f"  ... and {len(bad) - 12} more (run without --summary to see all)\n")
    errors = list(dict.fromkeys(f"{r.item.shown}: {r.outcome.verdict}" for r in results
                                if r.status == "error"))
    if errors:
        out.write("\nerrors:\n")
        for e in errors[:6]:
            out.write(f"  {e}\n")
        if len(errors) > 6:
            out.write(f"  ... and {len(errors) - 6} more\n")
    unsup = [r for r in results if r.status == "unsupported"]
    if unsup:
        reasons: dict[str, int] = {}
        for r in unsup:
            reasons[r.outcome.verdict] = reasons.get(r.outcome.verdict, 0) + 1
        out.write("\nunsupported:\n")
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:6]:
            out.write(f"  {n:>4} x {reason}\n")
    return any(r.status == "disagree" for r in results)


def _cell(c: dict[str, int]) -> str:
    return f"{c.get('agree', 0)}/{c.get('disagree', 0)}/{c.get('unsupported', 0)}"

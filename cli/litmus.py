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

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smp_explorer.cli.args import LitmusRequest
from smp_explorer.cli.report.litmus import Agreement, VerdictLine, herd_text, litmus_text
from smp_explorer.explorer.litmus import Outcome, run_test
from smp_explorer.spec.litmus import (LitmusError, LitmusTest, Row, Unsupported, expected,
                                     find_manifest, read_litmus, read_manifest, translate)
from smp_explorer.spec.litmus.corpus import oracle

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2


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
    """The reference verdict of an x86 test under weak (spec.litmus.corpus.oracle), if any."""
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
            return ref, "Decision 2 rules, enumerated (spec.litmus.corpus.oracle)"
    return exp, why


def run_litmus(request: LitmusRequest) -> int:
    out = sys.stdout
    err = sys.stderr
    items, problems = _collect(request.paths)
    status = EXIT_OK
    for msg in problems:
        err.write(f"explorer: {msg}\n")
        status = EXIT_USAGE
    manifests = _Manifests()
    results: list[_Result] = []
    width = max([len(i.shown) for i in items] + [4])
    lines = not (request.json or request.summary or request.spec or request.herd)
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
            for memory in request.memories:
                results.append(_Result(item, None, memory, Outcome(f"error: {e}")))
            continue
        except (Unsupported, RecursionError, ValueError) as u:
            text = str(u) if isinstance(u, Unsupported) else f"error: internal error: {u!r}"
            for memory in request.memories:
                r = _Result(item, None, memory, Outcome(text))
                results.append(r)
                if lines:
                    _print_line(out, r, width)
            continue
        if request.spec:
            for memory in request.memories:
                out.write(_spec_text(test, memory))
            continue
        for memory in request.memories:
            outcome = run_test(test, memory, request.max_states, request.timeout)
            exp, why = _expect(item, test, memory) if item.row is not None else (None, "")
            r = _Result(item, test.name, memory, outcome, exp, why)
            results.append(r)
            if lines:
                _print_line(out, r, width)
            elif request.herd:
                out.write(herd_text(test, outcome, memory if len(request.memories) > 1 else None))
    if request.spec:
        return status
    if request.json:
        doc = {"tests": [{"path": r.item.shown, "name": r.name, "memory": r.memory,
                          "verdict": r.outcome.verdict, "states": r.outcome.states,
                          "outcomes": _outcomes_json(r.outcome)}
                         for r in results]}
        out.write(json.dumps(doc, indent=2) + "\n")
    elif request.summary:
        if not any(r.item.row is not None for r in results) and results:
            err.write("explorer: no MANIFEST.tsv found beside the tests; --summary needs one\n")
            return EXIT_USAGE
        out.write(litmus_text(_agreement(results, request.memories)))
        if any(r.status == "disagree" for r in results) and status == EXIT_OK:
            status = EXIT_DISAGREE
    return status


def _spec_text(test: LitmusTest, memory: str) -> str:
    try:
        tr = translate(test, memory)
    except Unsupported as u:
        return f"// {test.file} [{memory}]: {u}\n\n"
    return f"// buffer {tr.buffer}\n{tr.text}\n"


def _outcomes_json(outcome: Outcome) -> list[dict] | None:
    """The final states of a test (explorer.litmus.FinalStates), for --json."""
    if outcome.outcomes is None:
        return None
    return [{"values": dict(values), "states": n, "condition": ok}
            for values, n, ok in outcome.outcomes]


def _print_line(out, r: _Result, width: int) -> None:
    expected = r.expected if r.status == "disagree" else None
    out.write(litmus_text(VerdictLine(r.item.shown, r.memory, r.outcome.verdict,
                                      r.outcome.states, expected, width)))
    out.flush()


def _agreement(results: list[_Result], models: list[str]) -> Agreement:
    """The verdicts counted per corpus folder and memory model, and what went wrong."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    tests: dict[str, set[str]] = {}
    for r in results:
        source = r.item.row.corpus if r.item.row is not None else "(not in MANIFEST)"
        cell = counts.setdefault(source, {}).setdefault(r.memory, {})
        cell[r.status] = cell.get(r.status, 0) + 1
        tests.setdefault(source, set()).add(r.item.shown)
    unsupported: dict[str, int] = {}
    for r in results:
        if r.status == "unsupported":
            unsupported[r.outcome.verdict] = unsupported.get(r.outcome.verdict, 0) + 1
    return Agreement(
        models, counts, {source: len(shown) for source, shown in tests.items()},
        [f"{r.memory:<4} {r.item.manifest_key or r.item.shown}: {r.outcome.verdict}, "
         f"expected {r.expected}" for r in results if r.status == "disagree"],
        list(dict.fromkeys(f"{r.item.shown}: {r.outcome.verdict}" for r in results
                           if r.status == "error")),
        unsupported)

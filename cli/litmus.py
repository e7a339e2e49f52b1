"""`explorer litmus`: check herd7 litmus tests under the memory models.

    explorer litmus PATH... [--memory M,...] [--json | --summary] [--spec]
                            [--max-states N] [--timeout S]

Each PATH is a `.litmus` file or a directory (every `*.litmus` below it, in sorted order). For
each test and memory model it prints the verdict of the final condition: `Allowed`/`Forbidden`
(`exists`, `~exists`, `final`: whether the proposition is satisfiable), `Always`/`Not always`
(`forall`), or `unsupported: <construct>`. When a MANIFEST.tsv is found beside the tests (in the
directory of a PATH or above it), a verdict that differs from the one the corpus states is
marked (under weak: the LKMM verdict of a C test, or outside the corpus its own `Result:` line;
a documented gap of the model is named), and `--summary` prints an agreement table per corpus
folder and model instead of the verdicts. Under weak a `caveat` line says what it leaves out.

`--memory lkmm` checks a C test under the Linux-kernel memory model with the axiomatic engine
(cli.axiomatic): the test is translated as for the operational models, lowered to memory
events, and its final condition decided by Z3; the verdict it must give is the MANIFEST's LKMM
column, or outside the corpus the test's own `Result:` line. An x86 test has no LKMM verdict:
under lkmm it is `unsupported`.

Exit status: 2 if a file could not be read as a litmus test (the other tests still run);
1 if `--summary` found a disagreement; 0 otherwise.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from smp_explorer.cli.args import DEFAULT_UNROLL, AXIOMATIC_MODELS, LitmusRequest
from smp_explorer.cli.axiomatic import engine_run
from smp_explorer.cli.report.litmus import Agreement, VerdictLine, herd_text, litmus_text
from smp_explorer.explorer.litmus import Outcome, run_test
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.litmus import (PROPERTY, LitmusError, LitmusTest, Row, Unsupported,
                                     expected, find_manifest, known_gap, read_litmus,
                                     read_manifest, stated_result, translate, verdict,
                                     verdict_of)
from smp_explorer.spec.pipeline import model_from_text
from smp_explorer.spec.memory import caveat

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
    gap: str | None = None  # the documented reason the model cannot agree (manifest.known_gap)

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


def _expect(item: _Item, test: LitmusTest, memory: str) -> tuple[str | None, str]:
    """The verdict the corpus or the file states for `memory` (never the model's own design):
    the MANIFEST.tsv row, else, for a C test under weak, its `Result:` line or herd7
    `.expected` output (the LKMM verdict); under lkmm, a C test's LKMM verdict only."""
    if memory in AXIOMATIC_MODELS:
        if not test.is_c:
            return None, "an x86 test has no LKMM verdict"
        if item.row is not None:
            return verdict(item.row.lkmm_or_arch, item.row.quantifier), \
                "LKMM verdict (expected_lkmm_or_arch)"
        return stated_result(item.file, test.condition.quantifier)
    if item.row is not None:
        return expected(item.row, memory)
    if test.is_c and memory == "weak":
        return stated_result(item.file, test.condition.quantifier)
    return None, "not in MANIFEST.tsv"


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
            outcome = run_axiomatic_test(test, memory, request.timeout) \
                if memory in AXIOMATIC_MODELS else \
                run_test(test, memory, request.max_states, request.timeout)
            exp, why = _expect(item, test, memory)
            gap = known_gap(item.row, memory) if item.row is not None else None
            r = _Result(item, test.name, memory, outcome, exp, why, gap)
            results.append(r)
            if lines:
                _print_line(out, r, width)
            elif request.herd:
                out.write(herd_text(test, outcome, memory if len(request.memories) > 1 else None))
    if request.spec:
        return status
    if request.json:
        tests = [{"path": r.item.shown, "name": r.name, "memory": r.memory,
                  "verdict": r.outcome.verdict, "states": r.outcome.states,
                  "outcomes": _outcomes_json(r.outcome)} for r in results]
        doc: dict[str, object] = {"tests": tests}
        caveats = {m: c for m in request.memories if (c := caveat(m))}
        if caveats:
            doc["caveats"] = caveats
        out.write(json.dumps(doc, indent=2) + "\n")
    elif request.summary:
        if not any(r.expected is not None for r in results) and results:
            err.write("explorer: no MANIFEST.tsv found beside the tests (and no Result: line "
                      "under weak or lkmm); --summary needs one\n")
            return EXIT_USAGE
        out.write(litmus_text(_agreement(results, request.memories)))
        if any(r.status == "disagree" for r in results) and status == EXIT_OK:
            status = EXIT_DISAGREE
    if not request.json:
        for m in request.memories:
            if (c := caveat(m)):
                out.write(f"caveat ({m}): {c}\n")
    return status


def run_axiomatic_test(test: LitmusTest, memory: str, timeout: float | None) -> Outcome:
    """One C test under an axiomatic model (lkmm): its translation (as under weak: the Linux
    generic prelude) lowered to memory events, its final condition decided by the axiomatic
    engine. Never raises for a bad test: what it cannot run is `unsupported: ...`."""
    start = time.perf_counter()
    if not test.is_c:
        return Outcome(f"unsupported: an x86 test under {memory} (the Linux-kernel memory "
                       "model is defined on C tests)", None, 0.0)
    try:
        tr = translate(test, "weak")
    except Unsupported as u:
        return Outcome(str(u), None, time.perf_counter() - start)
    try:
        model = model_from_text(tr.text, test.file, None, memory, None)
        result = engine_run(model, memory, unroll=DEFAULT_UNROLL, properties=[PROPERTY],
                            timeout=timeout)
    except (SpecError, SpecErrors) as e:   # a construct the axiomatic engine does not take
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return Outcome(f"unsupported: {msg.split('error: ', 1)[-1]}", None,
                       time.perf_counter() - start, tr.text)
    seconds = time.perf_counter() - start
    cond = next((p for p in result.properties if p.name == PROPERTY), None)
    if cond is None or cond.status in ("unknown", "bounded"):
        why = "no condition property" if cond is None else cond.status
        return Outcome(f"error: undecided ({why})", None, seconds, tr.text)
    return Outcome(verdict_of(tr.quantifier, cond.status), None, seconds, tr.text)


def _spec_text(test: LitmusTest, memory: str) -> str:
    if memory in AXIOMATIC_MODELS:
        memory = "weak"   # the same translation, lowered to events instead of buffers
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
                                      r.outcome.states, expected, width,
                                      r.gap if expected is not None else None,
                                      "MANIFEST" if r.item.row is not None else "stated")))
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
    def line(r: _Result) -> str:
        return (f"{r.memory:<4} {r.item.manifest_key or r.item.shown}: {r.outcome.verdict}, "
                f"expected {r.expected}" + (f"  [{r.gap}]" if r.gap else ""))

    return Agreement(
        models, counts, {source: len(shown) for source, shown in tests.items()},
        [line(r) for r in results if r.status == "disagree" and not r.gap],
        list(dict.fromkeys(f"{r.item.shown}: {r.outcome.verdict}" for r in results
                           if r.status == "error")),
        unsupported,
        [line(r) for r in results if r.status == "disagree" and r.gap])

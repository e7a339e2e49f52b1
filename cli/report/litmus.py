"""What `explorer litmus` prints: a line per test and memory model as it is decided, and the
agreement table of a corpus against its MANIFEST.tsv. Both are Rich tables without lines,
columns two spaces apart, rendered as plain text (a corpus run's output is read by scripts)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from smp_explorer.cli.report.tables import plain_console
from smp_explorer.explorer.litmus import Outcome
from smp_explorer.spec.litmus.test import And, Atom, LitmusTest, Not, Prop
from smp_explorer.spec.litmus.test import Const as LConst

# Only the rule under the header and the one above the footer (the totals): no vertical lines.
RULES = box.Box("    \n"
                "    \n"
                " -- \n"
                "    \n"
                "    \n"
                " -- \n"
                "    \n"
                "    \n", ascii=True)
GAP = (0, 1, 0, 0)  # one space of padding, and the blank "vertical" of RULES: two spaces
WIDE = 1 << 12      # wide enough that no line of these tables ever wraps
MAX_DISAGREEMENTS, MAX_ERRORS, MAX_REASONS = 12, 6, 6


def litmus_text(renderable: RenderableType) -> str:
    """A litmus view as plain text, no line wrapped, no trailing blanks."""
    console = plain_console(WIDE)
    with console.capture() as capture:
        console.print(renderable, crop=False)
    return "".join(line.rstrip() + "\n" for line in capture.get().splitlines())


@dataclass
class VerdictLine:
    """One test under one memory model, as it is decided; `expected` marks a disagreement."""

    path: str
    memory: str
    verdict: str
    states: int | None
    expected: str | None = None
    path_width: int = 0  # the widest path of the run, so that the lines line up
    gap: str | None = None  # the documented reason the model cannot agree, if any
    source: str = "MANIFEST"  # where `expected` is stated: MANIFEST, or the test's own file

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(box=RULES, show_header=False, show_edge=False, pad_edge=False,
                      padding=GAP)
        table.add_column(min_width=self.path_width, no_wrap=True)
        table.add_column(min_width=4, no_wrap=True)
        table.add_column(min_width=11, no_wrap=True)
        table.add_column(no_wrap=True)
        states = f"{self.states:>7} states" if self.states is not None else ""
        mark = f"   ({self.source}: {self.expected})" if self.expected is not None else ""
        if self.gap:
            mark += f" [known gap: {self.gap}]"
        table.add_row(Text(self.path), Text(self.memory), Text(self.verdict),
                      Text(states + mark))
        yield table


@dataclass
class Agreement:
    """Verdicts against the MANIFEST per corpus folder and memory model, and what went wrong."""

    models: list[str]
    counts: dict[str, dict[str, dict[str, int]]]  # source -> model -> status -> count
    tests: dict[str, int]                          # source -> number of tests
    disagreements: list[str] = field(default_factory=list)  # "tso  key: verdict, expected X"
    errors: list[str] = field(default_factory=list)         # "path: error: ..."
    unsupported: dict[str, int] = field(default_factory=dict)  # reason -> count
    gaps: list[str] = field(default_factory=list)  # disagreements with a documented gap class

    def totals(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {m: {} for m in self.models}
        for by_model in self.counts.values():
            for m in self.models:
                for status, n in by_model.get(m, {}).items():
                    totals[m][status] = totals[m].get(status, 0) + n
        return totals

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lkmm = "weak, lkmm" if "lkmm" in self.models else "weak"
        yield Text(f"agreement with the stated verdicts (MANIFEST.tsv; {lkmm}: LKMM): "
                   "agree/disagree/unsupported per memory model")
        yield Text("")
        yield self.table()
        yield from self._notes()

    def table(self) -> Table:
        totals = self.totals()
        table = Table(box=RULES, show_edge=False, pad_edge=False, padding=GAP,
                      show_footer=True, header_style="", footer_style="")
        table.add_column("source", "total", min_width=6, no_wrap=True)
        table.add_column("tests", str(sum(self.tests.values())), justify="right",
                         min_width=5, no_wrap=True)
        for m in self.models:
            table.add_column(m, _cell(totals[m]), justify="right", min_width=11, no_wrap=True)
        for source in sorted(self.counts):
            table.add_row(source, str(self.tests[source]),
                          *(_cell(self.counts[source].get(m, {})) for m in self.models))
        return table

    def _notes(self) -> Iterator[RenderableType]:
        totals = self.totals()
        for kind, what in (("unchecked", "no expected verdict"), ("error", "could not be run")):
            counts = [f"{m} {totals[m].get(kind, 0)}" for m in self.models if totals[m].get(kind)]
            if counts:
                yield Text(f"{kind} ({what}): {', '.join(counts)}")
        yield from _listed("disagreements:", self.disagreements, MAX_DISAGREEMENTS,
                           "more (run without --summary to see all)")
        yield from _listed(f"disagreements in a documented gap of the model ({len(self.gaps)}):",
                           self.gaps, len(self.gaps), "more")
        yield from _listed("errors:", self.errors, MAX_ERRORS, "more")
        if self.unsupported:
            reasons = sorted(self.unsupported.items(), key=lambda kv: -kv[1])[:MAX_REASONS]
            yield Group(Text(""), Text("unsupported:"),
                        *(Text(f"  {n:>4} x {reason}") for reason, n in reasons))


def _listed(title: str, entries: list[str], limit: int, more: str) -> Iterator[Text]:
    if not entries:
        return
    yield Text("")
    yield Text(title)
    for entry in entries[:limit]:
        yield Text(f"  {entry}")
    if len(entries) > limit:
        yield Text(f"  ... and {len(entries) - limit} {more}")


def _cell(counts: dict[str, int]) -> str:
    return f"{counts.get('agree', 0)}/{counts.get('disagree', 0)}/{counts.get('unsupported', 0)}"


# ---- herd7's output ---------------------------------------------------------------------------

HERD_KIND = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required", "final": "Final"}


def herd_prop(p: Prop, top: bool = True) -> str:
    """A litmus condition's proposition as herd7 prints it: `0:EAX=0 /\\ 1:EAX=0`."""
    if isinstance(p, LConst):
        return "true" if p.value else "false"
    if isinstance(p, Atom):
        return f"{p.left}{'=' if p.op == '=' else '!='}{p.value}"
    if isinstance(p, Not):
        return f"~{herd_prop(p.prop, False)}"
    sep = " /\\ " if isinstance(p, And) else " \\/ "
    text = sep.join(herd_prop(q, False) for q in p.props)
    return text if top else f"({text})"


def _herd_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def herd_text(test: LitmusTest, outcome: Outcome, memory: str | None = None) -> str:
    """One test under one memory model in herd7's layout (herd/top_herd.ml): `Test`, `States`
    and each final state, `Ok`/`No`, `Witnesses`, `Positive: p Negative: n`, `Condition`,
    `Observation NAME Never|Sometimes|Always p n`. herd7 counts candidate executions; here p
    and n count distinct reachable final states (every thread done, buffers drained) where the
    condition's proposition holds or not, so the words and final states compare, the numbers
    need not. A test that could not be decided gets a `Verdict` line instead."""
    cond = test.condition
    lines = [f"Model {memory}"] if memory else []
    lines.append(f"Test {test.name} {HERD_KIND.get(cond.quantifier, cond.quantifier)}")
    if outcome.outcomes is None:
        lines.append(f"Verdict {test.name} {outcome.verdict}")
        return "\n".join(lines) + "\n\n"
    lines.append(f"States {len(outcome.outcomes)}")
    lines += [" ".join(f"{k}={_herd_value(v)};" for k, v in values)
              for values, _, _ in outcome.outcomes]
    pos = sum(n for _, n, ok in outcome.outcomes if ok)
    neg = sum(n for _, n, ok in outcome.outcomes if not ok)
    ok = {"exists": pos > 0, "~exists": pos == 0, "forall": neg == 0}.get(cond.quantifier, True)
    lines += ["Ok" if ok else "No", "Witnesses", f"Positive: {pos} Negative: {neg}",
              f"Condition {cond.quantifier} ({herd_prop(cond.prop)})",
              f"Observation {test.name} "
              f"{'Never' if pos == 0 else 'Always' if neg == 0 else 'Sometimes'} {pos} {neg}"]
    return "\n".join(lines) + "\n\n"

"""Running a litmus test: translate it to a spec for one memory model, explore it, read the
verdict of its final condition. The reading and translation live in `spec.litmus`."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.litmus import PROPERTY, LitmusTest, Unsupported, translate, verdict_of
from smp_explorer.spec.pipeline import model_from_text

@dataclass
class Outcome:
    """The verdict of one test under one memory model."""

    verdict: str              # Allowed | Forbidden | Always | Not always | unsupported: ... | error: ...
    states: int | None = None
    seconds: float = 0.0
    spec: str | None = None   # the translated spec text

    @property
    def unsupported(self) -> bool:
        return self.verdict.startswith("unsupported")


def run_test(test: LitmusTest, memory: str, max_states: int | None = None,
             timeout: float | None = None) -> Outcome:
    """Translate and check one test under one memory model; never raises for a bad test."""
    start = time.perf_counter()
    try:
        tr = translate(test, memory)
    except Unsupported as u:
        return Outcome(str(u), None, time.perf_counter() - start)
    try:
        model = model_from_text(tr.text, test.file, None, memory, tr.buffer)
        result = explore(compile_model(model), Options(check_deadlock=False, max_states=max_states,
                                                       timeout=timeout), memory)
    except (SpecError, SpecErrors) as e:
        # the translation produced a spec the language rejects: a gap of the translator or of
        # the prelude, reported per test (the message names the construct)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return Outcome(f"unsupported: {_spec_error_construct(msg)}", None,
                       time.perf_counter() - start, tr.text)
    except Exception as e:  # a bug: reported for this test, the batch goes on
        return Outcome(f"error: internal error: {type(e).__name__}: {e}", None,
                       time.perf_counter() - start, tr.text)
    seconds = time.perf_counter() - start
    cond = next((p for p in result.properties if p.name == PROPERTY), None)
    failures = [p for p in result.properties
                if p.name != PROPERTY and p.kind in ("runtime", "assertion") and p.failed]
    if failures:
        return Outcome(f"error: {failures[0].message or failures[0].name}", result.stats.states,
                       seconds, tr.text)
    if cond is None:  # pragma: no cover
        return Outcome("error: no condition property", result.stats.states, seconds, tr.text)
    if not result.complete and cond.status == "unknown":
        return Outcome(f"error: incomplete ({result.stop_reason})", result.stats.states,
                       seconds, tr.text)
    return Outcome(verdict_of(tr.quantifier, cond.status), result.stats.states, seconds, tr.text)


def _spec_error_construct(message: str) -> str:
    m = re.search(r"error: (.*)", message)
    return m.group(1) if m else message

"""Small helpers for tests: run a spec text through the whole pipeline."""
from __future__ import annotations

from smp_explorer.explorer.engines import explore
from smp_explorer.runs.compiled import compile_model
from smp_explorer.explorer.options import Options
from smp_explorer.runs.results import PropertyResult, RunResult
from smp_explorer.spec.pipeline import model_from_text


def run(text: str, consts: dict[str, str] | None = None, **options) -> RunResult:
    return explore(compile_model(model_from_text(text, "t.spec", consts)), Options(**options))


def prop(result: RunResult, name: str) -> PropertyResult:
    for p in result.properties:
        if p.name == name:
            return p
    raise KeyError(f"{name} not in {[p.name for p in result.properties]}")

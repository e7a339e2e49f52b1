"""Shared test helpers: where the models and the team's reference data live, running a spec text
or the command line, and the errors a spec raises. Test files import the plain functions
(`from conftest import run, prop`); pytest finds the fixtures by name."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from smp_explorer.cli.main import main
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.runs.results import PropertyResult, RunResult
from smp_explorer.spec.errors import SpecError, SpecErrors
from smp_explorer.spec.pipeline import model_from_text

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
RUMUR_OPTIONS = "--threads 1, gcc -O2"   # the single-threaded rumur rows of the peer results


def shared_dir() -> Path | None:
    """`../shared` beside the checkout (or $SMP_SHARED), if present."""
    env = os.environ.get("SMP_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared")
    for c in candidates:
        if (c / "peers").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared() -> Path:
    """The reference data; skipped with a reason in a fresh clone, a failure under CI."""
    found = shared_dir()
    if found is None:
        reason = ("reference data ../shared not found beside the checkout (set SMP_SHARED to its "
                  "path); tests that compare with the litmus corpus or peer tools are skipped")
        if os.environ.get("SMP_REQUIRE_SHARED") == "1":
            pytest.fail("SMP_REQUIRE_SHARED=1 but " + reason)
        pytest.skip(reason)
    return found


def rumur_rows(shared: Path) -> dict[str, dict[str, str]]:
    """model -> its single-threaded rumur row in shared/peers/results/summary.tsv (the options
    may add a note such as 'property off')."""
    rows = {}
    with open(shared / "peers" / "results" / "summary.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            opts = row["options"]
            if row["tool"] == "rumur" and (opts == RUMUR_OPTIONS or
                                           opts.startswith(RUMUR_OPTIONS + ",")):
                assert row["model"] not in rows, f"two rumur --threads 1 rows for {row['model']}"
                rows[row["model"]] = row
    return rows


# ---- a spec text through the pipeline --------------------------------------------------------

def run(text: str, consts: dict[str, str] | None = None, memory: str | None = None,
        buffer: int | None = None, **options: Any) -> RunResult:
    """Explore a spec text (as file t.spec) with the given `Options` fields."""
    model = model_from_text(text, "t.spec", consts, memory, buffer)
    return explore(compile_model(model), Options(**options))


def prop(result: RunResult, name: str) -> PropertyResult:
    """One property's result, by name."""
    for p in result.properties:
        if p.name == name:
            return p
    raise KeyError(f"{name} not in {[p.name for p in result.properties]}")


def spec_errors(text: str, consts: dict[str, str] | None = None,
                memory: str | None = None) -> list[SpecError]:
    """The errors a spec text is refused with (it must be refused)."""
    with pytest.raises((SpecError, SpecErrors)) as info:
        model_from_text(text, "t.spec", consts, memory)
    err = info.value
    return err.errors if isinstance(err, SpecErrors) else [err]


# ---- the command line -----------------------------------------------------------------------

def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `explorer ARGS...` in process: its exit status, standard output and error."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def spec(tmp_path: Path) -> Callable[..., str]:
    """Writes a spec text to a file (t.spec unless named) and returns its path."""
    def write(text: str, name: str = "t.spec") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write

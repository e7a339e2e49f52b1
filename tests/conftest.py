"""Shared fixtures: where the team's reference data lives, and spec helpers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


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

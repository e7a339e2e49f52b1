"""Preludes: spec text shipped with the package, imported with `use a.b;` (file a/b.spec)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from smp_explorer.ir.span import Span
from smp_explorer.spec import ast
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.parser import parse_file

ROOT = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts)
                  for p in ROOT.rglob("*.spec"))


@lru_cache(maxsize=None)
def _parse(path: str) -> ast.SpecFile:
    return parse_file(path)


def load_prelude(name: str, span: Span | None) -> ast.SpecFile:
    path = ROOT.joinpath(*name.split(".")).with_suffix(".spec")
    if not path.is_file():
        raise SpecError(f"unknown prelude '{name}' (available: {', '.join(available())})", span)
    return _parse(str(path))

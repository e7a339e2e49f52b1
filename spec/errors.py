"""The one error type every stage of the language raises, located by an `ir.span.Span`."""
from __future__ import annotations

from dataclasses import dataclass, field

from smp_explorer.ir.span import Span


@dataclass
class SpecError(Exception):
    """A mistake in a spec or in how it is instantiated, located in the source."""

    message: str
    span: Span | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}error: {self.message}"


class SpecErrors(Exception):
    """Several spec errors found in one pass, reported together."""

    def __init__(self, errors: list[SpecError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class Diagnostics:
    """Collects errors during a pass, then stops the pipeline once (mypyvy style)."""

    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def error(self, message: str, span: Span | None, *notes: str) -> None:
        self.errors.append(SpecError(message, span, list(notes)))

    def raise_if_any(self) -> None:
        if self.errors:
            raise SpecErrors(sorted(self.errors, key=_error_key))


def _error_key(e: SpecError) -> tuple:
    s = e.span
    return (0, 0) if s is None else (s.line, s.col)

"""Generated Python source: a line emitter, and compiling the source under a real name.

Every backend that generates code (the tuple successor functions in `runs.compiled`, the scalar
and NumPy engines) compiles it through `load_source`, so SMP_EXPLORER_DUMP=DIR writes each of
them to a file (one per spec, memory model and generator), and tracebacks point into it.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError


class Emitter:
    """A line buffer with indentation and fresh names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0
        self.counter = 0
        # A state of more than ~14,300 bits has masks of more than 4,300 decimal digits, which
        # Python refuses to write or read by default (a guard against untrusted input; these
        # come from the model's layout): generated code may hold literals of any width.
        if hasattr(sys, "set_int_max_str_digits"):
            sys.set_int_max_str_digits(0)

    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    @contextlib.contextmanager
    def indent(self) -> Iterator[None]:
        self.level += 1
        try:
            yield
        finally:
            self.level -= 1

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


def load_source(source: str, model: Model, generator: str, namespace: dict[str, Any]) -> None:
    """Compile and run `source` in `namespace` (which then holds its functions). `generator`
    names what wrote it ("tuple", "scalar", "vector"): with SMP_EXPLORER_DUMP=DIR the source is
    written to DIR/<spec>.<memory model>.<generator>.py and compiled under that name."""
    filename = f"<smp-explorer {generator} code: {model.name}>"
    dump = os.environ.get("SMP_EXPLORER_DUMP")
    if dump:
        path = Path(dump) / f"{Path(model.name).stem}.{model.memory}.{generator}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        filename = str(path)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:   # Python's parser caps nesting (200 parentheses), not our code
        if "too many nested" not in str(e):
            raise
        raise SpecError(f"{model.name}: the {generator} code generated for this model nests "
                        f"deeper than Python's compiler allows ({e.msg}); a smaller --buffer or "
                        f"simpler expressions keep it within the limit") from None
    exec(code, namespace)

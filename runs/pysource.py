"""Generated Python source: a line emitter, and compiling the source under a real name.

Every backend that generates code (the tuple successor functions in `runs.compiled`, the scalar
and NumPy engines) compiles it through `load_source`, so SMP_EXPLORER_DUMP=DIR writes each of
them to a file (one per spec, memory model and generator), and tracebacks point into it.
`load_generated` / `save_generated` keep a generator's whole output (its source and what it
computed beside it) in the same private cache, under a key the generator computes
(`explorer.engines.gencache`).
"""
from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from smp_explorer.ir.model import Model
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.lark_cache import cache_dir

CODE_CACHE_MIN = 16_000        # generated sources at least this long are cached compiled
CODE_CACHE_BYTES = 64 << 20    # the cached code files stay within this (the least recently used go)
SWITCH_CHAIN = 8              # a switch of at most this many cases is one if/elif chain


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

    def switch(self, var: str, cases: Sequence[tuple[int, Callable[[], None]]]) -> None:
        """Run the body of the case whose value `var` equals (none if no case matches): the
        cases (in increasing order of value) emit their bodies when called. More than
        SWITCH_CHAIN cases are split in halves by `var < middle` first: one long if/elif chain
        costs a test per case on every call, and Python cannot compile a chain of thousands
        (each elif nests one level deeper; a process of 12,000 labels ran out of memory)."""
        if len(cases) <= SWITCH_CHAIN:
            for i, (value, body) in enumerate(cases):
                self.line(f"{'elif' if i else 'if'} {var} == {value}:")
                with self.indent():
                    body()
            return
        mid = len(cases) // 2
        self.line(f"if {var} < {cases[mid][0]}:")
        with self.indent():
            self.switch(var, cases[:mid])
        self.line("else:")
        with self.indent():
            self.switch(var, cases[mid:])

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
        code = _compile(source, filename)
    except SyntaxError as e:   # Python's parser caps nesting (200 parentheses), not our code
        if "too many nested" not in str(e):
            raise
        raise SpecError(f"{model.name}: the {generator} code generated for this model nests "
                        f"deeper than Python's compiler allows ({e.msg}); a smaller --buffer or "
                        f"simpler expressions keep it within the limit") from None
    exec(code, namespace)


def _compile(source: str, filename: str) -> types.CodeType:
    """`compile(source, filename, "exec")`, through a cache of compiled code for long sources
    (Python's compiler takes about 0.1 s per 100 KB of generated code, at every run): in the
    parser tables' private directory (`spec.lark_cache.cache_dir`), one file per source and
    file name, named by their SHA-256 and the interpreter's cache tag (marshal's format is the
    interpreter's own), so a file never stands for another source. A file that cannot be read
    or is not code is compiled again; a directory that cannot be written only costs that."""
    base = cache_dir() if len(source) >= CODE_CACHE_MIN else None
    if base is None:
        return compile(source, filename, "exec")
    digest = hashlib.sha256(f"{filename}\0{source}".encode("utf-8")).hexdigest()[:32]
    path = base / f"code-{digest}-{sys.implementation.cache_tag}.marshal"
    try:
        code = marshal.loads(path.read_bytes())
        if isinstance(code, types.CodeType) and code.co_filename == filename:
            os.utime(path)      # recently used: pruned last
            return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, "exec")
    try:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(code))
        os.replace(tmp, path)
        _prune(base)
    except OSError:
        pass
    return code


def load_generated(key: bytes) -> Any:
    """What `save_generated(key, ...)` stored (a code generator's output), or None: not there,
    unreadable, or another key's (the file name holds half of the key's SHA-256, the file the
    whole of it). In the private directory of the compiled code (`_compile`); pickled, as Lark
    pickles its tables there (the directory is created 0700: no one else writes into it).
    SMP_EXPLORER_GEN_CACHE=off turns the generated-code cache off (`bench/int3.py
    --codegen-cache cold`); SMP_EXPLORER_CACHE= (empty) turns off every cache."""
    path = _generated_path(key)
    if path is None:
        return None
    try:
        digest, value = pickle.loads(path.read_bytes())
    except Exception:     # missing, truncated, or written by another version: generate again
        return None
    if digest != hashlib.sha256(key).hexdigest():
        return None
    with contextlib.suppress(OSError):
        os.utime(path)    # recently used: pruned last
    return value


def save_generated(key: bytes, value: Any, size: int) -> None:
    """Store a code generator's output under `key` (see `load_generated`) when its source
    (`size` characters) is at least `CODE_CACHE_MIN` long (a short one is quick to generate);
    the files stay within `CODE_CACHE_BYTES` together with the compiled code."""
    path = _generated_path(key) if size >= CODE_CACHE_MIN else None
    if path is None:
        return
    try:
        data = pickle.dumps((hashlib.sha256(key).hexdigest(), value), protocol=4)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        _prune(path.parent)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


def _generated_path(key: bytes) -> Path | None:
    if os.environ.get("SMP_EXPLORER_GEN_CACHE", "").lower() in ("off", "0", "no"):
        return None
    base = cache_dir()
    if base is None:
        return None
    digest = hashlib.sha256(key).hexdigest()[:32]
    return base / f"gen-{digest}-{sys.implementation.cache_tag}.pickle"


def _prune(base: Path) -> None:
    """Remove the least recently used cached code files beyond `CODE_CACHE_BYTES`."""
    files = []
    for p in [*base.glob("code-*.marshal"), *base.glob("gen-*.pickle")]:
        try:
            st = p.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total <= CODE_CACHE_BYTES:
            break
        with contextlib.suppress(OSError):
            p.unlink()
        total -= size

"""Reading a herd7 `.litmus` file: X86 (Intel syntax), X86_64 (AT&T syntax) and C (LKMM).

The header and the init block (`text`), the threads (`x86` or `c`), the final condition
(`cond`), then the checks across them; the result is a `LitmusTest` (`test`).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from smp_explorer.spec.litmus.c import read_c_threads
from smp_explorer.spec.litmus.cond import read_condition
from smp_explorer.spec.litmus.test import (Addr, Condition, LitmusError, LitmusTest, Locations,
                                           Ref, Thread)
from smp_explorer.spec.litmus.text import (blank_ocaml_comments, find_init_block, read_header,
                                           read_init_block)
from smp_explorer.spec.litmus.x86 import canonical_register, read_x86_threads


def read_litmus(path: str | Path) -> LitmusTest:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise LitmusError("no such file", str(path)) from None
    except IsADirectoryError:
        raise LitmusError("is a directory, not a litmus file", str(path)) from None
    except OSError as err:
        raise LitmusError(f"cannot read: {err.strerror}", str(path)) from None
    return parse_litmus(text, str(path))


def parse_litmus(text: str, file: str = "<litmus>") -> LitmusTest:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header = read_header(text, file)
    register_name = partial(canonical_register, header.arch)
    open_brace, close_brace = find_init_block(text, file, header)
    init = read_init_block(text, file, open_brace + 1, close_brace, register_name)
    locations = Locations(file)
    for loc, value in init.memory.items():
        locations.add(loc)
        if isinstance(value, Addr):
            locations.add(value.name)
    for value in init.registers.values():
        if isinstance(value, Addr):
            locations.add(value.name)
    is_c = header.arch == "C"
    rest = blank_ocaml_comments(text, file, close_brace + 1, c_code=is_c)
    if is_c:
        threads, condition_start = read_c_threads(rest, file, close_brace + 1, locations)
    else:
        threads, condition_start = read_x86_threads(rest, file, close_brace + 1, header.arch,
                                                    locations)
    condition = read_condition(rest, file, condition_start, register_name)
    for (thread, register) in init.registers:
        if thread >= len(threads):
            raise LitmusError(f"the init block sets register {thread}:{register} of a thread "
                              f"the test does not have", file)
    _check_condition(condition, threads, locations)
    return LitmusTest(file, header.arch, header.name, init.memory, init.registers, threads,
                      condition, locations.names, text)


def _check_condition(condition: Condition, threads: list[Thread], locations: Locations) -> None:
    """The registers the condition names belong to threads; its locations join the test's."""
    for atom in condition.atoms():
        for side in (atom.left, atom.value):
            if isinstance(side, Ref) and side.thread is not None and side.thread >= len(threads):
                raise LitmusError(f"the condition names register {side} of a thread the test "
                                  f"does not have", locations.file, atom.line)
            if isinstance(side, Addr) or isinstance(side, Ref) and side.thread is None:
                locations.add(side.name, atom.line)

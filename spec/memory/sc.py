"""Sequential consistency: one memory, every access immediate, fences do nothing."""
from __future__ import annotations

from smp_explorer.ir.expr import Expr
from smp_explorer.spec.memory.base import Location, MemoryModel, Port, apply_op, mem_read, mem_write


class Sc(MemoryModel):
    name = "sc"

    def load(self, port: Port, loc: Location, order: str) -> Expr:
        return mem_read(port, loc)

    def store(self, port: Port, loc: Location, value: Expr, order: str) -> None:
        mem_write(port, loc, value)

    def fence(self, port: Port, kind: str) -> None:
        pass

    def rmw(self, port: Port, loc: Location, name: str, operand: Expr, order: str,
            returns: bool) -> Expr | None:
        old = mem_read(port, loc)
        new = apply_op(name, old, operand)
        port.check_range(loc, new)
        mem_write(port, loc, new)
        return old

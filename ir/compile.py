"""The one base of every backend over IR expressions (as Amaranth's `ValueVisitor`).

A backend has `on_Const`, `on_Ref` and one `on_<operator>` per entry of the operator table
(`ir.ops.OPS`). Dispatch is on the exact node type and then on the operator name. A concrete
backend that lacks a handler fails when its class is defined, naming what is missing, not in
the middle of a search. The base is for compilers and encoders: generated code calls nothing
of it at run time.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from smp_explorer.ir.expr import Const, Expr, Op, Ref
from smp_explorer.ir.ops import OPS

R = TypeVar("R")

NODE_HANDLERS = ("on_Const", "on_Ref")


class MissingHandler(TypeError):
    """A backend does not handle some node kind or operator of the table."""


def missing_handlers(cls: type) -> list[str]:
    """The handler names `cls` lacks (node kinds first, then operators in table order)."""
    wanted = [*NODE_HANDLERS, *(info.handler for info in OPS.values())]
    return [name for name in wanted if not callable(getattr(cls, name, None))]


class ExprVisitor(Generic[R]):
    """IR expression -> R. Subclasses pass `abstract=True` to be exempt from the check (a
    partial backend meant to be extended)."""

    _dispatch: dict[str, Callable[[Any, Op], Any]] = {}

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        missing = missing_handlers(cls)
        if missing:
            raise MissingHandler(f"{cls.__qualname__} has no handler for "
                                 f"{', '.join(missing)}")
        cls._dispatch = {name: getattr(cls, info.handler) for name, info in OPS.items()}

    # declared, not defined: a subclass must define them (checked above)
    on_Const: Callable[[Const], R]
    on_Ref: Callable[[Ref], R]

    def __call__(self, e: Expr) -> R:
        if type(e) is Op:
            return self._dispatch[e.op](self, e)
        if type(e) is Ref:
            return self.on_Ref(e)
        if type(e) is Const:
            return self.on_Const(e)
        raise TypeError(f"not an IR expression: {e!r}")

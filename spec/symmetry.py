"""Where each scalarset of a checked spec sits in the slot layout (`ir.symmetry`).

A slot is indexed by a scalarset S when it is an element of an array over S (at any depth) or
belongs to a process instance of a set indexed by S (its pc and locals). Its key is the
variable it belongs to and its path of positions; the positions along S indices are its
coords, the rest (with the variable) its base. The checker has already refused what would
break the symmetry (docs/language.md, "Symmetry")."""
from __future__ import annotations

from typing import Union

from smp_explorer.ir.symmetry import SymmetricType
from smp_explorer.ir.types import ArrayT, ScalarsetT, Type
from smp_explorer.spec.checker import CheckedSpec
from smp_explorer.spec.scope import Layout, TypeSym, VarSym

# positions: ("S", k) along the scalarset, a plain int along another index
Path = tuple[Union[tuple[str, int], int], ...]


def symmetric_types(checked: CheckedSpec, nslots: int) -> tuple[SymmetricType, ...]:
    out: dict[ScalarsetT, SymmetricType] = {}
    for sym in checked.symbols.values():   # once per type, whatever aliases name it
        if isinstance(sym, TypeSym) and isinstance(sym.type, ScalarsetT) and \
                sym.type not in out:
            out[sym.type] = _describe(checked, sym.type, nslots)
    return tuple(out.values())


def _describe(checked: CheckedSpec, st: ScalarsetT, nslots: int) -> SymmetricType:
    keys: dict[int, tuple[object, Path]] = {}   # slot -> (variable, path)

    def walk(var: object, t: Type, layout: Layout, path: Path) -> None:
        if isinstance(t, ArrayT):
            assert isinstance(layout, tuple)
            for k, sub in enumerate(layout):
                walk(var, t.elem, sub, path + ((("S", k),) if t.index == st else (k,)))
        else:
            assert isinstance(layout, int)
            keys[layout] = (var, path)

    for sym in checked.symbols.values():
        if isinstance(sym, VarSym):
            walk(("global", sym.name), sym.type, sym.layout, ())
    processes = []
    for proc in checked.procs:
        mine = proc.param_type == st
        if mine:
            processes.append(proc.name)
        for k, inst in enumerate(proc.instances):
            prefix: Path = (("S", k),) if mine else (k,)
            keys[inst.pc_slot] = (("pc", proc.name), prefix)
            for name, local in inst.locals.items():
                walk(("local", proc.name, name), local.type, local.layout, prefix)
    base = [-1] * nslots
    coords: list[tuple[int, ...]] = [()] * nslots
    bases: dict[tuple, int] = {}
    for slot, (var, path) in keys.items():
        ks = tuple(p[1] for p in path if isinstance(p, tuple))
        if not ks:
            continue
        shape = (var, tuple(None if isinstance(p, tuple) else p for p in path))
        base[slot] = bases.setdefault(shape, len(bases))
        coords[slot] = ks
    return SymmetricType(st, tuple(base), tuple(coords), tuple(processes))


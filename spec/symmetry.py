"""Where each scalarset of a checked spec sits in the slot layout (`ir.symmetry`).

A slot is indexed by a scalarset S when it is an element of an array over S (at any depth) or
belongs to a process instance of a set indexed by S (its pc and locals). Its key is the
variable it belongs to and its path of positions; the positions along S indices are its
coords, the rest (with the variable) its base. The checker has already refused what would
break the symmetry (docs/language.md, "Symmetry").

A memory model's slot (`SlotRole`) is keyed by its role, the path of the CPU instance it
belongs to and the path of the shared location it is about: a pso FIFO `Cpu[1].sb[a[2]]` has
two positions along CPUS if both the process set and the array are indexed by it, so the
permutation is derived from the layout, never parsed from names. Entries that hold values of
the type or shared addresses get a `Rename`."""
from __future__ import annotations

from typing import Union

from smp_explorer.ir.symmetry import Rename, SymmetricType
from smp_explorer.ir.types import ArrayT, ScalarsetT, SetT, Type
from smp_explorer.spec.checker import CheckedSpec
from smp_explorer.spec.memory.base import SharedInfo, SlotRole
from smp_explorer.spec.scope import Layout, TypeSym, VarSym

# positions: ("S", k) along the scalarset, a plain int along another index
Path = tuple[Union[tuple[str, int], int], ...]


def symmetric_types(checked: CheckedSpec, nslots: int, internal: tuple[int, ...] = (),
                    roles: dict[int, SlotRole] | None = None, shared: SharedInfo | None = None,
                    ordered: dict[ScalarsetT, str] | None = None
                    ) -> tuple[SymmetricType, ...]:
    """`internal`: the memory model's slots; `roles`: what each of them is; `ordered`: the
    scalarsets whose values some step's stores take in a fixed order the memory model keeps
    (a whole-array store under tso), with the reason."""
    out: dict[ScalarsetT, SymmetricType] = {}
    for sym in checked.symbols.values():   # once per type, whatever aliases name it
        if isinstance(sym, TypeSym) and isinstance(sym.type, ScalarsetT) and \
                sym.type not in out:
            out[sym.type] = _describe(checked, sym.type, nslots, internal, roles or {}, shared,
                                      (ordered or {}).get(sym.type, ""))
    return tuple(out.values())


def _describe(checked: CheckedSpec, st: ScalarsetT, nslots: int, internal: tuple[int, ...],
              roles: dict[int, SlotRole], shared: SharedInfo | None, ordered: str
              ) -> SymmetricType:
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
    refused = ""
    renames: list[Rename] = []
    addresses: tuple[int, ...] = ()
    typed: tuple[bool, ...] = ()
    missing = [s for s in internal if s not in roles]
    if ordered:
        refused = ordered
    elif missing:
        refused = "the memory model's own slots are not described"
    elif internal and shared is not None and any(
            isinstance(t, SetT) and t.elem == st for t in shared.types):
        names = [n for n, t in zip(shared.names, shared.types)
                 if isinstance(t, SetT) and t.elem == st]
        refused = f"buffered values of the shared set {names[0]} are not renamed"
    elif internal:
        assert shared is not None
        addresses = tuple(shared.slots)
        typed = tuple(t == st for t in shared.types)
        moves = any(any(isinstance(p, tuple) for p in keys[a][1]) for a in addresses
                    if a in keys)
        cpus = {inst.name: (proc, k) for proc in checked.procs
                for k, inst in enumerate(proc.instances)}
        for slot in internal:
            r = roles[slot]
            role: tuple = ("internal", r.role)
            path: Path = ()
            if r.cpu is not None:
                proc, k = cpus[r.cpu]
                role += (proc.name,)
                path += (("S", k),) if proc.param_type == st else (k,)
            if r.address is not None:
                avar, apath = keys[r.address]
                role += (avar,)
                path += apath
            keys[slot] = (role, path)
            count = r.count if r.count is not None else -1
            if r.holds == "value" and r.address is not None and \
                    typed[shared.address[r.address]]:
                renames.append(Rename(slot, "value", count, r.entry, r.flags))
            elif r.holds == "address" and moves:
                renames.append(Rename(slot, "address", count, r.entry, r.flags))
            elif r.holds == "value_at" and any(typed):
                assert r.at is not None
                renames.append(Rename(slot, "value_at", count, r.entry, r.flags, r.at))
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
    return SymmetricType(st, tuple(base), tuple(coords), tuple(processes), tuple(renames),
                         addresses, typed, refused)


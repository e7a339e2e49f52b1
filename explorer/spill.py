"""The part of the visited set that lives on disk, and the memory budget (`--max-memory`).

When the in-memory table of keys (`store.KeyTable`) would grow beyond its share of the budget,
it writes its keys to disk as one sorted run and starts empty again, as TLC's disk-based
fingerprint set does. A key the table does not hold may be in a run: the new keys of every
batch are looked up in the runs (a binary search in each, on memory-mapped files, so the
operating system keeps in memory what it can) and the ones found are not new after all. The
search stays breadth-first and exact: the counts, verdicts and traces are those of a run
without a budget. Runs are merged into one when there are more than `MAX_RUNS`, a slice of
key range at a time, so a merge needs little memory.

Only one-word keys spill (states of at most 64 bits, or 64-bit fingerprints); a search that
cannot spill (the scalar engine's Python set, `--exact` keys of several words) stops cleanly
when the process has grown by more than the budget (`MemoryBudget`), with the statistics of
what it explored (stop reason "max-memory").
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, ContextManager, Iterator

if TYPE_CHECKING:
    import numpy as np

MAX_RUNS = 4              # merge the runs when there are more
MERGE_SLICE = 1 << 21     # keys of the largest run per slice of a merge
TABLE_SHARE = 0.25        # of the budget, for the in-memory table (its growth needs 1.5x that)
BATCH_SHARE = 0.125       # of the budget, for the temporaries of one batch of the vector engine


class DiskRuns:
    """Sorted runs of distinct uint64 keys in files of a private temporary directory (removed
    when the object goes, or at exit)."""

    def __init__(self, directory: str | None = None):
        self.dir = tempfile.mkdtemp(prefix="smp-explorer-spill-", dir=directory)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.dir, True)
        self.runs: list[np.ndarray] = []
        self.count = 0
        self.spills = 0
        self._serial = 0

    def _path(self) -> str:
        self._serial += 1
        return os.path.join(self.dir, f"run{self._serial}.u64")

    def _open(self, path: str) -> np.ndarray:
        import numpy as np
        if os.path.getsize(path) == 0:
            return np.zeros(0, dtype=np.uint64)
        return np.memmap(path, dtype=np.uint64, mode="r")

    def add(self, keys: np.ndarray) -> None:
        """Write `keys` (distinct, in none of the runs) as a new run."""
        import numpy as np
        if not len(keys):
            return
        path = self._path()
        np.sort(keys).tofile(path)
        self.runs.append(self._open(path))
        self.count += len(keys)
        self.spills += 1
        if len(self.runs) > MAX_RUNS:
            self._merge()

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Which of `keys` are in a run."""
        import numpy as np
        found = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            if not len(run):
                continue
            i = np.searchsorted(run, keys)
            np.minimum(i, len(run) - 1, out=i)
            found |= np.asarray(run[i]) == keys
        return found

    def _merge(self) -> None:
        """All runs into one, a slice of the key range at a time (the runs are disjoint)."""
        import numpy as np
        runs = self.runs
        big = max(runs, key=len)
        cuts = [int(x) for x in np.asarray(big[MERGE_SLICE::MERGE_SLICE])] + [None]
        path = self._path()
        with open(path, "wb") as out:
            lo = [0] * len(runs)
            for cut in cuts:
                parts = []
                for k, run in enumerate(runs):
                    hi = len(run) if cut is None else int(np.searchsorted(run, np.uint64(cut)))
                    parts.append(np.asarray(run[lo[k]:hi]))
                    lo[k] = hi
                np.sort(np.concatenate(parts)).tofile(out)
        old = [r.filename for r in runs if isinstance(r, np.memmap)]
        self.runs = [self._open(path)]
        for name in old:
            if name:
                os.unlink(name)

    def keys(self) -> np.ndarray:
        """Every key on disk, in memory (a checkpoint)."""
        import numpy as np
        if not self.runs:
            return np.zeros(0, dtype=np.uint64)
        return np.concatenate([np.asarray(r) for r in self.runs])

    @property
    def disk_bytes(self) -> int:
        return 8 * self.count

    def close(self) -> None:
        self.runs = []
        self._cleanup()


def resident_bytes() -> int:
    """The resident set of this process now (Linux: /proc/self/statm; elsewhere its peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


def physical_memory() -> int | None:
    """This machine's RAM in bytes (None when the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


DEFAULT_SHARE = 0.5       # --max-memory by default: half of this machine's RAM


def default_budget() -> int | None:
    ram = physical_memory()
    return None if ram is None else int(ram * DEFAULT_SHARE)


def spilled(search, visited) -> None:
    """After a search: a note on what its visited set wrote to disk; remove the files."""
    disk = getattr(visited, "disk", None)
    if not isinstance(disk, DiskRuns):
        return
    if disk.spills:
        search.notes.append(f"visited set spilled to disk {disk.spills} time(s) (--max-memory): "
                            f"{disk.count:,} keys, {disk.disk_bytes / 2**20:.1f} MiB")
    disk.close()


class MemoryBudget:
    """The memory a search may add to its process: the resident set now minus the one when the
    search started (the interpreter, the compiled model and the libraries are not the
    search's)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.base: int | None = None        # taken at the first check, once the code is built

    def exceeded(self) -> bool:
        now = resident_bytes()
        if self.base is None:
            self.base = now
        return now - self.base > self.limit

    @contextmanager
    def not_counted(self) -> Iterator[None]:
        """What the process grows by inside is not the search's (code generated mid-run)."""
        before = resident_bytes()
        try:
            yield
        finally:
            if self.base is not None:
                self.base += max(0, resident_bytes() - before)


def not_counted(budget: MemoryBudget | None) -> ContextManager[None]:
    """`budget.not_counted()`, or nothing without a budget."""
    return nullcontext() if budget is None else budget.not_counted()

"""The C library's allocator, set for a search (glibc; elsewhere nothing changes).

A search allocates and frees arrays of megabytes to tens of megabytes per batch and level (the
candidates, their keys, the words of the new states). By default glibc gives every block of
more than 32 MiB back to the system when it is freed (mmap) and trims the top of its heap past
128 KiB, and a thread other than the main one (the command line searches in one, `cli.main`)
gets an arena of its own whose blocks past 64 MiB are mmap'd too: each batch's arrays start on
fresh pages, which the kernel zeroes again. On the int3 workload that was 3.4-5.2 of about 20
CPU-seconds, in the kernel (bench/RESULTS.md). Here blocks up to 256 MiB stay on the heap, up to
256 MiB of free heap stays mapped, and every thread shares the main arena: the pages are reused.
The peak resident set stays within a few percent (that memory was in use at the peak; a block
kept free can leave a hole the next does not fit); what a run keeps after its peak is reused by
the next spec of the same command.

`SMP_EXPLORER_MALLOC=system` keeps the C library's settings, and so does any malloc setting of
the user's own (GLIBC_TUNABLES glibc.malloc.*, or glibc's MALLOC_*_ variables). The command
line sets it (`cli.main`), not the library's API (the caller's process is its own), nor the Ray
partitions (`--workers`): set there, two partitions took 17% longer on the int3 workload
(measured; the cause is not established).
"""
from __future__ import annotations

import ctypes
import os

HEAP_BLOCK = 256 << 20      # blocks up to this size come from the heap, not mmap
KEPT_FREE = 256 << 20       # free memory at the top of the heap kept mapped
ENV = "SMP_EXPLORER_MALLOC"
# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_LEGACY = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX",
           "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def user_settings() -> str | None:
    """The user's own choice of allocator settings, which win (or None)."""
    if os.environ.get(ENV, "").strip().lower() == "system":
        return f"{ENV}=system"
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return "GLIBC_TUNABLES"
    return next((name for name in _LEGACY if name in os.environ), None)


def set_for_search() -> bool:
    """Set glibc's allocator for this process's searches (before the thread that searches
    first allocates: its arena is chosen then); whether it was set."""
    if user_settings() is not None:
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version          # (glibc only: musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, HEAP_BLOCK), (_M_TRIM_THRESHOLD, KEPT_FREE), (_M_ARENA_MAX, 1)))

"""The C library's allocator set for a search (explorer/allocator.py): the memory of a freed
large array is reused by the next, in a thread other than the main one as the command line
searches, instead of the kernel handing out (and zeroing) fresh pages every time; the user's
own settings win; the command line sets it before its search thread starts.

Each case runs in a fresh interpreter (the settings are the process's). The measure is the
page faults of allocating, filling and freeing a 100 MiB array three times: with glibc's
defaults each round faults the array's pages in again (25,600 pages of 4 KiB, or about 50 huge
pages where NumPy asks for them), once set the last two rounds reuse the first's pages.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from conftest import MODELS

ROUNDS = """
import json, resource, threading
import numpy as np
from smp_explorer.explorer.allocator import set_for_search
applied = set_for_search()
faults = []
def work():
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        a = np.empty(100 << 20, dtype=np.uint8)
        a.fill(1)
        del a
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
t = threading.Thread(target=work)
t.start()
t.join()
print(json.dumps([applied, faults]))
"""


def rounds(env: dict[str, str]) -> tuple[bool, list[int]]:
    import os
    full = {k: v for k, v in os.environ.items()
            if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_") and k != "SMP_EXPLORER_MALLOC"}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", ROUNDS], capture_output=True, text=True,
                         env=full, timeout=120, check=True)
    applied, faults = json.loads(out.stdout)
    return applied, faults


@pytest.fixture(scope="module")
def glibc():
    applied, _ = rounds({})
    if not applied:
        pytest.skip("not glibc: the allocator is left as it is")


def test_a_freed_array_s_pages_are_reused_in_a_search_thread(glibc):
    applied, faults = rounds({})
    assert applied and faults[1] < 10 and faults[2] < 10, faults
    # the same rounds with the C library's defaults fault every round
    applied, faults = rounds({"SMP_EXPLORER_MALLOC": "system"})
    assert not applied and min(faults) >= 40, faults


@pytest.mark.parametrize("env", [{"SMP_EXPLORER_MALLOC": "system"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"},
                                 {"MALLOC_ARENA_MAX": "2"}])
def test_the_user_s_own_settings_win(glibc, env):
    applied, _ = rounds(env)
    assert not applied


def test_the_command_line_sets_it_before_its_search_thread(monkeypatch, capsys):
    from smp_explorer.cli import main as cli_main
    calls: list[tuple[str, list[str]]] = []

    def record() -> bool:
        calls.append((threading.current_thread().name,
                      [t.name for t in threading.enumerate()]))
        return False
    monkeypatch.setattr(cli_main, "set_for_search", record)
    status = cli_main.main(["check", str(MODELS / "classic" / "peterson.spec"), "--quiet"])
    capsys.readouterr()
    assert status == 0
    assert len(calls) == 1 and calls[0][0] == "MainThread" and "explorer" not in calls[0][1]

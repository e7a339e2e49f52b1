"""docs/tutorial.md: every command it shows prints what the page says, and every tutorial spec
gives the verdicts derived below by hand (not taken from the tool's output)."""
from __future__ import annotations

import re
import shlex

import pytest

from conftest import MODELS, ROOT, cli
from smp_explorer import check

TUTORIAL = ROOT / "docs" / "tutorial.md"
T = MODELS / "tutorial"


def shown_commands() -> list[tuple[str, str]]:
    """Each `$ explorer ...` block of the tutorial: the command and the output it shows."""
    text = TUTORIAL.read_text(encoding="utf-8")
    blocks = re.findall(r"```\n\$ (explorer [^\n]*)\n(.*?)```", text, re.S)
    return [(cmd, out) for cmd, out in blocks]


def test_the_tutorial_shows_commands():
    assert len(shown_commands()) >= 7


@pytest.mark.parametrize("command, shown", shown_commands(),
                         ids=[c for c, _ in shown_commands()])
def test_each_command_prints_what_the_tutorial_shows(capsys, command, shown):
    args = shlex.split(command)[1:]
    code, out, _ = cli(capsys, *args)
    assert out == shown


# The verdicts, derived by hand (the tutorial's text gives the same reasons):
# seqlock-v1 (no barriers): under sc the reader's two even, equal counts bracket a moment with
#   no write in progress, so r0 == r1. Under tso the writer's stores become visible in program
#   order and the reader's loads are performed in order: seeing seq = 0 at `retry` means
#   seq = 1 was not visible, so neither were d0 = 1 and d1 = 1 (FIFO): r0 = r1 = 0; seeing 2 at
#   `begin` means all stores were visible: r0 = r1 = 1. Under pso d0 = 1 can become visible
#   before seq = 1 (different locations): s1 = 0, r0 = 1, r1 = 0, s2 = 0: violated; weak
#   buffers stores as pso does, so violated too.
# seqlock-v2 (write fences): pso keeps the groups seq=1 | d0, d1 | seq=2 in order and loads
#   in order, so the tso argument applies: holds. Under weak a stale load of seq at `retry`
#   returns 0 after r0 = 1 was read: violated.
# seqlock-v3 (read fences too): the read fence after s1 ends stale views, so r0, r1 are at
#   least as new as what seq = s1 announced; the fence before s2 makes s2 at least as new as
#   the data read: s2 == s1 even means no write overlapped: holds everywhere. Without the
#   second fence, weak is violated as for v2.
# seqlock-onestep: after the fence the step's loads read memory at one instant; the writer's
#   fences make memory pass through seq=1 before any data and data before seq=2, so equal even
#   counts in one snapshot bracket no write: holds everywhere (the point of section 4).
# irq (sc): an interrupt between `seq := 1` and `seq := 2` runs a handler that awaits an even
#   count only the interrupted code can write: a deadlock; with IRQ_SAFE no interrupt arrives
#   while seq is odd, the handler still runs before or after the write: no deadlock.
# percpu (sc): the `for` raises the three flags of `a` in one step, so `a` is never half
#   raised; the `while` raises one flag of `b` per step: after the first, b is half raised.
SEQLOCK = {  # spec, consts -> memory -> status of `consistent`
    ("seqlock-v1.spec", ()): {"sc": "holds", "tso": "holds", "pso": "violated",
                              "weak": "violated"},
    ("seqlock-v2.spec", ()): {"sc": "holds", "tso": "holds", "pso": "holds",
                              "weak": "violated"},
    ("seqlock-v3.spec", ()): {"sc": "holds", "tso": "holds", "pso": "holds", "weak": "holds"},
    ("seqlock-v3.spec", (("SECOND_RMB", False),)): {"sc": "holds", "tso": "holds",
                                                     "pso": "holds", "weak": "violated"},
    ("seqlock-onestep.spec", ()): {"sc": "holds", "tso": "holds", "pso": "holds",
                                   "weak": "holds"},
}


@pytest.mark.parametrize("spec, consts", list(SEQLOCK))
def test_seqlock_verdicts(spec, consts):
    for memory, verdict in SEQLOCK[(spec, consts)].items():
        r = check(T / spec, memory=memory, consts=dict(consts))
        assert r.memory == memory
        assert r.get("consistent").status == verdict, (spec, consts, memory)
        # both outcomes of a read are reachable: the invariant is not vacuous
        assert r.get("read_old").status == r.get("read_new").status == "holds"
        assert r.get("deadlock_free").status == "holds"


def test_irq_verdicts():
    r = check(T / "irq.spec", memory="sc")
    assert r.get("deadlock_free").status == "violated"
    assert r.get("handler_ran").status == "holds"
    r = check(T / "irq.spec", memory="sc", consts={"IRQ_SAFE": True})
    assert r.get("deadlock_free").status == "holds"
    assert r.get("handler_ran").status == "holds"


def test_percpu_verdicts():
    r = check(T / "percpu.spec", memory="sc")
    assert r.get("a_half_raised").status == "unreached"
    assert r.get("b_half_raised").status == "holds"

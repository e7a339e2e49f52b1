"""The seed matrix (models/ftrace/) under `--memory lkmm`: every verdict derived by hand below
from the LKMM's rules (tools/memory-model/Documentation/explanation.txt; Alglave, Maranget,
McKenney, Parri, Stern, ASPLOS 2018), none pasted from the tool's output.

The models, as the LKMM sees them (the same in every file except where the file changes it):
- Patcher: inc (atomic_inc(mfc): under `linux.x86` LOCK'd, F[Mb] R W F[Mb]; under
  `linux.generic` a Noreturn RMW R[Once] W[Once] with no fence; v1: a plain load and a plain
  store); W[Once] b0=INT3; sync1; W[Once] tail=NEWT; sync2; W[Once] b0=NEW0; sync3; dec.
  A sync is F[Mb]; W[Release] ipi[c]=true for each c; R[Acquire] ipi[c]=false for each c.
- Cpu[c], each iteration of `boundary` either takes the IPI: R[Acquire] ipi[c]=true; F[Mb]
  (sync_core(), fence(serialize) read as smp_mb()); W[Release] ipi[c]=false; or fetches:
  R[Once] b0 (READ_ONCE: a hardware fetch is a marked access); if INT3: F[Rmb] (the trap
  entry), R[Once] mfc (atomic_read; v1 a plain read), F[Mb] (IRET); else R[Once] tail.

Facts used below (each an LKMM rule):
(MP)  W1 ->(mb or wmb) W2 on one CPU, R2 reads W2, R2 ->(rmb, or after an acquire) R1: R1
      cannot read a write co-before W1 (MP with strong/write fence + rmb: forbidden). Without
      a fence between W1 and W2 (an unordered atomic_inc, a plain store, two WRITE_ONCEs) or
      without one between the reads (a control dependency orders R->W only) it is allowed.
(HS)  The IPI handshake is release/acquire message passing: (a) a CPU's accesses after an
      acknowledgement iteration that read the sync's `true` are ordered (R[Acquire], then
      F[Mb]) after everything the patcher did before that sync (F[Mb] before the release
      stores); a fetch there cannot read a b0/tail write older than the sync. (b) a CPU's
      accesses po-before its acknowledgement W[Release] happen before everything the patcher
      does after reading it (R[Acquire]); they cannot read the patcher's later writes (hb
      cycle). (c) wait_k reads an acknowledgement co-after the patcher's own T_k (CoWR), wait_{k-1}
      one co-before T_k (CoRW): each sync needs an acknowledgement iteration of its own, on
      each CPU.
So to fetch from `write_b0` a CPU needs the acknowledgements of the syncs before it first
(HS b, c), and `Patcher at Done` needs one per sync per CPU: a `boundary` step per
acknowledgement plus one per fetch, each counted by `--unroll K`. The CPUs loop forever, so
some execution always reaches the bound: a property no execution within K breaks is
`bounded (unroll K)`, never `holds`.
"""
from __future__ import annotations

import json

import pytest

from conftest import ROOT, cli

SEED = ROOT / "models" / "ftrace"
B = "bounded"
PROPS = ("handler_sees_mfc", "no_torn_instruction", "no_data_race", "no_runtime_error",
         "trap_taken", "new_insn_executed", "patcher_done")


def run(capsys, name: str, k: int, *props: str) -> tuple[int, dict]:
    args = ["check", str(SEED / f"{name}.spec"), "--memory", "lkmm", "--unroll", str(k),
            "--json"]
    for p in props:
        args += ["--invariant", p]
    code, out, err = cli(capsys, *args)
    assert "Traceback" not in err, err
    [res] = json.loads(out)["results"]
    assert (res["engine"], res["unroll"]) == ("axiomatic", k)
    return code, res


def statuses(res: dict) -> dict[str, str]:
    return {p["name"]: p["status"] for p in res["properties"]}


def handler_read_zero(res: dict) -> bool:
    """Some CPU fetched b0 = INT3 from the patcher's `write_int3` and then read mfc = 0."""
    [prop] = [p for p in res["properties"] if p["name"] == "handler_sees_mfc"]
    events = {e["id"]: e for e in prop["execution"]["events"]}
    fetched = {e["cpu"] for e in events.values() if e["kind"] == "R" and e["location"] == "b0"
               and events[e["reads_from"]].get("label") == "write_int3"}
    return any(e["kind"] == "R" and e["location"] == "mfc" and e["value"] == 0
               and e["cpu"] in fetched for e in events.values())


def serialize_lines(name: str) -> str:
    text = (SEED / f"{name}.spec").read_text(encoding="utf-8").splitlines()
    return ", ".join(f"L{i}" for i, line in enumerate(text, 1)
                     if "fence(serialize)" in line.split("//")[0])


def test_generic_atomic_inc_lets_the_handler_see_zero_and_a_wmb_forbids_it(capsys):
    """v2-atomic-generic: `atomic_inc` is a Noreturn RMW with no fence (atomic_t.txt: a
    non-value-returning atomic is unordered), so W mfc=1 and W b0=INT3 are unordered: MP
    without a writer-side fence is allowed. A CPU fetches INT3 (read from `write_int3`),
    passes the trap entry's rmb and reads mfc = 0 from the initial write: one fetch, the
    patcher's first two steps, `--unroll 1` finds it; the execution shows that read.
    v2-atomic-barriers adds `smp_wmb()` between the two writes: MP with wmb and rmb, forbidden;
    mfc = 0 from `dec` needs the CPU's handler po-before its sync3 acknowledgement, which dec
    follows (HS b): forbidden too. Within `--unroll 2` nothing breaks it, and the CPUs loop, so
    `bounded` (exit status 3). Both results say how fence(serialize) was read."""
    code, res = run(capsys, "v2-atomic-generic", 1, "handler_sees_mfc")
    assert code == 1 and statuses(res) == {"handler_sees_mfc": "violated"}
    assert handler_read_zero(res)
    assert f"fence(serialize) ({serialize_lines('v2-atomic-generic')}) read as smp_mb()" \
        in " ".join(res["notes"])
    code, res = run(capsys, "v2-atomic-barriers", 2, "handler_sees_mfc")
    assert code == 3 and statuses(res) == {"handler_sees_mfc": B}


# At --unroll 2, each file's every property, derived from the facts above:
# - handler_sees_mfc: mfc = 0 read by the handler comes from init or from dec. From init: MP,
#   allowed where inc and write_int3 are unordered (v1: plain store; v2-atomic-generic:
#   unordered atomic_inc), forbidden with x86's LOCK'd inc (F[Mb] after W mfc) or smp_wmb().
#   From dec: dec follows sync3's wait, which needs the trapping CPU's acknowledgement after its
#   handler (HS b: forbidden); without sync3 (v3) dec follows sync2, and the CPU can take both
#   acknowledgements first, then fetch INT3 (b0 = NEW0 not yet read) and read dec's 0: three
#   `boundary` steps (HS c), so violated at K = 3 only (bounded at 2).
# - no_torn_instruction: (OLD0, NEWT) needs the fetch of b0 before sync1 is acknowledged and of
#   the tail after it: both fetches sit between two boundary steps, so the acknowledgement is
#   before both (HS a: OLD0 is co-before INT3, forbidden) or after both (HS b: NEWT is written
#   after wait1, forbidden); without sync1 (no-first-sync) it is the sc interleaving, allowed at
#   K = 1. (NEW0, OLDT) likewise with sync2; without sync2 (no-second-sync) W tail and W b0 are
#   two unordered WRITE_ONCEs and the fetch of the tail is only control-dependent on b0's: MP
#   with no fence, allowed; the CPU first acknowledges sync1 (write_b0 follows wait1: HS b), then
#   fetches: K = 2.
# - no_data_race: the only plain accesses are v1's mfc++/-- and the handler's read of mfc;
#   W mfc and the handler's read are unordered (the same MP): a race in v1 only.
# - no_runtime_error: only mfc changes range-checked values; the patcher reads its own writes
#   (CoWR), so mfc stays 0..1: bounded.
# - trap_taken: one fetch of INT3, K = 1: reached. new_insn_executed: acknowledgements of the
#   syncs before write_b0 (two; one in no-first-sync and no-second-sync) plus the fetch:
#   3 steps, reached at K = 2 only in the files with one sync before write_b0. patcher_done:
#   one acknowledgement per sync per CPU: 2 in v3, no-first-sync, no-second-sync (reached),
#   3 elsewhere (bounded at 2).
V, R = "violated", "holds"   # a reachable goal that is reached has status "holds" in JSON
AT2 = {
    "v1-plain-int":       (V, B, V, B, R, B, B),
    "v2-atomic":          (B, B, B, B, R, B, B),
    "v2-atomic-generic":  (V, B, B, B, R, B, B),
    "v2-atomic-barriers": (B, B, B, B, R, B, B),
    "v3-no-final-sync":   (B, B, B, B, R, B, R),
    "no-first-sync":      (B, V, B, B, R, R, R),
    "no-second-sync":     (B, V, B, B, R, R, R),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(AT2))
def test_seed_matrix_under_lkmm_at_unroll_2(capsys, name):
    assert sorted(AT2) == sorted(p.stem for p in SEED.glob("*.spec"))
    code, res = run(capsys, name, 2)
    assert statuses(res) == dict(zip(PROPS, AT2[name]))
    assert code == (1 if V in AT2[name] else 3)
    if AT2[name][0] == V:
        assert handler_read_zero(res)


@pytest.mark.slow
def test_without_the_final_sync_the_handler_reads_the_decrement_at_unroll_3(capsys):
    """v3-no-final-sync: the CPU acknowledges sync1 and sync2 (two boundary steps), fetches
    INT3 in a third (b0 = NEW0 is written after wait2 but need not be read yet), and its
    handler reads mfc = 0 from `dec`, which follows only wait2 (see the comments above)."""
    code, res = run(capsys, "v3-no-final-sync", 3, "handler_sees_mfc")
    assert code == 1 and statuses(res) == {"handler_sees_mfc": V}
    [prop] = res["properties"]
    events = {e["id"]: e for e in prop["execution"]["events"]}
    assert any(e["kind"] == "R" and e["location"] == "mfc" and e["value"] == 0
               and e["cpu"].startswith("Cpu[") and events[e["reads_from"]].get("label") == "dec"
               for e in events.values())

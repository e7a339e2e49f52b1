"""Memory models: the seed's verdict under every model, litmus shapes with the verdicts that
research/memory-models.md (Decision 2) and the x86-TSO/PSO definitions give, peer counts, traces
that show the memory-model steps, and the language's memory-model errors."""
from __future__ import annotations

import json

import pytest

from conftest import MODELS, cli, prop, rumur_rows, run, spec_errors
from smp_explorer.explorer.engines import explore
from smp_explorer.explorer.options import Options
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.pipeline import load_model, model_from_text

ALL = ("sc", "tso", "pso", "weak")


def verdict(path, memory: str, name: str, consts=None, buffer=None) -> str:
    m = load_model(path, consts, memory, buffer)
    return prop(explore(compile_model(m), Options()), name).status


# ---- the seed under every model ------------------------------------------------------------
# Expected values are the (and each file's header): the reasoning is in the files.
H, V = "holds", "violated"
SEED = [
    # plain int: the INT3 store overtakes the buffered counter store only with store reordering
    ("v1-plain-int.spec", "handler_sees_mfc", {"sc": H, "tso": H, "pso": V, "weak": V}),
    # x86 LOCK'd atomic_inc drains the buffer; the trap is taken as a read barrier (seed comment)
    ("v2-atomic.spec", "handler_sees_mfc", {"sc": H, "tso": H, "pso": H, "weak": H}),
    # generic atomic_inc is unordered: buffered under pso and weak (Decision 5)
    ("v2-atomic-generic.spec", "handler_sees_mfc", {"sc": H, "tso": H, "pso": V, "weak": V}),
    # smp_wmb before INT3 and smp_rmb in the handler (text_poke_bp, 2013)
    ("v2-atomic-barriers.spec", "handler_sees_mfc", {"sc": H, "tso": H, "pso": H, "weak": H}),
    # no final sync: a slow handler reads mfc after the patcher finished, no reordering needed
    ("v3-no-final-sync.spec", "handler_sees_mfc", {"sc": V, "tso": V, "pso": V, "weak": V}),
    # no first sync: a torn instruction even under SC
    ("no-first-sync.spec", "no_torn_instruction", {"sc": V, "tso": V, "pso": V, "weak": V}),
    # no second sync: the new first byte overtakes the tail only with store reordering
    ("no-second-sync.spec", "no_torn_instruction", {"sc": H, "tso": H, "pso": V, "weak": V}),
]


@pytest.mark.parametrize("name,prop,expected", SEED, ids=[s[0] for s in SEED])
def test_seed_verdict_matrix(name, prop, expected):
    got = {m: verdict(MODELS / "ftrace" / name, m, prop) for m in ALL}
    assert got == expected


@pytest.mark.parametrize("name", [s[0] for s in SEED if s[2] != "no_torn_instruction"
                                  and s[0] not in ("no-first-sync.spec", "no-second-sync.spec")])
def test_no_torn_instruction_holds_where_the_first_two_syncs_are_kept(name):
    for m in ALL:
        assert verdict(MODELS / "ftrace" / name, m, "no_torn_instruction") == H, m


def test_v2_atomic_needs_the_trap_read_barrier_under_weak():
    # The file's assumption "<trap-int3> // implicit (r)mb" is what keeps weak correct: without
    # it the handler may read a stale mfc = 0 although it fetched INT3.
    text = (MODELS / "ftrace" / "v2-atomic.spec").read_text()
    without = text.replace("def int3_trap_entry() { fence(read); }",
                           "def int3_trap_entry() { skip; }")
    assert without != text
    for memory, expected in (("pso", H), ("weak", V)):
        r = run(without, memory=memory)
        assert next(p.status for p in r.properties if p.name == "handler_sees_mfc") == expected


# ---- peer counts: the tso lowering against the Murphi store-buffer model ------------------

def _rumur(shared, model: str) -> tuple[int, int]:
    row = rumur_rows(shared)[model]
    return int(row["states"]), int(row["transitions"])


@pytest.mark.parametrize("spec,peer", [("sb.spec", "sb"), ("sb-mfence.spec", "sbfence")])
def test_tso_store_buffer_counts_equal_the_murphi_peer(shared, spec, peer):
    m = load_model(MODELS / "litmus" / spec, {"CHECK": "false"}, "tso", 2)
    r = explore(compile_model(m), Options(check_deadlock=False, reduction=False))
    assert (r.stats.states, r.stats.transitions) == _rumur(shared, peer)


# ---- litmus shapes --------------------------------------------------------------------------

def litmus(threads: list[str], cond: str, prelude: str = "linux.generic") -> str:
    """A two- or more-thread test: each statement its own step; `cond` over registers/memory."""
    lines = [f"use {prelude};", "shared x: 0..2 = 0;", "shared y: 0..2 = 0;"]
    for i, body in enumerate(threads):
        stmts = [s.strip() for s in body.split(";") if s.strip()]
        steps = " ".join(f"s{k}: {s};" for k, s in enumerate(stmts))
        lines.append(f"process P{i} {{ local r0: 0..2 = 0; local r1: 0..2 = 0; {steps} }}")
    done = " and ".join(f"P{i} at Done" for i in range(len(threads)))
    lines.append(f"reachable outcome: {done} and drained() and ({cond});")
    return "\n".join(lines)


def allowed(text: str, memory: str) -> bool:
    return prop(run(text, memory=memory, buffer=4, check_deadlock=False), "outcome").status == \
        "holds"


A, F = True, False
SHAPES = {
    # message passing: P0 writes data then flag; P1 reads flag then data
    "MP": (["WRITE_ONCE(x, 1); WRITE_ONCE(y, 1)", "r0 := READ_ONCE(y); r1 := READ_ONCE(x)"],
           "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": A, "weak": A}),
    "MP+wmb+po": (["WRITE_ONCE(x, 1); smp_wmb(); WRITE_ONCE(y, 1)",
                   "r0 := READ_ONCE(y); r1 := READ_ONCE(x)"],
                  "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": F, "weak": A}),
    "MP+po+rmb": (["WRITE_ONCE(x, 1); WRITE_ONCE(y, 1)",
                   "r0 := READ_ONCE(y); smp_rmb(); r1 := READ_ONCE(x)"],
                  "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": A, "weak": A}),
    "MP+wmb+rmb": (["WRITE_ONCE(x, 1); smp_wmb(); WRITE_ONCE(y, 1)",
                    "r0 := READ_ONCE(y); smp_rmb(); r1 := READ_ONCE(x)"],
                   "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": F, "weak": F}),
    "MP+rel+acq": (["WRITE_ONCE(x, 1); smp_store_release(y, 1)",
                    "r0 := smp_load_acquire(y); r1 := READ_ONCE(x)"],
                   "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": F, "weak": F}),
    # store buffering: both loads miss the other's store
    "SB": (["WRITE_ONCE(x, 1); r0 := READ_ONCE(y)", "WRITE_ONCE(y, 1); r0 := READ_ONCE(x)"],
           "P0.r0 == 0 and P1.r0 == 0", {"sc": F, "tso": A, "pso": A, "weak": A}),
    "SB+mbs": (["WRITE_ONCE(x, 1); smp_mb(); r0 := READ_ONCE(y)",
                "WRITE_ONCE(y, 1); smp_mb(); r0 := READ_ONCE(x)"],
               "P0.r0 == 0 and P1.r0 == 0", {"sc": F, "tso": F, "pso": F, "weak": F}),
    # load buffering: forbidden without promises (Decision 2)
    "LB": (["r0 := READ_ONCE(x); WRITE_ONCE(y, 1)", "r0 := READ_ONCE(y); WRITE_ONCE(x, 1)"],
           "P0.r0 == 1 and P1.r0 == 1", {"sc": F, "tso": F, "pso": F, "weak": F}),
    # 2+2W: both locations end with the first write of each thread
    "2+2W": (["WRITE_ONCE(x, 2); WRITE_ONCE(y, 1)", "WRITE_ONCE(y, 2); WRITE_ONCE(x, 1)"],
             "x == 2 and y == 2", {"sc": F, "tso": F, "pso": A, "weak": A}),
    "2+2W+wmbs": (["WRITE_ONCE(x, 2); smp_wmb(); WRITE_ONCE(y, 1)",
                   "WRITE_ONCE(y, 2); smp_wmb(); WRITE_ONCE(x, 1)"],
                  "x == 2 and y == 2", {"sc": F, "tso": F, "pso": F, "weak": F}),
    # coherence of read-read: a later read never sees an older value of the same location
    "CoRR": (["WRITE_ONCE(x, 1)", "r0 := READ_ONCE(x); r1 := READ_ONCE(x)"],
             "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": F, "weak": F}),
    # a generic atomic_inc is buffered under pso/weak: the flag may overtake it
    "MP+inc": (["atomic_inc(x); WRITE_ONCE(y, 1)", "r0 := READ_ONCE(y); r1 := atomic_read(x)"],
               "P1.r0 == 1 and P1.r1 == 0", {"sc": F, "tso": F, "pso": A, "weak": A}),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_litmus_shapes(name):
    threads, cond, expected = SHAPES[name]
    text = litmus(threads, cond)
    assert {m: allowed(text, m) for m in ALL} == expected


def test_sb_with_the_fence_in_the_store_step_is_forbidden_everywhere():
    # Each CPU's step `x := 1; smp_mb();` starts with an empty buffer and flushes its own store at
    # the fence (docs/language.md, "A fence after the step's own stores"), so each store is in
    # memory before its CPU's later load; whichever load runs second reads 1: r0 = r1 = 0 is
    # forbidden under every model. With the load in a step of its own, both stores then both
    # loads give r0 = r1 = 1; with the load in the fence's step (one atomic step per CPU), the
    # CPU that runs first reads 0 and the other 1.
    outcomes = {True: (("0", "0", F), ("1", "1", A)),
                False: (("0", "0", F), ("1", "1", F), ("0", "1", A))}
    for split, cases in outcomes.items():
        sep = " s1:" if split else ""
        for r0, r1, expected in cases:
            text = "\n".join([
                "use linux.generic;", "shared x: 0..1 = 0;", "shared y: 0..1 = 0;",
                f"process P0 {{ local r0: 0..1 = 1; s0: x := 1; smp_mb();{sep} r0 := y; }}",
                f"process P1 {{ local r0: 0..1 = 1; s0: y := 1; smp_mb();{sep} r0 := x; }}",
                f"reachable outcome: P0 at Done and P1 at Done and P0.r0 == {r0} "
                f"and P1.r0 == {r1};"])
            assert {m: allowed(text, m) for m in ALL} == {m: expected for m in ALL}, \
                (split, r0, r1)


def test_iriw_with_full_barriers_is_forbidden_under_weak():
    # multi-copy atomic: two readers cannot see two independent writes in opposite orders
    text = "\n".join([
        "use linux.generic;", "shared x: 0..1 = 0;", "shared y: 0..1 = 0;",
        "process W0 { s0: WRITE_ONCE(x, 1); }", "process W1 { s0: WRITE_ONCE(y, 1); }",
        "process R0 { local a: 0..1; local b: 0..1; s0: a := READ_ONCE(x); s1: smp_mb(); "
        "s2: b := READ_ONCE(y); }",
        "process R1 { local a: 0..1; local b: 0..1; s0: a := READ_ONCE(y); s1: smp_mb(); "
        "s2: b := READ_ONCE(x); }",
        "reachable outcome: W0 at Done and W1 at Done and R0 at Done and R1 at Done and drained()"
        " and R0.a == 1 and R0.b == 0 and R1.a == 1 and R1.b == 0;"])
    assert {m: allowed(text, m) for m in ALL} == {m: False for m in ALL}
    # without the barriers the weak model lets both readers see stale values
    assert allowed(text.replace("s1: smp_mb(); ", ""), "weak")


def test_x86_prelude_makes_every_rmw_a_full_barrier():
    # SB where P0's "fence" is a cmpxchg that fails: still LOCK'd on x86 (so SB is forbidden),
    # unordered in the generic semantics (so the SB outcome stays allowed under pso)
    threads = ["WRITE_ONCE(x, 1); r0 := cmpxchg(y, 2, 0); r1 := READ_ONCE(y)",
               "WRITE_ONCE(y, 1); smp_mb(); r0 := READ_ONCE(x)"]
    text = litmus(threads, "P0.r1 == 0 and P1.r0 == 0")
    assert allowed(text, "pso")                                   # generic: failure unordered
    assert not allowed(text.replace("linux.generic", "linux.x86"), "tso")


def test_await_on_a_shared_variable_under_weak_is_enabled_by_any_readable_value():
    # P1 waits until it reads flag == 0: a stale view lets it pass even after flag became 1
    text = "\n".join([
        "use linux.generic;", "shared flag: 0..1 = 0;",
        "process P0 { s0: WRITE_ONCE(flag, 1); }",
        "process P1 { local seen: 0..1; s0: seen := READ_ONCE(flag); s1: await READ_ONCE(flag) == 0; }",
        "reachable outcome: P0 at Done and drained() and P1.seen == 0 and P1 at Done;"])
    assert allowed(text, "weak") and allowed(text, "sc")
    # coherence: having read 1, a later read cannot return 0
    text2 = text.replace("reachable outcome: P0 at Done and drained() and P1.seen == 0",
                         "reachable outcome: P0 at Done and drained() and P1.seen == 1")
    assert not allowed(text2, "weak")


# ---- traces, statistics, JSON --------------------------------------------------------------

def test_flush_steps_are_rows_of_their_own_and_buffers_show_in_the_state(capsys):
    code, out, _ = cli(capsys, "check", str(MODELS / "litmus" / "sb.spec"), "--memory", "tso",
                       "--json", "--no-deadlock")
    doc = json.loads(out)
    assert code == 1
    [res] = doc["results"]
    trace = next(p for p in res["properties"] if p["name"] == "SB")["trace"]
    # shortest: both CPUs store into their buffers and load before any flush: 4 steps
    assert len(trace) == 5
    assert trace[-1]["state"]["P0.store_buffer"] == ["x=1"]
    assert trace[-1]["state"]["x"] == 0


def test_flush_rows_name_the_cpu_and_label_flush(capsys):
    _, out, _ = cli(capsys, "check", str(MODELS / "ftrace" / "v1-plain-int.spec"), "--memory",
                    "pso", "--json", "--invariant", "handler_sees_mfc")
    doc = json.loads(out)
    trace = next(p for p in doc["results"][0]["properties"]
                 if p["name"] == "handler_sees_mfc")["trace"]
    flushes = [s for s in trace if s["label"] == "flush"]
    # the INT3 store becomes visible before the counter store: one flush (of b0) in the trace
    assert [(s["process"], s["changed"]) for s in flushes] == \
        [("Patcher", ["b0", "Patcher.store_buffer"])]


def test_buffer_capacity_reached_is_reported(capsys):
    _, out, _ = cli(capsys, "check", str(MODELS / "litmus" / "sb.spec"), "--memory", "tso",
                    "--buffer", "1", "--json", "--no-deadlock", "--const", "CHECK=false")
    res = json.loads(out)["results"][0]
    assert any("held 1 entries" in n for n in res["notes"])


def test_verdict_matrix_in_one_run(capsys):
    code, out, _ = cli(capsys, "check", str(MODELS / "ftrace" / "v1-plain-int.spec"), "--memory",
                       "sc,tso,pso,weak", "--plain", "--quiet")
    assert code == 1
    header = next(line for line in out.splitlines() if "sc" in line and "weak" in line)
    assert header.split("|")[2:] and "tso" in header and "pso" in header
    row = next(line for line in out.splitlines() if line.startswith("handler_sees_mfc"))
    assert [c.strip() for c in row.split("|")[2:]] == ["holds", "holds", "violated", "violated"]


# ---- errors ----------------------------------------------------------------------------------

def errors(text: str, memory=None) -> list[str]:
    return [e.message for e in spec_errors(text, memory=memory)]


def test_memory_model_errors():
    assert "unknown memory model 'arm'" in errors("memory arm;\nprocess P { a: skip; }")[0]
    assert "unknown prelude 'linux.arm'" in errors("use linux.arm;\nprocess P { a: skip; }")[0]
    msg = errors("shared x: 0..1;\nprocess P { a: smp_mb(); }")[0]
    assert "unknown definition 'smp_mb'" in msg and "use linux" in msg
    msg = errors("use linux.x86;\nshared x: 0..1;\nprocess P { a: smp_foo(x); }")[0]
    assert "unknown definition 'smp_foo'" in msg
    assert "expected a store ordering" in errors(
        "shared x: 0..1;\nprocess P { a: store(x, 1, acquire); }")[0]
    assert "expected a shared location" in errors(
        "var x: 0..1;\nprocess P { a: store(x, 1, plain); }")[0]


def test_a_specs_own_def_overrides_the_prelude():
    # redefine smp_wmb as a no-op: MP+wmb+po, forbidden under pso with the prelude's smp_wmb,
    # becomes allowed
    threads, cond, _ = SHAPES["MP+wmb+po"]
    text = litmus(threads, cond).replace("use linux.generic;",
                                         "use linux.generic;\ndef smp_wmb() { skip; }")
    assert allowed(text, "pso")


def test_a_buffer_holds_every_store_of_one_step():
    # three buffered stores in one atomic step: the default capacity grows to 3 so the step
    # can run (it cannot wait for a flush halfway); an explicit smaller --buffer is an error
    text = ("memory tso;\nshared x: 0..3;\nshared y: 0..3;\n"
            "process P { a: x := 1; y := 1; x := 2; }\n"
            "process Q { local r: 0..3; b: r := y; }\n"
            "reachable ran: P at Done;")
    r = run(text)
    assert next(p.status for p in r.properties if p.name == "ran") == "holds"
    with pytest.raises(SpecError) as info:
        model_from_text(text, "t.spec", None, None, 2)
    assert "--buffer 3 or more" in info.value.message and info.value.span.line == 4


def test_an_action_writes_memory_directly_and_ages_the_cpus_views():
    # TLA+-style actions are no CPU: their RMWs act on memory at once, and under weak a CPU
    # that read the old value may still see it (the action's write ages its view)
    text = "\n".join([
        "use linux.generic;", "shared x: 0..3 = 0;", "var done: bool = false;",
        "action Bump { await not done; let old = rmw(x, add, 1, full); done := true; }",
        "process P { local a: 0..3; local b: 0..3; s0: a := READ_ONCE(x); s1: await done; "
        "s2: b := READ_ONCE(x); }",
        "reachable stale: P at Done and P.a == 0 and P.b == 0;",
        "reachable fresh: P at Done and P.b == 1;"])
    for memory, stale in (("sc", False), ("tso", False), ("weak", True)):
        r = run(text, memory=memory)
        got = {p.name: p.status for p in r.properties}
        assert got["fresh"] == "holds"
        assert (got["stale"] == "holds") == stale, memory

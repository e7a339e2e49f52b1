"""Random valid specs as Hypothesis strategies, and the differential check every engine and
memory model must pass on them (tests/test_fuzz.py, bench/fuzz.py).

`specs()` draws a spec following docs/language.md: shared scalars and one shared array over a
small range `0..R`, maybe a ghost `var`, maybe `use linux.generic;` or `use linux.x86;`, one to
three processes (some parameterised, `process P[i in 0..1]`) with a local, each a few labelled
steps of assignments, `await`, `if`, `either`, `with`, `while`, `goto`, `assert`, memory
primitives or the prelude's Linux primitives and fences, then invariants and reachable goals.
Every draw is built from Hypothesis choices, so a failing spec shrinks to a small one.

`differences(text)` runs a spec through the reference, scalar, vector and auto engines under
sc, tso, pso and weak, with and without limits (and `bmc` on small ones), and returns what
disagrees: the engines must give the same states, transitions, depth, verdicts, coverage and,
for each counterexample, its length and final state; and without ghost `var`s, what is found
under a memory model (a violation, a reached goal) is found under every weaker one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

MEMORIES = ("sc", "tso", "pso", "weak")
ENGINES = ("reference", "scalar", "vector", "auto")
STATE_LIMIT = 4000          # a spec whose reference run does not finish within this is "big"
BMC_STATES = 300            # bmc only on specs this small ...
BMC_DEPTH = 8               # ... and up to this depth


# ---- the generator -----------------------------------------------------------------------------

@dataclass
class Ctx:
    """What the statements of one process may name."""

    R: int                         # the range of every integer: 0..R
    shared: list[str]              # shared scalars
    array: str | None              # a shared array[0..1] of 0..R, if any
    ghost: str | None              # a ghost var 0..R, if any
    prelude: str | None            # linux.generic / linux.x86 / None
    param: str | None              # the process parameter, if parameterised
    local: str = "r"               # how the local is named ("A.r" in a property)
    labels: list[str] = field(default_factory=list)
    asserts: list[int] = field(default_factory=lambda: [0])   # a counter for messages

    def locations(self) -> list[str]:
        locs = list(self.shared)
        if self.array:
            locs += [f"{self.array}[0]", f"{self.array}[1]"]
            if self.param:
                locs.append(f"{self.array}[{self.param}]")
        return locs


@st.composite
def value(draw, ctx: Ctx) -> str:
    """An integer expression in 0..R (a constant or the local)."""
    return draw(st.sampled_from([str(v) for v in range(ctx.R + 1)] + ["r"]))


@st.composite
def read(draw, ctx: Ctx) -> str:
    """An expression reading state: a shared location, the local, the ghost."""
    options = ctx.locations() + [ctx.local] + ([ctx.ghost] if ctx.ghost else [])
    return draw(st.sampled_from(options))


@st.composite
def condition(draw, ctx: Ctx, depth: int = 0) -> str:
    kind = draw(st.integers(0, 3 if depth < 1 else 0))
    if kind == 0:
        op = draw(st.sampled_from(["==", "!=", "<", ">="]))
        return f"{draw(read(ctx))} {op} {draw(st.integers(0, ctx.R))}"
    if kind == 1:
        return f"not ({draw(condition(ctx, depth + 1))})"
    op = "and" if kind == 2 else "or"
    return f"({draw(condition(ctx, depth + 1))}) {op} ({draw(condition(ctx, depth + 1))})"


def _inc(ctx: Ctx, e: str) -> str:
    return f"({e} + 1) % {ctx.R + 1}"


@st.composite
def memory_op(draw, ctx: Ctx) -> str:
    """A load, store, fence or atomic, through the prelude when there is one."""
    loc = draw(st.sampled_from(ctx.locations()))
    v = draw(value(ctx))
    if ctx.prelude:
        ops = [f"WRITE_ONCE({loc}, {v});", f"r := READ_ONCE({loc});", "smp_mb();",
               "smp_wmb();", "smp_rmb();", f"smp_store_release({loc}, {v});",
               f"r := smp_load_acquire({loc});", f"r := xchg({loc}, {v});",
               f"r := cmpxchg({loc}, {draw(value(ctx))}, {v});",
               f"r := atomic_fetch_add(0, {loc});", f"atomic_add(0, {loc});",
               f"r := atomic_read({loc});", "smp_mb__after_atomic();"]
        if ctx.R >= 1:
            # may overflow: a run-time error is a property like any other
            ops += [f"atomic_inc({loc});", f"r := atomic_inc_return({loc});"]
    else:
        order_l = draw(st.sampled_from(["plain", "acquire"]))
        order_s = draw(st.sampled_from(["plain", "release"]))
        order_a = draw(st.sampled_from(["unordered", "acquire", "release", "full"]))
        ops = [f"store({loc}, {v}, {order_s});", f"r := load({loc}, {order_l});",
               f"fence({draw(st.sampled_from(['full', 'read', 'write', 'serialize']))});",
               f"r := rmw({loc}, xchg, {v}, {order_a});",
               f"rmw({loc}, or, {v}, {order_a});",
               f"r := cas({loc}, {draw(value(ctx))}, {v}, {order_a}, "
               f"{draw(st.sampled_from(['unordered', 'full']))});"]
    return draw(st.sampled_from(ops))


@st.composite
def simple(draw, ctx: Ctx) -> str:
    """One statement that does not end the step."""
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return f"r := {draw(read(ctx))};"
    if kind == 1:
        loc = draw(st.sampled_from(ctx.locations()))
        return f"{loc} := {draw(st.sampled_from([draw(value(ctx)), _inc(ctx, 'r')]))};"
    if kind == 2:
        return f"await {draw(condition(ctx))};"
    if kind == 3 and ctx.ghost:
        return f"{ctx.ghost} := {draw(value(ctx))};"
    if kind == 4:
        ctx.asserts[0] += 1
        return f'assert {draw(condition(ctx))} : "m{ctx.asserts[0]}";'
    if kind == 5:
        return "skip;"
    return draw(memory_op(ctx))


@st.composite
def block(draw, ctx: Ctx, depth: int = 0) -> list[str]:
    """Statements of one step (no labels); may end with a goto."""
    out = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.integers(0, 5 if depth < 1 else 0))
        if kind <= 2:
            out.append(draw(simple(ctx)))
        elif kind == 3:
            then = draw(block(ctx, depth + 1))
            other = draw(block(ctx, depth + 1))
            out.append(f"if {draw(condition(ctx))} {{ {' '.join(then)} }} "
                       f"else {{ {' '.join(other)} }}")
        elif kind == 4:
            a, b = draw(block(ctx, depth + 1)), draw(block(ctx, depth + 1))
            out.append(f"either {{ {' '.join(a)} }} or {{ {' '.join(b)} }}")
        else:
            body = draw(block(ctx, depth + 1))
            if ctx.array:
                body.insert(0, f"{ctx.array}[k] := {draw(value(ctx))};")
            out.append(f"with k in 0..1 {{ {' '.join(body)} }}")
    if draw(st.booleans()):
        out.append(f"goto {draw(st.sampled_from(ctx.labels + ['Done']))};")
    return out


@st.composite
def process(draw, ctx: Ctx, name: str) -> list[str]:
    n = draw(st.integers(1, 3))
    ctx.labels = [f"{name.lower()}{k}" for k in range(n)]
    head = f"process {name}[{ctx.param} in 0..1] {{" if ctx.param else f"process {name} {{"
    lines = [head, f"  local r: 0..{ctx.R} = 0;"]
    for label in ctx.labels:
        if draw(st.integers(0, 5)) == 0:
            # a loop: each iteration one step
            body = [s for s in draw(block(ctx)) if not s.startswith("goto")]
            lines.append(f"  {label}: while r < {ctx.R} {{ r := r + 1; {' '.join(body)} }}")
        else:
            lines.append(f"  {label}: {' '.join(draw(block(ctx)))}")
    lines.append("}")
    return lines


@st.composite
def specs(draw) -> str:
    """The text of a random valid spec."""
    R = draw(st.integers(1, 2))
    shared = [f"x{k}" for k in range(draw(st.integers(1, 2)))]
    array = "a" if draw(st.booleans()) else None
    ghost = "g" if draw(st.integers(0, 3)) == 0 else None
    prelude = draw(st.sampled_from([None, None, "linux.generic", "linux.x86"]))
    lines = [f"use {prelude};"] if prelude else []
    lines += [f"shared {x}: 0..{R} = 0;" for x in shared]
    if array:
        lines.append(f"shared {array}: array[0..1] of 0..{R} = 0;")
    if ghost:
        lines.append(f"var {ghost}: 0..{R} = 0;")
    names = ["A", "B", "C"][:draw(st.integers(1, 3))]
    instances: list[str] = []
    params = {}
    for name in names:
        # at most three instances in all: one parameterised process when there are two
        param = "i" if len(names) <= 2 and not params and draw(st.booleans()) else None
        params[name] = param
        ctx = Ctx(R, shared, array, ghost, prelude, param)
        lines += draw(process(ctx, name))
        instances += [f"{name}[0]", f"{name}[1]"] if param else [name]
    # properties over globals, locals and program counters
    for k in range(draw(st.integers(0, 2))):
        gctx = Ctx(R, shared, array, ghost, prelude, None, f"{draw(st.sampled_from(instances))}.r")
        lines.append(f"invariant Inv{k}: {draw(condition(gctx))};")
    for k in range(draw(st.integers(0, 2))):
        who = draw(st.sampled_from(instances))
        gctx = Ctx(R, shared, array, ghost, prelude, None, f"{who}.r")
        cond = f"{who} at Done" if draw(st.booleans()) else draw(condition(gctx))
        lines.append(f"reachable Goal{k}: {cond};")
    return "\n".join(lines) + "\n"


def cases():
    """A spec and the limits of its limited run (each spec also runs without limits)."""
    return st.tuples(specs(), st.sampled_from(LIMITS[1:]))


# ---- the differential check ------------------------------------------------------------------

@dataclass
class Finding:
    """One disagreement (or traceback) found on a spec."""

    kind: str        # "engines" | "bmc" | "memory-models" | "traceback"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


LIMITS: list[dict] = [
    {},
    {"max_states": 25},
    {"max_depth": 3},
    {"stop_at_first": True},
    {"check_deadlock": False},
]


def summary(r) -> tuple:
    """What every engine must compute identically."""
    props = []
    for p in r.properties:
        trace = p.trace.to_json() if p.trace else None
        props.append((p.name, p.status, len(trace) if trace else None,
                      trace[-1]["state"] if trace else None))
    return (r.stats.states, r.stats.transitions, r.stats.depth, r.complete, r.stop_reason,
            r.stats.initial_states, r.stats.coverage, tuple(props))


def _model(text: str, memory: str):
    from smp_explorer.spec.pipeline import model_from_text
    return model_from_text(text, "fuzz.spec", None, memory)


def _run(cm, engine: str, **options):
    from smp_explorer.explorer.engines import explore
    from smp_explorer.explorer.options import Options
    return explore(cm, Options(engine=engine, **options), cm.model.memory)


def found(r) -> set[str]:
    """What a run found: violated properties and reached goals. Deadlocks are left out: a
    weaker model can remove one (under `weak` an `await` may be satisfied by a stale value the
    CPU can go on reading), so they need not grow with the model."""
    return {p.name for p in r.properties if p.trace is not None and p.name != "deadlock_free"}


def differences(text: str, memories=MEMORIES, engines=ENGINES, limits=None,
                use_bmc: bool = True) -> list[Finding]:
    """`limits`: the option sets to run each engine with (default: all of `LIMITS`)."""
    """Every disagreement between engines, bmc and memory models on one spec. A spec error
    (the generator's fault) raises `SpecError`; any other exception is a traceback finding."""
    import traceback
    from smp_explorer.runs.compiled import compile_model
    from smp_explorer.spec.errors import SpecError, SpecErrors
    findings: list[Finding] = []
    complete: dict[str, set[str]] = {}
    for memory in memories:
        model = _model(text, memory)  # SpecError / SpecErrors: the generator's bug
        cm = compile_model(model)
        for opts in (LIMITS if limits is None else limits):
            opts = dict(opts)
            opts.setdefault("max_states", STATE_LIMIT)
            want = None
            for engine in engines:
                try:
                    got = summary(_run(cm, engine, **opts))
                except (SpecError, SpecErrors):
                    raise
                except Exception:
                    findings.append(Finding("traceback", f"{engine} {memory} {opts}:\n"
                                            f"{traceback.format_exc()}"))
                    continue
                if want is None:
                    want = (engine, got)
                elif got != want[1]:
                    findings.append(Finding("engines", f"{engine} != {want[0]} under {memory} "
                                            f"{opts}:\n  {want[1]}\n  {got}"))
            if not opts.get("stop_at_first") and len(opts) == 1 and want is not None:
                ref = _run(cm, "reference", **opts)
                if ref.complete:
                    complete[memory] = found(ref)
                    if use_bmc and ref.stats.states <= BMC_STATES:
                        findings += _bmc_differences(model, ref, memory)
    if "var g:" not in text:
        order = [m for m in MEMORIES if m in complete]
        for strong, weak in zip(order, order[1:]):
            lost = complete[strong] - complete[weak]
            if lost:
                findings.append(Finding("memory-models", f"found under {strong} but not under "
                                        f"{weak}: {sorted(lost)}"))
    return findings


def _bmc_differences(model, bfs, memory: str) -> list[Finding]:
    """bmc finds what BFS finds within min(the BFS depth, BMC_DEPTH) steps, at its length."""
    from smp_explorer.invariants.bmc import bmc
    depth = min(bfs.stats.depth, BMC_DEPTH)
    try:
        run = bmc(model, depth)
    except Exception as e:  # an encoding the symbolic side does not support is not a finding
        from smp_explorer.invariants.z3enc import EncodingError
        if isinstance(e, EncodingError):
            return []
        raise
    out = []
    for p, q in zip(bfs.properties, run.properties):
        hit = p.trace is not None and len(p.trace) <= depth
        expected = (p.status, len(p.trace)) if hit else ("bounded", None)
        got = (q.status, None if q.trace is None else len(q.trace))
        if p.name != q.name or got != expected:
            out.append(Finding("bmc", f"{p.name} under {memory} at depth {depth}: bfs "
                               f"{expected}, bmc {got}"))
    return out

"""Differential fuzzing: random valid specs through every engine and memory model.

    python bench/fuzz.py --specs 1000 [--seed S] [--out DIR] [--no-shrink]

Draws N random specs (tests/fuzzspecs.py), runs each through the reference, scalar, vector and
auto engines under sc, tso, pso and weak, with and without limits, and bmc on small ones; counts
the specs with a disagreement and those with a traceback. Each kind of disagreement found is
then shrunk by Hypothesis to a minimal spec, saved under DIR (default fuzz-findings/) as
`NN-KIND.spec`, with what disagreed as a comment at its top. Exit status 1 when anything was
found.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fuzzspecs import Finding, differences, specs  # noqa: E402


def signature(f: Finding) -> str:
    """Findings of one kind, for shrinking: the kind and the exception or engines involved."""
    if f.kind == "traceback":
        last = [line for line in f.detail.strip().splitlines() if line.strip()][-1]
        return f"traceback {last.split(':')[0]}"
    if f.kind == "engines":
        return "engines " + " ".join(f.detail.split()[:3])
    return f.kind


def survey(n: int, s: int) -> list[tuple[str, list[Finding]]]:
    """The findings of each of `n` specs drawn with seed `s` (no shrinking)."""
    out: list[tuple[str, list[Finding]]] = []

    @seed(s)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(specs())
    def each(text):
        out.append((text, differences(text)))
        done = len(out)
        if done % 50 == 0:
            bad = sum(1 for _, f in out if f)
            print(f"  {done} specs, {bad} with findings", file=sys.stderr, flush=True)
    each()
    return out


def shrink(s: int, sig: str, budget: int) -> tuple[str, list[Finding]] | None:
    """The minimal spec (Hypothesis's shrinking) with a finding of signature `sig`."""
    last: list[tuple[str, list[Finding]]] = []

    @seed(s)
    @settings(max_examples=budget, deadline=None, database=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(specs())
    def fails(text):
        found = [f for f in differences(text) if signature(f) == sig]
        if found:
            last.append((text, found))
            raise AssertionError(sig)
    try:
        fails()
    except AssertionError:
        return last[-1] if last else None
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", type=int, default=1000, help="random specs to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz-findings", help="directory for minimal specs")
    ap.add_argument("--no-shrink", action="store_true")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    results = survey(args.specs, args.seed)
    seconds = time.perf_counter() - start
    disagreements = sum(1 for _, fs in results if any(f.kind != "traceback" for f in fs))
    tracebacks = sum(1 for _, fs in results if any(f.kind == "traceback" for f in fs))
    kinds: dict[str, int] = {}
    for _, fs in results:
        for sig in {signature(f) for f in fs}:
            kinds[sig] = kinds.get(sig, 0) + 1
    print(f"{len(results)} specs in {seconds:.0f} s: {disagreements} with a disagreement, "
          f"{tracebacks} with a traceback")
    for sig, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d}  {sig}")
    if not kinds:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k, sig in enumerate(sorted(kinds)):
        first = next(text for text, fs in results if any(signature(f) == sig for f in fs))
        found = None if args.no_shrink else shrink(args.seed, sig, args.specs)
        text, fs = found or (first, [f for f in differences(first) if signature(f) == sig])
        name = out / f"{k:02d}-{re.sub(r'[^A-Za-z0-9]+', '-', sig).strip('-')}.spec"
        comment = "\n".join("// " + line for f in fs[:3] for line in str(f).splitlines())
        name.write_text(comment + "\n" + text)
        print(f"  saved {name}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

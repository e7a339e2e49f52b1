"""The litmus corpus's MANIFEST.tsv and the verdict each memory model is expected to give.

Columns: path arch threads source expected_sc expected_tso expected_lkmm_or_arch notes
(`../shared/litmus/README.md`). A verdict is about the proposition P of the final condition:
`Allowed`/`Forbidden` for `exists`, `~exists` and `final`; `Always`/`Not always` for `forall`
(the manifest writes a `forall` test that is not always satisfied as `Allowed`: Decision 8 of
`research/memory-models.md`).

Where the expectations come from, per model (`expected()` returns the verdict and why):

* sc: `expected_sc` (derived by the corpus's exhaustive enumeration);
* tso: `expected_tso` (source-stated for x86 tests; derived with the Linux x86 mapping for C);
* pso: x86 tests: the `pso=` value in the notes (derived). C tests have no stated PSO verdict;
  two inclusions decide some of them: TSO outcomes are PSO outcomes (PSO only adds store
  reordering, and the generic mapping orders no more than the x86 one), so TSO `Allowed` /
  `Not always` carries over; LKMM is weaker than PSO, so LKMM `Forbidden` / `Always` carries
  over (memory-models.md section 5). The rest is not checked (`None`).
* weak: only what a source states or a sound inclusion gives, never the weak model's own
  design (issue 9): a C test's LKMM verdict (`expected_lkmm_or_arch`, the verdict of the
  Linux-kernel memory model, which is what a kernel developer is held to); for x86 tests, PSO
  `Allowed` / `Not always` carries over (weak has PSO's store buffers and only adds stale
  reads); the other x86 tests are not checked. Where weak cannot agree with LKMM by design
  (Decision 2: no promises, multi-copy atomic), `known_gap()` names the documented gap class the
  test's notes tag (`MCA-forbids`, `needs-promise`, `ARMv8-forbids`): such a disagreement is
  still reported, labelled with its class.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ["path", "arch", "threads", "source", "expected_sc", "expected_tso",
           "expected_lkmm_or_arch", "notes"]

# needs-promise tests whose outcome needs only stores becoming visible out of program order:
# Allowed under weak (Decision 2); the other needs-promise tests stay Forbidden.
NEEDS_PROMISE_ALLOWED = {"C-2+2W+o-o+o-o", "C-MP+o-o+o-rmb-o", "C-MP-OMCA+o-o-o+o-rmb-o",
                         "S+poonceonces"}


@dataclass
class Row:
    path: str
    arch: str          # x86 | C
    threads: int
    source: str
    sc: str
    tso: str
    lkmm_or_arch: str
    notes: str

    @property
    def stem(self) -> str:
        return Path(self.path).name.removesuffix(".litmus")

    @property
    def quantifier(self) -> str:
        m = re.search(r"cond=(~?\w+)", self.notes)
        return m.group(1) if m else "exists"

    @property
    def corpus(self) -> str:
        """The folder a test comes from: x86/herdtools7, x86/dat3m, lkmm/linux, ..."""
        parts = Path(self.path).parts
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0]

    def tags(self) -> set[str]:
        return {t for t in ("MCA-forbids", "needs-promise", "ARMv8-forbids", "model-detail")
                if t in self.notes}

    @property
    def pso_note(self) -> str | None:
        m = re.search(r"\bpso=(\w+)", self.notes)
        return m.group(1) if m else None


def read_manifest(path: str | Path) -> dict[str, Row]:
    """Rows by their `path` column (relative to the manifest's folder)."""
    rows: dict[str, Row] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header[:len(COLUMNS)] != COLUMNS:
            raise ValueError(f"{path}: unexpected header {header}")
        for rec in reader:
            if not rec or not rec[0].strip():
                continue
            rec += [""] * (len(COLUMNS) - len(rec))
            rows[rec[0]] = Row(rec[0], rec[1], int(rec[2] or 0), rec[3], rec[4], rec[5],
                               rec[6], rec[7])
    return rows


def verdict(value: str, quantifier: str) -> str:
    """A manifest value as the verdict `explorer litmus` prints."""
    v = value.replace("(derived)", "").strip()
    if quantifier == "forall" and v == "Allowed":
        return "Not always"  # Decision 8
    return v


def _positive(v: str) -> bool:
    return v in ("Allowed", "Not always")


def expected(row: Row, memory: str) -> tuple[str | None, str]:
    """The verdict `memory` should give for the test of `row`, and where it comes from;
    (None, why) when nothing is expected."""
    q = row.quantifier
    sc, tso = verdict(row.sc, q), verdict(row.tso, q)
    lkmm = verdict(row.lkmm_or_arch, q)
    if memory == "sc":
        return sc, "expected_sc"
    if memory == "tso":
        return tso, "expected_tso"
    if memory == "pso":
        if row.arch == "x86":
            if row.pso_note is None:
                return None, "no pso= note"
            return verdict(row.pso_note, q), "pso= note"
        if _positive(tso):
            return tso, "TSO outcomes are PSO outcomes"
        if row.arch == "C" and lkmm in ("Forbidden", "Always"):
            return lkmm, "LKMM is weaker than PSO"
        return None, "no stated PSO verdict"
    if memory == "weak":
        if row.arch == "C":
            return lkmm, "LKMM verdict (expected_lkmm_or_arch)"
        pso = verdict(row.pso_note, q) if row.pso_note else None
        if pso is not None and _positive(pso):
            return pso, "PSO outcomes are weak outcomes"
        return None, "no stated weak verdict"
    raise ValueError(f"unknown memory model {memory}")


def known_gap(row: Row, memory: str) -> str | None:
    """The documented reason (Decision 2 of memory-models.md) why `memory` cannot give the
    LKMM verdict of a C test, from the tag in its notes; None when there is none."""
    if memory != "weak" or row.arch != "C":
        return None
    tags = row.tags()
    if "MCA-forbids" in tags:
        return "MCA-forbids: weak is multi-copy atomic, LKMM is not"
    if "needs-promise" in tags and row.stem not in NEEDS_PROMISE_ALLOWED:
        return "needs-promise: LB-shaped or a release sequence; weak has no promises"
    if "ARMv8-forbids" in tags:
        return "ARMv8-forbids: LB-shaped (smp_rmb ordering a later store)"
    return None


def stated_result(path: str | Path, quantifier: str) -> tuple[str | None, str]:
    """The verdict a C test states itself: a `Result: Never/Sometimes/Always` line in the file,
    or the herd7 `Observation NAME Never/Sometimes/Always` line of `FILE.expected` beside it
    (LKMM verdicts); (None, why) when neither is there."""
    p = Path(path)
    for source, pattern in ((p, r"^[\s*]*Result:\s*(Never|Sometimes|Always)\b"),
                            (p.with_name(p.name + ".expected"),
                             r"^Observation\s+\S+\s+(Never|Sometimes|Always)\b")):
        try:
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        m = re.search(pattern, text, re.MULTILINE)
        if m:
            word = m.group(1)
            if quantifier == "forall":
                value = "Always" if word == "Always" else "Not always"
            else:
                value = "Forbidden" if word == "Never" else "Allowed"
            return value, f"LKMM verdict stated in {source.name}"
    return None, "no Result: line"


def find_manifest(path: str | Path) -> Path | None:
    """MANIFEST.tsv in the directory `path` or in one of its parents."""
    p = Path(path).resolve()
    if p.is_file():
        p = p.parent
    for d in [p, *p.parents]:
        if (d / "MANIFEST.tsv").is_file():
            return d / "MANIFEST.tsv"
    return None

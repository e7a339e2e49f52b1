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
* weak: the verdict classes of Decision 2, using the hand classification in the notes of C
  tests: LKMM `Forbidden` (or `Always`) stays so; tag `MCA-forbids` Forbidden; tag
  `needs-promise` Allowed when the outcome needs only stores becoming visible out of program
  order (MP with unordered writes, 2+2W, S, C-MP-OMCA), else Forbidden (LB-shaped, C-atomicpo,
  release sequences); `ARMv8-forbids` (C-READ_ONCE-omitted, LB-shaped) Forbidden;
  `model-detail` (C-WillDeacon-MP+o-r+ai-rmb-o) Allowed, since Decision 5 buffers the
  non-returning atomic_inc, which smp_rmb does not wait for; "expected Allowed, same as LKMM"
  Allowed; the one test "not classified" (MP+polockonce+poacquiresilsil) is not checked.
  x86 tests: the weak model has PSO's store buffers and only adds stale reads, so PSO
  `Allowed` / `Not always` carries over; the others are decided by `weak_x86` (an enumeration
  of Decision 2's rules for MOV/MFENCE/XCHG programs, `spec.litmus.corpus.oracle`) when given.
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


def expected(row: Row, memory: str, weak_x86: dict[str, str] | None = None
             ) -> tuple[str | None, str]:
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
            return _weak_c(row, q, lkmm)
        pso = verdict(row.pso_note, q) if row.pso_note else None
        if pso is not None and _positive(pso):
            return pso, "PSO outcomes are weak outcomes"
        if weak_x86 is not None and row.path in weak_x86:
            return weak_x86[row.path], "Decision 2 rules, enumerated"
        return None, "no weak verdict class"
    raise ValueError(f"unknown memory model {memory}")


def _weak_c(row: Row, q: str, lkmm: str) -> tuple[str | None, str]:
    """Decision 2's verdict classes for a C test, from the hand classification in the notes."""
    notes, tags = row.notes, row.tags()
    if "MCA-forbids" in tags:
        return ("Always" if q == "forall" else "Forbidden"), "MCA-forbids (Decision 2)"
    if "needs-promise" in tags:
        if row.stem in NEEDS_PROMISE_ALLOWED:
            return "Allowed", "needs-promise, only stores out of program order (Decision 2)"
        return "Forbidden", "needs-promise, LB-shaped or release sequence (Decision 2)"
    if "ARMv8-forbids" in tags:
        return "Forbidden", "ARMv8-forbids: LB-shaped (Decision 2: LB Forbidden)"
    if "model-detail" in tags:
        return "Allowed", "model-detail: atomic_inc is buffered, smp_rmb does not wait (Decision 5)"
    if "not classified" in notes:
        return None, "not classified for the relaxed model"
    if "expected Allowed, same as LKMM" in notes:
        return lkmm, "hand-classified: MCA model agrees with LKMM"
    if lkmm in ("Forbidden", "Always"):
        return lkmm, "LKMM-forbidden stays forbidden (Decision 2, section 5)"
    return None, "no weak verdict class"


def find_manifest(path: str | Path) -> Path | None:
    """MANIFEST.tsv in the directory `path` or in one of its parents."""
    p = Path(path).resolve()
    if p.is_file():
        p = p.parent
    for d in [p, *p.parents]:
        if (d / "MANIFEST.tsv").is_file():
            return d / "MANIFEST.tsv"
    return None

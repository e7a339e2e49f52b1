"""The litmus corpus's tools apart from the reader: its MANIFEST.tsv of expected verdicts
(`manifest`) and an independent axiomatic enumerator of x86 verdicts (`oracle`, imported on
use)."""
from smp_explorer.spec.litmus.corpus.manifest import Row, expected, find_manifest, known_gap, \
    read_manifest, stated_result, verdict

__all__ = ["Row", "expected", "find_manifest", "known_gap", "read_manifest", "stated_result",
           "verdict"]

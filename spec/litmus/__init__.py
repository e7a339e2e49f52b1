"""herd7 litmus tests: reading `.litmus` files and translating them into the spec language.

`parse_litmus` reads a test (x86 in Intel or AT&T syntax, or Linux-kernel C) into the data
model of `test`; `translate` turns it into spec text for one memory model;
`explorer.litmus.run_test` checks it. `corpus` holds the corpus's manifest and oracle.
"""
from smp_explorer.spec.litmus.corpus import Row, expected, find_manifest, known_gap, \
    read_manifest, stated_result, verdict
from smp_explorer.spec.litmus.parse import parse_litmus, read_litmus
from smp_explorer.spec.litmus.test import LitmusError, LitmusTest, Unsupported
from smp_explorer.spec.litmus.translate import MEMORY_MODELS, PROPERTY, Translation, translate, \
    verdict_of

__all__ = ["MEMORY_MODELS", "PROPERTY", "LitmusError", "LitmusTest", "Row", "Translation",
           "Unsupported", "expected", "find_manifest", "known_gap", "parse_litmus", "read_litmus",
           "read_manifest", "stated_result", "translate", "verdict", "verdict_of"]

"""herd7 litmus tests: reading `.litmus` files and translating them into the spec language.

`parse.parse_litmus` reads a test (x86 in Intel or AT&T syntax, or Linux-kernel C);
`translate.translate` turns it into spec text for one memory model; `explorer.litmus.run_test`
checks it.
"""
from smp_explorer.spec.litmus.parse import LitmusError, LitmusTest, Unsupported, parse_litmus, read_litmus

__all__ = ["LitmusError", "LitmusTest", "Unsupported", "parse_litmus", "read_litmus"]

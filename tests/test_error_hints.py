"""Issue 11, item 9: syntax errors a C habit or a misspelled keyword explains point at what was
typed and say what to write; a bad --const value names the constant and its type."""
from __future__ import annotations

import pytest

from conftest import spec_errors
from smp_explorer.spec.parser import keywords

HEAD = ("type Byte = enum { OLD, INT3, NEW };\nshared x: 0..3 = 0;\nvar b: bool = false;\n"
        "process P {\n")


# (the step on line 5, the column of the mistake, what the message must say)
@pytest.mark.parametrize("body, col, says", [
    ("  a: await x == 1 && b;", 19, "'&&' is written 'and'"),
    ("  a: await x == 1 || b;", 19, "'||' is written 'or'"),
    ("  a: await !b;", 12, "'!x' is written 'not x'"),
    ("  a: x++;", 7, "'x++' is written 'x := x + 1'"),
    ("  a: x--;", 7, "'x--' is written 'x := x - 1'"),
    ("  a: x += 2;", 8, "'x += e' is written 'x := x + e'"),
    ("  a: x = 1;", 8, "assignment is written ':='"),
    ("  a: if x = 1 { skip; }", 11, "comparison is written '=='"),
    ("  a: x == 1;", 8, "'==' compares; an assignment is written ':='"),
    ("  a: x := 0xcc;", 11, "hexadecimal literals are not supported; write 204"),
    ("  a: awiat b;", 6, "did you mean the keyword 'await'"),
    ("  a: whlie b { skip; }", 6, "did you mean the keyword 'while'"),
])
def test_c_habits_and_misspelled_keywords(body, col, says):
    errs = spec_errors(HEAD + body + "\n}\n")
    assert len(errs) == 1
    span = errs[0].span
    assert span is not None and (span.line, span.col) == (5, col), (span, errs[0].message)
    assert says in errs[0].message


def test_misspelled_keyword_at_top_level():
    errs = spec_errors("shared x: 0..1 = 0;\nprocss P { a: skip; }\n")
    assert errs[0].span is not None and (errs[0].span.line, errs[0].span.col) == (2, 1)
    assert "did you mean the keyword 'process'" in errs[0].message


def test_ordinary_errors_keep_their_message():
    # an unknown word far from every keyword gets no guess
    errs = spec_errors(HEAD + "  a: zzzqqq b;\n}\n")
    assert "did you mean" not in errs[0].message and "unexpected 'b'" in errs[0].message


def test_keywords_come_from_the_grammar():
    for word in ("await", "while", "process", "invariant", "reachable", "either", "terminate"):
        assert word in keywords()
    assert "NAME" not in keywords() and ":=" not in keywords()


@pytest.mark.parametrize("name, value, says", [
    ("WMB", "flase", "--const WMB: expected a bool (true or false), got 'flase'"),
    ("WMB", "3", "--const WMB: expected a bool (true or false), got '3' (an integer"),
    ("N", "two", "--const N: expected an integer"),
    ("B", "NEWW", "--const B: expected a value of enum Byte (OLD, INT3, NEW), got 'NEWW'"),
])
def test_const_errors_name_the_constant_and_its_type(name, value, says):
    text = ("type Byte = enum { OLD, INT3, NEW };\nconst WMB = true;\nconst N = 2;\n"
            "const B = OLD;\nprocess P { a: skip; }\n")
    errs = spec_errors(text, {name: value})
    assert len(errs) == 1 and errs[0].message.startswith(says), errs[0].message

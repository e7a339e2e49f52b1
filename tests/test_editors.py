"""Issue 11, item 8: the Pygments lexer (entry point `smp`, used for the reports' source lines)
and the VS Code TextMate grammar know exactly the keywords of `spec/grammar.lark`."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name
from pygments.token import Keyword, Name, Operator, Comment
from rich.console import Console

from conftest import MODELS, ROOT, cli
from smp_explorer.spec import lexer as L
from smp_explorer.spec.elaborate import BUILTINS, INTRINSICS
from smp_explorer.spec.memory.base import FENCES, ORDERS_LOAD, ORDERS_RMW, ORDERS_STORE

VSCODE = ROOT / "editors" / "vscode"


def grammar_keywords() -> set[str]:
    """Every word grammar.lark spells in quotes: read from the grammar's text itself."""
    text = (ROOT / "spec" / "grammar.lark").read_text(encoding="utf-8")
    text = re.sub(r"//[^\n]*", "", text)
    return set(re.findall(r'"([A-Za-z_]\w*)"', text))


def test_lexer_keywords_are_the_grammar_keywords():
    want = grammar_keywords()
    assert {"await", "either", "terminate", "reachable", "shared", "var"} <= want
    assert set(L.KEYWORDS) == want
    assert len(L.KEYWORDS) == len(set(L.KEYWORDS))


def test_lexer_builtins_are_the_language_builtins():
    assert set(L.INTRINSICS) == INTRINSICS and set(L.BUILTINS) == BUILTINS
    assert set(L.ORDERINGS) == set(ORDERS_LOAD + ORDERS_STORE + ORDERS_RMW + FENCES)


def test_lexer_tokens():
    lexer = get_lexer_by_name("smp")   # through the pygments.lexers entry point
    assert isinstance(lexer, L.SmpLexer)
    toks = [(t, v) for t, v in lexer.get_tokens(
        "process P { a: await not awaited; x := load(y, acquire); } // done\n") if v.strip()]
    assert (Keyword.Declaration, "process") in toks
    assert (Keyword, "await") in toks and (Operator.Word, "not") in toks
    assert (Name, "awaited") in toks                     # a keyword only as a whole word
    assert (Name.Label, "a") in toks and (Name.Builtin, "load") in toks
    assert (Name.Constant, "acquire") in toks and (Comment.Single, "// done") in toks


def test_entry_point_registered():
    eps = metadata.entry_points(group="pygments.lexers")
    assert any(ep.name == "smp" and ep.value == "smp_explorer.spec.lexer:SmpLexer" for ep in eps)


PYGMENTIZE = Path(sys.executable).parent / "pygmentize"   # the one installed with the package


@pytest.mark.skipif(not PYGMENTIZE.exists(), reason="pygmentize is not installed beside python")
def test_pygmentize_l_smp():
    done = subprocess.run([str(PYGMENTIZE), "-l", "smp", "-f", "raw",
                           str(MODELS / "classic" / "peterson.spec")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Token.Keyword.Declaration\t'process'" in done.stdout


def test_rich_report_highlights_source_lines_plain_does_not(capsys):
    spec = str(MODELS / "classic" / "broken-mutex.spec")
    from smp_explorer.cli.report.style import spec_source
    text = spec_source("invariant m: forall i in PID: P[i] at cs;")
    styled = {text.plain[s.start:s.end] for s in text.spans if s.style}
    assert {"invariant", "forall", "in", "at"} <= styled
    assert spec_source("invariant m: true;", plain=True).spans == []
    code, out, _ = cli(capsys, "check", spec, "--plain", "--no-z3")
    assert "\x1b[" not in out and "line " in out
    # rendered on a colour terminal, the keyword of the property's line is coloured
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard",
                      width=120)
    console.print(spec_source("invariant m: true;"))
    assert re.search(r"\x1b\[[0-9;]*minvariant", console.file.getvalue())


def test_textmate_grammar():
    grammar = json.loads((VSCODE / "syntaxes" / "smp.tmLanguage.json").read_text())
    package = json.loads((VSCODE / "package.json").read_text())
    json.loads((VSCODE / "language-configuration.json").read_text())
    assert grammar["scopeName"] == "source.smp"
    contributes = package["contributes"]
    assert contributes["grammars"][0]["scopeName"] == "source.smp"
    assert (VSCODE / contributes["grammars"][0]["path"]).is_file()
    assert ".spec" in contributes["languages"][0]["extensions"]
    repo = grammar["repository"]
    for include in grammar["patterns"]:
        assert include["include"].lstrip("#") in repo
    scopes = {p["name"] for p in repo["keywords"]["patterns"]}
    assert {"keyword.control.smp", "storage.type.declaration.smp",
            "keyword.operator.word.smp", "constant.language.smp"} <= scopes
    assert repo["comments"]["patterns"][0]["name"].startswith("comment.line")
    words: list[str] = []
    for p in repo["keywords"]["patterns"]:
        m = re.fullmatch(r"\\b\((.*)\)\\b", p["match"])
        assert m, p["match"]
        words += m.group(1).split("|")
        for w in m.group(1).split("|"):   # the regex matches its words, whole words only
            assert re.search(p["match"], f"x {w} y") and not re.search(p["match"], f"{w}x")
    assert sorted(words) == sorted(grammar_keywords())

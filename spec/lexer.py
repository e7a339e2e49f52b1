"""A Pygments lexer for the spec language: `pygmentize -l smp file.spec`, and the source lines
the Rich reports show. Registered as the entry point `pygments.lexers: smp` (pyproject.toml).

The keyword lists are written out (pygmentize should not load Lark); `tests/test_editors.py`
checks that together they are exactly the words `grammar.lark` spells as keywords, and that
the intrinsics and orderings are those of `spec.elaborate` and `spec.memory.base`.
"""
from __future__ import annotations

from pygments.lexer import RegexLexer, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

DECLARATIONS = ("action", "const", "def", "invariant", "local", "memory", "process",
                "reachable", "shared", "type", "use", "var", "liveness", "fair")
STATEMENTS = ("assert", "await", "either", "else", "for", "goto", "if", "let", "return",
              "skip", "terminate", "then", "while", "with")
TYPES = ("any", "array", "bool", "enum", "of", "scalarset", "set")
CONSTANTS = ("false", "self", "true")
OPERATOR_WORDS = ("and", "at", "exists", "forall", "implies", "in", "minus", "not", "or",
                  "union", "eventually", "always", "leads_to", "strong", "weak")
# `shared` and `var` are one terminal (VAR_KIND) in the grammar, spelled as keywords all the same
KEYWORDS = DECLARATIONS + STATEMENTS + TYPES + CONSTANTS + OPERATOR_WORDS
# memory primitives (spec.elaborate.INTRINSICS), built-in functions (BUILTINS) and the
# orderings they take (spec.memory.base)
INTRINSICS = ("cas", "drained", "fence", "load", "rmw", "rmw_unless", "store")
BUILTINS = ("abs", "card", "max", "min")
ORDERINGS = ("acquire", "full", "plain", "read", "release", "serialize", "unordered", "write",
             "once", "lock", "unlock", "before_atomic", "after_atomic", "after_spinlock",
             "after_unlock_lock", "rcu_lock", "rcu_unlock", "sync_rcu", "srcu_lock",
             "srcu_unlock", "sync_srcu")


class SmpLexer(RegexLexer):
    """The smp-explorer specification language (`.spec`)."""

    name = "smp-explorer spec"
    aliases = ["smp", "smp-spec"]
    filenames = ["*.spec"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"//[^\n]*", Comment.Single),
            (r"/\*(.|\n)*?\*/", Comment.Multiline),
            (r'"([^"\\\n]|\\.)*"', String),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(OPERATOR_WORDS, suffix=r"\b"), Operator.Word),
            (words(STATEMENTS, suffix=r"\b"), Keyword),
            (words(INTRINSICS + BUILTINS, suffix=r"\b"), Name.Builtin),
            (words(ORDERINGS, suffix=r"\b"), Name.Constant),
            (r"[A-Za-z_]\w*(?=\s*:(?!=))", Name.Label),   # a label, a declared name
            (r"[A-Za-z_]\w*", Name),
            (r"[0-9]+", Number.Integer),
            (r":=|==|!=|<=|>=|\.\.|[-+*/%<>=]", Operator),
            (r"[{}()\[\];,.:]", Punctuation),
        ],
    }

"""The litmus front end on small inline tests: the reader (x86 Intel and AT&T syntax, Linux C),
its errors, the translation into the spec language, the verdicts, and `explorer litmus`."""
from __future__ import annotations

import json

import pytest

from smp_explorer.cli.main import main
from smp_explorer.explorer.litmus import run_test
from smp_explorer.spec.litmus import LitmusError, Unsupported, parse_litmus, translate
from smp_explorer.spec.litmus.test import Addr, And, Atom, CAssign, CDecl, CExprStmt, CIf, Not, Or, \
    Ref, Reg

SB_INTEL = r"""X86 SB
"Fre PodWR Fre PodWR"
Cycle=Fre PodWR Fre PodWR
{ x=0; y=0; }
 P0          | P1          ;
 MOV [x],$1  | MOV [y],$1  ;
 MOV EAX,[y] | MOV EAX,[x] ;
exists (0:EAX=0 /\ 1:EAX=0)
"""

SB_MFENCES = r"""X86 SB+mfences
{ }
 P0          | P1          ;
 MOV [x],$1  | MOV [y],$1  ;
 MFENCE      | MFENCE      ;
 MOV EAX,[y] | MOV EAX,[x] ;
exists (0:EAX=0 /\ 1:EAX=0)
"""

# old Cambridge format: a name with `/` and an alias, lower-case mnemonics without `$`,
# P-prefixed registers, `final` with a `with` trailer and `<< >>` display blocks.
OLD_STYLE = r"""X86 iwp2.4b/amd9 (iwpTwoFourB) "Intra-processor forwarding, one side locked"
{x = 0; y = 0; P0:EAX = 1};

        P0        |       P1         ;
  mov [x], 1      |  mov [y], 1      ;
  mov EAX, [x]    |  xchg EBX,[x]    ;
  mov EBX, [y]    |                  ;

final (P0:EAX = 1 /\ P0:EBX = 0 /\ P1:EBX = 0);
with
tso: exists;
cc: exists;

<<
show 0
>>
"""

MP_ATT = r"""X86_64 MP
"PodWW Rfe PodRR Fre"
{
}
 P0          | P1          ;
 movl $1,(x) | movl (y),%eax ;
 movl $1,(y) | movl (x),%ebx ;
exists (1:rax=1 /\ 1:rbx=0)
"""

C_MP = r"""C C-MP+o-wmb-o+o-rmb-o
(* a comment (* nested *) before the init block *)
{
	int x = 0;   // a C comment
	atomic_t y = ATOMIC_INIT(0);
}

P0(int *x, atomic_t *y)   /* ordered writes */
{
	WRITE_ONCE(*x, 1);
	smp_wmb();
	atomic_set(y, 1);
}

(* an OCaml comment between the threads *)
P1(int *x, atomic_t *y)
{
	int r0;
	int r1 = atomic_read(y);

	if (r1 == 1) {
		smp_rmb();
		r0 = READ_ONCE(*x);
	} else
		r0 = -1;
}

exists (1:r1=1 /\ 1:r0=0)   (* \lnlbl[exists] *)
"""


def _run(text: str, memory: str) -> str:
    return run_test(parse_litmus(text, "t.litmus"), memory).verdict


# ---- the reader ----------------------------------------------------------------------------------

def test_intel_syntax_instructions_and_condition():
    t = parse_litmus(SB_INTEL, "sb.litmus")
    assert (t.arch, t.name, t.locations) == ("X86", "SB", ["x", "y"])
    assert t.memory == {"x": 0, "y": 0}
    p0 = t.threads[0].body
    assert [(i.kind, i.loc, i.reg, i.src) for i in p0] == [("store", "x", None, 1),
                                                           ("load", "y", "EAX", None)]
    c = t.condition
    assert c.quantifier == "exists"
    assert isinstance(c.prop, And)
    assert c.prop.props[0] == Atom(Ref(0, "EAX"), 0, c.prop.props[0].line)


def test_old_cambridge_format():
    t = parse_litmus(OLD_STYLE, "iwp2.4b.litmus")
    assert t.name == "iwp2.4b/amd9"
    assert t.registers == {(0, "EAX"): 1}
    assert [(i.kind, i.loc, i.reg, i.src) for i in t.threads[0].body] == [
        ("store", "x", None, 1), ("load", "x", "EAX", None), ("load", "y", "EBX", None)]
    xchg = t.threads[1].body[1]
    assert (xchg.kind, xchg.op, xchg.loc, xchg.reg, xchg.src) == \
        ("rmw", "xchg", "x", "EBX", Reg("EBX"))
    assert t.condition.quantifier == "final"
    assert len(t.condition.prop.props) == 3


def test_att_syntax_reports_64_bit_registers():
    t = parse_litmus(MP_ATT, "mp.litmus")
    ld = t.threads[1].body[0]
    assert (ld.kind, ld.reg, ld.loc) == ("load", "rax", "y")
    assert t.condition.prop.props[0].left == Ref(1, "rax")


def test_c_threads_comments_and_statements():
    t = parse_litmus(C_MP, "c.litmus")
    assert t.memory == {"x": 0, "y": 0}
    assert [th.params for th in t.threads] == [["x", "y"], ["x", "y"]]
    p0, p1 = t.threads[0].body, t.threads[1].body
    assert [type(s) for s in p0] == [CExprStmt, CExprStmt, CExprStmt]
    assert p0[0].expr.name == "WRITE_ONCE"  # `WRITE_ONCE(*x, 1)` is not a comment
    assert [type(s) for s in p1] == [CDecl, CDecl, CIf]
    assert isinstance(p1[2].then[1], CAssign) and isinstance(p1[2].other[0], CAssign)


def test_condition_forms():
    text = SB_INTEL.replace(r"exists (0:EAX=0 /\ 1:EAX=0)",
                            r"locations [x; 0:EAX;] ~exists (~(P0:EAX=1) \/ [x]!=1 /\ "
                            r"0:EAX=1:EAX \/ not (y=x));")
    c = parse_litmus(text).condition
    assert c.quantifier == "~exists"
    assert isinstance(c.prop, Or) and len(c.prop.props) == 3
    assert isinstance(c.prop.props[0], Not)
    ne, regs = c.prop.props[1].props
    assert (ne.left, ne.op, ne.value) == (Ref(None, "x"), "!=", 1)
    assert regs.value == Ref(1, "EAX")
    assert c.prop.props[2].prop.value == Addr("x")  # a bare name on the right: an address


def test_c_pointers_and_undeclared_registers():
    t = parse_litmus(r"""C ptr
{ int y=1; int *p = &y; }
P0(int **p, int *z) { int *r1; r1 = READ_ONCE(*p); WRITE_ONCE(*r1, 2); r9 = 3; }
exists (0:r1=y /\ y=2)
""")
    assert t.memory == {"y": 1, "p": Addr("y")}
    assert set(t.locations) == {"y", "p", "z"}


@pytest.mark.parametrize("text, line, message", [
    ("", 1, "empty file"),
    ("X86 t\nno init block here\n", 1, "no initial-state block"),
    ("X86 t\n{ x=0;\n", 2, "never closed"),
    ("X86 t\n{ x=0; }\n P0 | P1 ;\n MOV [x],$1 | MOV [x],$2 | MOV [x],$3 ;\nexists (x=1)\n",
     4, "row has 3 columns"),
    ("X86 t\n{}\n P0 ;\n MOV [x],$1 ;\n", 4, "no final condition"),
    ("X86 t\n{}\n P0 ;\n MOV [x] $1 ;\nexists (x=1)\n", 4, "cannot read operand"),
    ("X86 t\n{}\n P0 ;\n MOV [x],$1 ;\nexists (2:EAX=1)\n", 5, "thread the test does not have"),
    ("X86 t\n{}\n P0 ;\n MOV [x],$1 ;\nexists (x=1 /\\ )\n", 5, "expected"),
    ("X86 t\n{}\n P0 ;\n MOV [x],$1 ;\nexists (x=1) garbage\n", 5, "after the final condition"),
    ("C t\n{}\nP0(int *x) {\n  WRITE_ONCE(*x, 1)\n}\nexists (x=1)\n", 5, "expected ';'"),
    ("C t\n{}\nP0(int *x) {\n  WRITE_ONCE(*x, 1);\n", 5, "missing `}`"),
    ("C t\n{ int x = = 1; }\nP0(int *x) { }\nexists (x=1)\n", 2, "cannot read"),
    ("X86 t\n(* never closed\n{}\n", 2, "unterminated comment"),
])
def test_errors_name_the_line(text, line, message):
    with pytest.raises(LitmusError) as e:
        parse_litmus(text, "bad.litmus")
    assert e.value.line == line, str(e.value)
    assert message in e.value.message
    assert str(e.value).startswith(f"bad.litmus:{line}: ")


@pytest.mark.parametrize("text, construct", [
    ("AArch64 t\n{}\n P0 ;\n MOV W0,#1 ;\nexists (0:X0=1)\n", "architecture AArch64"),
    ("C t\n{}\nP0(int *x) { while (READ_ONCE(*x) == 0) ; }\nexists (x=1)\n", "loops (while)"),
    ("X86 t\n{}\n P0 ;\n MOV EAX,[EBX] ;\nexists (x=1)\n", "indirect memory operand"),
    ("X86 t\n{}\n P0 ;\n ADD [x],$1 ;\nexists (x=1)\n", "non-locked read-modify-write"),
    ("X86 t\n{}\n P0 ;\n L0: JMP L0 ;\nexists (x=1)\n", "labels and control flow"),
    ("C t\n{ int a[2]; }\nP0(int *a) { }\nexists (a=1)\n", "arrays"),
])
def test_unsupported_constructs_are_named(text, construct):
    with pytest.raises(Unsupported) as e:
        parse_litmus(text, "u.litmus")
    assert construct in e.value.construct
    assert str(e.value).startswith("unsupported: ")


# ---- translation and verdicts --------------------------------------------------------------------

def test_translation_of_an_x86_test():
    tr = translate(parse_litmus(SB_INTEL, "sb.litmus"), "tso")
    assert "use " not in tr.text          # x86 tests need no prelude
    assert "shared x: 0..1 = 0;" in tr.text
    assert "s0: x := 1;" in tr.text and "s1: EAX := y;" in tr.text
    assert ("reachable Cond: (P0 at Done and P1 at Done and drained()) and "
            "((P0.EAX == 0) and (P1.EAX == 0));") in tr.text
    assert tr.buffer == 1


@pytest.mark.parametrize("text, verdicts", [
    (SB_INTEL, {"sc": "Forbidden", "tso": "Allowed", "pso": "Allowed", "weak": "Allowed"}),
    (SB_MFENCES, {"sc": "Forbidden", "tso": "Forbidden", "pso": "Forbidden",
                  "weak": "Forbidden"}),
    (MP_ATT, {"sc": "Forbidden", "tso": "Forbidden", "pso": "Allowed", "weak": "Allowed"}),
    (OLD_STYLE, {"sc": "Forbidden", "tso": "Allowed", "pso": "Allowed", "weak": "Allowed"}),
    (C_MP, {"sc": "Forbidden", "tso": "Forbidden", "pso": "Forbidden", "weak": "Forbidden"}),
])
def test_verdicts(text, verdicts):
    for memory, want in verdicts.items():
        assert _run(text, memory) == want, memory


def test_negated_and_forall_conditions():
    # ~exists reports whether P is satisfiable, like exists
    assert _run(SB_INTEL.replace("exists", "~exists"), "tso") == "Allowed"
    # forall: Always iff every final state satisfies P
    every = SB_INTEL.replace(r"exists (0:EAX=0 /\ 1:EAX=0)",
                             r"forall (0:EAX=1 \/ 1:EAX=1)")
    assert _run(every, "sc") == "Always"
    assert _run(every, "tso") == "Not always"


def test_c_translation_uses_the_prelude_of_the_model():
    t = parse_litmus(C_MP, "c.litmus")
    assert "use linux.x86;" in translate(t, "tso").text
    for memory in ("sc", "pso", "weak"):
        assert "use linux.generic;" in translate(t, memory).text
    text = translate(t, "sc").text
    assert "WRITE_ONCE(x, 1);" in text and "smp_wmb();" in text
    assert "if (r1 == 1) {" in text and "} else {" in text
    assert "r0 := (-1);" in text
    assert "local r0: -1..1 = 0;" in text


def test_c_value_ranges_cover_arithmetic():
    text = r"""C adds
{ atomic_t x = ATOMIC_INIT(1); }
P0(atomic_t *x) { atomic_add(2, x); }
P1(atomic_t *x) { int r0; r0 = atomic_add_return(3, x); }
P2(atomic_t *x) { int r1; r1 = atomic_dec_and_test(x); }
forall (x=5)
"""
    assert _run(text, "sc") == "Always"
    assert _run(text, "weak") == "Always"


def test_c_pointers_are_encoded_as_addresses():
    text = r"""C MP+addr
{ int y=1; int *p = &y; }
P0(int *x, int **p) { WRITE_ONCE(*x, 2); smp_wmb(); WRITE_ONCE(*p, x); }
P1(int **p) { int *r1; int r2; r1 = READ_ONCE(*p); r2 = READ_ONCE(*r1); }
exists (1:r1=x /\ 1:r2=0)
"""
    tr = translate(parse_litmus(text), "sc")
    assert "WRITE_ONCE(p, " in tr.text and "else { assert false" in tr.text
    assert _run(text, "sc") == "Forbidden"
    assert _run(text, "pso") == "Forbidden"  # smp_wmb orders the two stores
    assert _run(text.replace("smp_wmb();", ""), "pso") == "Allowed"
    assert _run(text.replace("1:r2=0", "1:r2=2"), "sc") == "Allowed"


def test_names_that_clash_with_the_language_are_renamed():
    text = r"""C clash
{}
P0(int *set, int *in) { int any; int P0; WRITE_ONCE(*set, 1); any = READ_ONCE(*in); P0 = 2; }
P1(int *set, int *in) { WRITE_ONCE(*in, 1); }
exists (set=1 /\ 0:any=0 /\ 0:P0=2)
"""
    assert _run(text, "sc") == "Allowed"
    assert _run(text, "tso") == "Allowed"


@pytest.mark.parametrize("memory", ["sc", "tso", "pso", "weak"])
def test_spinlocks_and_conditional_atomics(memory):
    text = r"""C locks
{ atomic_t v = ATOMIC_INIT(1); }
P0(spinlock_t *l, int *x, atomic_t *v) { int r0; spin_lock(l); r0 = READ_ONCE(*x);
  WRITE_ONCE(*x, r0 + 1); spin_unlock(l); }
P1(spinlock_t *l, int *x, atomic_t *v) { int r0; int r1; spin_lock(l); r0 = READ_ONCE(*x);
  WRITE_ONCE(*x, r0 + 1); spin_unlock(l); r1 = atomic_add_unless(v, 1, 1); }
exists (x=1 \/ 1:r1=1)
"""
    assert _run(text, memory) == "Forbidden"


# ---- the command line ------------------------------------------------------------------------------

@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "tests"
    (d / "x86").mkdir(parents=True)
    (d / "x86" / "SB.litmus").write_text(SB_INTEL)
    (d / "x86" / "MP.litmus").write_text(MP_ATT)
    (d / "c").mkdir()
    (d / "c" / "MP.litmus").write_text(C_MP)
    (d / "c" / "bad.litmus").write_text("C bad\n{}\nP0(int *x) {\n  x = = 1;\n}\nexists (x=1)\n")
    (d / "c" / "loop.litmus").write_text(
        "C loop\n{}\nP0(int *x) { while (1) WRITE_ONCE(*x, 1); }\nexists (x=1)\n")
    return d


def test_cli_json_paths_verdicts_and_bad_input(corpus, capsys, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    status = main(["litmus", "tests", "--memory", "sc,tso", "--json"])
    out, err = capsys.readouterr()
    assert status == 2                                    # one file does not parse
    assert "tests/c/bad.litmus:4: error: " in err         # named with its line
    doc = json.loads(out)
    rows = {(r["path"], r["memory"]): r for r in doc["tests"]}
    assert set(rows) == {(f"tests/{p}", m) for p in ("x86/SB.litmus", "x86/MP.litmus",
                                                      "c/MP.litmus", "c/bad.litmus",
                                                      "c/loop.litmus") for m in ("sc", "tso")}
    sb = rows[("tests/x86/SB.litmus", "tso")]
    assert (sb["name"], sb["verdict"]) == ("SB", "Allowed") and sb["states"] > 0
    assert rows[("tests/x86/SB.litmus", "sc")]["verdict"] == "Forbidden"
    assert rows[("tests/c/loop.litmus", "sc")]["verdict"] == "unsupported: loops (while)"
    assert rows[("tests/c/bad.litmus", "sc")]["verdict"].startswith("error: ")


def test_cli_text_output_of_a_single_file(corpus, capsys):
    path = str(corpus / "x86" / "SB.litmus")
    assert main(["litmus", path, "--memory", "tso"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(path) and " tso " in out and "Allowed" in out


def test_cli_summary_against_a_manifest(corpus, capsys):
    header = "path\tarch\tthreads\tsource\texpected_sc\texpected_tso\texpected_lkmm_or_arch\tnotes"
    rows = [
        "x86/SB.litmus\tx86\t2\ts\tForbidden (derived)\tAllowed\tAllowed\tcond=exists; pso=Allowed",
        # a wrong expectation, to see a disagreement counted
        "x86/MP.litmus\tx86\t2\ts\tForbidden (derived)\tAllowed\tForbidden\tcond=exists; "
        "pso=Allowed",
        "c/MP.litmus\tC\t2\ts\tForbidden (derived)\tForbidden (derived)\tForbidden\tcond=exists",
        "c/loop.litmus\tC\t1\ts\tAllowed (derived)\tAllowed (derived)\tAllowed\tcond=exists",
    ]
    (corpus / "MANIFEST.tsv").write_text("\n".join([header] + rows) + "\n")
    (corpus / "c" / "bad.litmus").unlink()
    status = main(["litmus", str(corpus), "--summary", "--memory", "sc,tso,pso"])
    out = capsys.readouterr().out
    assert status == 1                                    # a disagreement
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.startswith(("x86", "c "))}
    assert lines["x86"] == ["2", "2/0/0", "1/1/0", "2/0/0"]
    assert lines["c"] == ["2", "1/0/1", "1/0/1", "1/0/1"]
    assert "tso  x86/MP.litmus: Forbidden, expected Allowed" in out
    assert "unsupported: loops (while)" in out


def test_cli_spec_prints_the_translation(corpus, capsys):
    assert main(["litmus", str(corpus / "c" / "MP.litmus"), "--spec", "--memory", "weak"]) == 0
    out = capsys.readouterr().out
    assert "memory weak;" in out and "use linux.generic;" in out and "process P1 {" in out


def test_cli_usage_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["litmus", str(tmp_path), "--memory", "arm"])
    assert e.value.code == 2
    assert main(["litmus", str(tmp_path / "missing.litmus")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


# ---- robustness --------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SEEDS = [SB_INTEL, SB_MFENCES, OLD_STYLE, MP_ATT, C_MP]
_PIECES = ["(*", "*)", "{", "}", "(", ")", ";", "|", "/\\", "\\/", "~", "=", "*", "&", "[", "]",
           ":", ",", "exists", "forall", "P0", "0:", "$", "%", "-1", "if", "else", "while",
           "READ_ONCE", "xchg", "MFENCE", "\n", " ", "x", "7", "//", "/*", "*/", '"']


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 6),
                                                   st.sampled_from(_PIECES)), max_size=4))
def test_damaged_files_fail_cleanly(seed, edits):
    """Cutting and inserting text: the reader either succeeds or raises LitmusError /
    Unsupported, and what it reads translates (or is reported unsupported) without a crash."""
    text = seed
    for pos, cut, piece in edits:
        pos %= len(text) + 1
        text = text[:pos] + piece + text[pos + cut:]
    try:
        test = parse_litmus(text, "f.litmus")
    except (LitmusError, Unsupported):
        return
    for memory in ("sc", "weak"):
        try:
            translate(test, memory)
        except Unsupported:
            pass

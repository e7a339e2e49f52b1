/* Peterson's algorithm, step for step as models/classic/peterson.spec (bench/liveness.py). */
bool flag[2];
byte turn;

active [2] proctype P() {
  byte i = _pid;
p1: flag[i] = true;
p2: turn = 1 - i;
p3: (flag[1 - i] == false || turn == i);
cs: skip;
p4: flag[i] = false;
    goto p1
}

ltl p0_enters { <> (P[0]@cs) }
ltl p0_again { [] <> (P[0]@cs) }
ltl trying_enters0 { [] ((P[0]@p2) -> <> (P[0]@cs)) }

-- A test-then-set lock with N interchangeable processes (models/classic/broken-mutex.spec
-- with a scalarset); the same model as lock.spec beside it. Counts only: no invariant.
const N: 4;
type
  P: scalarset(N);
  Pc: enum { test, set, cs, rel };
var
  pc: array[P] of Pc;
  locked: boolean;

startstate begin
  for p: P do pc[p] := test; end;
  locked := false;
end;

ruleset p: P do
  rule "test" pc[p] = test & !locked ==> begin pc[p] := set; end;
  rule "set" pc[p] = set ==> begin locked := true; pc[p] := cs; end;
  rule "cs" pc[p] = cs ==> begin pc[p] := rel; end;
  rule "rel" pc[p] = rel ==> begin locked := false; pc[p] := test; end;
end;

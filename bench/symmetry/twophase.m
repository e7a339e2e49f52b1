-- TLA+ TwoPhase (Lamport) in Murphi, resource managers a scalarset: the same model as
-- models/classic/twophase.spec (bench/symmetry.py sets NRM).
const NRM: 3;
type
  RM: scalarset(NRM);
  RMState: enum { working, prepared, committed, aborted };
  TMState: enum { tm_init, tm_committed, tm_aborted };
var
  rmState: array[RM] of RMState;
  tmState: TMState;
  tmPrepared: array[RM] of boolean;
  msgPrepared: array[RM] of boolean;
  msgCommit: boolean;
  msgAbort: boolean;

startstate begin
  for r: RM do rmState[r] := working; tmPrepared[r] := false; msgPrepared[r] := false; end;
  tmState := tm_init; msgCommit := false; msgAbort := false;
end;

ruleset rm: RM do
  rule "TMRcvPrepared" tmState = tm_init & msgPrepared[rm] ==> begin tmPrepared[rm] := true; end;
  rule "RMPrepare" rmState[rm] = working ==> begin rmState[rm] := prepared; msgPrepared[rm] := true; end;
  rule "RMChooseToAbort" rmState[rm] = working ==> begin rmState[rm] := aborted; end;
  rule "RMRcvCommitMsg" msgCommit ==> begin rmState[rm] := committed; end;
  rule "RMRcvAbortMsg" msgAbort ==> begin rmState[rm] := aborted; end;
end;

rule "TMCommit" tmState = tm_init & forall r: RM do tmPrepared[r] end ==>
begin tmState := tm_committed; msgCommit := true; end;

rule "TMAbort" tmState = tm_init ==> begin tmState := tm_aborted; msgAbort := true; end;

invariant "TCConsistent"
  forall a: RM do forall b: RM do !(rmState[a] = aborted & rmState[b] = committed) end end;

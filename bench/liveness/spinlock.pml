/* The naive xchg spinlock of models/classic/spinlock.spec (bench/liveness.py). SPIN has weak
   fairness only (-f); the strong-fairness variant is not compared. */
byte lock;

active [2] proctype Cpu() {
  byte old;
acquire: atomic { old = lock; lock = 1 };
  if
  :: old == 1 -> goto acquire
  :: else
  fi;
cs: skip;
release: lock = 0;
  goto acquire
}

ltl cpu0_progress { [] ((Cpu[0]@acquire) -> <> (Cpu[0]@cs)) }

"""Axiomatic memory models on Z3: bounded symbolic executions (events, rf, co) constrained by a
model's axioms (LKMM, and SC and x86-TSO as a cross-check of the operational engines)."""

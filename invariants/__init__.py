"""Properties of a model (invariants, assertions, deadlock freedom, reachability goals) and,
from the same IR, their Z3 encoding."""

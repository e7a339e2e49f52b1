"""What a run produces (results, traces) and the Model compiled to Python: shared by the
explicit-state engines (`explorer`) and the symbolic ones (`invariants`), below both."""

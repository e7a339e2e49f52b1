"""smp-explorer: a model checker for concurrent low-level protocols under memory models.

One import name for the whole project; its layers live in top-level folders of the repository,
mapped here by setuptools (pyproject.toml), bottom to top:

- `smp_explorer.ir`: the Model every engine works on (values and types, spans, expressions,
  the operator table, properties);
- `smp_explorer.spec`: the language (grammar, checker, lowering, memory models, litmus reading);
- `smp_explorer.runs`: what a run produces (results, traces) and the Model compiled to Python,
  the executable meaning both engine families replay traces through;
- `smp_explorer.explorer` (explicit-state search) and `smp_explorer.invariants` (Z3), side by side;
- `smp_explorer.cli`: the `explorer` command and its reports.
"""

"""The `explorer` command: argument parsing, the check / prove / bmc / litmus pipelines, and the
reports (Rich, plain text, JSON). The top layer: nothing imports it."""

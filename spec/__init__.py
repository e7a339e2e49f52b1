"""The specification language: text -> syntax tree -> checked declarations -> `ir.Model`.

`spec.pipeline.load_model` runs the whole pipeline.
"""

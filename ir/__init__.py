"""The intermediate representation between the language and the engines.

`ir.expr`: expressions over state slots; `ir.model`: the Model (slots, actions, properties);
`ir.bounds`: interval analysis.
"""

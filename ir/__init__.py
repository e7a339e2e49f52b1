"""The intermediate representation between the language and the engines.

`ir.expr`: expressions over state slots; `ir.ops`: the operator table (arity, kinds, how an
operator fails, constant folding); `ir.evaluate`: the one definition of what an expression
means; `ir.compile`: the base every backend extends; `ir.bounds`: interval analysis;
`ir.model`: the Model (slots, actions, properties).
"""

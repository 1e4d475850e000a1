"""The model's economics as small pure functions of NumPy arrays, one concern a module.

Mechanisms never import the model, the CLI or plotting. Rates passed in are per year; `dt` is
the step length in years (0.25 for a quarter). Money is in yuan, flows in yuan per year.
"""

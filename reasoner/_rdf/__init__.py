"""rdflib, as the engine uses it.

The case store (``case_store``), interned terms (``terms``), literals (``literals``) and Turtle
syntax errors (``turtle``). Imports nothing from the engine but errors and numbers.
"""

"""Maintenance scripts of the project; each module's docstring says what it does and how to run it."""

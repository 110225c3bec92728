"""Maintenance scripts of the project (tools/README or each module's docstring says what each does)."""

"""Enrich: add to the case graph the facts the criteria read (``stage.enrich``).

Classes from codes, coverage of each line, time since each procedure, sites, diagnoses, sessions
(``sessions``), the values a case leaves unstated; ``values`` holds what the stage hands on.
Imports the knowledge base and the SHACL engine's three-valued logic; never explain or render.
"""

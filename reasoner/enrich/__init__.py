"""Enrich: add to the case graph the facts the criteria read (``stage.enrich``).

Classes from codes, coverage of each line, time since each procedure, sites, diagnoses, sessions
(``sessions``), the values a case leaves unstated (``unstated``); ``sites`` derives regions, levels,
sides and the latest procedure at a site, ``access`` reads and writes the graph; ``values`` holds
what the stage hands on.
Imports the knowledge base and the SHACL engine's three-valued logic; never explain or render.
"""

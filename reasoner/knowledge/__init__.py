"""The knowledge base: its Turtle files read, closed, indexed, linted and checked, once at load.

Below every stage: a request never changes it, and the stages read it through
:class:`~reasoner.knowledge.base.KnowledgeBase`. It imports no stage package (intake, enrich,
explain, render, interop, sparql, authoring) nor the pipeline; it does import :mod:`reasoner.shacl`,
because the shapes are compiled when the knowledge base loads, and lint lives here (``lint``,
``lint_cache``) because a load runs it and refuses a knowledge base with findings (fail closed).

- ``base``: :class:`KnowledgeBase` and its loading; ``files``: the files and their hash;
  ``preparing``: the steps of preparing it; ``prepared_cache``: prepared ones kept in the cache folder
- ``closure``: the RDFS closure (at load, never on case data); ``_index``: the tables read at load
- ``entities``: policies, criteria, steps, codes, thresholds, references as typed records
- ``rules``: the criterion rules (``gr:rule``) expanded into SHACL shapes (the reader and writer, the kinds by family)
- ``classes``, ``applicability``: what a code and a request's classes mean under a policy
- ``relevance``: which history facts a policy's shapes can see (intake's sieve leaves out the rest)
- ``shape_counts``: what a criterion's shapes count (sessions, distinct tests)
- ``catalogue``: the views of policies, codes and criteria the API serves; evidence grades
- ``lint``, ``lint_cache``: the authors' checks, and their verdicts kept per content
"""

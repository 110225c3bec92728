"""The plain JSON form of a case: its schema, reading it, and its mapping to the case graph.

- ``schema``: the pydantic models that are the form (schemas/case.schema.json is generated from
  them), ``json_schema`` and the case's ``digest``;
- ``load``: ``load_json``, decoding and validating a payload, with each validation error in plain
  words and a valid value (and what to do instead when a FHIR resource or JSON-LD is sent);
- ``to_rdf``: ``to_graph``, a validated case to the same RDF as a Turtle case (and ``code_iri``).

``load`` and ``to_rdf`` import ``schema``; nothing here imports a later stage.
"""

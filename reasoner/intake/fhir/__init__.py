"""FHIR R4 intake: a Da Vinci PAS request Bundle, or a CDS Hooks order request, as a case.

Resources are validated with the R4B models of fhir.resources (the resources read here are the
same in R4 and R4B) and then read as plain JSON into the case form of ``intake.json_case``,
following docs/fhir-mapping.md. Each resource that gives a fact becomes a source document named
after its type and id, so every fact keeps the resource it came from. Errors are FhirError issues
with the element's path and never the submitted value; nothing here fetches anything (reading runs
under ``limits.untrusted_input``), and a number is checked against the caps of ``numbers.py``
before it is converted.

- ``resources``: decoding and validating a resource, and reading its codes, dates, ids, numbers
  and sites (what the readers share);
- ``history``: the resources of the patient's history mapped to the history of the case form;
- ``pas``: the PAS request Bundle reader (``read_pas``, ``PasCase``);
- ``hooks``: the CDS Hooks order-sign / order-select request reader (``read_hook``, ``HookCall``).

What an answer in FHIR renders (an OperationOutcome, the X-FHIR-Skipped header) is output, and
lives in ``reasoner.interop.fhir_output``. Imports intake's own modules, the knowledge base (for
its types), errors, numbers and the vocabularies; no later stage.
"""

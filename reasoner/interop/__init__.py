"""Answers in the forms other systems ask for.

Da Vinci PAS (``pas``, ``pas_review``, ``pas_echo``) and CDS Hooks with CRD coverage information
(``cds_hooks``; the extension itself in ``coverage_information``), and what every FHIR answer may
carry (``fhir_output``: the OperationOutcome of a FHIR error, the X-FHIR-Skipped header). Built on
the pipeline and intake.fhir.
"""

"""Render a determination or a comparison: JSON, Markdown, HTML (``text``) and RDF (``rdf``); a pathway as SVG.

Templates are in reasoner/render/templates/. Renderers never reason: they read the model and, for
the pathway diagram (``pathway``), the knowledge base's pathway steps.
"""

"""Render a determination or a comparison: JSON, Markdown, HTML (``text``) and RDF (``rdf``).

Templates are in reasoner/render/templates/. Imports the model only: renderers never reason.
"""

"""Explain: from validation results to criteria met, not met or unknown, the outcome and next steps.

``criteria`` decides each criterion and the outcome; ``facts`` describes the case facts behind them.
Imports enrich's values, the knowledge base and the SHACL engine's reader; never render.
"""

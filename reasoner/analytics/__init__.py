"""Analytics over kept determinations: the analyst's SPARQL dataset, bounded queries, the metrics report.

``dataset``: which graphs an analyst reads (never a ``/case`` graph) and the knowledge base beside
them; ``query_process`` and ``service``: user queries run in a killable process on a snapshot;
``queries``: the fixed queries of queries/determinations; ``report``: the prior-authorization report.
"""

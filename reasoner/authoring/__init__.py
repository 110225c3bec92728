"""What guideline authors run besides lint.

The example cases as tests (``casetests``) and which answers an edit changes (``impact``). Lint is
the knowledge base's own (reasoner/knowledge/lint.py).
"""

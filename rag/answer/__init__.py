"""Turning retrieved passages into cited answers: extractive composition, citations, LLM backends.
May import ``rag.search``, ``rag.corpus`` and the base modules."""

"""Finding passages: embedding, the index (its format and its build), retrieval, query rewriting.
May import ``rag.corpus`` and the base modules (records, settings, errors)."""

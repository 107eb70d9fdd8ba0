"""Finding passages: embedding, the index (format, build, stores), retrieval, query rewriting.
May import ``rag.corpus`` and the base modules (records, settings, errors)."""

"""Finding passages: embedding, the index (format, build, stores: FAISS or Milvus), retrieval.
May import ``rag.corpus`` and the base modules (records, settings, errors)."""

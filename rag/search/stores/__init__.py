"""Where the index is served from: FAISS files (the default) or Milvus, behind one interface.
May import ``rag.search`` (index format), ``rag.corpus`` and the base modules."""

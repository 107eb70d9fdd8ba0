"""Reading material in: cleaning, ingestion, chunking, paper cards and arXiv fetching, linking.
May import only ``rag.records``, ``rag.settings`` and ``rag.errors``."""

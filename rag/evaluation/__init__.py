"""``rag eval`` (runs, metrics, ragas glue, reports) and the ``rag corpus stats`` report.
May import everything below the app: ``rag.study``, ``rag.assistant`` and the layers under it."""

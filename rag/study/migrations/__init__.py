"""Alembic migrations of the progress database, run by ``rag.study.db`` at start-up."""

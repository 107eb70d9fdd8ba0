"""Opening the progress database: engine, SQLite pragmas, Alembic migrations at start-up,
and clear messages for a database that cannot be used.

SQLite (the default, ``<RAG_HOME>/progress.db``) runs in WAL mode with a busy timeout,
and every write transaction starts with ``BEGIN IMMEDIATE`` so that two processes
writing at once queue instead of failing half-way.  Any SQLAlchemy URL works through
``RAG_DB_URL`` (PostgreSQL is tested).  A database written by a newer version of the
schema is refused, never downgraded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rag.errors import ProgressUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def explain(exc: BaseException, url: str) -> ProgressUnavailable:
    """A database error turned into a message that says what to do."""
    where = describe(url)
    msg = str(getattr(exc, "orig", exc) or exc).lower()
    if "locked" in msg or "busy" in msg:
        return ProgressUnavailable(
            f"the progress database {where} is locked by another program; try again in a "
            "moment (your answer was not saved)")
    if "readonly" in msg or "read-only" in msg or "read only" in msg:
        return ProgressUnavailable(
            f"the progress database {where} is read-only: make it writable or point "
            "RAG_DB_URL at another database (nothing was saved)")
    if "unable to open" in msg or "no such file" in msg or "does not exist" in msg:
        return ProgressUnavailable(
            f"cannot open the progress database {where}: its folder is missing or not "
            "accessible; create it or set RAG_DB_URL")
    return ProgressUnavailable(f"the progress database {where} failed: "
                               f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")


def _sqlite_setup(engine: Engine, busy_timeout_s: float) -> None:
    """WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check_sqlite_path(url: str) -> None:
    """Clear messages before SQLite's own ("unable to open database file")."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        raise ProgressUnavailable(
            f"cannot open the progress database {path}: the folder {path.parent} does not "
            "exist; create it or set RAG_DB_URL")
    if path.exists() and not os.access(path, os.W_OK):
        raise ProgressUnavailable(
            f"the progress database {path} is read-only: make it writable or point "
            "RAG_DB_URL at another database")
    if not os.access(path.parent, os.W_OK):
        raise ProgressUnavailable(
            f"the progress database folder {path.parent} is read-only (SQLite needs to "
            "write its journal there): make it writable or set RAG_DB_URL")


def make_engine(url: str, busy_timeout_s: float = 10.0) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ProgressUnavailable(f"RAG_DB_URL is not a database URL ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(url)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
        _sqlite_setup(engine, busy_timeout_s)
        return engine
    if parsed.drivername == "postgresql":  # the installed driver is psycopg 3
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False)
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise ProgressUnavailable(f"cannot use the database URL {describe(url)}: {exc}") from exc


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it.  Refuses a newer schema."""
    script = ScriptDirectory.from_config(alembic_config())
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # one migrator at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(7140014)"))
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError:
                raise ProgressUnavailable(
                    f"the progress database {describe(str(engine.url))} was written by a "
                    f"newer version of this program (schema {current}; this one knows up "
                    f"to {script.get_current_head()}): upgrade, or set RAG_DB_URL to "
                    "another database") from None
        if current != script.get_current_head():
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    return script.get_current_head()


class Database:
    """An open, migrated progress database; ``session()`` is one transaction."""

    def __init__(self, url: str, busy_timeout_s: float = 10.0):
        self.url = url
        try:
            self.engine = make_engine(url, busy_timeout_s)
            self.revision = migrate(self.engine)
        except ProgressUnavailable:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise explain(exc, url) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error
        (database errors become ``ProgressUnavailable``)."""
        try:
            with self._sessions.begin() as session:
                yield session
        except ProgressUnavailable:
            raise
        except (DBAPIError, SQLAlchemyError) as exc:
            raise explain(exc, self.url) from exc

    def close(self) -> None:
        self.engine.dispose()


def default_url(home: Path) -> str:
    return f"sqlite:///{home / 'progress.db'}"

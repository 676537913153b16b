"""Engine creation and schema upgrades for SQLite and PostgreSQL.

SQLite: WAL journal with ``synchronous=NORMAL`` (a commit survives a crash of the process, e.g. ``kill -9``;
an operating-system crash or power loss may lose the last commits), a busy timeout, and ``BEGIN IMMEDIATE``
for every writing transaction, so writers are serialised by the database itself (a single database-wide
write lock, which also serialises operations on one account, across processes such as ``venue account
create`` while ``serve`` runs); read-only transactions (engine option ``venue_read``) use a plain ``BEGIN``.
PostgreSQL: operations on one account take ``SELECT … FOR UPDATE`` on its row; different accounts proceed
in parallel.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from marginlab.errors import InputError

__all__ = ["make_engine", "read_only", "upgrade_schema"]


def make_engine(url: str) -> Engine:
    """Return an engine for ``url`` (``sqlite:///file.db``, ``sqlite://`` in memory, ``postgresql+psycopg://…``).

    Raises
    ------
    InputError
        If the URL is not a supported database URL.
    """
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise InputError("db", url, "a sqlite:/// or postgresql+psycopg:// URL")
    try:
        if url.startswith("sqlite"):
            memory = url in ("sqlite://", "sqlite:///:memory:")
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                poolclass=StaticPool if memory else None,
            )
            _sqlite_pragmas(engine, wal=not memory)
            return engine
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise InputError("db", url, f"a valid database URL ({exc})") from None


def read_only(engine: Engine) -> Engine:
    """Return the engine flagged for read-only transactions (a plain, non-locking ``BEGIN`` on SQLite)."""
    return engine.execution_options(venue_read=True)


def _sqlite_pragmas(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("venue_read") else "BEGIN IMMEDIATE")


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (never drops data).

    Raises
    ------
    InputError
        If the database cannot be reached.
    """
    config = Config()
    config.set_main_option("script_location", str(resources.files("marginlab.venue") / "migrations"))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise InputError(
            "db",
            engine.url.render_as_string(hide_password=True),
            "a reachable database",
            problem=f"cannot open the database: {reason}",
        ) from None

"""Engine creation and schema upgrades for SQLite and PostgreSQL.

SQLite: WAL journal with ``synchronous=NORMAL`` (a commit survives a crash of the process, e.g. ``kill -9``;
an operating-system crash or power loss may lose the last commits), a busy timeout, and ``BEGIN IMMEDIATE``
for every writing transaction, so writers are serialised by the database itself (a single database-wide
write lock, which also serialises operations on one account, across processes such as ``venue account
create`` while ``serve`` runs); read-only transactions (engine option ``venue_read``) use a plain ``BEGIN``.
PostgreSQL: operations on one account take ``SELECT … FOR UPDATE`` on its row; different accounts proceed
in parallel.

The server's own SQLite engine (``make_engine(url, background_checkpoints=True)``) turns SQLite's automatic
WAL checkpoint off and runs :class:`WalCheckpointer` instead. Left to SQLite, the commit that takes the WAL
past 1,000 pages copies it into the database file and syncs it while it still holds the write lock: one
order in ~75 took 5 ms instead of 0.9 ms, and every writer queued behind it.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, suppress
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from marginlab.errors import InputError

__all__ = ["WalCheckpointer", "make_engine", "read_only", "upgrade_schema"]


def make_engine(url: str, *, background_checkpoints: bool = False) -> Engine:
    """Return an engine for ``url`` (``sqlite:///file.db``, ``sqlite://`` in memory, ``postgresql+psycopg://…``).

    Parameters
    ----------
    url : str
        Database URL.
    background_checkpoints : bool, default False
        SQLite files only: no automatic WAL checkpoint on commit; the caller runs a :class:`WalCheckpointer`
        (the server does; one-shot commands keep SQLite's automatic checkpoint).

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
            _sqlite_pragmas(engine, wal=not memory, autocheckpoint=not background_checkpoints)
            return engine
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise InputError("db", url, f"a valid database URL ({exc})") from None


def read_only(engine: Engine) -> Engine:
    """Return the engine flagged for read-only transactions (a plain, non-locking ``BEGIN`` on SQLite)."""
    return engine.execution_options(venue_read=True)


def _sqlite_pragmas(engine: Engine, *, wal: bool, autocheckpoint: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            if not autocheckpoint:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("venue_read") else "BEGIN IMMEDIATE")


class WalCheckpointer:
    """Checkpoint an SQLite file's WAL from a background thread, so that no commit pays for it.

    Each round runs a ``PASSIVE`` checkpoint without any lock: it copies the WAL's pages into the database
    file and syncs it while writers go on appending. Under a steady stream of commits that checkpoint never
    catches up with the WAL's end, and SQLite starts the WAL over only once it has; so when the WAL holds
    ``restart_frames`` frames or more, a second checkpoint runs holding ``writers`` (the lock the process's
    writers take): it copies only the few pages committed since the first, and the next commit starts the
    WAL over. A no-op for PostgreSQL and in-memory SQLite.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The server's engine (made with ``background_checkpoints=True``).
    writers : context manager
        The lock every writer of this process holds around its transaction.
    every : float, default 0.2
        Seconds between rounds.
    restart_frames : int, default 10,000
        WAL length (frames of 4 KiB pages) from which a round makes the WAL start over: ten times SQLite's
        own automatic checkpoint size, so the locked round (a few pages and two syncs) comes ten times less
        often than SQLite's checkpoint did, for a WAL file of ~40 MiB at most (plus one round's commits).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        writers: AbstractContextManager[object],
        every: float = 0.2,
        restart_frames: int = 10_000,
    ) -> None:
        self.engine = engine
        self.writers = writers
        self.every = every
        self.restart_frames = restart_frames
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        database = engine.url.database
        self.enabled = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")

    def checkpoint(self) -> tuple[int, int, int]:
        """Run one PASSIVE checkpoint; return SQLite's (busy, frames in the WAL, frames checkpointed)."""
        # the pool's DB-API connection in autocommit: SQLAlchemy's "begin" hook would take the write lock
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            busy, frames, done = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
        finally:
            connection.close()
        return int(busy), int(frames), int(done)

    def run_once(self) -> tuple[int, int, int]:
        """Run one round (see the class); return the last checkpoint's (busy, frames, checkpointed)."""
        result = self.checkpoint()
        if result[1] >= self.restart_frames:
            with self.writers:
                result = self.checkpoint()
        return result

    def start(self) -> None:
        """Start the background thread (once; nothing to do when not enabled)."""
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._round_quietly()
        self._round_quietly()

    def _round_quietly(self) -> None:
        with suppress(OperationalError):  # the database is busy or gone: the next round tries again
            self.run_once()


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

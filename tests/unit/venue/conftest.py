"""Fixtures of the venue's service and API tests: the same tests on SQLite and on a real PostgreSQL.

PostgreSQL: ``MARGINLAB_TEST_PG`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``. Unreachable:
skipped with a one-line reason, except when ``CI=true``, where it fails.

The migrations run once per test session, not once per test: SQLite tests get a copy of a migrated template
file, PostgreSQL tests share one migrated schema whose tables are emptied (``TRUNCATE … RESTART IDENTITY``)
before each test. Every test still starts from an empty database at the newest migration.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from marginlab.venue.database import make_engine, upgrade_schema
from marginlab.venue.service import VenueService
from marginlab.venue.settings import VenueSettings
from support import PG_URL, postgres_schema

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Clock:
    """A settable clock in ms."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema once per session (tests copy it)."""
    path = tmp_path_factory.mktemp("venue_template") / "venue.db"
    template = make_engine(f"sqlite:///{path}")
    upgrade_schema(template)
    template.dispose()  # the last connection closes: the WAL is checkpointed into the file
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL schema migrated to the newest schema once per session (dropped at the end)."""
    for schema in postgres_schema("venue_test"):
        migrated = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        upgrade_schema(migrated)
        migrated.dispose()
        yield schema


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database with the schema made by the migrations, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "venue.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        sqlite = make_engine(f"sqlite:///{path}")
        yield sqlite
        sqlite.dispose()
        return
    schema = request.getfixturevalue("postgres_template")
    pg = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=5)
    try:
        with pg.begin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        yield pg
    finally:
        pg.dispose()


@pytest.fixture
def clock() -> Clock:
    """The service's clock."""
    return Clock()


def make_settings(tmp_path: Path, **overrides: object) -> VenueSettings:
    """Settings with a key file in ``tmp_path``."""
    return VenueSettings(key_file=tmp_path / "venue.key", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def service(engine: Engine, clock: Clock, tmp_path: Path) -> VenueService:
    """A service with BTC and ETH priced at 100,000 and 4,000."""
    svc = VenueService(engine, make_settings(tmp_path), clock=clock)
    svc.update_prices({"BTCUSDT": (D(100000), D(100000)), "ETHUSDT": (D(4000), D(4000))})
    return svc


@pytest.fixture
def make_service(engine: Engine, clock: Clock, tmp_path: Path) -> Callable[..., VenueService]:
    """Build a service on the test database with settings overridden (BTC priced at 100,000)."""

    def build(**overrides: object) -> VenueService:
        svc = VenueService(engine, make_settings(tmp_path, **overrides), clock=clock)
        svc.update_prices({"BTCUSDT": (D(100000), D(100000))})
        return svc

    return build

"""Fixtures of the venue's service and API tests: the same tests on SQLite and on a real PostgreSQL.

PostgreSQL: ``MARGINLAB_TEST_PG`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; every test gets a
fresh schema (made by the migrations, dropped afterwards). Unreachable: skipped with a one-line reason,
except when ``CI=true``, where it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

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


def _postgres_engine() -> Iterator[Engine]:
    for schema in postgres_schema("venue_test"):
        engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=5)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database with the schema made by the migrations, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'venue.db'}")
        upgrade_schema(sqlite)
        yield sqlite
        sqlite.dispose()
    else:
        for pg in _postgres_engine():
            upgrade_schema(pg)
            yield pg


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

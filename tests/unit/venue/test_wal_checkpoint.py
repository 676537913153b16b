"""The server's SQLite WAL is checkpointed by a background thread, never inside a commit."""

from __future__ import annotations

import threading
from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import Engine

from marginlab.venue.database import WalCheckpointer, make_engine, upgrade_schema
from marginlab.venue.orders import OrderRequest
from marginlab.venue.service import VenueService
from marginlab.venue.settings import VenueSettings


def _autocheckpoint(engine: Engine) -> int:
    connection = engine.raw_connection()
    try:
        return int(connection.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    finally:
        connection.close()


def _service(tmp_path: Path) -> tuple[VenueService, int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'venue.db'}", background_checkpoints=True)
    upgrade_schema(engine)
    service = VenueService(engine, VenueSettings(key_file=tmp_path / "key"))
    service.update_prices({"BTCUSDT": (D(100000), D(100000))})
    return service, service.create_account(deposit=D(100000), bonus=D(0)).account_id


def _orders(service: VenueService, account_id: int, count: int, tag: str) -> None:
    for i in range(count):
        side = "BUY" if i % 2 == 0 else "SELL"
        request = OrderRequest(
            symbol="BTCUSDT", side=side, type="MARKET", qty=D("0.01"), client_order_id=f"{tag}{i}"
        )
        service.place_order(account_id, request)


def test_only_the_servers_engine_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    assert _autocheckpoint(make_engine(f"sqlite:///{tmp_path / 'cli.db'}")) == 1000  # SQLite's default
    server = make_engine(f"sqlite:///{tmp_path / 'server.db'}", background_checkpoints=True)
    assert _autocheckpoint(server) == 0
    assert WalCheckpointer(server, writers=threading.Lock()).enabled
    assert not WalCheckpointer(make_engine("sqlite://"), writers=threading.Lock()).enabled


def test_commits_leave_the_wal_alone_and_a_round_checkpoints_all_of_it(tmp_path: Path) -> None:
    service, account = _service(tmp_path)
    checkpointer = WalCheckpointer(service.engine, writers=service.write_lock, restart_frames=10**9)
    checkpointer.run_once()
    _orders(service, account, 40, "a")
    busy, frames, done = checkpointer.checkpoint()
    # 40 orders wrote hundreds of frames and no commit checkpointed them (with SQLite's automatic
    # checkpoint the WAL would start over past 1,000 frames); this checkpoint copies them all
    assert busy == 0 and frames == done and frames > 200


def test_a_long_wal_starts_over_after_a_round(tmp_path: Path) -> None:
    service, account = _service(tmp_path)
    checkpointer = WalCheckpointer(service.engine, writers=service.write_lock, restart_frames=100)
    _orders(service, account, 30, "a")
    _, long_wal, _ = checkpointer.run_once()
    assert long_wal >= 100
    _orders(service, account, 2, "b")
    _, frames, done = checkpointer.checkpoint()
    assert frames == done and frames < long_wal / 5  # the next commits wrote from the WAL's start again


def test_the_wal_stays_short_while_orders_go_on(tmp_path: Path) -> None:
    """Under a stream of commits a lock-free checkpoint never reaches the WAL's end; the locked one does."""
    service, account = _service(tmp_path)
    checkpointer = WalCheckpointer(service.engine, writers=service.write_lock, every=0.01, restart_frames=50)
    checkpointer.start()
    try:
        _orders(service, account, 300, "a")  # ~4,000 frames: a WAL of ~16 MB if it never started over
    finally:
        checkpointer.stop()  # a last round after the thread's loop
    assert (tmp_path / "venue.db-wal").stat().st_size < 8 * 2**20
    _, frames, done = checkpointer.checkpoint()
    assert frames == done
    orders = service.orders(account, "BTCUSDT", open_only=False, algo=False, limit=500)
    assert [o.client_order_id for o in orders] == [f"a{i}" for i in range(300)]  # nothing lost on the way

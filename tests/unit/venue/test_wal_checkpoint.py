"""The server's SQLite WAL is checkpointed by a background thread, never inside a commit."""

from __future__ import annotations

import threading
import time
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


class _RecordingLock:
    """A lock that notes when it is held (the writers' lock, as the checkpointer sees it)."""

    def __init__(self) -> None:
        self.held = 0

    def __enter__(self) -> None:
        self.held += 1

    def __exit__(self, *_: object) -> None:
        return None


def test_a_round_takes_the_writers_lock_only_for_a_long_wal(tmp_path: Path) -> None:
    """Commits that never pause would keep a lock-free checkpoint behind the WAL's end for ever."""
    service, account = _service(tmp_path)
    writers = _RecordingLock()
    checkpointer = WalCheckpointer(service.engine, writers=writers, restart_frames=100)
    _orders(service, account, 2, "a")
    checkpointer.run_once()
    assert writers.held == 0  # a short WAL: the lock-free checkpoint alone
    _orders(service, account, 30, "b")
    checkpointer.run_once()
    assert writers.held == 1  # a long one: a second checkpoint under the writers' lock


def test_the_thread_keeps_the_wal_short_while_orders_go_on(tmp_path: Path) -> None:
    service, account = _service(tmp_path)
    checkpointer = WalCheckpointer(service.engine, writers=service.write_lock, every=0.01, restart_frames=50)
    checkpointer.start()
    try:
        for i in range(150):  # ~2,000 frames: an 8 MB WAL if it never started over
            _orders(service, account, 1, f"a{i}-")
            time.sleep(0.001)  # a client's round trip between two orders
    finally:
        checkpointer.stop()  # a last round after the thread's loop
    assert (tmp_path / "venue.db-wal").stat().st_size < 4 * 2**20
    _, frames, done = checkpointer.checkpoint()
    assert frames == done
    orders = service.orders(account, "BTCUSDT", open_only=False, algo=False, limit=500)
    assert [o.client_order_id for o in orders] == [f"a{i}-0" for i in range(150)]  # nothing lost on the way

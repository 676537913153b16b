"""Venue benchmarks (``make bench`` runs this after run.py); merges its figures into ``results.json``.

* ``venue_orders_per_s_{sqlite,postgresql}``: signed MARKET orders (open, then close, alternately) from one
  client, one account, sequential, through the real server (``marginlab venue serve``) over loopback HTTP.
* ``venue_p99_ms_{sqlite,postgresql}``: p99 latency of 20 concurrent clients × 50 signed requests (4 accounts;
  4 in 5 requests are market orders, 1 in 5 reads the account).
* Each is the median of ``VENUE_BENCH_ROUNDS`` (3) rounds on the same server; ``venue_rounds_*`` keeps every
  round's figure (the p99 of 1,000 requests is their 10th slowest: one round alone swings with the machine).
* ``venue_mark_update_accounts_per_s``: accounts covered per second by one whole mark update (pre-filter
  on the stored liquidation-price hints, then the exact engine on the candidates, liquidations written, one
  transaction) with 10,000 accounts holding an isolated BTC position, 1 % of which the move liquidates;
  ``venue_mark_update_cpu_ms``: the CPU time of that update (this process; load-independent).
* ``venue_mark_prefilter_accounts_per_s``: the same 10,000 accounts, a move that reaches none (the
  pre-filter alone).
* ``venue_mark_recheck_exact_accounts_per_s``: accounts re-checked (and liquidated) per second by the exact
  engine in the whole update above (its wall time over the candidates only: a lower bound).

PostgreSQL figures are skipped (null) when no server answers at ``MARGINLAB_TEST_PG``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, text

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.rules import get_venue
from marginlab.venue.database import make_engine, upgrade_schema
from marginlab.venue.models import AccountRow, PositionRow, SymbolSettingRow
from marginlab.venue.service import VenueService
from marginlab.venue.settings import VenueSettings

OUT = Path(__file__).with_name("results.json")
PG_URL = os.environ.get("MARGINLAB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARGINLAB = str(Path(sys.executable).parent / "marginlab")
ADMIN = "bench-admin-token-0123456789"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``marginlab venue serve`` as a subprocess."""

    def __init__(self, db: str, folder: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MARGINLAB_VENUE_SECRET_KEY": Fernet.generate_key().decode(),
            "MARGINLAB_VENUE_ADMIN_TOKEN": ADMIN,
            "MARGINLAB_VENUE_RATE_LIMIT": "100000",
        }
        self.log = (folder / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own console script
            [MARGINLAB, "venue", "serve", "--db", db, "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + 240
        while True:
            try:
                with OPENER.open(self.url + "/health", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"venue did not start on {db}") from None
                time.sleep(0.2)

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback http
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"X-ADMIN-TOKEN": ADMIN, "Content-Type": "application/json"},
            method="POST",
        )
        with OPENER.open(request, timeout=60) as response:
            return json.loads(response.read())

    def cpu_s(self) -> float:
        """Return the server process's CPU time so far (user + system, in s): hardly load-dependent."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


class Client:
    """Signs like ccxt (timestamp first, signature last), on one keep-alive connection.

    A slim client (``http.client``, not ``requests``): the figures are the venue's, and a heavier client
    in series with the server would measure the client too (``requests`` costs ~0.5 ms of CPU a call here).
    """

    def __init__(self, url: str, key: str, secret: str) -> None:
        self.host, self.port = url.removeprefix("http://").split(":")
        self.key, self.secret = key, secret
        self.connection = http.client.HTTPConnection(self.host, int(self.port), timeout=60)

    def __call__(self, method: str, path: str, **params: object) -> tuple[int, bytes]:
        """Send one signed request; return the HTTP status and the body."""
        payload = urlencode(
            {"timestamp": int(time.time() * 1000), **params, "recvWindow": 10000}, quote_via=quote
        )
        signature = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        body = f"{payload}&signature={signature}"
        headers = {"X-MBX-APIKEY": self.key, "Content-Type": "application/x-www-form-urlencoded"}
        if method == "GET":
            self.connection.request("GET", f"{path}?{body}", headers=headers)
        else:
            self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def _market_order(client: Client, i: int, qty: str, client_id: str) -> tuple[int, bytes]:
    """Send the ``i``-th BTCUSDT market order of a client: buys and sells alternate (open, close, …)."""
    side = "BUY" if i % 2 == 0 else "SELL"
    return client(
        "POST",
        "/fapi/v1/order",
        symbol="BTCUSDT",
        side=side,
        type="MARKET",
        quantity=qty,
        newClientOrderId=client_id,
    )


def _sequential_round(server: Server, one: Client, count: int, tag: str) -> tuple[float, float, float]:
    """Send ``count`` market orders one after the other; return (orders/s, server and client CPU ms/order)."""
    cpu = server.cpu_s()
    client_cpu = time.thread_time()
    started = time.perf_counter()
    for i in range(count):
        status, answer = _market_order(one, i, "0.01", f"b{tag}{i}")
        if status != 200:
            raise SystemExit(answer.decode())
    elapsed = time.perf_counter() - started
    return (
        count / elapsed,
        (server.cpu_s() - cpu) / count * 1000,
        (time.thread_time() - client_cpu) / count * 1000,
    )


def _concurrent_round(url: str, accounts: list[dict[str, Any]], tag: str) -> tuple[float, float]:
    """Run 20 clients × 50 signed requests at once; return (p99, p50) latency in ms."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        account = accounts[i % 4]
        client = Client(url, account["api_key"], account["api_secret"])
        for j in range(50):
            t0 = time.perf_counter()
            if j % 5 == 4:
                status, answer = client("GET", "/fapi/v3/account")
            else:
                status, answer = _market_order(client, j, "0.001", f"p{tag}{i}-{j}")
            with lock:
                latencies.append(time.perf_counter() - t0)
                if status != 200:  # a fast refusal must not pass for a fast answer
                    failures.append(answer.decode())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} concurrent requests failed, e.g. {failures[0]}")
    latencies.sort()
    return latencies[int(len(latencies) * 0.99) - 1] * 1000, latencies[len(latencies) // 2] * 1000


def http_figures(db: str, label: str, folder: Path) -> dict[str, object]:
    """Sequential order throughput and concurrent p99 through the real server on ``db``."""
    server = Server(db, folder)
    try:
        server.admin("/admin/v1/mark", {"prices": {"BTCUSDT": "100000"}})
        accounts = [server.admin("/admin/v1/accounts", {"deposit": "1000000"}) for _ in range(4)]
        one = Client(server.url, accounts[0]["api_key"], accounts[0]["api_secret"])
        count = int(os.environ.get("VENUE_BENCH_ORDERS", "400"))
        rounds = int(os.environ.get("VENUE_BENCH_ROUNDS", "3"))
        sequential = [_sequential_round(server, one, count, f"r{r}-") for r in range(rounds)]
        concurrent = [_concurrent_round(server.url, accounts, f"r{r}-") for r in range(rounds)]
        rates, cpus, client_cpus = zip(*sequential, strict=True)
        p99s, p50s = zip(*concurrent, strict=True)
        return {
            f"venue_orders_per_s_{label}": round(statistics.median(rates), 1),
            f"venue_server_cpu_ms_per_order_{label}": round(statistics.median(cpus), 2),
            f"venue_client_cpu_ms_per_order_{label}": round(statistics.median(client_cpus), 2),
            f"venue_p99_ms_{label}": round(statistics.median(p99s), 1),
            f"venue_p50_ms_{label}": round(statistics.median(p50s), 1),
            f"venue_rounds_{label}": {
                "orders_per_s": [round(r, 1) for r in rates],
                "p99_ms": [round(p, 1) for p in p99s],
                "p50_ms": [round(p, 1) for p in p50s],
            },
        }
    finally:
        server.stop()


def mark_sweep_figures(folder: Path, accounts: int = 10_000, near: int = 100) -> dict[str, float]:
    """Mark-update sweep over ``accounts`` isolated BTC longs (SQLite), ``near`` of them entered at 100,000.

    The others entered at 50,000 (liquidation near 45,000). A move to 95,000 reaches none: the pre-filter
    covers all ``accounts``. A move to 90,000 reaches the ``near`` ones: each is re-checked (and liquidated)
    by the exact engine, in the update's one transaction.
    """
    engine = make_engine(f"sqlite:///{folder / 'sweep.db'}")
    upgrade_schema(engine)
    service = VenueService(engine, VenueSettings(key_file=folder / "k"))
    service.update_prices({"BTCUSDT": (Decimal(100000), Decimal(100000))})
    hints = {}
    for entry in (Decimal(100000), Decimal(50000)):
        model = Account(get_venue("binance"), balances={"USDT": Decimal(10000)})
        model.open(
            "BTCUSDT", Side.LONG, Decimal("0.05"), entry, leverage=Decimal(10), mode=MarginMode.ISOLATED
        )
        position = model.position("BTCUSDT")
        hints[entry] = (position.margin, model.liquidation_price(position))
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        conn.execute(
            insert(AccountRow),
            [
                {
                    "id": i,
                    "created_ms": now,
                    "updated_ms": now,
                    "position_mode": "one-way",
                    "wallet": "9500",
                    "deposited": "10000",
                    "bonus_granted": "0",
                    "bonus_left": "0",
                    "liquidations": 0,
                }
                for i in range(1, accounts + 1)
            ],
        )
        conn.execute(
            insert(SymbolSettingRow),
            [
                {"account_id": i, "symbol": "BTCUSDT", "margin_mode": "isolated", "leverage": "10"}
                for i in range(1, accounts + 1)
            ],
        )
        rows = []
        for i in range(1, accounts + 1):
            entry = Decimal(100000) if i <= near else Decimal(50000)
            margin, liquidation = hints[entry]
            rows.append(
                {
                    "account_id": i,
                    "symbol": "BTCUSDT",
                    "side": "long",
                    "qty": "0.05",
                    "entry": str(entry),
                    "leverage": "10",
                    "margin_mode": "isolated",
                    "margin": str(margin),
                    "liq_price_hint": float(liquidation or 0),
                    "hint_exact": True,
                    "updated_ms": now,
                }
            )
        conn.execute(insert(PositionRow), rows)
    started = time.perf_counter()
    checked = service.update_prices({"BTCUSDT": (Decimal(95000), Decimal(95000))})
    prefilter = accounts / (time.perf_counter() - started)
    assert checked == 0
    cpu = time.process_time()
    started = time.perf_counter()
    checked = service.update_prices({"BTCUSDT": (Decimal(90000), Decimal(90000))})
    elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu) * 1000
    assert checked == near and service.counts()["positions"] == accounts - near
    return {
        "venue_mark_update_accounts_per_s": round(accounts / elapsed),
        "venue_mark_update_cpu_ms": round(cpu_ms, 1),
        "venue_mark_prefilter_accounts_per_s": round(prefilter),
        "venue_mark_recheck_exact_accounts_per_s": round(near / elapsed),
    }


def postgres_database() -> tuple[str, Any] | None:
    """Return (URL of a fresh schema, cleanup) or None if PostgreSQL does not answer."""
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            schema = f"venue_bench_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # any failure means: no PostgreSQL figures
        return None

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    """Run the venue benchmarks and merge the figures into results.json."""
    results: dict[str, object] = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    figures: dict[str, object] = {"venue_load_average_1_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        only = os.environ.get("VENUE_BENCH_ONLY", "")  # sqlite | postgresql | sweep: one part (development)
        if only in ("", "sqlite"):
            figures.update(http_figures(f"sqlite:///{folder / 'venue.db'}", "sqlite", folder))
        pg = postgres_database() if only in ("", "postgresql") else None
        if pg is None and only:
            pass
        elif pg is None:
            figures.update({"venue_orders_per_s_postgresql": None, "venue_p99_ms_postgresql": None})
        else:
            try:
                figures.update(http_figures(pg[0], "postgresql", folder))
            finally:
                pg[1]()
        if only in ("", "sweep"):
            figures.update(mark_sweep_figures(folder))
    figures["venue_load_average_1_at_end"] = round(os.getloadavg()[0], 2)
    results.update(figures)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

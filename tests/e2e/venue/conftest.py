"""Fixtures of the venue's end-to-end tests: the real server as a subprocess on a free loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from cryptography.fernet import Fernet

from support import PG_URL, postgres_schema

MARGINLAB = str(Path(sys.executable).parent / "marginlab")
SECRET_KEY = Fernet.generate_key().decode()
ADMIN_TOKEN = "e2e-admin-token-0123456789"  # noqa: S105 - a test token


@dataclass
class Venue:
    """A running venue: its URL, database and environment."""

    url: str
    db: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``marginlab venue …`` on the venue's database."""
        return subprocess.run(
            [MARGINLAB, "venue", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def new_account(self, deposit: str = "10000", bonus: str = "5500") -> dict[str, str]:
        """Create an account with ``venue account create --json``."""
        done = self.cli(
            "account",
            "create",
            "--db",
            self.db,
            "--deposit",
            deposit,
            "--bonus",
            bonus,
            "--url",
            self.url,
            "--json",
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def mark(self, **prices: str) -> dict[str, object]:
        """Set marks through the admin endpoint."""
        request = urllib.request.Request(  # noqa: S310 - the test venue's http URL
            self.url + "/admin/v1/mark",
            data=json.dumps({"prices": prices}).encode(),
            headers={"X-ADMIN-TOKEN": ADMIN_TOKEN, "Content-Type": "application/json"},
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_venue(folder: Path, db: str, port: int | None = None) -> Venue:
    """Start ``marginlab venue serve`` on ``db`` and wait until it answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "MARGINLAB_VENUE_SECRET_KEY": SECRET_KEY,
        "MARGINLAB_VENUE_ADMIN_TOKEN": ADMIN_TOKEN,
        "NO_PROXY": "127.0.0.1",
    }
    log = folder / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MARGINLAB, "venue", "serve", "--db", db, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while True:
        try:
            with opener.open(url + "/health", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the venue did not start:\n{log.read_text()}")
            time.sleep(0.2)
    return Venue(url=url, db=db, env=env, process=process, log=log)


def stop_venue(venue: Venue) -> None:
    """Stop the server (terminate, then kill)."""
    venue.process.terminate()
    try:
        venue.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        venue.process.kill()
        venue.process.wait()


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    """Start ``marginlab venue serve`` on a fresh SQLite database; stop it afterwards."""
    folder = tmp_path_factory.mktemp("venue")
    server = start_venue(folder, f"sqlite:///{folder / 'venue.db'}")
    yield server
    stop_venue(server)


def postgres_url() -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL schema (dropped after); skip if unreachable (fail when CI=true)."""
    for schema in postgres_schema("venue_e2e"):
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL: an SQLite file, or a new schema of the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'venue.db'}"
    else:
        yield from postgres_url()


class SignedHttp:
    """A minimal Binance-style signing client (keep-alive session), for load tests."""

    def __init__(self, url: str, key: str, secret: str) -> None:
        import requests

        self.url, self.key, self.secret = url, key, secret
        self.session = requests.Session()
        self.session.trust_env = False

    def __call__(self, method: str, path: str, **params: object) -> Any:
        """Send a signed request; return the ``requests`` response."""
        payload = urlencode(
            {"timestamp": int(time.time() * 1000), **params, "recvWindow": 10000}, quote_via=quote
        )
        signature = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        body = f"{payload}&signature={signature}"
        headers = {"X-MBX-APIKEY": self.key}
        if method in ("GET", "DELETE"):
            return self.session.request(method, f"{self.url}{path}?{body}", headers=headers, timeout=60)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.session.request(method, self.url + path, data=body, headers=headers, timeout=60)


@dataclass(frozen=True)
class Tools:
    """The helpers load tests need (fixtures cannot be imported from a conftest)."""

    start: Any
    stop: Any
    signed: Any


@pytest.fixture
def tools() -> Tools:
    """Start/stop a server and sign requests."""
    return Tools(start=start_venue, stop=stop_venue, signed=SignedHttp)

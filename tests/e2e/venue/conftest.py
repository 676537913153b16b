"""Fixtures of the venue's end-to-end tests: the real server as a subprocess on a free loopback port."""

from __future__ import annotations

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

import pytest
from cryptography.fernet import Fernet

MARGINLAB = str(Path(sys.executable).parent / "marginlab")
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
            "account", "create", "--db", self.db, "--deposit", deposit, "--bonus", bonus, "--json"
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


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    """Start ``marginlab venue serve`` on a fresh SQLite database; stop it afterwards."""
    folder = tmp_path_factory.mktemp("venue")
    db = f"sqlite:///{folder / 'venue.db'}"
    port = free_port()
    env = {
        **os.environ,
        "MARGINLAB_VENUE_SECRET_KEY": Fernet.generate_key().decode(),
        "MARGINLAB_VENUE_ADMIN_TOKEN": ADMIN_TOKEN,
        "NO_PROXY": "127.0.0.1",
    }
    log = folder / "server.log"
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
    yield Venue(url=url, db=db, env=env, process=process, log=log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()

"""`risk --scheduler ADDR`: a separately started scheduler gives the local numbers; a dead one fails fast."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import distributed
import numpy as np
import pytest
from typer.testing import CliRunner

from marginlab.app.risk import run_risk
from marginlab.cli import cli
from marginlab.errors import InputError
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue
from marginlab.sim.paths import ModelParams

EXAMPLES = Path(__file__).parents[3] / "src" / "marginlab" / "examples"
DASK = str(Path(sys.executable).with_name("dask"))


def book() -> Portfolio:
    positions = [
        {"symbol": "BTCUSDT", "side": "long", "qty": "1", "entry": "60000", "leverage": "10"},
        {
            "symbol": "ETHUSDT",
            "side": "short",
            "qty": "10",
            "entry": "3000",
            "leverage": "20",
            "mode": "isolated",
        },
    ]
    return parse(Portfolio, {"balances": {"USDT": "20000"}, "positions": positions})


PARAMS = ModelParams(vol=np.array([0.8, 0.9]), drift=np.zeros(2), corr=np.array([[1.0, 0.7], [0.7, 1.0]]))


def risk(**kwargs: object) -> dict[str, object]:
    report = run_risk(
        book(), get_venue("binance"), model="gbm", horizon="6h", steps_per_day=96, paths=3000, seed=7,
        params=PARAMS, chunk_size=1000, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    return {name: (m.p_any_liquidation, m.expected_loss, m.es99) for name, m in report.modes.items()}


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``dask scheduler`` and one ``dask worker`` on loopback as a user would, in two processes."""
    file = tmp_path_factory.mktemp("dask") / "scheduler.json"
    procs = [
        subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
                str(file),
                "--no-show",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [DASK, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=120)  # the worker process imports numba and marginlab first
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def test_a_separately_started_scheduler_gives_the_local_numbers(scheduler: str) -> None:
    assert risk(scheduler=scheduler) == risk()


def test_an_unreachable_scheduler_is_an_input_error() -> None:
    with pytest.raises(
        InputError, match=re.escape("cannot connect to a Dask scheduler at tcp://127.0.0.1:1")
    ):
        risk(scheduler="tcp://127.0.0.1:1")


def test_risk_with_an_unreachable_scheduler_says_so_in_one_line() -> None:
    args = ["risk", str(EXAMPLES / "seed.toml"), "--paths", "100", "--scheduler", "tcp://127.0.0.1:1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot connect to a Dask scheduler" in result.stderr

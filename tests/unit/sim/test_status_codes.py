"""Kernel status codes map to the one exception hierarchy (marginlab.errors)."""

from __future__ import annotations

import numpy as np
import pytest

from marginlab.analysis.replay import replay_exact
from marginlab.errors import (
    InputError,
    InsufficientMargin,
    MarginLabError,
    OperationRejected,
    RuleSetError,
)
from marginlab.io.bars import Bars
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue
from marginlab.sim.api import raise_for_status, replay_fast_arrays
from marginlab.sim.dtypes import N_INFO, STATUS_MESSAGES, Status

EXPECTED: dict[Status, type[MarginLabError]] = {
    Status.BAD_PRICE: InputError,
    Status.BAD_INPUT: InputError,
    Status.TIER_OVERFLOW: RuleSetError,
    Status.LEVERAGE_TOO_HIGH: OperationRejected,
    Status.POSITION_EXISTS: OperationRejected,
    Status.ONE_WAY_CONFLICT: OperationRejected,
    Status.MODE_CONFLICT: OperationRejected,
    Status.ISOLATED_MARGIN_TOO_LOW: InsufficientMargin,
    Status.INSUFFICIENT_BALANCE: InsufficientMargin,
    Status.LIQUIDATED_ON_FILL: InsufficientMargin,
    Status.EVENT_OVERFLOW: MarginLabError,
}


def test_every_status_has_a_message_and_an_exception() -> None:
    assert set(STATUS_MESSAGES) == set(Status)
    assert set(EXPECTED) | {Status.OK} == set(Status)


def test_ok_raises_nothing() -> None:
    raise_for_status(Status.OK)


@pytest.mark.parametrize(("status", "error"), list(EXPECTED.items()))
def test_status_code_raises_its_exception_naming_the_place(
    status: Status, error: type[MarginLabError]
) -> None:
    info = np.zeros(N_INFO)
    info[2:] = (120.5, 80.25)
    with pytest.raises(error, match="positions\\[2\\]") as caught:
        raise_for_status(int(status), info, where="positions[2] BTCUSDT long")
    if isinstance(caught.value, InsufficientMargin):
        assert (caught.value.required, caught.value.available) == (
            pytest.approx(120.5),
            pytest.approx(80.25),
        )


def test_unknown_status_raises_the_base_error() -> None:
    with pytest.raises(MarginLabError, match="unknown status"):
        raise_for_status(99)


def _bars() -> Bars:
    n = 3
    price = np.array([[100.0, 101.0, 99.0, 100.0]] * n)
    return Bars(
        times=np.datetime64("2025-01-01T00:00", "ns") + np.arange(n) * np.timedelta64(1, "h"),
        last={"BTCUSDT": price * 600},
        mark={"BTCUSDT": price * 600},
        funding={"BTCUSDT": np.zeros(n)},
    )


def _doc(balance: str, *positions: tuple[str, str, str]) -> dict[str, object]:
    return {
        "balances": {"USDT": balance},
        "positions": [
            {"symbol": "BTCUSDT", "side": side, "notional": notional, "leverage": leverage}
            for side, notional, leverage in positions
        ],
    }


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        (_doc("100", ("long", "50000", "10")), InsufficientMargin),
        (_doc("100000", ("long", "5000000", "100")), OperationRejected),
        (_doc("100000", ("long", "5000", "10"), ("short", "5000", "10")), OperationRejected),
    ],
)
def test_replay_errors_are_the_exact_replays_errors(doc: dict[str, object], error: type[Exception]) -> None:
    portfolio = parse(Portfolio, doc)
    venue = get_venue("binance")
    with pytest.raises(error):
        replay_exact(portfolio, venue, _bars(), "hybrid")
    with pytest.raises(error):
        replay_fast_arrays(portfolio, venue, _bars(), "hybrid")

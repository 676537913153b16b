"""The curated public surface: unique exports, and the ccxt ``Position`` view of a position."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

import pytest

import marginlab
from marginlab import Account, InputError, MarginLabError, MarginMode, Side, ccxt_position, get_venue
from support import EXAMPLES


def test_all_lists_each_public_name_once_and_every_name_exists() -> None:
    assert len(marginlab.__all__) == len(set(marginlab.__all__))
    for name in marginlab.__all__:
        assert hasattr(marginlab, name), name


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Acount'"):
        marginlab.Acount  # noqa: B018 - the attribute access is the test


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        # the exact engine alone: no data frames, charts or web stack
        ("from marginlab import Account, get_venue", ("pandas", "plotly", "fastapi", "numba")),
        # what a Dask worker imports to run a Monte Carlo chunk
        ("import marginlab.sim.montecarlo", ("pandas", "plotly", "fastapi", "marginlab.app")),
    ],
)
def test_imports_load_only_what_they_use(statement: str, absent: tuple[str, ...]) -> None:
    import subprocess
    import sys

    probe = f"{statement}; import sys; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_ccxt_position_mirrors_ccxt_field_names_and_values() -> None:
    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": D(9500)})
    account.import_position(
        venue.instrument("BTCUSDT"),
        Side.LONG,
        D("0.05"),
        D(100000),
        mark=D(95000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
    )
    view = ccxt_position(account, account.position("BTCUSDT"))
    assert view["symbol"] == "BTC/USDT:USDT"
    assert view["marginMode"] == "isolated"
    assert view["side"] == "long"
    assert view["contracts"] == D("0.05")
    assert view["collateral"] == D(500)
    assert view["notional"] == D(4750)
    assert view["unrealizedPnl"] == D(-250)
    assert view["initialMargin"] == D(475)
    assert view["maintenanceMargin"] == D(19)  # 4750 * 0.4 %
    assert view["maintenanceMarginPercentage"] == D("0.004")
    assert view["marginRatio"] == D(19) / D(250)  # maintenance / (margin + uPnL)
    assert abs(view["liquidationPrice"] - D(100000) * D("0.9") / D("0.996")) < D("1e-20")
    assert view["hedged"] is False


# ----------------------------------------------------------------------------- the four calls of a bot
SIZE = {"symbol": "BTCUSDT", "side": "long", "equity": 10_000, "risk": "1%", "entry": 100_000, "stop": 97_000}


def test_size_takes_plain_values_and_returns_exact_ones() -> None:
    sized = marginlab.size(**SIZE, leverage=10)  # type: ignore[arg-type]
    assert sized.qty == D("0.032")  # 100 / (3000 + fees) = 0.0331…, rounded down to the 0.001 lot
    assert sized.liquidation_price is not None
    assert abs(sized.liquidation_price - D(100000) * D("0.9") / D("0.996")) < D("1e-12")
    assert sized == marginlab.size(**(SIZE | {"risk": D("0.01"), "side": Side.LONG}), leverage="10")  # type: ignore[arg-type]
    assert repr(sized).startswith("<Sizing BTCUSDT long qty 0.032") and len(repr(sized)) < 200


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        ({"equity": 10_000.0}, "equity"),
        ({"entry": "1_000"}, "entry"),
        ({"stop": "nan"}, "stop"),
        ({"side": "up"}, "side"),
        ({"risk": "x%"}, "risk"),
        ({"risk": True}, "risk"),
        ({"symbol": ""}, "symbol"),
        ({"mode": "portfolio"}, "mode"),
    ],
)
def test_every_bad_value_raises_a_marginlab_error_naming_the_argument(
    bad: dict[str, object], name: str
) -> None:
    with pytest.raises(MarginLabError) as caught:
        marginlab.size(**(SIZE | bad))  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"{name}: ")


def test_a_float_amount_is_refused_with_the_reason() -> None:
    with pytest.raises(InputError, match="float cannot hold"):
        marginlab.size(**(SIZE | {"equity": 0.1}))  # type: ignore[arg-type]


def test_replay_returns_each_mode_with_a_verdict() -> None:
    report = marginlab.replay(
        portfolio=EXAMPLES / "crash_2025_10_10.toml", scenario="2025-10-10", modes=("hybrid",)
    )
    hybrid = report.results["hybrid"]
    assert [x.symbol for x in hybrid.liquidations] == ["DOGEUSDT"]
    assert report.verdicts["hybrid"].startswith("hybrid: lost the $204 DOGE isolated margin")
    assert repr(report).startswith("<ReplayReport binance on 2025-10-10 (") and len(repr(report)) < 300


def test_risk_and_advise_take_keywords_and_print_short() -> None:
    result = marginlab.risk(portfolio=EXAMPLES / "seed.toml", paths=1000, seed=1, horizon="6h")
    assert set(result.modes) == {"cross", "isolated", "hybrid"}
    assert 0.0 <= result.modes["isolated"].p_any_liquidation <= 1.0
    assert repr(result).startswith("<RiskResult binance: 1,000 gbm paths over 0.25d;")
    advice = marginlab.advise(
        portfolio=EXAMPLES / "seed.toml", trade="DOGEUSDT long notional=1000 leverage=50", paths=500
    )
    assert advice.recommendation in (MarginMode.CROSS, MarginMode.ISOLATED)
    assert repr(advice).startswith("<Advice ") and len(repr(advice)) < 120


@pytest.mark.parametrize(
    ("call", "kwargs", "name"),
    [
        (marginlab.risk, {"portfolio": EXAMPLES / "seed.toml", "seed": -1}, "seed"),
        (marginlab.risk, {"portfolio": EXAMPLES / "seed.toml", "paths": 0}, "paths"),
        (marginlab.risk, {"portfolio": EXAMPLES / "seed.toml", "vol": float("nan")}, "vol"),
        (marginlab.risk, {"portfolio": 42}, "portfolio"),
        (marginlab.replay, {"portfolio": EXAMPLES / "seed.toml", "engine": "warp"}, "engine"),
        (marginlab.replay, {"portfolio": EXAMPLES / "seed.toml", "modes": ["sideways"]}, "modes"),
        (marginlab.advise, {"portfolio": EXAMPLES / "seed.toml", "trade": ""}, "trade"),
    ],
)
def test_bad_calls_name_the_argument(
    call: Callable[..., object], kwargs: dict[str, object], name: str
) -> None:
    with pytest.raises(MarginLabError) as caught:
        call(**kwargs)
    assert str(caught.value).startswith(f"{name}: ")

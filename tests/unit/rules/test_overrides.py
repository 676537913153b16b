"""Venue.instrument_with: a file's overrides, completed the way each venue relates its rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.errors import InputError, RuleSetError
from marginlab.io.schema import InstrumentOverrides
from marginlab.rules import get_venue

D = Decimal


def given(**values: str) -> InstrumentOverrides:
    return InstrumentOverrides(**{k: D(v) for k, v in values.items()})


def test_hyperliquid_hip3_market_from_max_leverage_alone() -> None:
    instrument = get_venue("hyperliquid").instrument_with("XYZ-AAPL/USDC:USDC", given(max_leverage="10"))
    assert (instrument.symbol, instrument.base, instrument.settle) == ("XYZ-AAPL", "XYZ-AAPL", "USDC")
    (tier,) = instrument.tiers.tiers
    assert (tier.mmr, tier.max_leverage, tier.maintenance_amount) == (D("0.05"), D(10), D(0))


def test_hyperliquid_known_asset_with_its_max_leverage_of_the_time() -> None:
    venue = get_venue("hyperliquid")
    btc = venue.instrument_with("BTC", given(max_leverage="20"))
    assert btc.tiers.tiers[0].mmr == D("0.025")  # 1 / (2 * 20)
    assert btc.settle == "USDC"
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(btc, Side.LONG, D(1), D(60000), leverage=D(10), mode=MarginMode.ISOLATED)
    # margin 6,000: 6,000 + (P - 60,000) = 0.025 P  ->  P = 54,000 / 0.975
    price = account.liquidation_price(account.position("BTC"))
    assert price is not None
    assert price.quantize(D("0.000001")) == D("55384.615385")


def test_hyperliquid_mmr_alone_gives_the_max_leverage() -> None:
    venue = get_venue("hyperliquid")
    instrument = venue.instrument_with("NEW/USDC:USDC", given(mmr="0.0125"))
    assert instrument.max_leverage == D(40)
    with pytest.raises(InputError, match=r"NEW/USDC:USDC\.mmr: expected a rate > 0"):
        venue.instrument_with("NEW/USDC:USDC", given(mmr="0"))


def test_hyperliquid_unknown_market_without_rates_says_what_defines_it() -> None:
    with pytest.raises(RuleSetError, match=r"give max_leverage or mmr"):
        get_venue("hyperliquid").instrument_with("XYZ-AAPL/USDC:USDC", given())


def test_dydx_market_from_its_mmr_settles_in_usdc() -> None:
    venue = get_venue("dydx")
    for symbol in ("STRK-USD", "STRK/USD:USDC"):
        strk = venue.instrument_with(symbol, given(mmr="0.1"))
        assert (strk.symbol, strk.base, strk.settle) == ("STRK-USD", "STRK", "USDC")
        assert strk.tiers.tiers[0].mmr == D("0.1")
        assert strk.max_leverage == D(10)  # bounded by 1 / mmr: IMF >= MMF on dYdX
    assert venue.instrument_with("STRK-USD", given(mmr="0.1", max_leverage="5")).max_leverage == D(5)
    # a bundled market keeps its own maximum (1 / IMF)
    assert venue.instrument_with("ETH-USD", given(mmr="0.05")).max_leverage == D(20)


def test_dydx_custom_market_shares_the_cross_pool() -> None:
    # liquidations.mdx cross example: e = 1,000; short 1.5 ETH @ 3,000 (MMF 5 %); long 1,000 STRK @ 1.75
    # (MMF 10 %): p' = (1,000 + 4,500 - 175) / (1.5 * 0.05 + 1.5) = 3,380.95
    venue = get_venue("dydx")
    eth = venue.instrument_with("ETH-USD", given(mmr="0.05"))
    strk = venue.instrument_with("STRK-USD", given(mmr="0.1"))
    account = Account(venue, balances={"USDC": D(1000)})
    account.import_position(eth, Side.SHORT, D("1.5"), D(3000), leverage=D(10))
    account.import_position(strk, Side.LONG, D(1000), D("1.75"), leverage=D(5))
    assert account.cross_maintenance_margin("USDC") == D(400)
    price = account.liquidation_price(account.position("ETH-USD"))
    assert price is not None
    assert price.quantize(D("0.01")) == D("3380.95")


def test_other_venues_need_both_rates_for_a_new_market() -> None:
    venue = get_venue("binance")
    with pytest.raises(RuleSetError, match=r"give mmr and max_leverage"):
        venue.instrument_with("FOOUSDT", given(mmr="0.01"))
    foo = venue.instrument_with("FOOUSDT", given(mmr="0.01", max_leverage="20"))
    assert (foo.base, foo.settle, foo.max_leverage) == ("FOO", "USDT", D(20))
    assert venue.instrument_with("FOOUSDC", given(mmr="0.01", max_leverage="20")).settle == "USDC"


def test_bundled_overrides_keep_their_rules() -> None:
    venue = get_venue("binance")
    with pytest.raises(InputError, match=r"BTCUSDT\.max_leverage: expected mmr given with it"):
        venue.instrument_with("BTCUSDT", given(max_leverage="20"))
    with pytest.raises(InputError, match=r"BTCUSDT\.maintenance_amount: expected mmr given with it"):
        venue.instrument_with("BTCUSDT", given(maintenance_amount="5"))
    btc = venue.instrument_with("BTCUSDT", given(mmr="0.025", maintenance_amount="16300", taker_fee="0.0004"))
    (tier,) = btc.tiers.tiers
    assert (tier.mmr, tier.maintenance_amount, tier.max_leverage) == (D("0.025"), D(16300), D(150))
    assert (btc.taker_fee, btc.tick_size) == (D("0.0004"), D("0.1"))
    assert venue.instrument_with("BTCUSDT", given()) is venue.instrument("BTCUSDT")

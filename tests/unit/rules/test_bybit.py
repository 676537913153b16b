"""Bybit rule set: the published isolated examples (maintenance margin at entry) and the policies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MaintenanceBasis, MarginMode, ModeSwitchPolicy, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierTable
from marginlab.errors import OperationRejected, RuleSetError
from marginlab.rules import bybit

D = Decimal


@pytest.fixture
def example_btc() -> Instrument:
    """BTCUSDT as Bybit's examples state it: MMR 0.5 %, no deduction."""
    return bybit.venue().custom_instrument(
        "BTCUSDT", tiers=TierTable.flat(mmr=D("0.005"), max_leverage=D(100))
    )


def _isolated(instrument: Instrument, side: Side, *, wallet: str = "10000") -> Account:
    account = Account(bybit.venue(), balances={"USDT": D(wallet)})
    account.import_position(
        instrument, side, D(1), D(20000), leverage=D(50), mode=MarginMode.ISOLATED, margin=D(400)
    )
    return account


def test_example_1_long_19700(example_btc: Instrument) -> None:
    # long 1 BTC @ 20,000, 50x: IM 400, MM 100 -> 20,000 - (400 - 100) = 19,700
    account = _isolated(example_btc, Side.LONG)
    assert account.liquidation_price(account.position("BTCUSDT")) == D(19700)


def test_example_2_short_with_added_margin_23300(example_btc: Instrument) -> None:
    account = _isolated(example_btc, Side.SHORT)
    account.add_margin("BTCUSDT", D(3000))
    assert account.position("BTCUSDT").margin == D(3400)
    assert account.liquidation_price(account.position("BTCUSDT")) == D(23300)


def test_example_3_funding_deducted_from_position_margin_19900(example_btc: Instrument) -> None:
    # The published case: the available balance cannot pay the 200 USDT of funding (a 1 % rate on the
    # 20,000 USDT notional at mark), so it comes out of the position margin and the LP moves up.
    account = _isolated(example_btc, Side.LONG, wallet="0")
    account.apply_funding({"BTCUSDT": D("0.01")})
    assert account.position("BTCUSDT").margin == D(200)
    assert account.liquidation_price(account.position("BTCUSDT")) == D(19900)


@pytest.mark.parametrize(
    ("wallet", "margin_after", "wallet_after", "liquidation_price"),
    [
        ("10000", "400", "9800", "19700"),  # the available balance pays it all: the LP does not move
        ("50", "250", "0", "19850"),  # 50 from the available balance, the 150 short from the margin
        ("0", "200", "0", "19900"),  # nothing available: all from the margin (the published example 3)
    ],
)
def test_isolated_funding_comes_from_the_available_balance_first(
    example_btc: Instrument, wallet: str, margin_after: str, wallet_after: str, liquidation_price: str
) -> None:
    # Bybit "Position Margin": funding is deducted from the available balance; only what it cannot cover
    # is deducted from the position margin.
    account = _isolated(example_btc, Side.LONG, wallet=wallet)
    account.apply_funding({"BTCUSDT": D("0.01")})
    position = account.position("BTCUSDT")
    assert (position.margin, account.wallet("USDT")) == (D(margin_after), D(wallet_after))
    assert account.liquidation_price(position) == D(liquidation_price)
    assert account.funding == D(-200)


def test_isolated_funding_received_goes_to_the_wallet(example_btc: Instrument) -> None:
    account = _isolated(example_btc, Side.SHORT, wallet="0")
    account.apply_funding({"BTCUSDT": D("0.01")})
    assert (account.position("BTCUSDT").margin, account.wallet("USDT")) == (D(400), D(200))


def test_maintenance_at_entry_differs_from_binance_form(example_btc: Instrument) -> None:
    # §0: with MM at the liquidation price the same inputs give 19,698.49...; Bybit's basis gives 19,700.
    account = _isolated(example_btc, Side.LONG)
    position = account.position("BTCUSDT")
    assert account.leg(position).basis is MaintenanceBasis.ENTRY
    binance_form = (D(400) - D(20000)) / (D("0.005") - D(1))
    assert binance_form.quantize(D("0.01")) == D("19698.49")
    assert account.liquidation_price(position) != binance_form


def test_maintenance_does_not_move_with_price(example_btc: Instrument) -> None:
    account = _isolated(example_btc, Side.LONG)
    position = account.position("BTCUSDT")
    assert account.maintenance_margin(position, D(10000)) == D(100)
    assert account.maintenance_margin(position, D(30000)) == D(100)


def test_bankruptcy_price_example_9800() -> None:
    account = Account(bybit.venue(), balances={"USDT": D(1000)})
    btc = bybit.venue().instrument("BTCUSDT")
    account.import_position(btc, Side.LONG, D(1), D(10000), leverage=D(50), mode=MarginMode.ISOLATED)
    assert account.bankruptcy_price(account.position("BTCUSDT")) == D(9800)


def test_bundled_btcusdt_tiers_match_the_documented_payload() -> None:
    tiers = bybit.venue().instrument("BTC/USDT:USDT").tiers.tiers
    assert [t.mmr for t in tiers] == [D("0.0033"), D("0.005"), D("0.0056")]
    assert [t.maintenance_amount for t in tiers] == [D(0), D(510), D(1710)]
    assert [t.max_leverage for t in tiers] == [D(150), D(100), D(90)]
    assert [t.cap for t in tiers] == [D(300_000), D(2_000_000), D(2_600_000)]


def test_bundled_tier_at_entry_prices_the_bundled_liquidation() -> None:
    # 10 BTC @ 50,000 = 500,000 notional -> tier 2 (0.5 %, deduction 510): MM = 2,500 - 510 = 1,990.
    account = Account(bybit.venue(), balances={"USDT": D(0)})
    btc = bybit.venue().instrument("BTCUSDT")
    account.import_position(btc, Side.LONG, D(10), D(50000), leverage=D(25), mode=MarginMode.ISOLATED)
    position = account.position("BTCUSDT")
    assert account.maintenance_margin(position) == D(1990)
    # LP = entry - (IM - MM) / size = 50,000 - (20,000 - 1,990) / 10
    assert account.liquidation_price(position) == D("48199")


def test_beyond_the_documented_tiers_is_rejected() -> None:
    account = Account(bybit.venue(), balances={"USDT": D(0)})
    btc = bybit.venue().instrument("BTCUSDT")
    with pytest.raises(RuleSetError, match="2600000"):
        account.import_position(btc, Side.LONG, D(100), D(30000), leverage=D(10), mode=MarginMode.ISOLATED)


def test_mode_switch_with_position_is_rejected() -> None:
    venue = bybit.venue()
    assert venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY
    account = Account(venue, balances={"USDT": D(10000)})
    account.import_position(venue.instrument("BTCUSDT"), Side.LONG, D("0.1"), D(20000), leverage=D(10))
    with pytest.raises(OperationRejected, match=r"bybit\.mode_switch") as info:
        account.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)
    assert info.value.rule == "bybit.mode_switch"
    assert account.position("BTCUSDT").mode is MarginMode.CROSS


def test_mode_switch_when_flat_is_allowed() -> None:
    account = Account(bybit.venue(), balances={"USDT": D(100)})
    account.set_margin_mode("BTCUSDT", MarginMode.ISOLATED)
    assert account.settings("BTCUSDT").mode is MarginMode.ISOLATED


def test_native_symbol() -> None:
    venue = bybit.venue()
    assert bybit.native_symbol("BTC", "USDT", "USDT") == "BTCUSDT"
    assert venue.resolve_symbol("ETH/USDT:USDT") == "ETHUSDT"
    assert venue.instrument("ETH/USDT:USDT").symbol == "ETHUSDT"

"""Binance Multi-Assets mode against Binance's published worked example (exchange-rules.md §1.8)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginlab.domain.collateral import AssetRate, MultiAssetsMargin, tier_maintenance
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.position import Position
from marginlab.domain.tiers import TierTable
from marginlab.errors import InputError

D = Decimal
CENT = D("0.01")

USDT = AssetRate(asset="USDT", index_price=D("0.99"), bid_buffer=D("0.01"), ask_buffer=D("0.005"))
USDC = AssetRate(asset="USDC", index_price=D(1))
WALLETS = {"USDT": D(200), "USDC": D(220)}

BTCUSDT = Instrument(
    symbol="BTCUSDT", base="BTC", settle="USDT", tiers=TierTable.flat(mmr=D("0.008"), max_leverage=D(100))
)
ETHUSDC = Instrument(
    symbol="ETHUSDC", base="ETH", settle="USDC", tiers=TierTable.flat(mmr=D("0.01"), max_leverage=D(50))
)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def position(
    instrument: Instrument,
    qty: str,
    entry: str,
    leverage: int,
    *,
    mark: str | None = None,
    side: Side = Side.LONG,
) -> Position:
    return Position(
        instrument=instrument,
        side=side,
        qty=D(qty),
        entry=D(entry),
        mark=D(mark if mark is not None else entry),
        leverage=D(leverage),
        mode=MarginMode.CROSS,
    )


def example_positions() -> list[Position]:
    return [position(BTCUSDT, "0.5", "20000", 100), position(ETHUSDC, "20", "600", 50)]


# ---------------------------------------------------------------- Binance's published example


def test_rates_of_the_published_example() -> None:
    assert USDT.bid_rate == D("0.9801")
    assert USDT.ask_rate == D("0.99495")
    assert USDC.bid_rate == D(1)
    assert USDC.ask_rate == D(1)


def test_published_example_without_positions() -> None:
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets=WALLETS)
    assert account.asset_value("USDT") == D("196.02")  # 200 * 0.9801
    assert account.account_equity() == D("416.02")
    assert account.uni_available_for_order() == D("416.02")
    assert cents(account.available_for_order("USDT")) == D("418.13")  # 416.02 / 0.99495
    assert account.available_for_order("USDC") == D("416.02")
    assert account.account_maintenance_margin() == 0
    assert account.margin_ratio() == 0
    assert not account.is_liquidatable()


def test_published_example_with_positions() -> None:
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets=WALLETS, positions=example_positions())
    assert account.account_equity() == D("416.02")  # marks = entries: no uPnL
    assert account.initial_margin("USDT") == D(100)  # 0.5 * 20,000 / 100
    assert account.initial_margin("USDC") == D(240)  # 20 * 600 / 50
    # 0.5 * 20,000 * 0.01 * 0.99495 + 20 * 600 * 0.02 * 1
    assert account.account_initial_margin() == D("339.495")
    assert account.uni_available_for_order() == D("76.525")
    assert cents(account.available_for_order("USDT")) == D("76.91")
    assert account.available_for_order("USDC") == D("76.525")
    # 0.5 * 20,000 * 0.008 * 0.99495 + 20 * 600 * 0.01
    assert account.maintenance_margin("USDT") == D(80)
    assert account.maintenance_margin("USDC") == D(120)
    assert account.account_maintenance_margin() == D("199.596")
    ratio = account.margin_ratio()
    assert ratio is not None
    assert (ratio * 100).quantize(CENT, ROUND_HALF_UP) == D("47.98")
    assert not account.is_liquidatable()


def test_custom_maintenance_callable_is_used() -> None:
    # a venue rule adding a 0.05 % close fee to the requirement
    def with_fee(p: Position) -> Decimal:
        return tier_maintenance(p) + p.notional() * D("0.0005")

    account = MultiAssetsMargin(
        rates=[USDT, USDC], wallets=WALLETS, positions=example_positions(), maintenance=with_fee
    )
    # USDT: 80 + 5 = 85 at 0.99495; USDC: 120 + 6 = 126 at 1
    assert account.account_maintenance_margin() == D("84.57075") + D(126)


def test_tier_maintenance_uses_the_tier_deduction() -> None:
    tiers = TierTable.from_rates(
        [(D(0), D(50_000), D("0.004"), D(125)), (D(50_000), D(250_000), D("0.005"), D(100))]
    )
    btc = Instrument(symbol="BTCUSDT", base="BTC", settle="USDT", tiers=tiers)
    # 100,000 notional in tier 2: 100,000 * 0.5 % - 50
    assert tier_maintenance(position(btc, "5", "20000", 10)) == D(450)


def test_unrealized_pnl_moves_the_equity_of_its_settle_asset() -> None:
    # BTC long up 1,000: +500 USDT; ETH long down 10: -200 USDC
    positions = [
        position(BTCUSDT, "0.5", "20000", 100, mark="21000"),
        position(ETHUSDC, "20", "600", 50, mark="590"),
    ]
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets=WALLETS, positions=positions)
    assert account.asset_equity("USDT") == D(700)
    assert account.asset_equity("USDC") == D(20)
    assert account.account_equity() == D(700) * D("0.9801") + D(20)  # 706.07
    # margins at mark: USDT IM 105, MM 84; USDC IM 236, MM 118
    assert account.account_initial_margin() == D(105) * D("0.99495") + D(236)
    assert account.account_maintenance_margin() == D(84) * D("0.99495") + D(118)


def test_short_profit_and_liquidation_at_100_percent() -> None:
    short = position(BTCUSDT, "1", "20000", 100, mark="19000", side=Side.SHORT)
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets={"USDT": D(0), "USDC": D(0)}, positions=[short])
    assert account.asset_equity("USDT") == D(1000)
    assert account.account_equity() == D("980.1")
    # a long whose loss leaves equity below its requirement is liquidatable
    losing = position(BTCUSDT, "1", "20000", 100, mark="19900")
    poor = MultiAssetsMargin(rates=[USDT, USDC], wallets={"USDT": D(0), "USDC": D(250)}, positions=[losing])
    # USDT equity -100 (a debt at the ask): -99.495; USDC 250
    assert poor.account_equity() == D("150.505")
    assert poor.account_maintenance_margin() == D("159.2") * D("0.99495")  # 19,900 * 0.8 %
    ratio = poor.margin_ratio()
    assert ratio is not None
    assert ratio > 1
    assert poor.is_liquidatable()


# ---------------------------------------------------------------- haircut and negative balances


def test_bnb_haircut_example() -> None:
    # "BNB with a market value of $1000 will be valued at $950" (collateral value ratio 95 %)
    bnb = AssetRate(asset="BNB", index_price=D(500), value_ratio=D("0.95"))
    account = MultiAssetsMargin(rates=[bnb, USDC], wallets={"BNB": D(2)})
    assert account.asset_value("BNB") == D(950)
    assert account.account_equity() == D(950)
    assert account.available_for_order("USDC") == D(950)


def test_haircut_combines_with_the_bid_rate() -> None:
    bnb = AssetRate(asset="BNB", index_price=D(500), bid_buffer=D("0.01"), value_ratio=D("0.95"))
    assert bnb.value(D(2)) == D(2) * D(495) * D("0.95")  # 940.5


def test_negative_equity_is_valued_at_the_ask_rate_without_haircut() -> None:
    bnb = AssetRate(
        asset="BNB", index_price=D(500), bid_buffer=D("0.02"), ask_buffer=D("0.01"), value_ratio=D("0.95")
    )
    assert bnb.value(D(-2)) == D(-1010)  # -2 * 505, ratio 1
    assert bnb.value(D(2)) == D("931")  # 2 * 490 * 0.95
    assert USDT.value(D(-100)) == D("-99.495")


def test_margin_ratio_is_none_without_positive_equity() -> None:
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets={"USDT": D(-10)})
    assert account.account_equity() == D("-9.9495")
    assert account.margin_ratio() is None
    assert account.is_liquidatable()


# ---------------------------------------------------------------- input checks


def test_rejects_isolated_positions() -> None:
    isolated = Position(
        instrument=BTCUSDT,
        side=Side.LONG,
        qty=D(1),
        entry=D(20_000),
        mark=D(20_000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
        margin=D(2000),
    )
    with pytest.raises(InputError, match=r"positions\.BTCUSDT\.mode"):
        MultiAssetsMargin(rates=[USDT, USDC], wallets=WALLETS, positions=[isolated])


def test_rejects_a_settle_asset_without_rate() -> None:
    with pytest.raises(InputError, match=r"positions\.ETHUSDC\.settle.*'USDC'"):
        MultiAssetsMargin(rates=[USDT], wallets={"USDT": D(1)}, positions=example_positions()[1:])


def test_rejects_a_wallet_without_rate_and_duplicate_rates() -> None:
    with pytest.raises(InputError, match=r"wallets\.BNB"):
        MultiAssetsMargin(rates=[USDT], wallets={"BNB": D(1)})
    with pytest.raises(InputError, match=r"rates\.USDT"):
        MultiAssetsMargin(rates=[USDT, USDT], wallets={})


def test_rejects_unknown_asset_queries() -> None:
    account = MultiAssetsMargin(rates=[USDT, USDC], wallets=WALLETS)
    with pytest.raises(InputError, match="asset: expected an asset with a rate"):
        account.available_for_order("BTC")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"index_price": D(0)}, "X.index_price"),
        ({"index_price": D("NaN")}, "X.index_price"),
        ({"index_price": D(1), "bid_buffer": D(1)}, "X.bid_buffer"),
        ({"index_price": D(1), "ask_buffer": D("-0.1")}, "X.ask_buffer"),
        ({"index_price": D(1), "value_ratio": D("1.01")}, "X.value_ratio"),
    ],
)
def test_rate_validation_names_the_field(kwargs: dict[str, Decimal], field: str) -> None:
    with pytest.raises(InputError) as caught:
        AssetRate(asset="X", **kwargs)
    assert caught.value.field == field


# ---------------------------------------------------------------- property

amounts = st.decimals(min_value=-10_000, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)
fractions = st.decimals(min_value=0, max_value=D("0.2"), places=4)


@given(
    usdt=amounts,
    usdc=amounts,
    bnb=amounts,
    delta=st.decimals(min_value=0, max_value=10_000, places=4),
    which=st.sampled_from(["USDT", "USDC", "BNB"]),
    bid=fractions,
    ask=fractions,
    ratio=st.decimals(min_value=0, max_value=1, places=2),
    upnl_mark=st.decimals(min_value=10_000, max_value=30_000, places=1),
)
def test_equity_is_monotone_in_every_wallet(
    usdt: Decimal,
    usdc: Decimal,
    bnb: Decimal,
    delta: Decimal,
    which: str,
    bid: Decimal,
    ask: Decimal,
    ratio: Decimal,
    upnl_mark: Decimal,
) -> None:
    rates = [
        USDT,
        USDC,
        AssetRate(asset="BNB", index_price=D(600), bid_buffer=bid, ask_buffer=ask, value_ratio=ratio),
    ]
    positions = [position(BTCUSDT, "0.5", "20000", 100, mark=str(upnl_mark))]
    wallets = {"USDT": usdt, "USDC": usdc, "BNB": bnb}
    before = MultiAssetsMargin(rates=rates, wallets=wallets, positions=positions).account_equity()
    more = dict(wallets)
    more[which] += delta
    after = MultiAssetsMargin(rates=rates, wallets=more, positions=positions).account_equity()
    assert after >= before

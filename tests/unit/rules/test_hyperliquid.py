"""Hyperliquid rule set: the solver against HL's documented liquidation-price formula."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, ModeSwitchPolicy, PositionMode, RemoveMarginCap, Side
from marginlab.errors import OperationRejected
from marginlab.rules import hyperliquid

D = Decimal
EXACT = D("1e-20")


def official(
    mark: Decimal, side: Side, margin_available: Decimal, size: Decimal, max_lev: Decimal
) -> Decimal:
    """HL docs: ``liq = price - side * margin_available / position_size / (1 - l * side)``."""
    with localcontext() as ctx:
        ctx.prec = 50
        s = side.sign
        l_ = D(1) / (2 * max_lev)
        return mark - s * margin_available / size / (1 - l_ * s)


def test_tiers_follow_the_docs() -> None:
    venue = hyperliquid.venue()
    btc = venue.instrument("BTC/USDC:USDC").tiers.tiers
    assert [t.max_leverage for t in btc] == [D(40), D(20)]
    assert [t.mmr for t in btc] == [D("0.0125"), D("0.025")]
    assert btc[1].floor == D(150_000_000)
    assert btc[1].maintenance_amount == D(1_875_000)
    eth = venue.instrument("ETH").tiers
    assert eth.tiers[1].maintenance_amount.quantize(D("0.01")) == D("1333333.33")
    assert eth.follows_recurrence()
    assert venue.instrument("SOL").tiers.tiers[0].cap == D(70_000_000)
    assert venue.instrument("XRP").tiers.tiers[0].cap == D(40_000_000)
    assert venue.instrument("DOGE").tiers.tiers[0].max_leverage == D(10)


ISOLATED_CASES = [
    # coin, side, qty, entry, mark, leverage, margin
    ("BTC", Side.LONG, D("0.5"), D(60000), D(60000), D(20), D(1500)),
    ("BTC", Side.SHORT, D("2"), D(60000), D(58000), D(10), D(12000)),
    ("ETH", Side.LONG, D("10"), D(3000), D(3100), D(25), D(1200)),
    ("SOL", Side.SHORT, D("100"), D(150), D(155), D(5), D(3000)),
    ("XRP", Side.LONG, D("20000"), D("0.6"), D("0.55"), D(20), D(600)),
]


@pytest.mark.parametrize(("coin", "side", "qty", "entry", "mark", "leverage", "margin"), ISOLATED_CASES)
def test_isolated_matches_official_formula(
    coin: str, side: Side, qty: Decimal, entry: Decimal, mark: Decimal, leverage: Decimal, margin: Decimal
) -> None:
    venue = hyperliquid.venue()
    instrument = venue.instrument(coin)
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(
        instrument, side, qty, entry, mark=mark, leverage=leverage, mode=MarginMode.ISOLATED, margin=margin
    )
    max_lev = instrument.max_leverage
    # isolated margin incl. uPnL minus maintenance margin at mark
    isolated_margin = margin + side.sign * qty * (mark - entry)
    available = isolated_margin - qty * mark / (2 * max_lev)
    expected = official(mark, side, available, qty, max_lev)
    got = account.liquidation_price(account.position(coin))
    assert got is not None
    assert abs(got - expected) < EXACT


CROSS_CASES = [
    # wallet, positions (coin, side, qty, entry, mark, leverage); the first one is priced
    (D(5000), [("BTC", Side.LONG, D("1"), D(60000), D(59000), D(20))]),
    (D(3000), [("ETH", Side.SHORT, D("20"), D(3000), D(2950), D(25))]),
    (
        D(8000),
        [
            ("BTC", Side.LONG, D("1"), D(60000), D(61000), D(20)),
            ("ETH", Side.SHORT, D("10"), D(3000), D(3100), D(10)),
        ],
    ),
    (
        D(2500),
        [
            ("SOL", Side.SHORT, D("50"), D(150), D(140), D(10)),
            ("XRP", Side.LONG, D("5000"), D("0.6"), D("0.62"), D(10)),
            ("ETH", Side.LONG, D("2"), D(3000), D(2900), D(10)),
        ],
    ),
]


@pytest.mark.parametrize(("wallet", "positions"), CROSS_CASES)
def test_cross_matches_official_formula(
    wallet: Decimal, positions: list[tuple[str, Side, Decimal, Decimal, Decimal, Decimal]]
) -> None:
    venue = hyperliquid.venue()
    account = Account(venue, balances={"USDC": wallet})
    for coin, side, qty, entry, mark, leverage in positions:
        account.import_position(venue.instrument(coin), side, qty, entry, mark=mark, leverage=leverage)
    account_value = wallet + sum(s.sign * q * (m - e) for _, s, q, e, m, _ in positions)
    maintenance = sum(q * m / (2 * venue.instrument(c).max_leverage) for c, _, q, _, m, _ in positions)
    coin, side, qty, _, mark, _ = positions[0]
    expected = official(mark, side, account_value - maintenance, qty, venue.instrument(coin).max_leverage)
    got = account.liquidation_price(account.position(coin))
    assert got is not None
    assert abs(got - expected) < EXACT


def test_worked_numbers_isolated_long_btc() -> None:
    # 0.5 BTC @ 60,000 with 1,500 margin: available 1,500 - 375 = 1,125; l = 1/80
    # liq = 60,000 - 1,125 / 0.5 / (1 - 1/80) = 60,000 - 2,250 * 80/79 = 57,721.518987...
    venue = hyperliquid.venue()
    account = Account(venue, balances={"USDC": D(0)})
    account.import_position(
        venue.instrument("BTC"), Side.LONG, D("0.5"), D(60000), leverage=D(20), mode=MarginMode.ISOLATED
    )
    got = account.liquidation_price(account.position("BTC"))
    assert got is not None
    assert got.quantize(D("0.000001")) == D("57721.518987")


def test_large_cross_wallet_has_no_liquidation_price() -> None:
    venue = hyperliquid.venue()
    account = Account(venue, balances={"USDC": D(1_000_000)})
    account.import_position(venue.instrument("BTC"), Side.LONG, D("1"), D(60000), leverage=D(10))
    assert account.liquidation_price(account.position("BTC")) is None


def test_cross_wallet_moves_liquidation_away_from_entry() -> None:
    venue = hyperliquid.venue()
    prices = []
    for wallet in (D(3000), D(6000)):
        account = Account(venue, balances={"USDC": wallet})
        account.import_position(venue.instrument("ETH"), Side.SHORT, D("10"), D(3000), leverage=D(10))
        price = account.liquidation_price(account.position("ETH"))
        assert price is not None
        prices.append(price)
    assert D(3000) < prices[0] < prices[1]


def test_remove_margin_keeps_ten_percent_of_notional() -> None:
    venue = hyperliquid.venue()
    assert venue.remove_margin_cap is RemoveMarginCap.INITIAL_OR_10PCT
    account = Account(venue, balances={"USDC": D(0)})
    # 1 BTC @ 60,000 at 40x (IM 1,500) with 9,000 margin: must keep max(1,500, 6,000) = 6,000
    account.import_position(
        venue.instrument("BTC"),
        Side.LONG,
        D(1),
        D(60000),
        leverage=D(40),
        mode=MarginMode.ISOLATED,
        margin=D(9000),
    )
    assert account.max_removable_margin(account.position("BTC")) == D(3000)


def test_mode_switch_with_position_is_rejected() -> None:
    venue = hyperliquid.venue()
    assert venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY
    account = Account(venue, balances={"USDC": D(10000)})
    account.import_position(venue.instrument("ETH"), Side.LONG, D(1), D(3000), leverage=D(10))
    with pytest.raises(OperationRejected, match=r"hyperliquid\.mode_switch"):
        account.set_margin_mode("ETH", MarginMode.ISOLATED)


def test_no_hedge_mode() -> None:
    with pytest.raises(OperationRejected, match=r"hyperliquid\.position_mode"):
        Account(hyperliquid.venue(), position_mode=PositionMode.HEDGE)


def test_native_symbol_and_settle() -> None:
    venue = hyperliquid.venue()
    assert venue.resolve_symbol("BTC/USDC:USDC") == "BTC"
    assert hyperliquid.native_symbol("SOL", "USDC", "USDC") == "SOL"
    assert all(i.settle == "USDC" for i in venue.instruments.values())
    assert venue.fee_in_liquidation is False
    assert venue.liquidation_fee == D(0)

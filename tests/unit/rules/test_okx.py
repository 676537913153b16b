"""OKX rule set: freqtrade's isolated formula (taker fee in the LP) and tiers counted in contracts."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, ModeSwitchPolicy, PositionMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.position import Position
from marginlab.domain.tiers import TierBasis
from marginlab.rules import okx

D = Decimal
EXACT = D("1e-20")
TAKER = D("0.0005")


def freqtrade_formula(side: Side, entry: Decimal, margin: Decimal, amount: Decimal, mmr: Decimal) -> Decimal:
    """freqtrade: ``long (open - margin/amount)/(1 - (mmr + taker))``, short with the signs flipped."""
    with localcontext() as ctx:
        ctx.prec = 50
        if side is Side.LONG:
            return (entry - margin / amount) / (1 - (mmr + TAKER))
        return (entry + margin / amount) / (1 + (mmr + TAKER))


def isolated(instrument: Instrument, side: Side, qty: Decimal, entry: Decimal, margin: Decimal) -> Position:
    """A position built directly: ``Account.import_position`` checks leverage with the wrong tier on OKX."""
    return Position(
        instrument=instrument,
        side=side,
        qty=qty,
        entry=entry,
        mark=entry,
        leverage=D(10),
        mode=MarginMode.ISOLATED,
        margin=margin,
    )


def test_bundled_tiers_are_in_contracts() -> None:
    venue = okx.venue()
    btc = venue.instrument("BTC/USDT:USDT")
    assert btc.symbol == "BTC-USDT-SWAP"
    assert btc.contract_size == D("0.01")
    assert btc.tiers.basis is TierBasis.CONTRACTS
    eth = venue.instrument("ETH-USDT-SWAP")
    assert eth.contract_size == D("0.1")
    assert [(t.cap, t.mmr, t.max_leverage) for t in eth.tiers.tiers] == [
        (D(2000), D("0.01"), D(75)),
        (D(4000), D("0.015"), D(50)),
        (D(8000), D("0.02"), D(20)),
    ]
    assert all(t.maintenance_amount == 0 for t in eth.tiers.tiers)


@pytest.mark.parametrize("entry", [D(3000), D(30)])
@pytest.mark.parametrize(
    ("qty", "mmr"),
    [
        (D("1"), D("0.01")),  # 10 contracts
        (D("200"), D("0.01")),  # 2,000 contracts: last of tier 1
        (D("200.1"), D("0.015")),  # 2,001 contracts: tier 2
        (D("400.1"), D("0.02")),  # 4,001 contracts: tier 3
    ],
)
def test_tier_by_contracts_independent_of_price(entry: Decimal, qty: Decimal, mmr: Decimal) -> None:
    venue = okx.venue()
    account = Account(venue, balances={"USDT": D(0)})
    margin = qty * entry / 10
    position = isolated(venue.instrument("ETH-USDT-SWAP"), Side.LONG, qty, entry, margin)
    assert position.tier().mmr == mmr
    price = account.liquidation_price(position)
    assert price is not None
    assert abs(price - freqtrade_formula(Side.LONG, entry, margin, qty, mmr)) < EXACT


def test_btc_contract_boundary() -> None:
    # BTC-USDT-SWAP: 0.01 BTC per contract; 20 BTC = 2,000 contracts (tier 1), 20.01 BTC = 2,001 (tier 2)
    venue = okx.venue()
    account = Account(venue, balances={"USDT": D(0)})
    btc = venue.instrument("BTC-USDT-SWAP")
    low = isolated(btc, Side.SHORT, D(20), D(60000), D(120000))
    high = isolated(btc, Side.SHORT, D("20.01"), D(60000), D(120060))
    assert (low.tier().mmr, high.tier().mmr) == (D("0.01"), D("0.015"))
    low_price, high_price = account.liquidation_price(low), account.liquidation_price(high)
    assert low_price is not None
    assert high_price is not None
    assert abs(low_price - freqtrade_formula(Side.SHORT, D(60000), D(120000), D(20), D("0.01"))) < EXACT
    assert (
        abs(high_price - freqtrade_formula(Side.SHORT, D(60000), D(120060), D("20.01"), D("0.015"))) < EXACT
    )
    # hand-computed: (60,000 + 6,000) / 1.0105 = 65,314.20
    assert low_price.quantize(D("0.01")) == D("65314.20")


def test_imported_small_position_matches_formula_golden() -> None:
    # 0.2 ETH (2 contracts) long @ 3,000, 60 USDT margin: (3,000 - 300) / (1 - 0.0105) = 2,728.65
    venue = okx.venue()
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(
        venue.instrument("ETH-USDT-SWAP"),
        Side.LONG,
        D("0.2"),
        D(3000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
    )
    price = account.liquidation_price(account.position("ETH-USDT-SWAP"))
    assert price is not None
    assert price.quantize(D("0.01")) == D("2728.65")


def test_import_checks_leverage_against_the_contract_tier() -> None:
    # 200.1 ETH = 2,001 contracts: tier 2 allows 50x, so 10x must be accepted
    venue = okx.venue()
    account = Account(venue, balances={"USDT": D(0)})
    account.import_position(
        venue.instrument("ETH-USDT-SWAP"),
        Side.LONG,
        D("200.1"),
        D(3000),
        leverage=D(10),
        mode=MarginMode.ISOLATED,
    )
    assert account.position("ETH-USDT-SWAP").tier().mmr == D("0.015")


def test_mode_switch_with_position_is_allowed() -> None:
    venue = okx.venue()
    assert venue.mode_switch is ModeSwitchPolicy.ANYTIME
    account = Account(venue, balances={"USDT": D(1000)})
    account.import_position(venue.instrument("ETH-USDT-SWAP"), Side.LONG, D("0.2"), D(3000), leverage=D(10))
    account.set_margin_mode("ETH-USDT-SWAP", MarginMode.ISOLATED)
    assert account.position("ETH-USDT-SWAP").mode is MarginMode.ISOLATED
    assert account.position("ETH-USDT-SWAP").margin == D(60)


def test_cross_and_isolated_coexist_on_one_instrument_in_hedge_mode() -> None:
    venue = okx.venue()
    account = Account(venue, balances={"USDT": D(1000)}, position_mode=PositionMode.HEDGE)
    eth = venue.instrument("ETH-USDT-SWAP")
    account.import_position(eth, Side.LONG, D("0.2"), D(3000), leverage=D(10), mode=MarginMode.ISOLATED)
    account.import_position(eth, Side.SHORT, D("0.1"), D(3000), leverage=D(10), mode=MarginMode.CROSS)
    assert {p.mode for p in account.positions} == {MarginMode.ISOLATED, MarginMode.CROSS}


def test_native_symbol() -> None:
    assert okx.native_symbol("BTC", "USDT", "USDT") == "BTC-USDT-SWAP"
    assert okx.venue().resolve_symbol("ETH/USDT:USDT") == "ETH-USDT-SWAP"

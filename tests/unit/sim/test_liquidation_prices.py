"""The vectorised liquidation price equals the exact engine's, isolated and cross, tiers with iteration."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.position import Position
from marginlab.errors import InputError
from marginlab.rules import get_venue
from marginlab.sim.api import compile_tiers, cross_fixed, liquidation_prices
from marginlab.sim.compile import position_arrays
from support import BOOK_PRICES, binance_books

SYMBOLS = list(BOOK_PRICES)


def fast_prices(account: Account) -> tuple[list[Position], np.ndarray]:
    """Return the account's positions and their liquidation prices from the fast core."""
    positions = list(account.positions)
    tiers = compile_tiers(account.venue, SYMBOLS)
    table, side, qty, entry, mark, margin = position_arrays(tiers, positions)
    cross = np.array([p.mode is MarginMode.CROSS for p in positions])
    fixed_cross = cross_fixed(
        tiers,
        table=table,
        side=side,
        qty=qty,
        entry=entry,
        mark=mark,
        cross=cross,
        wallet=float(account.wallet("USDT")),
    )
    fixed = np.where(cross, fixed_cross, margin)
    partner = np.full(len(positions), -1)
    for i, p in enumerate(positions):
        for j, q in enumerate(positions):
            if i != j and p.mode is q.mode is MarginMode.CROSS and p.symbol == q.symbol:
                partner[i] = j
    out = liquidation_prices(
        tiers, table=table, side=side, qty=qty, entry=entry, fixed=fixed, mark=mark, partner=partner
    )
    return positions, out


def assert_matches(account: Account) -> int:
    """Assert every position's fast price equals the exact one; return how many have a price."""
    positions, fast = fast_prices(account)
    found = 0
    for p, f in zip(positions, fast, strict=True):
        exact = account.liquidation_price(p)
        scale = float(p.mark)
        assert (exact is None) == bool(np.isnan(f)), (p, f, exact)
        if exact is None:
            continue
        found += 1
        assert abs(f - float(exact)) <= 1e-9 * max(abs(float(exact)), scale), (p, f, exact)
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=binance_books())
def test_vectorised_liquidation_prices_equal_the_exact_engine(account: Account) -> None:
    assert_matches(account)


@pytest.mark.parametrize(("side", "qty"), [(Side.LONG, Decimal("13.7")), (Side.SHORT, Decimal("13.1"))])
def test_tier_iteration_finds_the_price_in_another_bracket(side: Side, qty: Decimal) -> None:
    # Arrange: ~800 k USDT of BTC at 20x isolated, next to the 800 k bracket boundary: at the liquidation
    # price the notional is in the neighbouring tier
    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": Decimal(0)})
    instrument = venue.instrument("BTCUSDT")
    entry = Decimal(60000)
    account.import_position(instrument, side, qty, entry, leverage=Decimal(20), mode=MarginMode.ISOLATED)
    position = account.positions[0]
    exact = account.liquidation_price(position)
    assert exact is not None
    assert instrument.tiers.tier_for(qty * exact) != instrument.tiers.tier_for(qty * entry)
    # Act / Assert
    assert assert_matches(account) == 1


def test_no_liquidation_price_is_nan() -> None:
    # Arrange: a 1x long backed by more than its notional has no positive liquidation price
    venue = get_venue("binance")
    tiers = compile_tiers(venue, ["BTCUSDT"])
    # Act
    out = liquidation_prices(
        tiers, table=[0, 0], side=[1, -1], qty=[1.0, 1.0], entry=[60000.0, 60000.0], fixed=[61000.0, 500.0],
        mark=[60000.0, 60000.0],
    )  # fmt: skip
    # Assert
    assert np.isnan(out[0])
    assert out[1] > 60000.0


def test_invalid_arrays_raise_input_error() -> None:
    tiers = compile_tiers(get_venue("binance"), ["BTCUSDT"])
    with pytest.raises(InputError):
        liquidation_prices(tiers, table=[0], side=[1], qty=[0.0], entry=[1.0], fixed=[1.0], mark=[1.0])
    with pytest.raises(InputError):
        liquidation_prices(tiers, table=[3], side=[1], qty=[1.0], entry=[1.0], fixed=[1.0], mark=[1.0])


def test_compact_int8_tables_and_sides_give_the_same_prices() -> None:
    # Arrange: many isolated positions across tiers, sides and tables
    tiers = compile_tiers(get_venue("binance"), SYMBOLS)
    rng = np.random.default_rng(3)
    n = 5000
    table = rng.integers(0, len(SYMBOLS), n)
    side = np.where(rng.random(n) < 0.5, 1, -1)
    entry = np.array([float(BOOK_PRICES[s]) for s in SYMBOLS])[table] * rng.uniform(0.9, 1.1, n)
    qty = 10 ** rng.uniform(2.0, 7.0, n) / entry
    fixed = qty * entry / rng.integers(1, 50, n)
    args = {"qty": qty, "entry": entry, "fixed": fixed, "mark": entry}
    # Act
    wide = liquidation_prices(tiers, table=table, side=side, **args)
    compact = liquidation_prices(tiers, table=table.astype(np.int8), side=side.astype(np.int8), **args)
    # Assert: bit for bit, and most positions do have a price
    assert np.array_equal(wide, compact, equal_nan=True)
    assert np.isfinite(wide).sum() > n // 2

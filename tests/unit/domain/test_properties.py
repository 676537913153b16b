"""Property tests of the account engine (hypothesis): liquidation prices that solve the margin condition
across tier boundaries (to the reported price step), isolated losses capped at the margin, and liquidation vs
bankruptcy order. Money conservation on all venues is in ``test_conservation.py``.

The strategies live in this module (no package or conftest under tests/).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.domain.position import Position
from marginlab.rules import get_venue
from support import check_liquidation_vs_bankruptcy

D = Decimal
ZERO = D(0)
VENUE = get_venue("binance")
BTC = VENUE.instrument("BTCUSDT")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SYMBOLS = ("BTCUSDT", "ETHUSDT")
START = {"BTCUSDT": D(100000), "ETHUSDT": D(3000)}
TICK = {"BTCUSDT": D("0.1"), "ETHUSDT": D("0.01")}
LOT = D("0.001")

# ----------------------------------------------------------------------------------------------- strategies
sides = st.sampled_from([Side.LONG, Side.SHORT])
modes = st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED])
small_moves = st.integers(min_value=-60, max_value=60)
gaps = st.sampled_from([-500, -300, -200, -120, 120, 200, 300, 600])


def moved(mark: Decimal, per_mille: int, tick: Decimal) -> Decimal:
    price = (mark * (1000 + per_mille) / 1000).quantize(tick)
    return max(price, tick)


# ------------------------------------------------------------------ (b) margin ratio 1 at the LP
def tier_at(position: Position, price: Decimal) -> Any:
    """Return the tier of the notional at ``price``; beyond the table, its last tier still applies."""
    tiers = position.instrument.tiers.tiers
    return next((t for t in tiers if t.cap is not None and position.qty * price <= t.cap), tiers[-1])


def condition_at(account: Account, position: Position, price: Decimal) -> tuple[Decimal, Decimal]:
    """Return (maintenance, equity) of the position's pool with its symbol's mark moved to ``price``."""
    with localcontext() as ctx:
        ctx.prec = 60
        group = [
            p
            for p in account.positions
            if (p == position)
            or (
                position.mode is MarginMode.CROSS
                and p.mode is MarginMode.CROSS
                and p.instrument.settle == position.instrument.settle
            )
        ]
        equity = position.margin if position.mode is MarginMode.ISOLATED else account.wallet("USDT")
        maintenance = ZERO
        for p in group:
            at = price if p.symbol == position.symbol else p.mark
            equity += p.side.sign * p.qty * (at - p.entry)
            tier = tier_at(p, at)
            maintenance += p.qty * at * tier.mmr - tier.maintenance_amount
        return maintenance, equity


@st.composite
def btc_books(draw: st.DrawFn) -> tuple[Account, list[Position]]:
    """One to three BTCUSDT positions (hedge or one-way, cross or isolated) up to ~50M notional, at a mark."""
    hedge = draw(st.booleans())
    account = Account(
        VENUE,
        balances={"USDT": D(draw(st.integers(min_value=0, max_value=20000000)))},
        position_mode=PositionMode.HEDGE if hedge else PositionMode.ONE_WAY,
    )
    mark = D(draw(st.integers(min_value=20000, max_value=200000)))
    chosen = [Side.LONG, Side.SHORT] if hedge and draw(st.booleans()) else [draw(sides)]
    mode = draw(modes)
    for side in chosen:
        qty = D(draw(st.integers(min_value=1, max_value=500000))) * LOT
        entry = D(draw(st.integers(min_value=20000, max_value=200000)))
        notional = qty * entry
        leverage = BTC.tiers.tier_for(notional).max_leverage
        margin = None
        if mode is MarginMode.ISOLATED:
            margin = notional / leverage * D(draw(st.integers(min_value=100, max_value=300))) / 100
        account.import_position(BTC, side, qty, entry, mark=mark, leverage=leverage, mode=mode, margin=margin)
    if mode is MarginMode.CROSS and draw(st.booleans()):
        eth = VENUE.instrument("ETHUSDT")
        qty = D(draw(st.integers(min_value=1, max_value=500000))) * LOT
        account.import_position(
            eth, draw(sides), qty, D(3000), mark=D(draw(st.integers(min_value=2000, max_value=4000)))
        )
    return account, [p for p in account.positions if p.symbol == "BTCUSDT"]


@SETTINGS
@given(book=btc_books())
def test_margin_ratio_is_one_at_the_liquidation_price(book: tuple[Account, list[Position]]) -> None:
    account, positions = book
    prices = {account.liquidation_price(p) for p in positions}
    if positions[0].mode is MarginMode.CROSS:
        assert len(prices) == 1  # hedge: long and short share one price in cross
    for pos, lp in zip(positions, [account.liquidation_price(p) for p in positions], strict=True):
        if lp is None:
            continue
        assert lp > ZERO
        maintenance, equity = condition_at(account, pos, lp)
        assert equity > ZERO
        assert abs(maintenance / equity - 1) <= D("1e-18"), (pos, lp, maintenance, equity)
        bp = account.bankruptcy_price(pos)
        if bp is not None:
            _, equity_at_bp = condition_at(account, pos, bp)
            assert abs(equity_at_bp) <= D("1e-18") * (1 + pos.qty * bp)


# ------------------------------------------------------------ (c) isolated loss capped at the margin
@SETTINGS
@given(
    side=sides,
    qty=st.integers(min_value=1, max_value=90000).map(lambda n: n * LOT),
    leverage=st.sampled_from([D(1), D(2), D(5), D(10), D(20), D(25)]),
    path=st.lists(st.one_of(small_moves, gaps), min_size=1, max_size=30),
    fund=st.sampled_from([None, D(0), D(50)]),
)
def test_isolated_loss_never_exceeds_its_margin(
    side: Side, qty: Decimal, leverage: Decimal, path: list[int], fund: Decimal | None
) -> None:
    account = Account(VENUE, balances={"USDT": D(10000000)}, insurance_fund=fund)
    account.open("BTCUSDT", side, qty, D(100000), leverage=leverage, mode=MarginMode.ISOLATED)
    margin = account.position("BTCUSDT").margin
    wallet = account.wallet("USDT")
    mark = D(100000)
    for move in path:
        mark = moved(mark, move, D("0.1"))
        account.update_marks({"BTCUSDT": mark})
        # the cross wallet never pays for the isolated position
        assert account.wallet("USDT") == wallet
        if not account.positions:
            break
    released = account.close("BTCUSDT", mark) if account.positions else []
    back = sum((e.margin_released for e in released if isinstance(e, ev.PositionClosed)), ZERO)
    assert back >= ZERO
    assert margin - back <= margin
    liquidated = [e for e in account.ledger if isinstance(e, ev.Liquidated)]
    for e in liquidated:
        assert e.loss <= margin
        assert e.realized_pnl >= -margin


# --------------------------------------------------- (e) LP is None or > 0, and on the safe side of BP
# check_liquidation_vs_bankruptcy lives in tests/support.py (the conservation test uses it too)
@SETTINGS
@given(book=btc_books())
def test_liquidation_price_is_positive_and_before_bankruptcy(book: tuple[Account, list[Position]]) -> None:
    account, _ = book
    check_liquidation_vs_bankruptcy(account)

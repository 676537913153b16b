"""The income ledger and the bonus rule.

Every change of an account's total balance (cross wallet + isolated margins) is one income row, so the
ledger replays to the balance exactly (the crash test checks it). Types follow Binance's ``incomeType``:
``TRANSFER`` (deposit), ``WELCOME_BONUS`` (bonus granted), ``REALIZED_PNL``, ``COMMISSION``, ``FUNDING_FEE``,
``INSURANCE_CLEAR`` (liquidation fee of a partial liquidation, and what a full liquidation took, info
``LIQUIDATION``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from marginlab.domain import events as ev
from marginlab.domain.precision import ZERO
from marginlab.venue.records import AccountFields
from marginlab.venue.settings import BonusLossOrder


def book(
    row: AccountFields,
    events: Sequence[ev.Event],
    *,
    before: Decimal,
    after: Decimal,
    now_ms: int,
    trade_id: str = "",
) -> list[tuple[int, str, str, str, str, str, int]]:
    """Return the income rows of ``events``; what they leave of ``after - before`` unexplained: a liquidation.

    Rows are tuples in the column order of :data:`marginlab.venue.rawsql.INCOME_COLUMNS` (the amount as its
    exact text); the caller inserts them in the operation's transaction. Counts liquidations on ``row``.
    """
    explained = ZERO
    rows: list[tuple[int, str, str, str, str, str, int]] = []

    def add(symbol: str, kind: str, amount: Decimal, info: str = "") -> None:
        nonlocal explained
        if amount == ZERO:
            return
        explained += amount
        rows.append((row.id, symbol, kind, str(amount), info or kind, trade_id, now_ms))

    liquidated: list[str] = []
    for event in events:
        if isinstance(event, ev.Filled):
            add(event.symbol, "REALIZED_PNL", event.realized_pnl)
            add(event.symbol, "COMMISSION", -event.fee)
        elif isinstance(event, ev.FundingSettled):
            add(event.symbol, "FUNDING_FEE", event.amount)
        elif isinstance(event, ev.PartiallyLiquidated):
            add(event.symbol, "REALIZED_PNL", event.realized_pnl, "PARTIAL_LIQUIDATION")
            add(event.symbol, "INSURANCE_CLEAR", -event.liquidation_fee, "PARTIAL_LIQUIDATION")
        elif isinstance(event, ev.Liquidated):
            liquidated.append(event.symbol)
    residual = after - before - explained
    if residual != ZERO:
        add(liquidated[0] if liquidated else "", "INSURANCE_CLEAR", residual, "LIQUIDATION")
    row.liquidations += len(liquidated)
    return rows


def apply_bonus_rule(row: AccountFields, *, before: Decimal, after: Decimal, rule: BonusLossOrder) -> None:
    """Update the bonus left after the total balance moved from ``before`` to ``after``.

    ``OWN_FIRST``: the bonus is touched only once the own funds are gone: ``bonus_left = min(bonus_left,
    balance)``. ``BONUS_FIRST``: a loss comes out of the bonus until it is gone; profits are own funds either
    way. The bonus never exceeds the balance and never goes below 0.
    """
    left = row.bonus_left
    if rule is BonusLossOrder.BONUS_FIRST and after < before:
        left -= min(left, before - after)
    row.bonus_left = max(ZERO, min(left, after))

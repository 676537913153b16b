"""Between database rows and the exact engine: rebuild an :class:`Account` from rows, write it back.

The venue keeps no account in memory between requests: every operation loads the account's rows inside its
transaction, lets the engine apply the operation, and writes the new state in the same transaction. The
engine has no public constructor from a stored state, so :func:`restore` fills the account's wallets,
settings and positions directly (the same three attributes its own atomic-rollback copies), with the marks
of the venue's market table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marginlab.domain.account import Account, SymbolSettings
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.domain.position import Position
from marginlab.domain.venue import Venue
from marginlab.venue.models import AccountRow, PositionRow, SymbolSettingRow

SETTLE = "USDT"
ZERO = Decimal(0)


def restore(
    rules: Venue,
    row: AccountRow,
    positions: Sequence[PositionRow],
    settings: Sequence[SymbolSettingRow],
    marks: Mapping[str, Decimal],
) -> Account:
    """Return the engine account the rows describe, each position at its symbol's current mark."""
    account = Account(rules, position_mode=PositionMode(row.position_mode))
    account._wallets[SETTLE] = row.wallet
    for setting in settings:
        account._settings[setting.symbol] = SymbolSettings(
            mode=MarginMode(setting.margin_mode), leverage=setting.leverage
        )
    for p in positions:
        account._positions[(p.symbol, Side(p.side))] = Position(
            instrument=rules.instrument(p.symbol),
            side=Side(p.side),
            qty=p.qty,
            entry=p.entry,
            mark=marks[p.symbol],
            leverage=p.leverage,
            mode=MarginMode(p.margin_mode),
            margin=p.margin,
        )
    return account


def load(session: Session, rules: Venue, row: AccountRow, marks: Mapping[str, Decimal]) -> Account:
    """Load the account's positions and settings and rebuild the engine account."""
    positions = session.scalars(select(PositionRow).where(PositionRow.account_id == row.id)).all()
    settings = session.scalars(select(SymbolSettingRow).where(SymbolSettingRow.account_id == row.id)).all()
    return restore(rules, row, positions, settings, marks)


def total_balance(account: Account) -> Decimal:
    """Return the cross wallet plus every isolated margin: what the income ledger sums to."""
    return account.wallet(SETTLE) + sum((p.margin for p in account.positions), ZERO)


def save(session: Session, row: AccountRow, account: Account, now_ms: int) -> None:
    """Write the account's wallet, settings and positions back (with the sweep's liquidation-price hints)."""
    row.wallet = account.wallet(SETTLE)
    row.updated_ms = now_ms
    session.execute(delete(PositionRow).where(PositionRow.account_id == row.id))
    session.execute(delete(SymbolSettingRow).where(SymbolSettingRow.account_id == row.id))
    for symbol, setting in account._settings.items():
        session.add(
            SymbolSettingRow(
                account_id=row.id,
                symbol=symbol,
                margin_mode=str(setting.mode),
                leverage=setting.leverage,
            )
        )
    cross_symbols = {p.symbol for p in account.positions if p.mode is MarginMode.CROSS}
    for pos in account.positions:
        price = account.liquidation_price(pos)
        # exact: the price depends on this symbol's mark only (isolated, or the only cross symbol)
        exact = pos.mode is MarginMode.ISOLATED or len(cross_symbols) == 1
        session.add(
            PositionRow(
                account_id=row.id,
                symbol=pos.symbol,
                side=str(pos.side),
                qty=pos.qty,
                entry=pos.entry,
                leverage=pos.leverage,
                margin_mode=str(pos.mode),
                margin=pos.margin,
                liq_price_hint=None if price is None else float(price),
                hint_exact=exact,
                updated_ms=now_ms,
            )
        )
    session.flush()

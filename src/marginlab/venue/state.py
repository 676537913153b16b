"""Between database rows and the exact engine: rebuild an :class:`Account` from rows, write it back.

Every operation runs on an engine account inside its transaction and writes the new state in the same
transaction. The engine has no public constructor from a stored state, so :func:`restore` fills the
account's wallets, settings and positions directly (the same three attributes its own atomic-rollback
copies), with the marks of the venue's market table.

The server keeps the last committed state of each account in memory (:class:`Stored`, keyed by the
account's ``version``, which every :func:`save` bumps): an operation whose account row still has the cached
version starts from a :func:`clone` of the cached account instead of reading the positions and settings
again, and :func:`save` writes only the position and setting rows that changed. A cached account is never
mutated (operations work on clones), so a failed operation cannot leave a wrong state in the cache.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from marginlab.domain.account import Account, SymbolSettings
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.venue.models import AccountRow, PositionRow, SymbolSettingRow
from marginlab.venue.rawsql import PositionKey, PositionValues, SettingValues, Tx
from marginlab.venue.records import AccountFields

SETTLE = "USDT"


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds of one account after a commit: the engine account and its rows' values.

    ``account`` is never mutated once stored (operations run on :func:`clone`); ``positions`` and
    ``settings`` are the values of the account's rows, so :func:`save` writes only what changed.
    """

    version: int
    account: Account
    positions: dict[PositionKey, PositionValues]
    settings: dict[str, SettingValues]


def restore(
    rules: Venue,
    row: AccountFields,
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
    return load_stored(session, rules, row, marks).account


def load_stored(session: Session, rules: Venue, row: AccountRow, marks: Mapping[str, Decimal]) -> Stored:
    """Load the account's rows: the engine account at ``marks`` and the rows' values."""
    fresh = {"populate_existing": True}  # rows written by save() in this transaction are Core writes
    positions = session.scalars(
        select(PositionRow).where(PositionRow.account_id == row.id).execution_options(**fresh)
    ).all()
    settings = session.scalars(
        select(SymbolSettingRow).where(SymbolSettingRow.account_id == row.id).execution_options(**fresh)
    ).all()
    return stored_from_rows(rules, row, positions, settings, marks)


def stored_from_rows(
    rules: Venue,
    row: AccountFields,
    positions: Sequence[PositionRow],
    settings: Sequence[SymbolSettingRow],
    marks: Mapping[str, Decimal],
) -> Stored:
    """Return the :class:`Stored` state of an account's rows (the engine account at ``marks``)."""
    return Stored(
        version=row.version,
        account=restore(rules, row, positions, settings, marks),
        positions={
            (p.symbol, p.side): (
                p.qty,
                p.entry,
                p.leverage,
                p.margin_mode,
                p.margin,
                p.liq_price_hint,
                p.hint_exact,
            )
            for p in positions
        },
        settings={s.symbol: (s.margin_mode, s.leverage) for s in settings},
    )


def clone(account: Account, marks: Mapping[str, Decimal]) -> Account:
    """Return a copy of ``account`` (dictionaries copied, positions shared: they are immutable) at ``marks``.

    The same shallow copy the engine's own atomic rollback takes; the copy's event ledger starts empty.
    """
    twin = copy.copy(account)
    for name, value in account.__dict__.items():
        if isinstance(value, dict):
            twin.__dict__[name] = dict(value)
    twin.ledger = []
    positions = twin._positions
    for key, pos in positions.items():
        mark = marks.get(pos.symbol)
        if mark is not None and mark != pos.mark:
            positions[key] = pos.with_mark(mark)
    return twin


def total_balance(account: Account) -> Decimal:
    """Return the cross wallet plus every isolated margin: what the income ledger sums to."""
    return account.wallet(SETTLE) + sum((p.margin for p in account.positions), ZERO)


def save(tx: Tx, row: AccountFields, account: Account, now_ms: int, stored: Stored | None = None) -> Stored:
    """Write the account's wallet, settings and positions back (with the sweep's liquidation-price hints).

    With ``stored`` (the rows' values as this transaction found them) only the rows that changed are
    written; without, every row of the account is replaced. Bumps the account's ``version`` on ``row``; the
    account row itself is written by the caller (the ORM's UPDATE, or :meth:`Tx.update_account`, both check
    the version read). Returns what the database now holds.
    """
    row.wallet = account.wallet(SETTLE)
    row.updated_ms = now_ms
    row.version = row.version + 1
    settings: dict[str, SettingValues] = {
        symbol: (str(setting.mode), setting.leverage) for symbol, setting in account._settings.items()
    }
    cross_symbols = {p.symbol for p in account.positions if p.mode is MarginMode.CROSS}
    positions: dict[PositionKey, PositionValues] = {}
    for pos in account.positions:
        price = account.liquidation_price(pos)
        # exact: the price depends on this symbol's mark only (isolated, or the only cross symbol)
        exact = pos.mode is MarginMode.ISOLATED or len(cross_symbols) == 1
        positions[(pos.symbol, str(pos.side))] = (
            pos.qty,
            pos.entry,
            pos.leverage,
            str(pos.mode),
            pos.margin,
            None if price is None else float(price),
            exact,
        )
    if stored is None:
        tx.delete_state(row.id)
        old_positions: dict[PositionKey, PositionValues] = {}
        old_settings: dict[str, SettingValues] = {}
    else:
        old_positions, old_settings = stored.positions, stored.settings
    tx.write_settings(row.id, old_settings, settings)
    tx.write_positions(row.id, old_positions, positions, now_ms)
    return Stored(version=row.version, account=account, positions=positions, settings=settings)

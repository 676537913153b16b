"""The order path's SQL: fixed statements on the DB-API cursor, no ORM and no statement compilation.

A signed market order is a handful of small statements; through SQLAlchemy's ORM each cost ~0.5 ms of CPU
(statement construction, cache keys, unit-of-work flushes) against ~0.03 ms in SQLite itself
(docs/venue-performance.md). Here every statement is a constant string written once per dialect (SQLite's
``?`` or psycopg's ``%s`` placeholders), executed on the DB-API cursor of a pooled connection, with the
values bound as the ORM would bind them (decimals as their exact text, :class:`ExactDecimal`).

:class:`RawSQL` holds the statements of one engine; :class:`Tx` is one transaction on one connection
(``BEGIN IMMEDIATE`` on SQLite: the database-wide write lock; ``SELECT … FOR UPDATE`` of the account row on
PostgreSQL), committed when the ``with`` block ends normally and rolled back otherwise. The same writes
(:meth:`Tx.write_positions`, :meth:`Tx.write_settings`, :meth:`Tx.insert_income`, :meth:`Tx.insert_trades`)
also serve the ORM operations through :meth:`RawSQL.on_session`, on the session's own connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from marginlab.domain.precision import ZERO
from marginlab.venue.models import PositionRow, SymbolSettingRow
from marginlab.venue.records import AccountFields, AccountRecord, OrderFields

PositionKey = tuple[str, str]  # (symbol, side)
# qty, entry, leverage, margin mode, margin, liquidation-price hint, hint exact
PositionValues = tuple[Decimal, Decimal, Decimal, str, Decimal, float | None, bool]
SettingValues = tuple[str, Decimal]  # margin mode, leverage

# the record's fields in declaration order: _account_row unpacks a row in this order
ACCOUNT_COLUMNS = ", ".join(field.name for field in fields(AccountRecord))
ORDER_COLUMNS = (
    "account_id, algo, client_order_id, symbol, side, position_side, type, time_in_force, price, stop_price, "
    "working_type, qty, executed_qty, avg_price, cum_quote, reduce_only, close_position, status, reserved, "
    "created_ms, updated_ms"
)
TRADE_COLUMNS = (
    "account_id, order_id, symbol, side, position_side, qty, price, commission, realized_pnl, maker, time_ms"
)
INCOME_COLUMNS = "account_id, symbol, income_type, amount, info, trade_id, time_ms"
POSITION_VALUES = "qty, entry, leverage, margin_mode, margin, liq_price_hint, hint_exact"


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class RawSQL:
    """The order path's statements for one engine (SQLite or PostgreSQL).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The venue's engine; connections come from its pool.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        dbapi = engine.dialect.loaded_dbapi
        self.integrity_error: type[Exception] = dbapi.IntegrityError
        lock = " FOR UPDATE" if self.postgres else ""
        self.account = self._sql(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?{lock}")  # noqa: S608 - constant columns, bound values
        self.market = self._sql(
            "SELECT symbol, mark, last, index_price, funding_rate, next_funding_ms, updated_ms FROM market"
        )
        self.reserved = self._sql(
            "SELECT symbol, reserved FROM orders WHERE account_id = ? "
            "AND status IN ('NEW', 'PARTIALLY_FILLED') AND algo = ?"
        )
        self.account_read = self._sql(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?")  # noqa: S608 - constant columns, bound values
        self.positions = self._sql(
            f"SELECT symbol, side, {POSITION_VALUES} FROM positions WHERE account_id = ?"  # noqa: S608 - constant columns, bound values
        )
        self.settings = self._sql(
            "SELECT symbol, margin_mode, leverage FROM symbol_settings WHERE account_id = ?"
        )
        # PostgreSQL: the id comes from the sequence with the reads, so the writes need no answer
        self.next_order_id = "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"
        self.insert_order = self._sql(
            f"INSERT INTO orders (id, {ORDER_COLUMNS}) VALUES ({_marks(22)})"  # noqa: S608 - constant columns, bound values
            if self.postgres
            else f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({_marks(21)})"  # noqa: S608 - constant columns, bound values
        )
        self.insert_trade = self._sql(
            f"INSERT INTO trades ({TRADE_COLUMNS}) VALUES ({_marks(11)})"  # noqa: S608 - constant columns, bound values
        )
        self.insert_income = self._sql(
            f"INSERT INTO income ({INCOME_COLUMNS}) VALUES ({_marks(7)})"  # noqa: S608 - constant columns, bound values
        )
        self.update_account = self._sql(
            "UPDATE accounts SET updated_ms = ?, position_mode = ?, wallet = ?, bonus_left = ?, "
            "liquidations = ?, version = ? WHERE id = ? AND version = ?"
        )
        self.insert_position = self._sql(
            f"INSERT INTO positions (account_id, symbol, side, updated_ms, {POSITION_VALUES}) "  # noqa: S608 - constant columns, bound values
            f"VALUES ({_marks(11)})"
        )
        self.update_position = self._sql(
            "UPDATE positions SET updated_ms = ?, qty = ?, entry = ?, leverage = ?, margin_mode = ?, "
            "margin = ?, liq_price_hint = ?, hint_exact = ? WHERE account_id = ? AND symbol = ? AND side = ?"
        )
        self.delete_position = self._sql(
            "DELETE FROM positions WHERE account_id = ? AND symbol = ? AND side = ?"
        )
        self.delete_positions = self._sql("DELETE FROM positions WHERE account_id = ?")
        self.insert_setting = self._sql(
            "INSERT INTO symbol_settings (account_id, symbol, margin_mode, leverage) VALUES (?, ?, ?, ?)"
        )
        self.update_setting = self._sql(
            "UPDATE symbol_settings SET margin_mode = ?, leverage = ? WHERE account_id = ? AND symbol = ?"
        )
        self.delete_setting = self._sql("DELETE FROM symbol_settings WHERE account_id = ? AND symbol = ?")
        self.delete_settings = self._sql("DELETE FROM symbol_settings WHERE account_id = ?")

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """Yield a transaction on a pooled connection; commit at the end, roll back on an exception.

        SQLite: ``BEGIN IMMEDIATE`` to write (the connection runs in autocommit mode, see ``database.py``),
        a plain ``BEGIN`` (one snapshot, no lock) to read. PostgreSQL: psycopg opens the transaction with
        the first statement.
        """
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if not self.postgres:
                cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            tx = Tx(self, cursor, raw if self.postgres else None)
            try:
                yield tx
                tx.finish()
            except BaseException:
                tx.abandon()
                if self.postgres:
                    raw.rollback()
                elif getattr(raw.driver_connection, "in_transaction", True):  # SQLite may have rolled back
                    cursor.execute("ROLLBACK")
                raise
            if self.postgres:
                raw.commit()
            else:
                cursor.execute("COMMIT")
        finally:
            raw.close()  # back to the pool

    def on_session(self, session: Session) -> Tx:
        """Return a :class:`Tx` on the session's connection, inside the session's transaction."""
        return Tx(self, session.connection().connection.cursor())


def _dec(value: Any) -> Decimal:
    return Decimal(value)


class Tx:
    """One transaction's cursor and the statements of its engine.

    With ``pipelined`` (a psycopg connection of :meth:`RawSQL.transaction`) the reads of :meth:`begin_order`
    go out together and the writes are queued in psycopg's pipeline mode: sent without waiting for each
    answer and checked once, before the commit (:meth:`finish`); a statement that fails (a duplicate client
    order id) raises there, and the transaction is rolled back. Three round trips per order instead of ~15.
    """

    def __init__(self, sql: RawSQL, cursor: Any, pipelined: Any = None) -> None:
        self.sql = sql
        self.cursor = cursor
        self._connection = pipelined
        self._pipeline: Any = None
        self._write_cursor: Any = None
        self._checks: list[tuple[Any, int]] = []  # (cursor of an account UPDATE, account id) to verify
        self.order_id: int | None = None  # PostgreSQL: the next order's id, drawn by begin_order

    def _writer(self, *, own: bool = False) -> Any:
        """Return the cursor for a write (pipelined: in the pipeline opened at the first write).

        ``own``: a cursor of its own (pipelined), whose answer is read after :meth:`finish`.
        """
        if self._connection is None:
            return self.cursor
        if self._pipeline is None:
            self._pipeline = self._connection.pipeline()
            self._pipeline.__enter__()
            self._write_cursor = self._connection.cursor()
        return self._connection.cursor() if own else self._write_cursor

    def finish(self) -> None:
        """Send the queued writes, wait for their answers and check every account UPDATE hit its row."""
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            pipeline.__exit__(None, None, None)
        for cursor, account_id in self._checks:
            if cursor.rowcount != 1:  # cannot happen under the locks; never write over another's state
                raise RuntimeError(f"account {account_id} changed under its lock")

    def abandon(self) -> None:
        """Close an open pipeline after an error (its answers no longer matter: the caller rolls back)."""
        if self._pipeline is not None:
            pipeline, self._pipeline = self._pipeline, None
            with suppress(Exception):  # the transaction is rolled back next either way
                pipeline.__exit__(None, None, None)

    # ------------------------------------------------------------------ reads
    def begin_order(self, account_id: int) -> tuple[AccountRecord | None, list[tuple[Any, ...]], Decimal]:
        """Read (and on PostgreSQL lock) the account row, the market, the margin open orders reserve.

        Returns (the account's record or None, the market's rows (symbol, mark, last, index price, funding
        rate, next funding ms, updated ms), the margin its open orders reserve).
        PostgreSQL: the three reads and the next order id (:attr:`order_id`) in one round trip.
        """
        row, market, reserved = self._reads(self.sql.account, account_id, draw_id=True)
        return row, market, sum((amount for _, amount in reserved), ZERO)

    def begin_read(
        self, account_id: int
    ) -> tuple[AccountRecord | None, list[tuple[Any, ...]], list[tuple[str, Decimal]]]:
        """Read the account row, the market and the open orders' (symbol, reserved margin), without locks."""
        return self._reads(self.sql.account_read, account_id, draw_id=False)

    def _reads(
        self, account_sql: str, account_id: int, *, draw_id: bool
    ) -> tuple[AccountRecord | None, list[tuple[Any, ...]], list[tuple[str, Decimal]]]:
        statements = [
            (account_sql, (account_id,)),
            (self.sql.market, ()),
            (self.sql.reserved, (account_id, False)),
        ]
        if self._connection is None:
            answers = []
            for sql, params in statements:
                self.cursor.execute(sql, params)
                answers.append(self.cursor.fetchall())
        else:
            if draw_id:
                statements.append((self.sql.next_order_id, ()))
            cursors = [self._connection.cursor() for _ in statements]
            with self._connection.pipeline():
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params)
            answers = [cursor.fetchall() for cursor in cursors]
            if draw_id:
                self.order_id = int(answers[3][0][0])
        found, market, reserved = answers[0], answers[1], answers[2]
        row = self._account_row(found[0] if found else None)
        return row, list(market), [(symbol, _dec(amount)) for symbol, amount in reserved]

    @staticmethod
    def _account_row(found: tuple[Any, ...] | None) -> AccountRecord | None:
        if found is None:
            return None
        account_id, created, updated, mode, wallet, deposited, granted, left, liquidations, version = found
        return AccountRecord(
            account_id,
            created,
            updated,
            mode,
            _dec(wallet),
            _dec(deposited),
            _dec(granted),
            _dec(left),
            liquidations,
            version,
        )

    def state_rows(self, account_id: int) -> tuple[list[PositionRow], list[SymbolSettingRow]]:
        """Return the account's position and setting rows (detached objects)."""
        self.cursor.execute(self.sql.positions, (account_id,))
        positions = [
            PositionRow(
                account_id=account_id,
                symbol=symbol,
                side=side,
                qty=_dec(qty),
                entry=_dec(entry),
                leverage=_dec(leverage),
                margin_mode=mode,
                margin=_dec(margin),
                liq_price_hint=hint,
                hint_exact=bool(exact),
            )
            for symbol, side, qty, entry, leverage, mode, margin, hint, exact in self.cursor.fetchall()
        ]
        self.cursor.execute(self.sql.settings, (account_id,))
        settings = [
            SymbolSettingRow(account_id=account_id, symbol=symbol, margin_mode=mode, leverage=_dec(leverage))
            for symbol, mode, leverage in self.cursor.fetchall()
        ]
        return positions, settings

    # ------------------------------------------------------------------ writes
    def insert_order(self, order: OrderFields) -> int:
        """Insert ``order``; return its id (the driver's IntegrityError on a duplicate client order id).

        PostgreSQL: the id drawn by :meth:`begin_order`; a duplicate raises at :meth:`finish`.
        """
        values = (
            order.account_id,
            order.algo,
            order.client_order_id,
            order.symbol,
            order.side,
            order.position_side,
            order.type,
            order.time_in_force,
            str(order.price),
            str(order.stop_price),
            order.working_type,
            str(order.qty),
            str(order.executed_qty),
            str(order.avg_price),
            str(order.cum_quote),
            order.reduce_only,
            order.close_position,
            order.status,
            str(order.reserved),
            order.created_ms,
            order.updated_ms,
        )
        if self.order_id is not None:
            order_id, self.order_id = self.order_id, None
            self._writer().execute(self.sql.insert_order, (order_id, *values))
            return order_id
        self.cursor.execute(self.sql.insert_order, values)
        return int(self.cursor.lastrowid)

    def insert_trades(self, trades: Sequence[tuple[Any, ...]]) -> None:
        """Insert fills: tuples in :data:`TRADE_COLUMNS` order, decimals as text."""
        if trades:
            self._writer().executemany(self.sql.insert_trade, trades)

    def insert_income(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ledger rows: tuples in :data:`INCOME_COLUMNS` order, decimals as text."""
        if rows:
            self._writer().executemany(self.sql.insert_income, rows)

    def update_account(self, row: AccountFields, old_version: int) -> None:
        """Write the account row's state if its version is still ``old_version`` (else raise RuntimeError)."""
        cursor = self._writer(own=True)
        cursor.execute(
            self.sql.update_account,
            (
                row.updated_ms,
                row.position_mode,
                str(row.wallet),
                str(row.bonus_left),
                row.liquidations,
                row.version,
                row.id,
                old_version,
            ),
        )
        self._checks.append((cursor, row.id))
        if self._pipeline is None:
            self.finish()

    def delete_state(self, account_id: int) -> None:
        """Delete every position and setting row of the account (before writing a whole state)."""
        cursor = self._writer()
        cursor.execute(self.sql.delete_positions, (account_id,))
        cursor.execute(self.sql.delete_settings, (account_id,))

    def write_settings(
        self, account_id: int, old: dict[str, SettingValues], new: dict[str, SettingValues]
    ) -> None:
        """Write the settings that differ from ``old`` (the rows as the transaction found them)."""
        cursor = self._writer()
        for symbol in old:
            if symbol not in new:
                cursor.execute(self.sql.delete_setting, (account_id, symbol))
        for symbol, (mode, leverage) in new.items():
            if symbol not in old:
                cursor.execute(self.sql.insert_setting, (account_id, symbol, mode, str(leverage)))
            elif old[symbol] != (mode, leverage):
                cursor.execute(self.sql.update_setting, (mode, str(leverage), account_id, symbol))

    def write_positions(
        self,
        account_id: int,
        old: dict[PositionKey, PositionValues],
        new: dict[PositionKey, PositionValues],
        now_ms: int,
    ) -> None:
        """Write the positions that differ from ``old`` (the rows as the transaction found them)."""
        cursor = self._writer()
        for symbol, side in old:
            if (symbol, side) not in new:
                cursor.execute(self.sql.delete_position, (account_id, symbol, side))
        for (symbol, side), values in new.items():
            qty, entry, leverage, mode, margin, hint, exact = values
            columns = (str(qty), str(entry), str(leverage), mode, str(margin), hint, exact)
            if (symbol, side) not in old:
                cursor.execute(self.sql.insert_position, (account_id, symbol, side, now_ms, *columns))
            elif old[(symbol, side)] != values:
                cursor.execute(self.sql.update_position, (now_ms, *columns, account_id, symbol, side))

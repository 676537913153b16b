"""SQLAlchemy 2 models of the venue's database (the schema itself is made by the Alembic migrations).

Money and prices are stored as decimal **text** (:class:`ExactDecimal`): SQLite has no exact decimal type
and SQLAlchemy's ``Numeric`` goes through float there. ``liq_price_hint`` is the one float column: a
pre-filter for the mark sweep (which positions could be at their liquidation price), never used for money.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text (``str(Decimal)``), identical on SQLite and PostgreSQL."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        """Write the exact text of ``value``."""
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        """Read the text back as a Decimal."""
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints the same everywhere."""

    metadata = MetaData(naming_convention=NAMING)


class AccountRow(Base):
    """A trader's account: the cross wallet (USDT) and the bonus bookkeeping."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    position_mode: Mapped[str] = mapped_column(String(8))  # one-way | hedge
    wallet: Mapped[Decimal] = mapped_column(ExactDecimal)  # cross wallet balance, USDT
    deposited: Mapped[Decimal] = mapped_column(ExactDecimal)  # own money paid in
    bonus_granted: Mapped[Decimal] = mapped_column(ExactDecimal)
    bonus_left: Mapped[Decimal] = mapped_column(ExactDecimal)
    liquidations: Mapped[int] = mapped_column(Integer, default=0)
    # bumped by every write of the account's state (wallet, settings, positions); the UPDATE checks it
    version: Mapped[int] = mapped_column(Integer, server_default="0")

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class ApiKeyRow(Base):
    """An HMAC key pair; the secret is stored encrypted (Fernet) with a key kept outside the database."""

    __tablename__ = "api_keys"

    api_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class SymbolSettingRow(Base):
    """Per account and symbol: margin type and leverage (remembered when flat)."""

    __tablename__ = "symbol_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    margin_mode: Mapped[str] = mapped_column(String(8))  # cross | isolated
    leverage: Mapped[Decimal] = mapped_column(ExactDecimal)


class PositionRow(Base):
    """An open position as the engine holds it (the mark comes from the market table)."""

    __tablename__ = "positions"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    side: Mapped[str] = mapped_column(String(5), primary_key=True)  # long | short
    qty: Mapped[Decimal] = mapped_column(ExactDecimal)
    entry: Mapped[Decimal] = mapped_column(ExactDecimal)
    leverage: Mapped[Decimal] = mapped_column(ExactDecimal)
    margin_mode: Mapped[str] = mapped_column(String(8))
    margin: Mapped[Decimal] = mapped_column(ExactDecimal)  # isolated wallet, 0 for cross
    liq_price_hint: Mapped[float | None] = mapped_column(Float, nullable=True)
    hint_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_positions_symbol", "symbol"),)


class OrderRow(Base):
    """An order (``algo``: a conditional STOP_MARKET / TAKE_PROFIT_MARKET order of ``/fapi/v1/algoOrder``)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    algo: Mapped[bool] = mapped_column(Boolean, default=False)
    client_order_id: Mapped[str] = mapped_column(String(36))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))  # BUY | SELL
    position_side: Mapped[str] = mapped_column(String(5))  # BOTH | LONG | SHORT
    type: Mapped[str] = mapped_column(String(24))
    time_in_force: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    stop_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    working_type: Mapped[str] = mapped_column(String(16))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal)
    executed_qty: Mapped[Decimal] = mapped_column(ExactDecimal)
    avg_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    cum_quote: Mapped[Decimal] = mapped_column(ExactDecimal)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    close_position: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    reserved: Mapped[Decimal] = mapped_column(ExactDecimal)  # initial margin held by an open order
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("account_id", "algo", "client_order_id", name="uq_orders_client_id"),
        Index("ix_orders_open", "symbol", "status"),
        Index("ix_orders_account", "account_id", "symbol"),
        # an order reads the account's open orders (reserved margin): without this, every order scanned all
        # of the account's past orders, and a bot's orders got slower the longer it traded
        Index("ix_orders_account_open", "account_id", "status", "algo"),
    )


class TradeRow(Base):
    """One fill of an order."""

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    position_side: Mapped[str] = mapped_column(String(5))
    qty: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    commission: Mapped[Decimal] = mapped_column(ExactDecimal)
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal)
    maker: Mapped[bool] = mapped_column(Boolean)
    time_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_trades_account", "account_id", "symbol"),)


class IncomeRow(Base):
    """The income ledger: every change of the account's total balance (cross wallet + isolated margins)."""

    __tablename__ = "income"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    income_type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    info: Mapped[str] = mapped_column(String(64))
    trade_id: Mapped[str] = mapped_column(String(32))
    time_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_income_account", "account_id", "time_ms"),)


class MarginChangeRow(Base):
    """A manual isolated-margin change (``positionMargin`` type 1 add, 2 reduce)."""

    __tablename__ = "margin_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    type: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    position_side: Mapped[str] = mapped_column(String(5))
    time_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_margin_changes_account", "account_id", "symbol"),)


class MarketRow(Base):
    """The venue's current prices per symbol (written only by mark updates)."""

    __tablename__ = "market"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    mark: Mapped[Decimal] = mapped_column(ExactDecimal)
    last: Mapped[Decimal] = mapped_column(ExactDecimal)
    index_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    funding_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    next_funding_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PriceTickRow(Base):
    """Every price update, for ``klines`` and ``markPriceKlines``."""

    __tablename__ = "price_ticks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32))
    time_ms: Mapped[int] = mapped_column(BigInteger)
    mark: Mapped[Decimal] = mapped_column(ExactDecimal)
    last: Mapped[Decimal] = mapped_column(ExactDecimal)

    __table_args__ = (Index("ix_price_ticks_symbol_time", "symbol", "time_ms"),)


class SignInLinkRow(Base):
    """A one-time dashboard sign-in link: only the SHA-256 of its token is stored; used once, then dead."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    used_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DashboardSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie, its CSRF token, expiry and end (sign-out)."""

    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

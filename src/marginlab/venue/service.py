"""The venue's use cases: one method per operation, one transaction per acknowledged operation.

Each write runs in ``with session.begin():`` around loading the account (row-locked on PostgreSQL, database
write lock on SQLite), the engine step, the order/trade/ledger rows and the new state; nothing is
acknowledged before that commit. The margin math is the engine's (:class:`marginlab.domain.account.Account`
with the ``binance`` rule set); this layer adds what an exchange has around it: orders, fills, the ledger,
the bonus, marks and funding.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, and_, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InsufficientMargin, OperationRejected
from marginlab.rules import get_venue
from marginlab.venue import ledger, state
from marginlab.venue.database import read_only
from marginlab.venue.errors import VenueError
from marginlab.venue.models import (
    AccountRow,
    ApiKeyRow,
    DashboardSessionRow,
    IncomeRow,
    MarginChangeRow,
    MarketRow,
    OrderRow,
    PositionRow,
    PriceTickRow,
    SignInLinkRow,
    SymbolSettingRow,
    TradeRow,
)
from marginlab.venue.orders import OrderRequest, Trader
from marginlab.venue.rawsql import RawSQL, Tx
from marginlab.venue.records import AccountFields, AccountRecord, OrderFields, OrderRecord
from marginlab.venue.secrets_box import SecretBox, new_key_pair
from marginlab.venue.settings import VenueSettings
from marginlab.venue.views import AccountView, account_view, max_notional

Clock = Callable[[], int]
OPEN = ("NEW", "PARTIALLY_FILLED")
MAX_CACHED_KEYS = 100_000
HINT_TOLERANCE = 1e-6  # relative slack of the float pre-filter; the exact engine decides
SIGN_IN_LINK_MS = 15 * 60_000  # a one-time link printed by ``account create`` works for 15 minutes, once
DASHBOARD_SESSION_MS = 12 * 3_600_000  # a signed-in browser stays signed in for 12 hours (or until sign-out)


def wall_clock_ms() -> int:
    """Return the current time in ms since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What ``account create`` prints: the secret is shown once and stored only encrypted."""

    account_id: int
    api_key: str
    api_secret: str


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A signed-in browser: its account, its CSRF token and expiry (``token`` only when just created)."""

    account_id: int
    csrf: str
    expires_ms: int
    token: str = ""


def token_hash(token: str) -> str:
    """Return the SHA-256 of a sign-in or session token: what the database keeps instead of the token.

    The tokens are 256 random bits, so a plain hash cannot be inverted or guessed; a copy of the database
    opens no dashboard.
    """
    return hashlib.sha256(token.encode()).hexdigest()


# a fill noted by Trader.fill: order, (symbol, side, position side, qty, price, fee, pnl) as text, maker, ms
Fill = tuple[OrderFields, tuple[str, str, str, str, str, str, str], bool, int]


@dataclass(slots=True)
class Book:
    """One account loaded inside a transaction: its row, the engine account, the market's marks.

    ``stored`` is what the database held of the account when the transaction loaded it (or after this
    transaction's last save): :func:`marginlab.venue.state.save` writes only what differs from it. ``tx``
    writes the state, fills and ledger rows; ``session`` is the ORM session of the operations that use one
    (None on the order path, whose account is a plain record written by :meth:`rawsql.Tx.update_account`).
    """

    tx: Tx
    row: AccountFields
    account: Account
    market: dict[str, MarketRow]
    stored: state.Stored | None = None
    session: Session | None = None
    fills: list[Fill] = field(default_factory=list)

    def orm(self) -> Session:
        """Return the ORM session of an operation that has one."""
        if self.session is None:
            raise RuntimeError("this operation runs without an ORM session")
        return self.session


PENDING = "venue_pending"  # session.info key: account states saved by the transaction, cached once committed
LOADED = "venue_loaded"  # session.info key: account states a sweep read in bulk (valid for their version)
ROWS = "venue_rows"  # session.info key: the account rows a sweep read (kept referenced for the session)
SWEEP_CHUNK = 500  # accounts per bulk read of a sweep (bound parameters per statement)


class VenueService:
    """The paper venue's service layer.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Database (schema already upgraded).
    settings : VenueSettings
        Spread, bonus rule, key file, ….
    clock : callable returning ms, optional
        Injected time (tests); the wall clock by default.
    """

    def __init__(self, engine: Engine, settings: VenueSettings, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.clock: Clock = clock or wall_clock_ms
        self.rules: Venue = get_venue("binance")
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(read_only(engine), expire_on_commit=False)
        self._listed: tuple[str, ...] = ()
        self._credentials: dict[str, tuple[int, str]] = {}
        self._box: SecretBox | None = None
        self._postgres = engine.dialect.name == "postgresql"
        self._write_lock: AbstractContextManager[object] = (
            nullcontext() if self._postgres else threading.Lock()
        )
        self.trader = Trader(self.rules, settings)
        self.sql = RawSQL(engine)
        self._market_rows: tuple[tuple[tuple[object, ...], ...], dict[str, MarketRow]] = ((), {})
        self._cache: dict[int, state.Stored] = {}
        self._cache_lock = threading.Lock()
        self._account_locks: dict[int, threading.Lock] = {}

    # ------------------------------------------------------------------ plumbing
    @property
    def box(self) -> SecretBox:
        """Return the secret box (the key file is read on first use)."""
        if self._box is None:
            self._box = SecretBox.from_settings(self.settings.key_file)
        return self._box

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """Open a writing transaction.

        SQLite allows one writer at a time; the writers of this process queue on a lock here instead of
        polling SQLite's busy handler (whose back-off sleeps dominate the latency under contention).
        Other processes still wait through the busy timeout. PostgreSQL needs no process lock.
        The account states the transaction saved enter the in-memory cache only once it has committed.
        """
        pending: dict[int, state.Stored] = {}
        with self._write_lock:
            with self._sessions() as session, session.begin():
                session.info[PENDING] = pending
                yield session
            self._publish(pending)

    @property
    def write_lock(self) -> AbstractContextManager[object]:
        """The lock this process's writers hold around a transaction (SQLite; a no-op on PostgreSQL)."""
        return self._write_lock

    def _publish(self, saved: Mapping[int, state.Stored]) -> None:
        """Cache committed account states (a newer version already cached wins)."""
        with self._cache_lock:
            for account_id, stored in saved.items():
                known = self._cache.get(account_id)
                if known is None or known.version < stored.version:
                    self._cache[account_id] = stored

    def _account_lock(self, account_id: int) -> threading.Lock:
        lock = self._account_locks.get(account_id)
        if lock is None:
            with self._cache_lock:
                lock = self._account_locks.setdefault(account_id, threading.Lock())
        return lock

    @contextmanager
    def _account_tx(self, account_id: int) -> Iterator[Book]:
        """Open the one transaction of an operation on ``account_id``, with the account locked and loaded.

        Operations on one account queue on a lock of this process first (then on the database's lock: the
        row lock on PostgreSQL, the write lock on SQLite); different accounts proceed in parallel.
        """
        with self._account_lock(account_id), self._write() as session:
            book = self._lock_and_load(session, account_id, self._market(session))
            yield book

    def _lock_and_load(
        self, session: Session, account_id: int, market: dict[str, MarketRow], *, lock: bool = True
    ) -> Book:
        """Lock and read the account row; the engine account comes from the cache if its version matches.

        The cache (or this transaction's own last save, or a sweep's bulk read) is used only when the row's
        version is the one it holds, so a change by another process (``venue mark``, a second server) is
        always seen. ``lock=False``: the transaction already locked the row (a sweep's bulk read).
        """
        # None (not False): a row the sweep already read comes from the session without a query
        row = session.get(AccountRow, account_id, with_for_update=True if self._postgres and lock else None)
        if row is None:
            raise VenueError(-2015)
        marks = {symbol: m.mark for symbol, m in market.items()}
        known = (
            session.info.get(PENDING, {}).get(account_id),
            session.info.get(LOADED, {}).get(account_id),
            self._cache.get(account_id),
        )
        stored = next((k for k in known if k is not None and k.version == row.version), None)
        if stored is None:
            stored = state.load_stored(session, self.rules, row, marks)
            if PENDING not in session.info:  # a read: cache what it found (the version says it is current)
                self._publish({account_id: stored})
        return Book(
            self.sql.on_session(session),
            row,
            state.clone(stored.account, marks),
            market,
            stored,
            session=session,
        )

    def _raw_book(self, tx: Tx, row: AccountRecord | None, raw_market: list[tuple[object, ...]]) -> Book:
        """Return the book of the account ``row`` (read and locked by ``tx``): its state from the cache if
        cached at the row's version, else read by ``tx``.

        The order path's :meth:`_lock_and_load`: plain SQL, plain records, no ORM session.
        """
        if row is None:
            raise VenueError(-2015)
        account_id = row.id
        market = self._market_of(raw_market)
        marks = {symbol: m.mark for symbol, m in market.items()}
        stored = self._cache.get(account_id)
        if stored is None or stored.version != row.version:
            positions, settings = tx.state_rows(account_id)
            stored = state.stored_from_rows(self.rules, row, positions, settings, marks)
        return Book(tx, row, state.clone(stored.account, marks), market, stored)

    def _market_of(self, raw: list[tuple[object, ...]]) -> dict[str, MarketRow]:
        """Return detached market rows for the market table's raw rows (reused while the table is unchanged).

        The rows are only read by the order path, never changed, so threads may share them.
        """
        key = tuple(raw)
        known = self._market_rows
        if known[0] == key:
            return known[1]
        rows = {
            str(symbol): MarketRow(
                symbol=symbol,
                mark=Decimal(str(mark)),
                last=Decimal(str(last)),
                index_price=Decimal(str(index)),
                funding_rate=Decimal(str(rate)),
                next_funding_ms=next_ms,
                updated_ms=updated,
            )
            for symbol, mark, last, index, rate, next_ms, updated in raw
        }
        self._market_rows = (key, rows)
        return rows

    @staticmethod
    def _market(session: Session) -> dict[str, MarketRow]:
        return {m.symbol: m for m in session.scalars(select(MarketRow)).all()}

    def _commit_state(
        self, book: Book, before: Decimal, events: Sequence[ev.Event], trade_id: str = ""
    ) -> None:
        now = self.clock()
        after = state.total_balance(book.account)
        income = ledger.book(book.row, events, before=before, after=after, now_ms=now, trade_id=trade_id)
        ledger.apply_bonus_rule(book.row, before=before, after=after, rule=self.settings.bonus_loss_order)
        self._save(book, now, income)

    @staticmethod
    def _save(book: Book, now: int, income: Sequence[tuple[object, ...]] = ()) -> None:
        """Write the fills, the ledger rows and the account's new state; cached once the transaction commits.

        On the order path (no session) the account row is written here, checking the version it was read
        at; otherwise the ORM's UPDATE of the row does that at the flush.
        """
        account_id = book.row.id
        book.tx.insert_trades(
            [(account_id, order.id, *values, maker, ms) for order, values, maker, ms in book.fills]
        )
        book.fills.clear()
        book.tx.insert_income(income)
        version = book.row.version
        book.stored = state.save(book.tx, book.row, book.account, now, book.stored)
        if book.session is None:
            book.tx.update_account(book.row, version)
        else:
            book.session.info[PENDING][account_id] = book.stored

    def symbol(self, symbol: str | None) -> str:
        """Return the native symbol if the venue lists it; else raise -1121."""
        if not symbol:
            raise VenueError(-1102, param="symbol")
        native = symbol.upper()
        if native not in self._listed and native not in self.listed_symbols():
            raise VenueError(-1121)
        return native

    def listed_symbols(self) -> tuple[str, ...]:
        """Return the symbols the venue trades: those with a price in the market table (never delisted)."""
        with self._read() as session:
            self._listed = tuple(session.scalars(select(MarketRow.symbol).order_by(MarketRow.symbol)).all())
        return self._listed

    # ------------------------------------------------------------------ accounts
    def create_account(self, *, deposit: Decimal, bonus: Decimal) -> NewAccount:
        """Create an account with ``deposit`` of own money and ``bonus`` of bonus funds, and its API key."""
        if deposit < ZERO or bonus < ZERO or not (deposit.is_finite() and bonus.is_finite()):
            raise VenueError(-1130, "deposit and bonus must be >= 0")
        api_key, api_secret = new_key_pair()
        now = self.clock()
        with self._write() as session:
            row = AccountRow(
                created_ms=now,
                updated_ms=now,
                position_mode=str(PositionMode.ONE_WAY),
                wallet=deposit + bonus,
                deposited=deposit,
                bonus_granted=bonus,
                bonus_left=bonus,
                liquidations=0,
                version=0,
            )
            session.add(row)
            session.flush()
            for kind, amount in (("TRANSFER", deposit), ("WELCOME_BONUS", bonus)):
                if amount > ZERO:
                    session.add(
                        IncomeRow(
                            account_id=row.id,
                            symbol="",
                            income_type=kind,
                            amount=amount,
                            info=kind,
                            trade_id="",
                            time_ms=now,
                        )
                    )
            session.add(
                ApiKeyRow(
                    api_key=api_key,
                    account_id=row.id,
                    secret_encrypted=self.box.encrypt(api_secret),
                    created_ms=now,
                )
            )
            account_id = row.id
        return NewAccount(account_id=account_id, api_key=api_key, api_secret=api_secret)

    def credentials(self, api_key: str) -> tuple[int, str] | None:
        """Return (account id, secret) of ``api_key``, or None if the key is unknown.

        Known keys are kept in memory (keys are never changed or revoked); unknown ones are looked up again
        each time, so a key created by another process works at once.
        """
        known = self._credentials.get(api_key)
        if known is not None:
            return known
        with self._read() as session:
            row = session.get(ApiKeyRow, api_key)
            if row is None:
                return None
            secret = self.box.decrypt(row.secret_encrypted)
            if secret is None:
                return None
            if len(self._credentials) < MAX_CACHED_KEYS:
                self._credentials[api_key] = (row.account_id, secret)
            return row.account_id, secret

    def known_credentials(self, api_key: str) -> tuple[int, str] | None:
        """Return (account id, secret) of ``api_key`` if this process already knows it (no database read)."""
        return self._credentials.get(api_key)

    # ------------------------------------------------------------------ dashboard sign-in
    def create_sign_in_link(self, account_id: int) -> str:
        """Return a fresh one-time sign-in token for ``account_id`` (valid ``SIGN_IN_LINK_MS``, once)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._write() as session:
            if session.get(AccountRow, account_id) is None:
                raise VenueError(-2015)
            session.add(
                SignInLinkRow(
                    token_hash=token_hash(token),
                    account_id=account_id,
                    created_ms=now,
                    expires_ms=now + SIGN_IN_LINK_MS,
                    used_ms=None,
                )
            )
        return token

    def sign_in_link_account(self, token: str) -> int | None:
        """Return the account a live one-time link opens, without spending it (None: unknown, used, expired).

        The dashboard's GET of the link only asks the browser to confirm; the POST of that confirmation
        spends it, so a link-preview bot or a mail scanner that fetches the link cannot use it up.
        """
        with self._read() as session:
            link = session.get(SignInLinkRow, token_hash(token))
            if link is None or link.used_ms is not None or link.expires_ms < self.clock():
                return None
            return link.account_id

    def redeem_sign_in_link(self, token: str) -> DashboardSession:
        """Spend a one-time link and open a session; raise -2015 if it is unknown, used or expired."""
        now = self.clock()
        with self._write() as session:
            link = session.get(SignInLinkRow, token_hash(token), with_for_update=self._postgres)
            if link is None or link.used_ms is not None or link.expires_ms < now:
                raise VenueError(-2015, "the sign-in link is unknown, already used or expired")
            link.used_ms = now
            return self._open_session(session, link.account_id, now)

    def sign_in_with_key(self, api_key: str, api_secret: str) -> DashboardSession:
        """Open a session for the account of an API key whose secret matches; else raise -2015."""
        known = self.credentials(api_key) if api_key else None
        # compare even for an unknown key, so the answer takes as long either way
        secret = known[1] if known is not None else secrets.token_urlsafe(48)
        if known is None or not hmac.compare_digest(secret.encode(), api_secret.encode()):
            raise VenueError(-2015, "API key and secret do not match")
        with self._write() as session:
            return self._open_session(session, known[0], self.clock())

    @staticmethod
    def _open_session(session: Session, account_id: int, now: int) -> DashboardSession:
        # rows that can never open anything again go when a new session opens (rare: sign-ins only)
        session.execute(delete(SignInLinkRow).where(SignInLinkRow.expires_ms < now))
        session.execute(
            delete(DashboardSessionRow).where(
                or_(DashboardSessionRow.expires_ms < now, DashboardSessionRow.ended_ms.is_not(None))
            )
        )
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + DASHBOARD_SESSION_MS
        session.add(
            DashboardSessionRow(
                token_hash=token_hash(token),
                account_id=account_id,
                csrf=csrf,
                created_ms=now,
                expires_ms=expires,
                ended_ms=None,
            )
        )
        return DashboardSession(account_id=account_id, csrf=csrf, expires_ms=expires, token=token)

    def dashboard_session(self, token: str) -> DashboardSession | None:
        """Return the live session of a cookie token, or None (unknown, ended or expired)."""
        if not token:
            return None
        with self._read() as session:
            row = session.get(DashboardSessionRow, token_hash(token))
            if row is None or row.ended_ms is not None or row.expires_ms < self.clock():
                return None
            return DashboardSession(account_id=row.account_id, csrf=row.csrf, expires_ms=row.expires_ms)

    def end_dashboard_session(self, token: str) -> None:
        """End a session (sign-out): its cookie opens nothing any more, even if a copy of it survives."""
        with self._write() as session:
            row = session.get(DashboardSessionRow, token_hash(token))
            if row is not None and row.ended_ms is None:
                row.ended_ms = self.clock()

    def live_version(self, account_id: int) -> tuple[int, int, int]:
        """Return when the account, the market and the account's orders last changed (ms each).

        Three indexed aggregates instead of rebuilding the account: a live page re-reads the account only
        when this changes (every write stamps one of them).
        """
        with self._read() as session:
            account = session.scalar(select(AccountRow.updated_ms).where(AccountRow.id == account_id))
            market = session.scalar(select(func.max(MarketRow.updated_ms)))
            orders = session.scalar(
                select(func.max(OrderRow.updated_ms)).where(OrderRow.account_id == account_id)
            )
        return account or 0, market or 0, orders or 0

    def funding_totals(self, account_id: int) -> tuple[Decimal, Decimal]:
        """Return (paid, received) funding of the account so far, both >= 0 (USDT)."""
        with self._read() as session:
            amounts = session.scalars(
                select(IncomeRow.amount).where(
                    IncomeRow.account_id == account_id, IncomeRow.income_type == "FUNDING_FEE"
                )
            ).all()
        paid = -sum((a for a in amounts if a < ZERO), ZERO)
        return paid, sum((a for a in amounts if a > ZERO), ZERO)

    def account(self, account_id: int) -> AccountView:
        """Return the account report (balances, bonus, positions)."""
        with self.sql.transaction(
            write=False
        ) as tx:  # plain SQL, one snapshot, no lock (like the order path)
            row, market, reserved = tx.begin_read(account_id)
            book = self._raw_book(tx, row, market)
        if book.stored is not None:  # a state read at the row's version: cached (a newer one wins)
            self._publish({account_id: book.stored})
        return account_view(book.account, book.row, reserved, self.clock())

    def accounts(self) -> list[AccountView]:
        """Return every account's report (the ``venue accounts`` listing)."""
        with self._read() as session:
            ids = session.scalars(select(AccountRow.id).order_by(AccountRow.id)).all()
        return [self.account(i) for i in ids]

    @staticmethod
    def _open_orders(session: Session, account_id: int, symbol: str | None = None) -> list[OrderRow]:
        query = select(OrderRow).where(
            OrderRow.account_id == account_id, OrderRow.status.in_(OPEN), OrderRow.algo.is_(False)
        )
        if symbol is not None:
            query = query.where(OrderRow.symbol == symbol)
        return list(session.scalars(query.order_by(OrderRow.id)).all())

    # ------------------------------------------------------------------ settings
    def set_margin_type(self, account_id: int, symbol: str, mode: MarginMode) -> None:
        """Switch ``symbol`` between cross and isolated (Binance: only when flat and without open orders)."""
        native = self.symbol(symbol)
        with self._account_tx(account_id) as book:
            if book.account.settings(native).mode is mode:
                raise VenueError(-4046)
            if any(o.symbol == native for o in self._all_open(book.orm(), account_id)):
                raise VenueError(-4047)
            before = state.total_balance(book.account)
            try:
                events = book.account.set_margin_mode(native, mode)
            except OperationRejected as exc:
                if exc.rule.endswith("mode_switch"):
                    raise VenueError(-4048) from None
                raise
            self._commit_state(book, before, events)

    def set_leverage(self, account_id: int, symbol: str, leverage: int) -> tuple[int, Decimal | None]:
        """Set ``symbol``'s leverage; return it and the largest notional it allows."""
        native = self.symbol(symbol)
        instrument = self.rules.instrument(native)
        if not (1 <= leverage <= instrument.max_leverage):
            raise VenueError(-4028, leverage=leverage)
        with self._account_tx(account_id) as book:
            before = state.total_balance(book.account)
            try:
                events = book.account.set_leverage(native, Decimal(leverage))
            except InsufficientMargin:
                raise VenueError(-2019) from None
            except OperationRejected as exc:
                if exc.rule.endswith("max_leverage"):
                    raise VenueError(-2027) from None
                raise
            self._commit_state(book, before, events)
        return leverage, max_notional(instrument, Decimal(leverage))

    def set_position_mode(self, account_id: int, *, hedge: bool) -> None:
        """Switch one-way / hedge mode (only when flat, without open orders)."""
        wanted = PositionMode.HEDGE if hedge else PositionMode.ONE_WAY
        with self._account_tx(account_id) as book:
            if book.account.position_mode is wanted:
                raise VenueError(-4059)
            if self._all_open(book.orm(), account_id):
                raise VenueError(-4067)
            if book.account.positions:
                raise VenueError(-4068)
            book.account.set_position_mode(wanted)
            book.row.position_mode = str(wanted)
            self._save(book, self.clock())

    def symbol_configs(self, account_id: int, symbol: str | None) -> list[tuple[str, MarginMode, Decimal]]:
        """Return (symbol, margin mode, leverage) for one or every listed symbol."""
        symbols = [self.symbol(symbol)] if symbol else list(self.listed_symbols())
        view = self._engine_account(account_id)
        return [(s, view.settings(s).mode, view.settings(s).leverage) for s in symbols]

    def _engine_account(self, account_id: int) -> Account:
        with self._read() as session:
            return self._lock_and_load(session, account_id, self._market(session)).account

    @staticmethod
    def _all_open(session: Session, account_id: int) -> list[OrderRow]:
        return list(
            session.scalars(
                select(OrderRow).where(OrderRow.account_id == account_id, OrderRow.status.in_(OPEN))
            ).all()
        )

    # ------------------------------------------------------------------ margin
    def modify_margin(
        self, account_id: int, symbol: str, kind: int, amount: Decimal, side: str | None
    ) -> None:
        """Add (``kind`` 1) or remove (2) isolated margin of the position in ``symbol``."""
        native = self.symbol(symbol)
        if kind not in (1, 2):
            raise VenueError(-1130, "type must be 1 (add) or 2 (reduce)")
        if not amount.is_finite() or amount <= ZERO:
            raise VenueError(-4055)
        with self._account_tx(account_id) as book:
            engine_side = self.trader.hedge_side(book.account, side)
            positions = [p for p in book.account.positions if p.symbol == native]
            if engine_side is not None:
                positions = [p for p in positions if p.side is engine_side]
            if not positions:
                raise VenueError(-4054)
            pos = positions[0]
            if pos.mode is not MarginMode.ISOLATED:
                raise VenueError(-4049)
            before = state.total_balance(book.account)
            try:
                if kind == 1:
                    events = book.account.add_margin(native, amount, side=pos.side)
                else:
                    events = book.account.remove_margin(native, amount, side=pos.side)
            except InsufficientMargin:
                raise VenueError(-4050 if kind == 1 else -4051) from None
            book.orm().add(
                MarginChangeRow(
                    account_id=account_id,
                    symbol=native,
                    type=kind,
                    amount=amount,
                    position_side=self.trader.position_side_of(book.account, pos.side),
                    time_ms=self.clock(),
                )
            )
            self._commit_state(book, before, events)

    def margin_history(
        self, account_id: int, symbol: str, kind: int | None, limit: int
    ) -> list[MarginChangeRow]:
        """Return the manual margin changes of ``symbol``, oldest first."""
        native = self.symbol(symbol)
        with self._read() as session:
            query = select(MarginChangeRow).where(
                MarginChangeRow.account_id == account_id, MarginChangeRow.symbol == native
            )
            if kind is not None:
                query = query.where(MarginChangeRow.type == kind)
            return list(session.scalars(query.order_by(MarginChangeRow.id.desc()).limit(limit)).all())[::-1]

    # ------------------------------------------------------------------ orders
    def place_order(self, account_id: int, request: OrderRequest) -> OrderRecord:
        """Place an order; market orders (and marketable limits) fill at once, in the same transaction."""
        native = self.symbol(request.symbol)
        # the order path: plain SQL on one pooled connection (rawsql), same locks and one transaction
        try:
            with self._account_lock(account_id), self._write_lock, self.sql.transaction() as tx:
                row, market, reserved = tx.begin_order(account_id)
                book = self._raw_book(tx, row, market)
                before = state.total_balance(book.account)
                order, events = self.trader.place(book, native, request, reserved, self.clock())
                order.id = tx.insert_order(order)
                self._commit_state(book, before, events, trade_id=str(order.id))
        except self.sql.integrity_error as exc:  # uq_orders_client_id: a duplicate client order id
            if "client_order_id" in str(exc) or "uq_orders_client_id" in str(exc):
                raise VenueError(-4116) from None
            raise
        if book.stored is not None:
            self._publish({account_id: book.stored})
        return order

    def cancel_order(
        self, account_id: int, symbol: str, order_id: int | None, client_id: str | None, *, algo: bool
    ) -> OrderRow:
        """Cancel an open order (or algo order) by id or client id."""
        native = self.symbol(symbol)
        with self._account_tx(account_id) as book:
            order = self._find_order(book.orm(), account_id, native, order_id, client_id, algo=algo)
            if order is None or order.status not in OPEN:
                raise VenueError(-2011)
            order.status = "CANCELED"
            order.reserved = ZERO
            order.updated_ms = self.clock()
            return order

    def cancel_all(self, account_id: int, symbol: str, *, algo: bool) -> int:
        """Cancel every open (algo) order of ``symbol``; return how many."""
        native = self.symbol(symbol)
        with self._account_tx(account_id) as book:
            count = 0
            for order in self._all_open(book.orm(), account_id):
                if order.symbol == native and order.algo is algo:
                    order.status, order.reserved, order.updated_ms = "CANCELED", ZERO, self.clock()
                    count += 1
            return count

    def get_order(
        self, account_id: int, symbol: str, order_id: int | None, client_id: str | None, *, algo: bool
    ) -> OrderRow:
        """Return one order of the account."""
        native = self.symbol(symbol)
        with self._read() as session:
            order = self._find_order(session, account_id, native, order_id, client_id, algo=algo)
        if order is None:
            raise VenueError(-2013)
        return order

    def get_algo_order(
        self, account_id: int, symbol: str | None, algo_id: int | None, client_id: str | None
    ) -> OrderRow:
        """Return one conditional order by id or client id (the symbol is optional, as on Binance)."""
        if algo_id is None and not client_id:
            raise VenueError(-1102, param="algoId")
        with self._read() as session:
            query = select(OrderRow).where(OrderRow.account_id == account_id, OrderRow.algo.is_(True))
            if symbol:
                query = query.where(OrderRow.symbol == self.symbol(symbol))
            if algo_id is not None:
                query = query.where(OrderRow.id == algo_id)
            else:
                query = query.where(OrderRow.client_order_id == client_id)
            order = session.scalar(query)
        if order is None:
            raise VenueError(-2013)
        return order

    def max_notional(self, symbol: str, leverage: Decimal) -> Decimal | None:
        """Return the largest notional ``symbol`` allows at ``leverage`` (None: no cap)."""
        return max_notional(self.rules.instrument(symbol), leverage)

    @staticmethod
    def _find_order(
        session: Session,
        account_id: int,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
        *,
        algo: bool,
    ) -> OrderRow | None:
        if order_id is None and not client_id:
            raise VenueError(-1102, param="orderId")
        query = select(OrderRow).where(
            OrderRow.account_id == account_id, OrderRow.symbol == symbol, OrderRow.algo.is_(algo)
        )
        if order_id is not None:
            query = query.where(OrderRow.id == order_id)
        else:
            query = query.where(OrderRow.client_order_id == client_id)
        return session.scalar(query)

    def orders(
        self, account_id: int, symbol: str | None, *, open_only: bool, algo: bool, limit: int = 500
    ) -> list[OrderRow]:
        """Return the account's orders (open ones only, or all), oldest first."""
        native = self.symbol(symbol) if symbol else None
        with self._read() as session:
            query = select(OrderRow).where(OrderRow.account_id == account_id, OrderRow.algo.is_(algo))
            if native is not None:
                query = query.where(OrderRow.symbol == native)
            if open_only:
                query = query.where(OrderRow.status.in_(OPEN))
            return list(session.scalars(query.order_by(OrderRow.id.desc()).limit(limit)).all())[::-1]

    def trades(self, account_id: int, symbol: str, limit: int) -> list[TradeRow]:
        """Return the account's fills in ``symbol``, oldest first."""
        native = self.symbol(symbol)
        with self._read() as session:
            query = select(TradeRow).where(TradeRow.account_id == account_id, TradeRow.symbol == native)
            return list(session.scalars(query.order_by(TradeRow.id.desc()).limit(limit)).all())[::-1]

    def income(
        self,
        account_id: int,
        *,
        symbol: str | None,
        income_type: str | None,
        start: int | None,
        end: int | None,
        limit: int,
    ) -> list[IncomeRow]:
        """Return the income ledger, oldest first, filtered like Binance's ``/fapi/v1/income``."""
        with self._read() as session:
            query = select(IncomeRow).where(IncomeRow.account_id == account_id)
            if symbol:
                query = query.where(IncomeRow.symbol == symbol.upper())
            if income_type:
                query = query.where(IncomeRow.income_type == income_type)
            if start is not None:
                query = query.where(IncomeRow.time_ms >= start)
            if end is not None:
                query = query.where(IncomeRow.time_ms <= end)
            return list(session.scalars(query.order_by(IncomeRow.id).limit(limit)).all())

    def ledger_total(self, account_id: int) -> Decimal:
        """Return the sum of the income ledger (equals the total balance: the replay check)."""
        with self._read() as session:
            amounts = session.scalars(
                select(IncomeRow.amount).where(IncomeRow.account_id == account_id)
            ).all()
        return sum(amounts, ZERO)

    # ------------------------------------------------------------------ market
    def market(self) -> dict[str, MarketRow]:
        """Return the current market rows by symbol."""
        with self._read() as session:
            return self._market(session)

    def ticks(self, symbol: str, start: int | None, end: int | None) -> list[PriceTickRow]:
        """Return the recorded price updates of ``symbol`` in ``[start, end]``, oldest first."""
        with self._read() as session:
            query = select(PriceTickRow).where(PriceTickRow.symbol == symbol)
            if start is not None:
                query = query.where(PriceTickRow.time_ms >= start)
            if end is not None:
                query = query.where(PriceTickRow.time_ms <= end)
            return list(session.scalars(query.order_by(PriceTickRow.time_ms, PriceTickRow.id)).all())

    def seed_prices(self, prices: Mapping[str, Decimal]) -> None:
        """Give symbols without a price one (at start-up); symbols already priced keep theirs."""
        with self._write() as session:
            have = set(session.scalars(select(MarketRow.symbol)).all())
        fresh = {s: p for s, p in prices.items() if s not in have}
        if fresh:
            self.update_prices({s: (p, p) for s, p in fresh.items()})

    def update_prices(
        self,
        prices: Mapping[str, tuple[Decimal, Decimal]],
        *,
        funding_rates: Mapping[str, Decimal] | None = None,
    ) -> int:
        """Record new (mark, last) prices and run the liquidation check, stops and limit fills, atomically.

        Every account whose position in a moved symbol could be at its liquidation price (the float hint
        with a relative slack, or any account whose hint is not exact) is loaded and re-checked by the
        engine, in the same transaction that records the marks. Returns the number of accounts checked.
        """
        now = self.clock()
        for symbol, (mark, last) in prices.items():
            self.rules.instrument(symbol)
            if not (mark.is_finite() and last.is_finite() and mark > ZERO and last > ZERO):
                raise VenueError(-1130, f"prices of {symbol} must be > 0")
        with self._write() as session:
            market = self._market(session)
            for symbol, (mark, last) in prices.items():
                row = market.get(symbol)
                rate = (funding_rates or {}).get(symbol)
                if row is None:
                    row = MarketRow(
                        symbol=symbol,
                        mark=mark,
                        last=last,
                        index_price=mark,
                        funding_rate=self.settings.default_funding_rate if rate is None else rate,
                        next_funding_ms=self._next_funding(now),
                        updated_ms=now,
                    )
                    session.add(row)
                    market[symbol] = row
                else:
                    row.mark, row.last, row.index_price, row.updated_ms = mark, last, mark, now
                    if rate is not None:
                        row.funding_rate = rate
                session.add(PriceTickRow(symbol=symbol, time_ms=now, mark=mark, last=last))
            session.flush()
            ids = self._sweep_candidates(session, prices)
            open_orders = self._preload(session, ids, market)
            for account_id in ids:
                self._recheck(session, account_id, market, set(prices), open_orders.get(account_id, []))
            return len(ids)

    def _preload(
        self, session: Session, ids: Sequence[int], market: dict[str, MarketRow]
    ) -> dict[int, list[OrderRow]]:
        """Read many accounts at once for a sweep: their rows (locked), states and open orders.

        A few statements per :data:`SWEEP_CHUNK` accounts instead of several per account. Account rows
        stay in the session (``_lock_and_load(…, lock=False)`` finds them without a query); states not in
        the cache at the row's version are rebuilt from bulk-read rows. Returns each account's open orders.
        """
        marks = {symbol: m.mark for symbol, m in market.items()}
        loaded: dict[int, state.Stored] = session.info.setdefault(LOADED, {})
        open_orders: dict[int, list[OrderRow]] = {}
        held: dict[int, AccountRow] = session.info.setdefault(ROWS, {})
        fresh = {"populate_existing": True}
        for start in range(0, len(ids), SWEEP_CHUNK):
            chunk = list(ids[start : start + SWEEP_CHUNK])
            query = select(AccountRow).where(AccountRow.id.in_(chunk)).order_by(AccountRow.id)
            rows = {r.id: r for r in session.scalars(query.with_for_update() if self._postgres else query)}
            held.update(rows)  # the session's identity map holds objects weakly
            stale = []
            for account_id, row in rows.items():
                cached = self._cache.get(account_id)
                if cached is None or cached.version != row.version:
                    stale.append(account_id)
            if stale:
                positions: dict[int, list[PositionRow]] = {i: [] for i in stale}
                settings: dict[int, list[SymbolSettingRow]] = {i: [] for i in stale}
                for p in session.scalars(
                    select(PositionRow).where(PositionRow.account_id.in_(stale)).execution_options(**fresh)
                ):
                    positions[p.account_id].append(p)
                for s in session.scalars(
                    select(SymbolSettingRow)
                    .where(SymbolSettingRow.account_id.in_(stale))
                    .execution_options(**fresh)
                ):
                    settings[s.account_id].append(s)
                for i in stale:
                    loaded[i] = state.stored_from_rows(self.rules, rows[i], positions[i], settings[i], marks)
            for order in session.scalars(
                select(OrderRow)
                .where(OrderRow.account_id.in_(chunk), OrderRow.status.in_(OPEN))
                .order_by(OrderRow.id)
            ):
                open_orders.setdefault(order.account_id, []).append(order)
        return open_orders

    def _sweep_candidates(self, session: Session, prices: Mapping[str, tuple[Decimal, Decimal]]) -> list[int]:
        ids: set[int] = set()
        for symbol, (mark, _last) in prices.items():
            price = float(mark)
            hit = or_(
                PositionRow.hint_exact.is_(False),
                and_(PositionRow.side == "long", PositionRow.liq_price_hint >= price * (1 - HINT_TOLERANCE)),
                and_(PositionRow.side == "short", PositionRow.liq_price_hint <= price * (1 + HINT_TOLERANCE)),
            )
            ids.update(
                session.scalars(
                    select(PositionRow.account_id).where(PositionRow.symbol == symbol, hit).distinct()
                ).all()
            )
            ids.update(
                session.scalars(
                    select(OrderRow.account_id)
                    .where(OrderRow.symbol == symbol, OrderRow.status.in_(OPEN))
                    .distinct()
                ).all()
            )
        return sorted(ids)

    def _recheck(
        self,
        session: Session,
        account_id: int,
        market: dict[str, MarketRow],
        moved: set[str],
        open_orders: list[OrderRow],
    ) -> None:
        """Liquidation check of one account (row locked by :meth:`_preload`) at the new marks, then its
        triggered and crossed orders (``open_orders``: the account's open orders, read by the preload)."""
        book = self._lock_and_load(session, account_id, market, lock=False)
        before = state.total_balance(book.account)
        events = book.account.update_marks({s: market[s].mark for s in moved})
        liquidated = {e.symbol for e in events if isinstance(e, ev.Liquidated)}
        for order in open_orders:
            if order.symbol in liquidated:  # Binance cancels a liquidated symbol's open orders
                order.status, order.reserved, order.updated_ms = "CANCELED", ZERO, self.clock()
        self._commit_state(book, before, events)
        for order in open_orders:
            if order.symbol in moved and order.status in OPEN:
                self._try_trigger(session, account_id, order, market)

    def _try_trigger(
        self, session: Session, account_id: int, order: OrderRow, market: dict[str, MarketRow]
    ) -> None:
        book = self._lock_and_load(session, account_id, market, lock=False)  # locked by the sweep
        if not self.trader.triggered(order, market[order.symbol]):
            return
        before = state.total_balance(book.account)
        savepoint = session.begin_nested()
        try:
            reserved = sum(
                (o.reserved for o in self._open_orders(session, account_id) if o.id != order.id), ZERO
            )
            events = self.trader.execute_resting(book, order, reserved, self.clock())
            self._commit_state(book, before, events, trade_id=str(order.id))
            savepoint.commit()
        except (VenueError, OperationRejected) as exc:
            savepoint.rollback()
            session.info[PENDING].pop(account_id, None)  # the state saved in the savepoint is gone
            order.status = "EXPIRED"
            order.reserved = ZERO
            order.updated_ms = self.clock()
            del exc

    def settle_funding(self, symbol: str, rate: Decimal | None = None) -> int:
        """Settle funding of ``symbol`` at ``rate`` (default: the market's current rate) for every position.

        Returns the number of positions that paid or received funding.
        """
        now = self.clock()
        with self._write() as session:
            market = self._market(session)
            row = market.get(symbol)
            if row is None:
                raise VenueError(-1121)
            rate = row.funding_rate if rate is None else rate
            ids = sorted(
                set(session.scalars(select(PositionRow.account_id).where(PositionRow.symbol == symbol)).all())
            )
            self._preload(session, ids, market)
            for account_id in ids:
                book = self._lock_and_load(session, account_id, market, lock=False)
                before = state.total_balance(book.account)
                events = book.account.apply_funding({symbol: rate})
                self._commit_state(book, before, events)
            row.next_funding_ms = self._next_funding(now + 1)
            return len(ids)

    def settle_due_funding(self) -> int:
        """Settle every symbol whose next funding time has passed; return the number of symbols settled."""
        now = self.clock()
        due = [m.symbol for m in self.market().values() if m.next_funding_ms <= now]
        for symbol in due:
            self.settle_funding(symbol)
        return len(due)

    def _next_funding(self, now_ms: int) -> int:
        period = self.settings.funding_interval_hours * 3_600_000
        return (now_ms // period + 1) * period

    def counts(self) -> dict[str, int]:
        """Return row counts (accounts, positions, open orders) for the listing."""
        with self._read() as session:
            return {
                "accounts": session.scalar(select(func.count()).select_from(AccountRow)) or 0,
                "positions": session.scalar(select(func.count()).select_from(PositionRow)) or 0,
                "open_orders": session.scalar(
                    select(func.count()).select_from(OrderRow).where(OrderRow.status.in_(OPEN))
                )
                or 0,
            }


INTERVALS_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}


def candles(
    ticks: Sequence[PriceTickRow], interval_ms: int, *, mark: bool, limit: int
) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, int]]:
    """Aggregate price updates into candles: (open time ms, open, high, low, close, number of updates).

    Only intervals with at least one update appear (the venue records prices, not trades); the newest
    ``limit`` are returned, oldest first.
    """
    out: list[tuple[int, Decimal, Decimal, Decimal, Decimal, int]] = []
    for tick in ticks:
        price = tick.mark if mark else tick.last
        start = tick.time_ms // interval_ms * interval_ms
        if out and out[-1][0] == start:
            t, o, h, lo, _, n = out[-1]
            out[-1] = (t, o, max(h, price), min(lo, price), price, n + 1)
        else:
            out.append((start, price, price, price, price, 1))
    return out[-limit:]

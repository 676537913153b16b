"""The account aggregate: wallets, positions in cross and isolated mode side by side, and every operation.

Every operation is atomic: it either applies in full and returns the past-tense events it caused, or raises
:class:`~marginlab.errors.MarginLabError` and leaves the account exactly as it was. Money is conserved:
cross wallets + isolated margins + fees paid + insurance-fund delta always equal deposits plus the trading
PnL against the market plus funding received (``tests/unit/domain/test_conservation.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal, localcontext

from marginlab.domain import events as ev
from marginlab.domain.collateral import AssetRate, CollateralTable, MultiAssetsMargin
from marginlab.domain.enums import (
    IsolatedFunding,
    LiquidationStyle,
    Liquidity,
    MarginMode,
    ModeSwitchPolicy,
    PositionMode,
    RemoveMarginCap,
    Side,
)
from marginlab.domain.instrument import Instrument
from marginlab.domain.liquidation import Leg, equity_minus_requirement, solve_price
from marginlab.domain.position import Position
from marginlab.domain.precision import (
    EIGHT_DECIMALS,
    ENGINE_PRECISION,
    FINEST,
    ZERO,
    money_step,
    positive,
    price_step,
    quantize,
    to_decimal,
    to_enum,
)
from marginlab.domain.tiers import TierBasis
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, InsufficientMargin, OperationRejected

ONE = Decimal(1)
Key = tuple[str, Side]
SOLVED_PRICE_DIGITS = 28
Number = Decimal | int | str


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolSettings:
    """Per-symbol margin mode and leverage (what the venue remembers when flat)."""

    mode: MarginMode
    leverage: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoAddMargin:
    """Top up isolated positions from the cross wallet before they liquidate.

    When a position's margin ratio (maintenance / equity) reaches ``trigger`` (e.g. 0.8 == 80 %), enough
    margin is added to bring it back to ``target``, as far as the cross wallet allows.
    """

    trigger: Decimal = Decimal("0.8")
    target: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", to_decimal("auto_add_margin.trigger", self.trigger))
        object.__setattr__(self, "target", to_decimal("auto_add_margin.target", self.target))
        if not (ZERO < self.target < self.trigger <= ONE):
            raise InputError(
                "auto_add_margin",
                f"trigger={self.trigger}, target={self.target}",
                "0 < target < trigger <= 1",
            )


def _liquidated(
    pos: Position,
    price: Decimal,
    bankruptcy: Decimal | None,
    realized: Decimal,
    loss: Decimal,
    *,
    fee: Decimal,
    fund: Decimal,
) -> ev.Liquidated:
    """The ``Liquidated`` event of ``pos`` (its fields as it stood) closed at ``price``.

    ``realized`` is the PnL realized (< 0: lost), ``loss`` the collateral lost (= -realized, passed as
    computed so its sign of zero is kept), ``fee`` the liquidation fee, ``fund`` the insurance fund's delta.
    """
    return ev.Liquidated(
        **pos.snapshot(),
        price=price,
        bankruptcy_price=bankruptcy,
        realized_pnl=realized,
        liquidation_fee=fee,
        insurance_fund_delta=fund,
        loss=loss,
    )


def _positive(field: str, value: object) -> Decimal:
    return positive(field, value)


def _symbol(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("symbol", value, "a symbol such as 'BTCUSDT' or 'BTC/USDT:USDT'")
    return value


class Account:
    """A margin account on one venue.

    Parameters
    ----------
    venue : Venue
        Rule set: tiers, fees, and the venue's policies.
    balances : Mapping[str, Decimal]
        Initial cross wallet balance per asset (>= 0).
    position_mode : PositionMode
        One-way (one position per symbol) or hedge (one per side).
    insurance_fund : Decimal or None
        Balance of the venue's insurance fund available to this account; None models a fund deep
        enough never to need auto-deleveraging. The fund's net gains from this account are tracked either way.
    auto_add_margin : AutoAddMargin or None
        Optional policy topping up isolated positions from the cross wallet.
    multi_assets : bool
        Binance's Multi-Assets mode: every cross position, whatever its settlement asset, draws on one pool
        of every wallet asset valued in USD (see the "Multi-Assets mode" section below and
        :mod:`marginlab.domain.collateral`). Cross only. Refused on a venue without a collateral table.
    index_prices : Mapping[str, Decimal] or None
        Multi-Assets mode: USD index per asset (stablecoins default to 1; a coin without one is priced by
        the mark of its table perpetual once the account knows it).
    collateral : CollateralTable or None
        Multi-Assets mode: the collateral table (default: the venue's).
    """

    def __init__(
        self,
        venue: Venue,
        *,
        balances: Mapping[str, Decimal] | None = None,
        position_mode: PositionMode = PositionMode.ONE_WAY,
        insurance_fund: Decimal | None = None,
        auto_add_margin: AutoAddMargin | None = None,
        multi_assets: bool = False,
        index_prices: Mapping[str, Decimal] | None = None,
        collateral: CollateralTable | None = None,
    ) -> None:
        if not isinstance(venue, Venue):
            raise InputError("venue", venue, "a Venue (marginlab.rules.get_venue(name))")
        position_mode = to_enum("position_mode", position_mode, PositionMode)
        if insurance_fund is not None:
            insurance_fund = to_decimal("insurance_fund", insurance_fund)
            if insurance_fund < ZERO:
                raise InputError("insurance_fund", insurance_fund, "a number >= 0, or None")
        if auto_add_margin is not None and not isinstance(auto_add_margin, AutoAddMargin):
            raise InputError("auto_add_margin", auto_add_margin, "an AutoAddMargin or None")
        if position_mode is PositionMode.HEDGE and not venue.supports_hedge:
            raise OperationRejected(
                f"{venue.name}.position_mode", f"{venue.title} has no hedge mode (one-way only)"
            )
        self.venue = venue
        self.money_step = money_step(venue.name)
        self.position_mode = position_mode
        self.auto_add_margin = auto_add_margin
        self._auto_add_by_symbol: dict[str, AutoAddMargin] = {}
        self._wallets: dict[str, Decimal] = {}
        self._positions: dict[Key, Position] = {}
        self._settings: dict[str, SymbolSettings] = {}
        self._fund_capacity = insurance_fund
        self.insurance_fund = ZERO
        self.fees_paid = ZERO
        self.deposits = ZERO
        self.trading_pnl = ZERO
        self.funding = ZERO
        self.ledger: list[ev.Event] = []
        self.multi_assets = multi_assets
        self.collateral: CollateralTable | None = None
        self._index: dict[str, Decimal] = {}
        self._index_marks: dict[str, Decimal] = {}
        self.collateral_seized: dict[str, Decimal] = {}
        if multi_assets:
            self._enter_multi_assets(collateral or venue.collateral, index_prices or {})
        elif index_prices or collateral is not None:
            raise InputError(
                "multi_assets", multi_assets, "true when index prices or a collateral table are given"
            )
        if balances is not None and not isinstance(balances, Mapping):
            raise InputError("balances", balances, 'a mapping of asset to amount, e.g. {"USDT": 10000}')
        for asset, value in (balances or {}).items():
            amount = to_decimal(f"balances.{asset}", value)
            if amount < ZERO:
                raise InputError(f"balances.{asset}", amount, "a number >= 0")
            if amount > ZERO:
                self.deposit(asset, amount)
            else:
                self._wallets.setdefault(asset, ZERO)

    def __repr__(self) -> str:
        """Return a one-line summary: venue, position mode, cross balances and positions per margin mode."""
        balances = ", ".join(
            f"{asset} {amount.normalize():f}" for asset, amount in sorted(self._wallets.items())
        )
        counts = {mode: sum(p.mode is mode for p in self._positions.values()) for mode in MarginMode}
        return (
            f"<Account {self.venue.name} {self.position_mode}: {balances or 'no balance'}; "
            f"{counts[MarginMode.CROSS]} cross, {counts[MarginMode.ISOLATED]} isolated>"
        )

    # ------------------------------------------------------------------ reading
    @property
    def positions(self) -> tuple[Position, ...]:
        """Return the open positions in the order they were opened."""
        return tuple(self._positions.values())

    def wallet(self, asset: str) -> Decimal:
        """Return the cross wallet balance of ``asset`` (isolated margins excluded)."""
        return self._wallets.get(asset, ZERO)

    @property
    def wallets(self) -> dict[str, Decimal]:
        """Return a copy of the cross wallet balances."""
        return dict(self._wallets)

    def settings(self, symbol: str) -> SymbolSettings:
        """Return the symbol's margin mode and leverage (venue defaults if never set)."""
        native = self.venue.resolve_symbol(symbol)
        return self._settings.get(
            native, SymbolSettings(mode=MarginMode.CROSS, leverage=self.venue.default_leverage)
        )

    def position(self, symbol: str, side: Side | str | None = None) -> Position:
        """Return the open position of ``symbol`` (``side`` is needed only in hedge mode with both sides)."""
        return self._positions[self._key(symbol, side)]

    def leg(self, position: Position) -> Leg:
        """Return the liquidation-condition leg of ``position`` under this venue's rules."""
        fee = position.instrument.taker_fee if self.venue.fee_in_liquidation else ZERO
        return Leg(
            side=position.side,
            qty=position.qty,
            entry=position.entry,
            instrument=position.instrument,
            close_fee_rate=fee,
            basis=self.venue.maintenance_basis,
        )

    def maintenance_margin(self, position: Position, price: Decimal | None = None) -> Decimal:
        """Return the maintenance requirement at ``price`` (default: mark), incl. the venue's close fee."""
        return self.leg(position).maintenance(position.mark if price is None else price)

    def cross_positions(self, settle: str) -> list[Position]:
        """Return the cross positions margined in ``settle``."""
        return [
            p
            for p in self._positions.values()
            if p.mode is MarginMode.CROSS and p.instrument.settle == settle
        ]

    def cross_margin_balance(self, settle: str) -> Decimal:
        """Return cross wallet + unrealized PnL of the cross positions at mark."""
        return self.wallet(settle) + sum((p.unrealized_pnl() for p in self.cross_positions(settle)), ZERO)

    def cross_maintenance_margin(self, settle: str) -> Decimal:
        """Return the summed maintenance requirement of the cross positions at mark."""
        return sum((self.maintenance_margin(p) for p in self.cross_positions(settle)), ZERO)

    def cross_initial_margin(self, settle: str) -> Decimal:
        """Return the summed initial margin of the cross positions at mark."""
        return sum((p.initial_margin() for p in self.cross_positions(settle)), ZERO)

    def available_balance(self, settle: str) -> Decimal:
        """Return what new orders or isolated margin may use: cross wallet + cross uPnL - cross IM.

        Multi-Assets mode: ``uniAvailableForOrder / askRate(settle)``, in ``settle`` units.
        """
        if self.multi_assets:
            return self.multi_assets_margin(also=(settle,)).available_for_order(settle)
        return self.cross_margin_balance(settle) - self.cross_initial_margin(settle)

    def position_equity(self, position: Position) -> Decimal:
        """Return the equity backing a position: isolated margin + uPnL, or the cross margin balance."""
        if position.mode is MarginMode.ISOLATED:
            return position.margin + position.unrealized_pnl()
        if self.multi_assets:  # the USD account equity, in settle units at the ask rate
            settle = position.instrument.settle
            return self.multi_assets_margin().account_equity() / self.collateral_rate(settle).ask_rate
        return self.cross_margin_balance(position.instrument.settle)

    def margin_ratio(self, position: Position) -> Decimal | None:
        """Return maintenance / equity of the position's margin pool (1: liquidation); None if equity <= 0."""
        if position.mode is MarginMode.ISOLATED:
            equity, mm = (
                position.margin + position.unrealized_pnl(),
                self.maintenance_margin(position),
            )
        elif self.multi_assets:
            return self.multi_assets_margin().margin_ratio()
        else:
            settle = position.instrument.settle
            equity = self.cross_margin_balance(settle)
            mm = self.cross_maintenance_margin(settle)
        return mm / equity if equity > ZERO else None

    def liquidation_price(self, position: Position) -> Decimal | None:
        """Return the mark price at which the position liquidates, or None if no positive price does.

        Isolated: the position's own margin backs it. Cross: the cross wallet plus the other cross positions'
        unrealized PnL minus their maintenance margin at their marks back every cross position of the symbol,
        so in hedge mode both sides share one price (Binance FAQ b3c689c1f50a44cabb3a84e663b81d93).
        """
        if self.multi_assets and position.mode is MarginMode.CROSS:
            return self._price(position.instrument, self._multi_assets_price(position, maintenance=True))
        legs, fixed = self._liquidation_group(position)
        return self._price(position.instrument, solve_price(legs, fixed, reference=position.mark))

    def bankruptcy_price(self, position: Position) -> Decimal | None:
        """Return the mark price at which the position's margin pool is exhausted, or None.

        Both prices are solved exactly (50 digits) and returned to 28 significant digits.
        """
        if self.multi_assets and position.mode is MarginMode.CROSS:
            return self._price(position.instrument, self._multi_assets_price(position, maintenance=False))
        legs, fixed = self._liquidation_group(position, maintenance=False)
        return self._price(
            position.instrument, solve_price(legs, fixed, reference=position.mark, maintenance=False)
        )

    # ------------------------------------------------------------- precision
    def _money(self, amount: Decimal) -> Decimal:
        """Round a quotient (a margin from a leverage, a pro-rata share) once, to 18 decimal places."""
        return quantize(amount, FINEST)

    @staticmethod
    def _price(instrument: Instrument, price: Decimal | None) -> Decimal | None:
        """Return a solved price (computed with 50 digits) to 28 significant digits.

        The exact solution is kept rather than rounded to the price step: it is what a bot compares with its
        exchange's figure (issue 8 point 6), and 28 digits are ~1e-23 from the exact root at any price
        below 1e5 — the golden tests hold it to 1e-20. Only displays round it further.
        """
        if price is None:
            return None
        with localcontext() as ctx:
            ctx.prec = SOLVED_PRICE_DIGITS
            return +price

    def _liquidation_group(
        self, position: Position, *, maintenance: bool = True
    ) -> tuple[list[Leg], Decimal]:
        if position.mode is MarginMode.ISOLATED:
            return [self.leg(position)], position.margin
        settle = position.instrument.settle
        group = [p for p in self.cross_positions(settle) if p.symbol == position.symbol]
        others = [p for p in self.cross_positions(settle) if p.symbol != position.symbol]
        fixed = self.wallet(settle)
        for other in others:
            fixed += other.unrealized_pnl()
            if maintenance:
                fixed -= self.maintenance_margin(other)
        return [self.leg(p) for p in group], fixed

    def is_liquidatable(self, position: Position) -> bool:
        """Return whether the position's margin pool is at or below its maintenance requirement at mark.

        An isolated position whose margin went negative (funding it owed exceeded its margin) is liquidatable
        whatever its unrealized PnL: an isolated position cannot borrow from the cross wallet.
        """
        if position.mode is MarginMode.ISOLATED:
            if position.margin < ZERO:
                return True
            return equity_minus_requirement([self.leg(position)], position.margin, position.mark) <= 0
        if self.multi_assets:
            return self.multi_assets_margin().is_liquidatable()
        settle = position.instrument.settle
        return self.cross_margin_balance(settle) <= self.cross_maintenance_margin(settle)

    # --------------------------------------------------------------- plumbing
    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """Restore every attribute if the block raises (positions are immutable, so shallow copies do)."""
        saved = {
            name: copy.copy(value) if isinstance(value, dict) else value
            for name, value in self.__dict__.items()
            if name != "ledger"
        }
        ledger_length = len(self.ledger)
        try:
            with localcontext() as ctx:
                ctx.prec = ENGINE_PRECISION  # products of amounts up to 1e24 stay exact at the money step
                yield
        except BaseException:
            self.__dict__.update(saved)
            del self.ledger[ledger_length:]
            raise

    def _record(self, events: list[ev.Event]) -> list[ev.Event]:
        self.ledger.extend(events)
        return events

    def _key(self, symbol: str, side: Side | str | None) -> Key:
        if not isinstance(symbol, str):
            raise InputError("symbol", symbol, "a symbol such as 'BTCUSDT' or 'BTC/USDT:USDT'")
        native = self.venue.resolve_symbol(symbol)
        if side is not None:
            side = to_enum("side", side, Side)
            if (native, side) not in self._positions:
                raise OperationRejected("position.exists", f"no open {side} position in {native}")
            return native, side
        sides = [s for (sym, s) in self._positions if sym == native]
        if not sides:
            raise OperationRejected("position.exists", f"no open position in {native}")
        if len(sides) > 1:
            raise InputError("side", None, f"long or short: {native} has both sides open")
        return native, sides[0]

    def _fee(self, instrument: Instrument, notional: Decimal, liquidity: Liquidity) -> Decimal:
        rate = instrument.taker_fee if liquidity is Liquidity.TAKER else instrument.maker_fee
        return notional * rate

    def _require_available(self, asset: str, amount: Decimal, what: str) -> None:
        available = self.available_balance(asset)
        if amount > available:
            raise InsufficientMargin(
                what=what, required=amount, available=available, rule="available_balance"
            )

    def _debit(self, asset: str, amount: Decimal, what: str) -> None:
        """Take ``amount`` from the cross wallet, keeping it within the available balance."""
        self._require_available(asset, amount, what)
        self._wallets[asset] = self.wallet(asset) - amount

    def _check_leverage(
        self, instrument: Instrument, leverage: Decimal, qty: Decimal, price: Decimal
    ) -> None:
        """Reject a leverage below 1 or above the max of the tier holding ``qty`` at ``price``."""
        if leverage < ONE:
            raise InputError("leverage", leverage, "a number >= 1")
        tier = instrument.tiers.tier_for(instrument.tier_size(qty, price))
        if leverage > tier.max_leverage:
            raise OperationRejected(
                f"{self.venue.name}.max_leverage",
                f"leverage {leverage} exceeds {instrument.symbol}'s maximum {tier.max_leverage} "
                f"at notional {qty * price}",
            )

    def _check_lot(self, instrument: Instrument, qty: Decimal) -> None:
        if qty < instrument.lot_size:
            raise InputError(
                "qty", qty, f"at least one lot: {instrument.symbol}'s lot size is {instrument.lot_size}"
            )
        if qty % instrument.lot_size != ZERO:
            raise InputError(
                "qty", qty, f"a multiple of {instrument.symbol}'s lot size {instrument.lot_size}"
            )

    # --------------------------------------------------------------- operations
    def deposit(self, asset: str, amount: Decimal | int | str) -> list[ev.Event]:
        """Add money to the cross wallet of ``asset`` (``amount`` > 0)."""
        if not isinstance(asset, str) or not asset:
            raise InputError("asset", asset, "an asset name such as 'USDT'")
        amount = _positive("amount", amount)
        if self.multi_assets:
            self._collateral_row(asset, f"balances.{asset}")
        with self._atomic():  # the engine's precision: a sum of two 1e24-sized amounts stays exact
            self._wallets[asset] = self.wallet(asset) + amount
            self.deposits += amount
            return self._record([ev.Deposited(asset=asset, amount=amount)])

    def import_position(
        self,
        instrument: Instrument,
        side: Side | str,
        qty: Number,
        entry: Number,
        *,
        mark: Number | None = None,
        leverage: Number | None = None,
        mode: MarginMode | str = MarginMode.CROSS,
        margin: Number | None = None,
    ) -> list[ev.Event]:
        """Place an existing position in the account as it stands (no fill, no fee, no liquidation check).

        The isolated ``margin`` (default ``qty * entry / leverage``) is deposited with it, since the
        account's balances are cross wallets. Leverage is checked against the tier at the entry notional.
        A position already at or past its liquidation at ``mark`` is accepted as it stands (a calculator
        must be able to show it) and flagged: ``PositionImported.liquidatable`` is True.
        """
        with self._atomic():
            if not isinstance(instrument, Instrument):
                raise InputError("instrument", instrument, "an Instrument (venue.instrument(symbol))")
            side = to_enum("side", side, Side)
            mode = to_enum("mode", mode, MarginMode)
            qty = _positive("qty", qty)
            entry = _positive("entry", entry)
            mark = entry if mark is None else _positive("mark", mark)
            leverage = self.venue.default_leverage if leverage is None else _positive("leverage", leverage)
            self._check_leverage(instrument, leverage, qty, entry)
            key = (instrument.symbol, side)
            if self.multi_assets:
                self._collateral_row(instrument.settle, f"{instrument.symbol}.settle")
            self._check_can_hold(instrument.symbol, side, mode)
            if mode is MarginMode.ISOLATED:
                margin = (
                    self._money(qty * entry / leverage) if margin is None else _positive("margin", margin)
                )
            else:
                if margin is not None:
                    raise InputError("margin", margin, "no margin for a cross position")
                margin = ZERO
            self._positions[key] = Position(
                instrument=instrument,
                side=side,
                qty=qty,
                entry=entry,
                mark=mark,
                leverage=leverage,
                mode=mode,
                margin=margin,
            )
            self._settings[instrument.symbol] = SymbolSettings(mode=mode, leverage=leverage)
            self.deposits += margin
            self._sync_marks(instrument.symbol, mark)
            liquidatable = self.is_liquidatable(self._positions[key])
            return self._record(
                [
                    ev.PositionImported(
                        symbol=instrument.symbol,
                        side=side,
                        qty=qty,
                        entry=entry,
                        mode=mode,
                        leverage=leverage,
                        margin=margin,
                        liquidatable=liquidatable,
                    )
                ]
            )

    def _check_can_hold(self, symbol: str, side: Side, mode: MarginMode) -> None:
        if self.multi_assets:
            self._require_multi_assets_cross(symbol, mode)
        if (symbol, side) in self._positions:
            raise OperationRejected(
                "position.exists", f"a {side} position in {symbol} is already open; use increase"
            )
        if self.position_mode is PositionMode.ONE_WAY and (symbol, side.opposite) in self._positions:
            raise OperationRejected(
                "one_way",
                f"one-way mode holds one position per symbol: {symbol} has a "
                f"{side.opposite} position open (close it, or use hedge mode)",
            )
        others = [p for (sym, _), p in self._positions.items() if sym == symbol]
        if others and others[0].mode is not mode and self.venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY:
            raise OperationRejected(
                f"{self.venue.name}.mode_switch",
                f"{symbol} is in {others[0].mode} mode with a position open; {self.venue.title} keeps "
                "one margin mode per symbol",
            )

    def _require_solvent_after_fill(self, key: Key, what: str) -> None:
        """Reject a fill that leaves the traded position's margin pool at or below its maintenance margin.

        A fill moves the symbol's mark to the fill price; other positions that this move pushes over the edge
        are then liquidated by the sweep, as after any mark update.
        """
        pos = self._positions[key]
        if self.is_liquidatable(pos):
            equity = self.position_equity(pos)
            required = (
                self.maintenance_margin(pos)
                if pos.mode is MarginMode.ISOLATED
                else self.cross_maintenance_margin(pos.instrument.settle)
            )
            if self.multi_assets and pos.mode is MarginMode.CROSS:
                margin = self.multi_assets_margin()
                ask = self.collateral_rate(pos.instrument.settle).ask_rate
                required = margin.account_maintenance_margin() / ask
            raise InsufficientMargin(
                what=f"{what} (the position would be liquidated at once)",
                required=required,
                available=equity,
                rule="maintenance_margin",
            )

    def _known_symbol(self, field: str, symbol: object) -> str:
        """Return the native symbol of ``symbol``, or refuse one the venue has no instrument for.

        A mark or a funding rate for a symbol the venue does not list (a typo, another venue's name) would
        otherwise be taken without effect and without a word.
        """
        native = self.venue.resolve_symbol(_symbol(symbol))
        if native not in self.venue.instruments:
            shown = native if len(native) <= 40 else native[:40] + "…"
            raise InputError(
                f"{field}.{shown}",
                shown,
                "",
                problem=(
                    f"unknown symbol {shown!r}: {self.venue.title} has no such instrument "
                    f"({self.venue.tier_snapshot}); fix the name, or define it (a script's [instruments])"
                ),
            )
        return native

    def _sync_marks(self, symbol: str, mark: Decimal) -> None:
        for key, pos in self._positions.items():
            if key[0] == symbol:
                self._positions[key] = pos.with_mark(mark)
        if self.multi_assets:
            self._index_marks[symbol] = mark  # the mark of a coin's table perpetual prices that coin

    def _entry_filled(self, key: Key, fill: ev.Filled, what: str) -> list[ev.Event]:
        """Finish an opening or increasing fill: the fill price becomes the symbol's mark, the filled
        position must stay solvent there, and the other positions are checked for liquidation."""
        self._sync_marks(fill.symbol, fill.price)
        self._require_solvent_after_fill(key, what)
        return self._record([fill, *self._liquidation_sweep()])

    def open(
        self,
        symbol: str,
        side: Side | str,
        qty: Number,
        price: Number,
        *,
        leverage: Number | None = None,
        mode: MarginMode | str | None = None,
        margin: Number | None = None,
        liquidity: Liquidity | str = Liquidity.TAKER,
    ) -> list[ev.Event]:
        """Open a new position at fill ``price``; the fee is paid from the cross wallet.

        ``mode`` and ``leverage`` default to the symbol's settings and become them. An isolated position
        takes ``margin`` (default ``qty * price / leverage``, at least that) from the cross wallet.
        """
        with self._atomic():
            instrument = self.venue.instrument(_symbol(symbol))
            side = to_enum("side", side, Side)
            liquidity = to_enum("liquidity", liquidity, Liquidity)
            qty = _positive("qty", qty)
            self._check_lot(instrument, qty)
            price = _positive("price", price)
            settings = self.settings(instrument.symbol)
            mode = settings.mode if mode is None else to_enum("mode", mode, MarginMode)
            leverage = settings.leverage if leverage is None else _positive("leverage", leverage)
            notional = qty * price
            self._check_leverage(instrument, leverage, qty, price)
            if self.multi_assets:
                self._collateral_row(instrument.settle, f"{instrument.symbol}.settle")
            self._check_can_hold(instrument.symbol, side, mode)
            settle = instrument.settle
            fee = self._fee(instrument, notional, liquidity)
            initial = self._money(notional / leverage)
            if self.multi_assets:  # the fill prices the coin the instrument's mark values (BTC for BTCUSDT)
                self._index_marks[instrument.symbol] = price
            if mode is MarginMode.ISOLATED:
                margin = initial if margin is None else _positive("margin", margin)
                if margin < initial:
                    raise InsufficientMargin(
                        what="isolated margin",
                        required=initial,
                        available=margin,
                        rule="initial_margin",
                    )
                self._debit(settle, margin + fee, f"opening {symbol}")
            else:
                if margin is not None:
                    raise InputError("margin", margin, "no margin for a cross position")
                margin = ZERO
                self._require_available(settle, initial + fee, f"opening {symbol}")
                self._wallets[settle] = self.wallet(settle) - fee
            self.fees_paid += fee
            self._settings[instrument.symbol] = SymbolSettings(mode=mode, leverage=leverage)
            self._positions[(instrument.symbol, side)] = Position(
                instrument=instrument,
                side=side,
                qty=qty,
                entry=price,
                mark=price,
                leverage=leverage,
                mode=mode,
                margin=margin,
            )
            opened = ev.PositionOpened(
                symbol=instrument.symbol,
                side=side,
                qty=qty,
                price=price,
                fee=fee,
                realized_pnl=ZERO,
                mode=mode,
                leverage=leverage,
                margin=margin,
            )
            return self._entry_filled((instrument.symbol, side), opened, f"opening {symbol}")

    def increase(
        self,
        symbol: str,
        qty: Number,
        price: Number,
        *,
        side: Side | str | None = None,
        liquidity: Liquidity | str = Liquidity.TAKER,
    ) -> list[ev.Event]:
        """Grow an open position at fill ``price``; isolated positions take the added initial margin.

        The new average entry price is kept to the price step (``precision``), rounded half-even.
        """
        with self._atomic():
            key = self._key(symbol, side)
            liquidity = to_enum("liquidity", liquidity, Liquidity)
            pos = self._positions[key]
            instrument = pos.instrument
            qty = _positive("qty", qty)
            self._check_lot(instrument, qty)
            price = _positive("price", price)
            new_qty = pos.qty + qty
            self._check_leverage(instrument, pos.leverage, new_qty, price)
            fee = self._fee(instrument, qty * price, liquidity)
            entry = quantize((pos.qty * pos.entry + qty * price) / new_qty, price_step(instrument.tick_size))
            added = self._money(qty * price / pos.leverage) if pos.mode is MarginMode.ISOLATED else ZERO
            if pos.mode is MarginMode.ISOLATED:
                self._debit(instrument.settle, added + fee, f"increasing {symbol}")
            else:
                settle = instrument.settle
                self._require_available(settle, qty * price / pos.leverage + fee, f"increasing {symbol}")
                self._wallets[settle] = self.wallet(settle) - fee
            self.fees_paid += fee
            self._positions[key] = replace(pos, qty=new_qty, entry=entry, margin=pos.margin + added)
            increased = ev.PositionIncreased(
                symbol=instrument.symbol,
                side=pos.side,
                qty=qty,
                price=price,
                fee=fee,
                realized_pnl=ZERO,
                entry=entry,
                margin_added=added,
            )
            return self._entry_filled(key, increased, f"increasing {symbol}")

    def reduce(
        self,
        symbol: str,
        qty: Number,
        price: Number,
        *,
        side: Side | str | None = None,
        liquidity: Liquidity | str = Liquidity.TAKER,
        mark: Number | None = None,
    ) -> list[ev.Event]:
        """Close ``qty`` of a position at fill ``price``, realizing its PnL.

        Isolated: the closed fraction of the position's margin, plus the PnL and minus the fee of the closed
        part, returns to the cross wallet; the rest of the margin stays with the rest of the position. A fill
        beyond the bankruptcy price is rejected (the position would have been liquidated first).

        Like ``open`` and ``increase``, the fill moves the symbol's mark (to ``mark`` where the caller knows
        the mark at the time of the fill, e.g. a replay filling a stop at the last price, else to ``price``):
        the rest of the position must stay above its maintenance there (else the reduce is rejected), and the
        liquidation check runs for every other position.
        """
        with self._atomic():
            key = self._key(symbol, side)
            liquidity = to_enum("liquidity", liquidity, Liquidity)
            pos = self._positions[key]
            qty = _positive("qty", qty)
            self._check_lot(pos.instrument, qty)
            price = _positive("price", price)
            if qty > pos.qty:
                raise InputError("qty", qty, f"at most the position size {pos.qty}")
            mark = price if mark is None else _positive("mark", mark)
            return self._record(self._close_part(key, qty, price, liquidity, mark))

    def close(
        self,
        symbol: str,
        price: Number,
        *,
        side: Side | str | None = None,
        liquidity: Liquidity | str = Liquidity.TAKER,
        mark: Number | None = None,
    ) -> list[ev.Event]:
        """Close a whole position at fill ``price``; the mark moves as for :meth:`reduce`."""
        with self._atomic():
            key = self._key(symbol, side)
            liquidity = to_enum("liquidity", liquidity, Liquidity)
            price = _positive("price", price)
            mark = price if mark is None else _positive("mark", mark)
            return self._record(self._close_part(key, self._positions[key].qty, price, liquidity, mark))

    def _close_part(
        self, key: Key, qty: Decimal, price: Decimal, liquidity: Liquidity, mark: Decimal
    ) -> list[ev.Event]:
        pos = self._positions[key]
        settle = pos.instrument.settle
        pnl = pos.side.sign * qty * (price - pos.entry)
        fee = self._fee(pos.instrument, qty * price, liquidity)
        full = qty == pos.qty
        released = ZERO
        if pos.mode is MarginMode.ISOLATED:
            # the closed part takes its share of the margin and bears its own PnL and fee; the rest keeps
            # the other share, so a reduce never moves the remaining position's liquidation price
            share = pos.margin if full else self._money(pos.margin * qty / pos.qty)
            released = share + pnl - fee
            if released < ZERO:
                raise OperationRejected(
                    "isolated.bankruptcy",
                    f"closing {qty} {pos.symbol} at {price} would lose more than the closed part's margin "
                    f"{share}; the position would have been liquidated first",
                )
            self._wallets[settle] = self.wallet(settle) + released
            remaining_margin = pos.margin - share
        else:
            self._wallets[settle] = self.wallet(settle) + pnl - fee
            remaining_margin = ZERO
        self.fees_paid += fee
        self.trading_pnl += pnl
        if full:
            del self._positions[key]
        else:
            self._positions[key] = replace(pos, qty=pos.qty - qty, margin=remaining_margin)
        # like open and increase: the fill moves the symbol's mark, the rest of the position must stay
        # solvent there, and the liquidation check runs for the others
        self._sync_marks(pos.symbol, mark)
        if self.multi_assets and self.multi_assets_margin().account_equity() < ZERO:
            raise OperationRejected(
                "multi_assets.bankruptcy",
                f"closing {qty} {pos.symbol} at {price} leaves the Multi-Assets account equity negative; "
                "the account would have been liquidated first",
            )
        if (
            not self.multi_assets
            and pos.mode is MarginMode.CROSS
            and self.cross_margin_balance(settle) < ZERO
        ):
            raise OperationRejected(
                "cross.bankruptcy",
                f"closing {qty} {pos.symbol} at {price} leaves the cross margin balance negative; "
                "the account would have been liquidated first",
            )
        if not full:
            self._require_solvent_after_fill(key, f"reducing {pos.symbol}")
        event_type = ev.PositionClosed if full else ev.PositionReduced
        fill = event_type(
            symbol=pos.symbol,
            side=pos.side,
            qty=qty,
            price=price,
            fee=fee,
            realized_pnl=pnl,
            margin_released=released,
        )
        return [fill, *self._liquidation_sweep()]

    def add_margin(self, symbol: str, amount: Number, *, side: Side | str | None = None) -> list[ev.Event]:
        """Move ``amount`` from the cross wallet into an isolated position (Binance type 1)."""
        with self._atomic():
            key, pos, amount = self._margin_move(symbol, side, amount, "add_margin")
            self._debit(pos.instrument.settle, amount, f"adding margin to {pos.symbol}")
            self._positions[key] = replace(pos, margin=pos.margin + amount)
            return self._record(
                [ev.MarginAdded(symbol=pos.symbol, side=pos.side, amount=amount, margin=pos.margin + amount)]
            )

    def max_removable_margin(self, position: Position) -> Decimal:
        """Return how much isolated margin may be removed under the venue's cap (>= 0).

        Binance USDⓈ-M (FAQ 360038447311): ``min(margin - MM, margin + uPnL - notional(mark)/leverage)``.
        Hyperliquid (margining docs): keep ``max(initial margin, 10 % of notional)`` of equity.
        Otherwise: keep the initial margin of equity.
        """
        equity = position.margin + position.unrealized_pnl()
        initial = position.initial_margin()
        cap = self.venue.remove_margin_cap
        if cap is RemoveMarginCap.BINANCE:
            room = min(position.margin - self.maintenance_margin(position), equity - initial)
        elif cap is RemoveMarginCap.INITIAL_OR_10PCT:
            room = equity - max(initial, position.notional() / 10)
        else:
            room = equity - initial
        return max(ZERO, min(room, position.margin))

    def remove_margin(self, symbol: str, amount: Number, *, side: Side | str | None = None) -> list[ev.Event]:
        """Move ``amount`` from an isolated position back to the cross wallet, within the venue's cap."""
        with self._atomic():
            key, pos, amount = self._margin_move(symbol, side, amount, "remove_margin")
            cap = self.max_removable_margin(pos)
            if amount > cap:
                raise InsufficientMargin(
                    what=f"removing margin from {pos.symbol}",
                    required=amount,
                    available=cap,
                    rule=f"{self.venue.name}.remove_margin_cap",
                )
            settle = pos.instrument.settle
            self._wallets[settle] = self.wallet(settle) + amount
            self._positions[key] = replace(pos, margin=pos.margin - amount)
            return self._record(
                [
                    ev.MarginRemoved(
                        symbol=pos.symbol, side=pos.side, amount=amount, margin=pos.margin - amount
                    )
                ]
            )

    def _margin_move(
        self, symbol: str, side: Side | str | None, amount: Number, op: str
    ) -> tuple[Key, Position, Decimal]:
        """Return the key and the isolated position ``op`` moves margin of, and ``amount`` checked > 0."""
        key = self._key(symbol, side)
        pos = self._positions[key]
        amount = _positive("amount", amount)
        if pos.mode is not MarginMode.ISOLATED:
            raise OperationRejected(
                f"{op}.isolated_only", f"{op} needs an isolated position; {pos.symbol} is cross"
            )
        return key, pos, amount

    def set_leverage(self, symbol: str, leverage: Number) -> list[ev.Event]:
        """Change a symbol's leverage, checked against the tier max at its open notional.

        Lowering the leverage of an isolated position tops its margin up to the new initial margin from the
        cross wallet; raising it leaves the margin in place. Cross positions must keep a non-negative
        available balance.
        """
        with self._atomic():
            native = self.venue.resolve_symbol(_symbol(symbol))
            leverage = _positive("leverage", leverage)
            instrument = self._instrument_of(native)
            open_positions = [(k, p) for k, p in self._positions.items() if k[0] == native]
            qty = sum((p.qty for _, p in open_positions), ZERO)
            mark = open_positions[0][1].mark if open_positions else ONE
            self._check_leverage(instrument, leverage, qty, mark)
            added = ZERO
            for key, pos in open_positions:
                new = replace(pos, leverage=leverage)
                initial = self._money(new.initial_margin())
                if pos.mode is MarginMode.ISOLATED and initial > pos.margin:
                    top_up = initial - pos.margin
                    self._debit(instrument.settle, top_up, f"lowering {native} leverage")
                    new = replace(new, margin=pos.margin + top_up)
                    added += top_up
                self._positions[key] = new
            if self.available_balance(instrument.settle) < ZERO:
                raise InsufficientMargin(
                    what=f"{native} at {leverage}x",
                    required=-self.available_balance(instrument.settle),
                    available=ZERO,
                    rule="available_balance",
                )
            mode = self.settings(native).mode
            self._settings[native] = SymbolSettings(mode=mode, leverage=leverage)
            return self._record([ev.LeverageChanged(symbol=native, leverage=leverage, margin_added=added)])

    def _instrument_of(self, native: str) -> Instrument:
        for (sym, _), pos in self._positions.items():
            if sym == native:
                return pos.instrument
        return self.venue.instrument(native)

    def set_margin_mode(self, symbol: str, mode: MarginMode | str) -> list[ev.Event]:
        """Switch a symbol between cross and isolated under the venue's policy.

        With positions open (where allowed), going isolated moves each position's initial margin from the
        cross wallet into it; going cross returns the isolated margin to the wallet.
        """
        with self._atomic():
            native = self.venue.resolve_symbol(_symbol(symbol))
            mode = to_enum("mode", mode, MarginMode)
            open_positions = [(k, p) for k, p in self._positions.items() if k[0] == native]
            current = self.settings(native)
            if current.mode is mode:
                return self._record([])
            if self.multi_assets:
                self._require_multi_assets_cross(native, mode)
            if open_positions and self.venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY:
                raise OperationRejected(
                    f"{self.venue.name}.mode_switch",
                    f"{self.venue.title} does not allow changing the margin mode of {native} with a "
                    "position open",
                )
            moved = ZERO
            settles: set[str] = set()
            for key, pos in open_positions:
                if pos.mode is mode:
                    continue  # hedge mode: a side already in the target mode keeps its margin as it is
                settle = pos.instrument.settle
                settles.add(settle)
                if mode is MarginMode.ISOLATED:
                    margin = self._money(pos.qty * pos.entry / pos.leverage)
                    self._wallets[settle] = self.wallet(settle) - margin
                    self._positions[key] = replace(pos, mode=mode, margin=margin)
                    moved += margin
                else:
                    self._wallets[settle] = self.wallet(settle) + pos.margin
                    self._positions[key] = replace(pos, mode=mode, margin=ZERO)
                    moved -= pos.margin
            if mode is MarginMode.ISOLATED:
                # the isolated margin comes out of the cross pool as it stands *after* the switch: a position
                # leaving the pool takes its unrealized PnL with it, so that profit cannot fund its own margin
                for settle in sorted(settles):
                    available = self.available_balance(settle)
                    if available < ZERO:
                        raise InsufficientMargin(
                            what=f"isolating {native}",
                            required=moved,
                            available=moved + available,
                            rule="available_balance",
                        )
            self._settings[native] = SymbolSettings(mode=mode, leverage=current.leverage)
            events: list[ev.Event] = [ev.MarginModeChanged(symbol=native, mode=mode, margin_moved=moved)]
            events += self._liquidation_sweep()
            return self._record(events)

    def set_position_mode(self, position_mode: PositionMode | str) -> list[ev.Event]:
        """Switch one-way/hedge mode; every venue requires the account to be flat."""
        with self._atomic():
            position_mode = to_enum("position_mode", position_mode, PositionMode)
            if position_mode is self.position_mode:
                return self._record([])
            if position_mode is PositionMode.HEDGE and not self.venue.supports_hedge:
                raise OperationRejected(
                    f"{self.venue.name}.position_mode", f"{self.venue.title} has no hedge mode"
                )
            if self._positions:
                raise OperationRejected(
                    "position_mode.flat_only",
                    "the position mode can only change with no position open",
                )
            self.position_mode = position_mode
            return self._record([ev.PositionModeChanged(position_mode=position_mode)])

    def apply_funding(self, rates: Mapping[str, Number]) -> list[ev.Event]:
        """Settle funding at each symbol's mark: longs pay ``notional * rate`` to shorts when rate > 0.

        Cross funding moves the cross wallet. Isolated funding moves that position's margin, or, where the
        venue takes it from the available balance first (Bybit), the wallet and only the shortfall from
        the margin. The liquidation check runs afterwards, since funding can push a position over the edge.
        """
        with self._atomic():
            events: list[ev.Event] = []
            if not isinstance(rates, Mapping):
                raise InputError("rates", rates, 'a mapping of symbol to rate, e.g. {"BTCUSDT": "0.0001"}')
            native_rates = {
                self._known_symbol("rates", symbol): to_decimal(f"rates.{symbol}", value)
                for symbol, value in rates.items()
            }
            # in the account's position order: with the available balance paying first, order matters
            for key, pos in list(self._positions.items()):
                rate = native_rates.get(key[0])
                if rate is None:
                    continue
                amount = -pos.side.sign * pos.notional() * rate
                settle = pos.instrument.settle
                from_margin = amount if pos.mode is MarginMode.ISOLATED else ZERO
                if from_margin and self.venue.isolated_funding is IsolatedFunding.AVAILABLE_FIRST:
                    # received: to the wallet; paid: the available balance covers what it can
                    from_margin = min(ZERO, amount + max(ZERO, self.available_balance(settle)))
                self._positions[key] = replace(pos, margin=pos.margin + from_margin)
                self._wallets[settle] = self.wallet(settle) + amount - from_margin
                self.funding += amount
                events.append(
                    ev.FundingSettled(symbol=key[0], side=pos.side, rate=rate, mark=pos.mark, amount=amount)
                )
            events += self._liquidation_sweep()
            return self._record(events)

    def update_marks(self, prices: Mapping[str, Number]) -> list[ev.Event]:
        """Move mark prices, then run the auto-add policy and the liquidation check."""
        with self._atomic():
            events: list[ev.Event] = []
            if not isinstance(prices, Mapping):
                raise InputError("prices", prices, 'a mapping of symbol to price, e.g. {"BTCUSDT": "95000"}')
            for symbol, value in prices.items():
                native = self._known_symbol("prices", symbol)
                price = _positive(f"prices.{symbol}", value)
                self._sync_marks(native, price)
                events.append(ev.MarkUpdated(symbol=native, mark=price))
            events += self._auto_add()
            events += self._liquidation_sweep()
            return self._record(events)

    # ------------------------------------------------------------- liquidation
    def set_auto_add_margin(self, symbol: str, policy: AutoAddMargin | None) -> None:
        """Give ``symbol``'s isolated positions their own auto-add policy (None: the account-wide one)."""
        native = self.venue.resolve_symbol(symbol)
        if policy is None:
            self._auto_add_by_symbol.pop(native, None)
        else:
            self._auto_add_by_symbol[native] = policy

    def _auto_add(self) -> list[ev.Event]:
        events: list[ev.Event] = []
        for key, pos in list(self._positions.items()):
            policy = self._auto_add_by_symbol.get(pos.symbol, self.auto_add_margin)
            if pos.mode is not MarginMode.ISOLATED or policy is None:
                continue
            ratio = self.margin_ratio(pos)
            if ratio is not None and ratio < policy.trigger:
                continue
            # equity needed so that mm / equity == target
            needed = self._money(
                self.maintenance_margin(pos) / policy.target - (pos.margin + pos.unrealized_pnl())
            )
            available = self.available_balance(pos.instrument.settle)
            # what is available, to 18 places (rounded down: never more than there is)
            amount = min(needed, max(ZERO, quantize(available, FINEST, ROUND_DOWN)))
            if amount <= ZERO:
                continue
            settle = pos.instrument.settle
            self._wallets[settle] = self.wallet(settle) - amount
            self._positions[key] = replace(pos, margin=pos.margin + amount)
            events.append(
                ev.MarginAdded(
                    symbol=pos.symbol,
                    side=pos.side,
                    amount=amount,
                    margin=pos.margin + amount,
                    auto=True,
                )
            )
        return events

    def _liquidation_sweep(self) -> list[ev.Event]:
        if self.multi_assets:
            return self._multi_assets_sweep()
        events: list[ev.Event] = []
        for key in [k for k, p in self._positions.items() if p.mode is MarginMode.ISOLATED]:
            if key in self._positions and self.is_liquidatable(self._positions[key]):
                events += self._liquidate_isolated(key)
        for settle in sorted({p.instrument.settle for p in self._positions.values()}):
            book = self.cross_positions(settle)
            if book and self.is_liquidatable(book[0]):
                events += self._liquidate_cross(settle)
        return events

    def _step_down(self, key: Key) -> list[ev.Event]:
        """Close just enough of the position at mark to drop it one tier (partial liquidation)."""
        pos = self._positions[key]
        tiers = pos.instrument.tiers.tiers
        tier = pos.tier()
        index = tiers.index(tier)
        if not self.venue.partial_liquidation or index == 0:
            return []
        lower_cap = tiers[index].floor  # the lower tier's cap is this tier's floor
        if pos.instrument.tiers.basis is TierBasis.CONTRACTS:
            keep = pos.instrument.round_qty_down(lower_cap * pos.instrument.contract_size)
        else:
            keep = pos.instrument.round_qty_down(lower_cap / pos.mark)
        qty = pos.qty - keep
        if qty <= ZERO or keep <= ZERO:
            return []
        pnl = pos.side.sign * qty * (pos.mark - pos.entry)
        fee = qty * pos.mark * pos.instrument.liquidation_fee
        settle = pos.instrument.settle
        if pos.mode is MarginMode.ISOLATED:
            if pos.margin + pnl - fee < ZERO:
                return []
            self._positions[key] = replace(pos, qty=keep, margin=pos.margin + pnl - fee)
        else:
            if self.cross_margin_balance(settle) - fee < ZERO:
                return []  # the pool cannot pay the fee: it is past bankruptcy and goes as a whole
            self._wallets[settle] = self.wallet(settle) + pnl - fee
            self._positions[key] = replace(pos, qty=keep)
        self.trading_pnl += pnl
        self.insurance_fund += fee
        return [
            ev.PartiallyLiquidated(
                symbol=pos.symbol,
                side=pos.side,
                qty=qty,
                mark=pos.mark,
                liquidation_fee=fee,
                realized_pnl=pnl,
            )
        ]

    def _liquidate_isolated(self, key: Key) -> list[ev.Event]:
        events: list[ev.Event] = []
        while self.is_liquidatable(self._positions[key]):
            step = self._step_down(key)
            if not step:
                break
            events += step
        pos = self._positions[key]
        if not self.is_liquidatable(pos):
            return events
        bankruptcy = self.bankruptcy_price(pos)
        market_pnl = pos.unrealized_pnl()
        equity = pos.margin + market_pnl
        fee, returned, fund = self._settle_forfeit(equity, pos.notional(), pos.instrument.liquidation_fee)
        settle = pos.instrument.settle
        self._wallets[settle] = self.wallet(settle) + returned
        del self._positions[key]
        events += self._book_liquidation(pos, market_pnl, equity, fee, returned, fund, bankruptcy)
        return events

    def _settle_forfeit(
        self, equity: Decimal, notional: Decimal, fee_rate: Decimal
    ) -> tuple[Decimal, Decimal, Decimal]:
        """Split a liquidated pool's equity at mark into (fee, returned to trader, insurance fund delta)."""
        if equity <= ZERO:
            return ZERO, ZERO, equity
        fee = min(notional * fee_rate, equity)
        if self.venue.liquidation_style is LiquidationStyle.BANKRUPTCY:
            return fee, ZERO, equity
        return fee, equity - fee, fee

    def _book_liquidation(
        self,
        pos: Position,
        market_pnl: Decimal,
        equity: Decimal,
        fee: Decimal,
        returned: Decimal,
        fund: Decimal,
        bankruptcy: Decimal | None,
    ) -> list[ev.Event]:
        """Record one liquidated position: PnL against the market at mark, fund flows, and ADL if needed.

        ``market_pnl`` is the position's unrealized PnL at mark.
        """
        events: list[ev.Event] = []
        shortfall = ZERO
        if fund < ZERO and self._fund_capacity is not None:
            cover = min(-fund, max(ZERO, self._fund_capacity + self.insurance_fund))
            shortfall = -fund - cover
            fund = -cover
        if shortfall > ZERO:
            # counterparties ranked by ADL absorb what the fund cannot: they take ``adl_qty`` at the
            # bankruptcy price instead of the mark, which costs them exactly the shortfall. Where no
            # bankruptcy price covers it (none exists, or it would take more than the position), they take
            # the whole position at the price that costs them the shortfall.
            step = price_step(pos.instrument.tick_size)
            adl_qty, adl_price = pos.qty, quantize(pos.mark + pos.side.sign * shortfall / pos.qty, step)
            if bankruptcy is not None:
                gap = pos.side.sign * (bankruptcy - pos.mark)
                if gap > ZERO and shortfall <= pos.qty * gap:
                    adl_qty = min(pos.qty, max(EIGHT_DECIMALS, quantize(shortfall / gap, EIGHT_DECIMALS)))
                    adl_price = bankruptcy
            market_pnl += shortfall
            events.append(
                ev.AutoDeleveraged(
                    symbol=pos.symbol,
                    side=pos.side.opposite,
                    qty=adl_qty,
                    price=adl_price,
                    shortfall=shortfall,
                )
            )
        self.trading_pnl += market_pnl
        self.insurance_fund += fund
        style_price = bankruptcy if self.venue.liquidation_style is LiquidationStyle.BANKRUPTCY else pos.mark
        if pos.mode is MarginMode.ISOLATED and pos.margin < ZERO and style_price is not None:
            # funding owed beyond the margin put the bankruptcy price past the entry, on the trader's side of
            # the mark: a takeover there would credit the trader a gain. The position goes at the mark and the
            # insurance fund bears the funding debt (``fund`` < 0 above)
            style_price = min(style_price, pos.mark) if pos.side is Side.LONG else max(style_price, pos.mark)
        # the collateral the trader loses: the isolated margin (one emptied by funding holds none), or the
        # position's share of the cross wallet, minus what comes back
        realized = (
            returned - max(pos.margin, ZERO)
            if pos.mode is MarginMode.ISOLATED
            else returned - equity + market_pnl
        )
        price = style_price if style_price is not None else pos.mark
        return [_liquidated(pos, price, bankruptcy, realized, -realized, fee=fee, fund=fund), *events]

    def _liquidate_cross(self, settle: str) -> list[ev.Event]:
        events: list[ev.Event] = []
        while self.is_liquidatable(self.cross_positions(settle)[0]):
            candidates = sorted(
                ((self.maintenance_margin(p), (p.symbol, p.side)) for p in self.cross_positions(settle)),
                reverse=True,
            )
            step = next((s for _, k in candidates if (s := self._step_down(k))), [])
            if not step:
                break
            events += step
        book = self.cross_positions(settle)
        if not book or not self.is_liquidatable(book[0]):
            return events
        market_pnls = [p.unrealized_pnl() for p in book]
        wallet = self.wallet(settle)
        equity = wallet + sum(market_pnls, ZERO)
        notionals = [p.notional() for p in book]
        fee_rate = book[0].instrument.liquidation_fee
        fee, returned, fund = self._settle_forfeit(equity, sum(notionals, ZERO), fee_rate)
        bankruptcies = [self.bankruptcy_price(p) for p in book]
        for pos in book:
            del self._positions[(pos.symbol, pos.side)]
        self._wallets[settle] = returned
        # the pool's equity and flows are shared; book them on the positions pro rata to notional, in
        # money steps that add up exactly to the pool's totals
        shares = [self._split(total, notionals) for total in (wallet, equity, fee, returned, fund)]
        for i, pos in enumerate(book):
            wallet_i, equity_i, fee_i, returned_i, fund_i = (column[i] for column in shares)
            events += self._book_liquidation(
                replace(pos, margin=wallet_i),
                market_pnls[i],
                equity_i,
                fee_i,
                returned_i,
                fund_i,
                bankruptcies[i],
            )
        return events

    def _split(self, total: Decimal, weights: list[Decimal]) -> list[Decimal]:
        """Split ``total`` pro rata to ``weights`` in money steps; the last part takes the remainder."""
        weight = sum(weights, ZERO)
        parts = [
            self._money(total * w / weight) if weight else self._money(total / len(weights))
            for w in weights[:-1]
        ]
        return [*parts, total - sum(parts, ZERO)]

    # ------------------------------------------------------------ Multi-Assets mode (Binance)
    # One pool: every wallet asset, valued in USD at its bid rate times its haircut (a debt at its ask rate),
    # backs every cross position whatever its settlement asset; requirements are converted at the ask rate.
    # Formulas, sources and simplifications: marginlab.domain.collateral.
    def _enter_multi_assets(self, table: CollateralTable | None, index_prices: Mapping[str, Decimal]) -> None:
        if table is None:
            raise OperationRejected(
                f"{self.venue.name}.multi_assets",
                f"multi_assets: {self.venue.title} has no Multi-Assets mode in marginlab (Binance USDⓈ-M "
                "only); give the balances in the settlement asset",
            )
        self.collateral = table
        for asset, price in index_prices.items():
            self._collateral_row(asset, f"index_prices.{asset}")
            self._index[asset] = _positive(f"index_prices.{asset}", price)

    def _collateral_row(self, asset: str, field_name: str) -> None:
        if self.collateral is None:  # pragma: no cover - multi_assets implies a table
            raise OperationRejected("multi_assets", "not in Multi-Assets mode")
        self.collateral.row(asset, field_name)

    def _require_multi_assets_cross(self, symbol: str, mode: MarginMode) -> None:
        if mode is not MarginMode.CROSS:
            raise OperationRejected(
                f"{self.venue.name}.multi_assets",
                f"{symbol}: Multi-Assets mode is cross only ({self.venue.title} asks to switch every "
                "position to cross before enabling it); leave Multi-Assets mode to use isolated margin",
            )

    def index_price(self, asset: str) -> Decimal:
        """Return the USD index of ``asset`` in Multi-Assets mode.

        A coin with a table perpetual (BTC: BTCUSDT) is worth that perpetual's last known mark times the USD
        index of its settlement asset; otherwise the given index; a stablecoin without one is worth 1.
        """
        if self.collateral is None:
            raise OperationRejected("multi_assets", "index prices exist in Multi-Assets mode only")
        row = self.collateral.row(asset, "asset")
        if row.index_symbol is not None and row.index_symbol in self._index_marks:
            quote = self.venue.instrument(row.index_symbol).settle
            return self._index_marks[row.index_symbol] * self.index_price(quote)
        if asset in self._index:
            return self._index[asset]
        if row.stable:
            return ONE
        source = f" or a {row.index_symbol} mark" if row.index_symbol else ""
        raise InputError(
            f"index_prices.{asset}", None, "", problem=f"the USD index of {asset} is unknown: give it{source}"
        )

    def collateral_rate(self, asset: str) -> AssetRate:
        """Return the USD conversion (index, buffers, haircut) of ``asset`` in Multi-Assets mode."""
        if self.collateral is None:
            raise OperationRejected("multi_assets", "collateral rates exist in Multi-Assets mode only")
        return self.collateral.row(asset, "asset").rate(self.index_price(asset))

    def multi_assets_margin(self, *, also: tuple[str, ...] = ()) -> MultiAssetsMargin:
        """Return the Multi-Assets account as it stands: per-asset equity, USD equity, IM, MM, ratio.

        Its assets are the wallets' and the cross positions' settlement assets, plus ``also``.
        """
        cross = [p for p in self._positions.values() if p.mode is MarginMode.CROSS]
        for asset in also:
            self._collateral_row(asset, "asset")
        assets = dict.fromkeys([*self._wallets, *(p.instrument.settle for p in cross), *also])
        for p in cross:
            self._collateral_row(p.instrument.settle, f"positions.{p.symbol}.settle")
        return MultiAssetsMargin(
            rates=[self.collateral_rate(a) for a in assets],
            wallets=self._wallets,
            positions=cross,
            maintenance=self.maintenance_margin,
        )

    def moving_collateral(self, symbol: str) -> tuple[str, ...]:
        """Return the collateral coins priced by ``symbol``'s mark (BTC for BTCUSDT) in Multi-Assets mode."""
        if self.collateral is None:
            return ()
        return tuple(
            a
            for a, row in self.collateral.assets.items()
            if row.index_symbol == symbol and symbol in self._index_marks
        )

    def moving_collateral_symbols(self) -> set[str]:
        """Return the symbols whose marks the account knows and which price a collateral coin."""
        if self.collateral is None:
            return set()
        return {
            row.index_symbol
            for row in self.collateral.assets.values()
            if row.index_symbol is not None and row.index_symbol in self._index_marks
        }

    def _multi_assets_price(self, position: Position, *, maintenance: bool) -> Decimal | None:
        """Solve the mark of the position's symbol at which the account margin ratio reaches 100 %.

        The coins the symbol prices (a BTC wallet for BTCUSDT) move with it, so the solution accounts for the
        collateral losing value with the position (:meth:`MultiAssetsMargin.liquidation_price`).
        """
        legs = [self.leg(p) for p in self.cross_positions(position.instrument.settle)]
        breakpoints = [
            b for leg in legs if leg.instrument.symbol == position.symbol for b in leg.breakpoints()
        ]
        return self.multi_assets_margin().liquidation_price(
            position.symbol,
            reference=position.mark,
            coins=self.moving_collateral(position.symbol),
            breakpoints=breakpoints if maintenance else (),
            maintenance=maintenance,
        )

    def _multi_assets_sweep(self) -> list[ev.Event]:
        cross = [p for p in self._positions.values() if p.mode is MarginMode.CROSS]
        if not cross or not self.multi_assets_margin().is_liquidatable():
            return []
        return self._liquidate_multi_assets(cross)

    def _liquidate_multi_assets(self, book: list[Position]) -> list[ev.Event]:
        """Liquidate the whole Multi-Assets account: every cross position and every collateral asset.

        Binance: "once the margin ratio reaches 100 %, all positions will be liquidated"; the positions are
        taken over at their bankruptcy prices and auto-exchange turns the collateral into whatever is owed,
        so the pool is lost as a whole. Each position's PnL at mark is realized into its settlement wallet,
        then every wallet goes (``CollateralSeized`` per asset, ``collateral_seized`` keeps the totals).
        ``Liquidated.loss`` shares the pool's market value (index, no haircut) among the positions pro rata
        to their USD notional, in each position's settlement asset. No step-down, no ADL.
        """
        bankruptcies = {(p.symbol, p.side): self.bankruptcy_price(p) for p in book}
        rates = {
            a: self.collateral_rate(a)
            for a in dict.fromkeys([*self._wallets, *(p.instrument.settle for p in book)])
        }
        usd_notional = {
            (p.symbol, p.side): p.notional() * rates[p.instrument.settle].index_price for p in book
        }
        total_notional = sum(usd_notional.values(), ZERO)
        for pos in book:
            settle = pos.instrument.settle
            upnl = pos.unrealized_pnl()
            self._wallets[settle] = self.wallet(settle) + upnl
            self.trading_pnl += upnl
            del self._positions[(pos.symbol, pos.side)]
        seized: list[ev.Event] = []
        pool = ZERO
        for asset, amount in list(self._wallets.items()):
            if amount == ZERO:
                continue
            value = amount * rates[asset].index_price
            pool += value
            self.collateral_seized[asset] = self.collateral_seized.get(asset, ZERO) + amount
            self._wallets[asset] = ZERO
            seized.append(
                ev.CollateralSeized(
                    asset=asset, amount=amount, index_price=rates[asset].index_price, value=value
                )
            )
        events: list[ev.Event] = []
        for pos in book:
            key = (pos.symbol, pos.side)
            share = usd_notional[key] / total_notional if total_notional else ONE / len(book)
            index = rates[pos.instrument.settle].index_price
            loss = pool * share / index - pos.unrealized_pnl()  # the collateral before the loss was realized
            bankruptcy = bankruptcies[key]
            price = bankruptcy if bankruptcy is not None else pos.mark
            events.append(_liquidated(pos, price, bankruptcy, -loss, loss, fee=ZERO, fund=ZERO))
        return events + seized

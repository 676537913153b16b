"""A venue's rule set as data: policies plus instruments. The ``rules`` package builds one per exchange."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from marginlab.domain.collateral import CollateralTable
from marginlab.domain.enums import (
    IsolatedFunding,
    LiquidationStyle,
    MaintenanceBasis,
    ModeSwitchPolicy,
    RemoveMarginCap,
)
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import TierTable
from marginlab.errors import InputError, RuleSetError

UNROUNDED = Decimal("0.00000001")  # tick and lot of instruments whose contract data is not bundled

_SNAPSHOT_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")
_QUOTES = "USDT|USDC|USD1|USD|U|BTC"  # quote assets a native symbol may end with (Binance lists all six)


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A citation: what a rule comes from and when it was checked (ISO date)."""

    title: str
    url: str
    checked: str


@dataclass(frozen=True, slots=True)
class SymbolFormat:
    """How a venue names a market: a template over ``{base}`` and ``{quote}``.

    ``"{base}{quote}"`` (Binance ``BTCUSDT``), ``"{base}-{quote}-SWAP"`` (OKX), ``"{base}_{quote}"`` (Gate),
    ``"{base}"`` (Hyperliquid ``BTC``), ``"{base}-USD"`` (dYdX ``BTC-USD``).
    """

    template: str

    def __call__(self, base: str, quote: str, settle: str) -> str:
        """Return the native symbol of a ccxt unified market's (base, quote, settle)."""
        return self.template.format(base=base, quote=quote, settle=settle)

    def parse(self, native: str) -> tuple[str, str | None] | None:
        """Return (base, quote) of a native symbol (quote None if the template has none), None if no match."""
        pattern = (
            re.escape(self.template)
            .replace(r"\{base\}", "(?P<base>.+?)")
            .replace(r"\{quote\}", f"(?P<quote>{_QUOTES})")
        )
        match = re.fullmatch(pattern, native)
        if match is None:
            return None
        return match["base"], match.groupdict().get("quote")


class InstrumentOverrides(Protocol):
    """What a portfolio or script may set for a symbol (``io.schema.InstrumentOverrides`` fits)."""

    @property
    def mmr(self) -> Decimal | None:
        """Maintenance margin rate (fraction) of one flat tier."""

    @property
    def max_leverage(self) -> Decimal | None:
        """Highest opening leverage."""

    @property
    def maintenance_amount(self) -> Decimal | None:
        """Maintenance deduction of the flat tier (settlement asset)."""

    @property
    def taker_fee(self) -> Decimal | None:
        """Taker fee rate (fraction of notional)."""


DeriveRates = Callable[
    [str, Decimal | None, Decimal | None, Decimal | None], tuple[Decimal | None, Decimal | None]
]
"""``(symbol, mmr, max_leverage, bundled max leverage) -> (mmr, max_leverage)``: a venue's own relation."""


def given_rates(
    symbol: str, mmr: Decimal | None, max_leverage: Decimal | None, bundled_max: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """Return the rates as given: the two are independent (most venues); leverage defaults to the bundled."""
    return mmr, max_leverage if max_leverage is not None else bundled_max


@dataclass(frozen=True, slots=True, kw_only=True)
class Venue:
    """Everything that differs between exchanges, as plain data.

    Parameters
    ----------
    name : str
        Registry name (``"binance"``).
    title : str
        Human name (``"Binance USDⓈ-M"``).
    maintenance_basis : MaintenanceBasis
        Price at which the maintenance rate applies in the liquidation condition.
    fee_in_liquidation : bool
        Whether the taker fee to close enters the maintenance requirement and so the liquidation price.
    liquidation_style : LiquidationStyle
        Whether a liquidation forfeits the whole margin (bankruptcy) or charges a fee and returns the rest.
    mode_switch : ModeSwitchPolicy
        Whether a symbol's margin mode may change while a position is open.
    remove_margin_cap : RemoveMarginCap
        Which formula caps isolated margin removal.
    partial_liquidation : bool
        Whether a liquidation first steps the position down to the next lower tier.
    isolated_funding : IsolatedFunding
        Whether an isolated position pays funding from its own margin or from the available balance first.
    default_leverage : Decimal
        Leverage of a symbol never set.
    supports_hedge : bool
        Whether hedge (dual-side) position mode exists.
    taker_fee, maker_fee, liquidation_fee : Decimal
        Default fee rates (fractions of notional) for instruments built without their own.
    instruments : Mapping[str, Instrument]
        Bundled instruments keyed by native symbol.
    symbols : SymbolFormat
        How the venue names a market (``native_symbol`` applies it to a ccxt unified symbol's parts).
    settlement : str or None
        The one asset every market settles in (``"USDC"`` on dYdX and Hyperliquid); None where it follows
        the symbol's quote.
    derive_rates : DeriveRates
        Completes a file's ``mmr``/``max_leverage`` override the way the venue relates the two (Hyperliquid:
        ``mmr = 1 / (2 * max leverage)``); by default they are independent.
    tier_snapshot : str
        Where the bundled tiers come from and their date.
    sources : tuple of Source
        Citations of every formula and constant, with the date checked.
    notes : tuple of str
        Simplifications and approximations a user must know about.
    collateral : CollateralTable or None
        The venue's Multi-Assets (shared multi-coin collateral) table; None where marginlab does not model
        such a mode for the venue (an account asking for it is refused).
    """

    name: str
    title: str
    maintenance_basis: MaintenanceBasis
    fee_in_liquidation: bool
    liquidation_style: LiquidationStyle
    mode_switch: ModeSwitchPolicy
    remove_margin_cap: RemoveMarginCap
    partial_liquidation: bool
    isolated_funding: IsolatedFunding
    default_leverage: Decimal
    supports_hedge: bool
    taker_fee: Decimal
    maker_fee: Decimal
    liquidation_fee: Decimal
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    symbols: SymbolFormat = SymbolFormat("{base}{quote}")
    settlement: str | None = None
    derive_rates: DeriveRates = given_rates
    tier_snapshot: str = ""
    sources: tuple[Source, ...] = ()
    notes: tuple[str, ...] = ()
    collateral: CollateralTable | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", MappingProxyType(dict(self.instruments)))

    def __repr__(self) -> str:
        # The generated repr would print every instrument's tiers (1.45 million characters for Binance).
        dated = _SNAPSHOT_DATE.search(self.tier_snapshot)
        tiers = f"tiers {dated.group(0)}" if dated else "tiers undated"
        modes = "one-way/hedge" if self.supports_hedge else "one-way"
        return f"<Venue {self.name}: {len(self.instruments)} instruments, {tiers}, cross/isolated, {modes}>"

    def native_symbol(self, base: str, quote: str, settle: str) -> str:
        """Return the venue's symbol for a ccxt unified market's parts: ``BTC, USDT, USDT`` -> ``BTCUSDT``."""
        return self.symbols(base, quote, settle)

    def resolve_symbol(self, symbol: str) -> str:
        """Return the native symbol for a native or ccxt-unified (``"BTC/USDT:USDT"``) symbol.

        Raises
        ------
        RuleSetError
            If ``symbol`` is a dated future (``"BTC/USDT:USDT-260925"``): only perpetuals are modelled.
        """
        if "/" not in symbol:
            return symbol.upper()
        base, _, rest = symbol.partition("/")
        quote, _, settle = rest.partition(":")
        if "-" in settle:
            raise RuleSetError(
                f"symbol: {symbol!r} is a dated future (expiry {settle.partition('-')[2]}); marginlab "
                "models perpetuals only"
            )
        return self.native_symbol(base.upper(), quote.upper(), (settle or quote).upper())

    def instrument(self, symbol: str) -> Instrument:
        """Return the bundled instrument for ``symbol`` (native or ccxt-unified).

        Raises
        ------
        RuleSetError
            If the venue's bundled data has no such symbol.
        """
        native = self.resolve_symbol(symbol)
        try:
            return self.instruments[native]
        except KeyError:
            raise RuleSetError(
                f"symbol: {symbol!r} is not in the bundled {self.title} data ({self.tier_snapshot}); "
                f"give {self._defining_fields()} to define it, or load tiers with --tiers"
            ) from None

    def has_instrument(self, symbol: str) -> bool:
        """Return whether ``symbol`` is bundled."""
        return self.resolve_symbol(symbol) in self.instruments

    def custom_instrument(
        self,
        symbol: str,
        *,
        tiers: TierTable,
        settle: str | None = None,
        taker_fee: Decimal | None = None,
    ) -> Instrument:
        """Build an instrument the bundled data lacks, with this venue's default fees.

        The settlement asset is ``settle``, else the venue's one settlement asset, else the symbol's quote
        (``"USDT"`` when the symbol does not show one). Prices and sizes are not rounded (tick and lot 1e-8).
        """
        native = self.resolve_symbol(symbol)
        quote: str | None
        if "/" in symbol:
            base, _, rest = symbol.upper().partition("/")
            quote = rest.partition(":")[2] or rest.partition(":")[0]
        else:
            parsed = self.symbols.parse(native)
            base, quote = parsed if parsed is not None else (native, None)
        return Instrument(
            symbol=native,
            base=base or native,
            settle=settle or self.settlement or quote or "USDT",
            tiers=tiers,
            tick_size=UNROUNDED,
            lot_size=UNROUNDED,
            taker_fee=self.taker_fee if taker_fee is None else taker_fee,
            maker_fee=self.maker_fee,
            liquidation_fee=self.liquidation_fee,
        )

    def instrument_with(self, symbol: str, overrides: InstrumentOverrides) -> Instrument:
        """Return the instrument for ``symbol`` with a file's overrides, deriving what the venue derives.

        ``mmr`` (with ``maintenance_amount``, default 0) replaces the tiers by one flat tier whose maximum
        leverage is ``max_leverage``, else the bundled maximum. A symbol the bundled data lacks is defined by
        its rates; which ones the venue needs depends on how it relates them (:attr:`derive_rates`): most
        need ``mmr`` and ``max_leverage``, Hyperliquid either one, dYdX ``mmr``.

        Raises
        ------
        InputError
            If an override is given without what it needs (``maintenance_amount`` without ``mmr``).
        RuleSetError
            If ``symbol`` is not bundled and the overrides do not define it.
        """
        native = self.resolve_symbol(symbol)
        bundled = self.instruments.get(native)
        if overrides.mmr is None and overrides.max_leverage is None:
            if overrides.maintenance_amount is not None:
                raise InputError(
                    f"{symbol}.maintenance_amount", overrides.maintenance_amount, "mmr given with it"
                )
            instrument = self.instrument(symbol) if bundled is None else bundled
        else:
            instrument = self._with_rates(symbol, overrides, bundled)
        if overrides.taker_fee is not None:
            instrument = replace(instrument, taker_fee=overrides.taker_fee)
        return instrument

    def _with_rates(
        self, symbol: str, overrides: InstrumentOverrides, bundled: Instrument | None
    ) -> Instrument:
        bundled_max = bundled.max_leverage if bundled is not None else None
        mmr, max_leverage = self.derive_rates(symbol, overrides.mmr, overrides.max_leverage, bundled_max)
        if bundled is None and (mmr is None or max_leverage is None):
            return self.instrument(symbol)  # raises, naming what defines a new market here
        if mmr is None or max_leverage is None:
            name, value = (
                ("maintenance_amount", overrides.maintenance_amount)
                if overrides.maintenance_amount is not None
                else ("max_leverage", overrides.max_leverage)
            )
            raise InputError(f"{symbol}.{name}", value, "mmr given with it")
        tiers = TierTable.flat(
            mmr=mmr,
            max_leverage=max_leverage,
            maintenance_amount=overrides.maintenance_amount or ZERO,
            source=f"{'override' if bundled is not None else 'custom'} (portfolio file)",
        )
        if bundled is not None:
            return replace(bundled, tiers=tiers)
        return self.custom_instrument(symbol, tiers=tiers)

    def _defining_fields(self) -> str:
        """Return which overrides define a new market here, probing :attr:`derive_rates`."""
        one = Decimal(1)
        if self.derive_rates("", None, one, None)[0] is not None:
            return "max_leverage or mmr (and optionally maintenance_amount, taker_fee)"
        if self.derive_rates("", one / 10, None, None)[1] is not None:
            return "mmr (and optionally max_leverage, maintenance_amount, taker_fee)"
        return "mmr and max_leverage (and optionally maintenance_amount, taker_fee)"

    def with_instruments(
        self, instruments: Mapping[str, Instrument], *, snapshot: str, notes: tuple[str, ...] = ()
    ) -> Venue:
        """Return a copy whose instruments are replaced or extended (e.g. tiers from a ccxt file).

        ``notes`` are appended to the venue's notes (what the new data left out, say).
        """
        merged = {**self.instruments, **instruments}
        return replace(self, instruments=merged, tier_snapshot=snapshot, notes=self.notes + notes)

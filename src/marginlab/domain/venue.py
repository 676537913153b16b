"""A venue's rule set as data: policies plus instruments. The ``rules`` package builds one per exchange."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from marginlab.domain.enums import (
    LiquidationStyle,
    MaintenanceBasis,
    ModeSwitchPolicy,
    RemoveMarginCap,
)
from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierTable
from marginlab.errors import RuleSetError


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A citation: what a rule comes from and when it was checked (ISO date)."""

    title: str
    url: str
    checked: str


_SNAPSHOT_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")


def _no_symbol(base: str, quote: str, settle: str) -> str:
    return f"{base}{quote}"


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
    default_leverage : Decimal
        Leverage of a symbol never set.
    supports_hedge : bool
        Whether hedge (dual-side) position mode exists.
    taker_fee, maker_fee, liquidation_fee : Decimal
        Default fee rates (fractions of notional) for instruments built without their own.
    instruments : Mapping[str, Instrument]
        Bundled instruments keyed by native symbol.
    native_symbol : Callable[[str, str, str], str]
        Maps (base, quote, settle) of a ccxt unified symbol to the venue's native symbol.
    tier_snapshot : str
        Where the bundled tiers come from and their date.
    sources : tuple of Source
        Citations of every formula and constant, with the date checked.
    notes : tuple of str
        Simplifications and approximations a user must know about.
    """

    name: str
    title: str
    maintenance_basis: MaintenanceBasis
    fee_in_liquidation: bool
    liquidation_style: LiquidationStyle
    mode_switch: ModeSwitchPolicy
    remove_margin_cap: RemoveMarginCap
    partial_liquidation: bool
    default_leverage: Decimal
    supports_hedge: bool
    taker_fee: Decimal
    maker_fee: Decimal
    liquidation_fee: Decimal
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    native_symbol: Callable[[str, str, str], str] = _no_symbol
    tier_snapshot: str = ""
    sources: tuple[Source, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", MappingProxyType(dict(self.instruments)))

    def __repr__(self) -> str:
        # The generated repr would print every instrument's tiers (1.45 million characters for Binance).
        dated = _SNAPSHOT_DATE.search(self.tier_snapshot)
        tiers = f"tiers {dated.group(0)}" if dated else "tiers undated"
        modes = "one-way/hedge" if self.supports_hedge else "one-way"
        return f"<Venue {self.name}: {len(self.instruments)} instruments, {tiers}, cross/isolated, {modes}>"

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
                "give mmr and max_leverage (and optionally maintenance_amount, taker_fee) to define it, "
                "or load tiers with --tiers"
            ) from None

    def has_instrument(self, symbol: str) -> bool:
        """Return whether ``symbol`` is bundled."""
        return self.resolve_symbol(symbol) in self.instruments

    def custom_instrument(
        self,
        symbol: str,
        *,
        tiers: TierTable,
        settle: str = "USDT",
        taker_fee: Decimal | None = None,
    ) -> Instrument:
        """Build an instrument the bundled data lacks, with this venue's default fees."""
        native = self.resolve_symbol(symbol)
        base = symbol.partition("/")[0] if "/" in symbol else native.removesuffix(settle)
        return Instrument(
            symbol=native,
            base=base or native,
            settle=settle,
            tiers=tiers,
            tick_size=Decimal("0.00000001"),
            lot_size=Decimal("0.00000001"),
            taker_fee=self.taker_fee if taker_fee is None else taker_fee,
            maker_fee=self.maker_fee,
            liquidation_fee=self.liquidation_fee,
        )

    def with_instruments(
        self, instruments: Mapping[str, Instrument], *, snapshot: str, notes: tuple[str, ...] = ()
    ) -> Venue:
        """Return a copy whose instruments are replaced or extended (e.g. tiers from a ccxt file).

        ``notes`` are appended to the venue's notes (what the new data left out, say).
        """
        merged = {**self.instruments, **instruments}
        return replace(self, instruments=merged, tier_snapshot=snapshot, notes=self.notes + notes)

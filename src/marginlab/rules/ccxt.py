"""Convert ccxt ``fetch_leverage_tiers()`` structures into exact tier tables (no I/O here).

ccxt's ``LeverageTier`` carries ``minNotional, maxNotional, maintenanceMarginRate, maxLeverage`` and the raw
venue payload in ``info``; Binance's maintenance amount arrives only as ``info.cum`` (landscape §2). Where a
venue sends no maintenance amount, it is derived from the recurrence
``cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1})`` (Binance, Bybit, Hyperliquid). OKX tiers, which have no
deduction, keep 0 only when the caller asks for it (``derive_missing_cum=False``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import RiskTier, TierBasis, TierTable
from marginlab.errors import InputError


def _number(where: str, value: object) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InputError(where, value, "a number")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InputError(where, value, "a number") from None
    if not number.is_finite():
        raise InputError(where, value, "a finite number")
    return number


def tiers_from_ccxt(
    symbol: str,
    rows: Sequence[Mapping[str, object]],
    *,
    source: str,
    basis: TierBasis = TierBasis.NOTIONAL,
    derive_missing_cum: bool = True,
) -> TierTable:
    """Return the tier table of one market from its list of ccxt ``LeverageTier`` dicts.

    Parameters
    ----------
    symbol : str
        Market name used in error messages.
    rows : sequence of mapping
        ccxt tiers in ascending order.
    source : str
        Provenance shown to users (file name and snapshot date).
    basis : TierBasis
        Whether ``minNotional``/``maxNotional`` are notional (most venues) or contracts (OKX).
    derive_missing_cum : bool
        Derive the maintenance amount from the recurrence when ``info.cum`` is absent.
    """
    if not rows:
        raise InputError(f"{symbol}", rows, "a non-empty list of tiers")
    tiers: list[RiskTier] = []
    for i, row in enumerate(rows):
        where = f"{symbol}[{i}]"
        floor = _number(f"{where}.minNotional", row.get("minNotional"))
        cap_raw = row.get("maxNotional")
        cap = None if cap_raw is None else _number(f"{where}.maxNotional", cap_raw)
        mmr = _number(f"{where}.maintenanceMarginRate", row.get("maintenanceMarginRate"))
        max_leverage = _number(f"{where}.maxLeverage", row.get("maxLeverage"))
        info = row.get("info")
        cum_raw = info.get("cum") if isinstance(info, Mapping) else None
        if cum_raw is not None:
            cum = _number(f"{where}.info.cum", cum_raw)
        elif derive_missing_cum and tiers:
            cum = tiers[-1].maintenance_amount + floor * (mmr - tiers[-1].mmr)
        else:
            cum = ZERO
        tiers.append(
            RiskTier(floor=floor, cap=cap, mmr=mmr, maintenance_amount=cum, max_leverage=max_leverage)
        )
    return TierTable(tuple(tiers), basis=basis, source=source)


def is_dated(symbol: str) -> bool:
    """Return whether a ccxt unified symbol names a dated (delivery) future, not a perpetual.

    ccxt appends the expiry to the settle asset: ``BTC/USDT:USDT-260925`` is Binance's ``BTCUSDT_260925``
    quarterly, ``BTC/USDT:USDT`` the perpetual. marginlab models perpetuals only.
    """
    return "-" in symbol.partition(":")[2]


def split_unified(symbol: str) -> tuple[str, str, str]:
    """Split a ccxt unified swap symbol ``"BTC/USDT:USDT"`` into (base, quote, settle)."""
    base, _, rest = symbol.partition("/")
    quote, _, settle = rest.partition(":")
    if not base or not quote:
        raise InputError("symbol", symbol, "a ccxt unified symbol like 'BTC/USDT:USDT'")
    return base, quote, settle or quote

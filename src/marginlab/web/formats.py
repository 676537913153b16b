"""How the dashboard writes numbers: right-aligned in the page, always with their unit.

Money is shown to the cent and prices to the instrument's precision as stored (never through float: the
values are the engine's Decimals); ratios as percentages with two decimals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def _unit(number: str, unit: str) -> str:
    """Return ``number unit`` with a true minus sign (tables whose header names the unit pass ``""``)."""
    number = number.replace("-", "−")
    return f"{number} {unit}" if unit else number


def money(value: Decimal | None, unit: str = "USDT") -> str:
    """Return ``1,234.56 USDT`` (``—`` for None)."""
    if value is None:
        return "—"
    return _unit(f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,}", unit)


def signed_money(value: Decimal | None, unit: str = "USDT") -> str:
    """Return ``+12.00 USDT`` / ``−12.00 USDT``: a gain or a loss, with its sign."""
    if value is None:
        return "—"
    text = money(value, unit)
    return text if value < 0 else "+" + text


def price(value: Decimal | None, unit: str = "USDT", step: Decimal | None = None) -> str:
    """Return a price with thousands separators (``100,010.1 USDT``); ``none`` for no price.

    ``step``: round to that price step, half up (the instrument's display rounding) — solved prices such as
    liquidation prices carry 28 digits, which no trader reads. Without it the price keeps its own decimals.
    """
    if value is None:
        return "none"
    if step is not None:
        value = (value / step).to_integral_value(ROUND_HALF_UP) * step
    normal = value.normalize()
    if normal == normal.to_integral():
        normal = normal.quantize(Decimal(1))
    return _unit(f"{normal:,}", unit)


def qty(value: Decimal | None) -> str:
    """Return a quantity without trailing zeros."""
    if value is None:
        return "—"
    normal = value.normalize()
    if normal == normal.to_integral():
        normal = normal.quantize(Decimal(1))
    return f"{normal:,}"


def percent(ratio: Decimal | None, places: int = 2) -> str:
    """Return a ratio (0.4149) as ``41.49 %`` (``—`` for None)."""
    if ratio is None:
        return "—"
    pct = (ratio * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{pct:,} %".replace("-", "−")


def leverage(value: Decimal) -> str:
    """Return ``10×``."""
    return f"{qty(value)}×"


def utc(time_ms: int) -> str:
    """Return a venue time (ms since the epoch) as ``2026-01-01 00:00:00``, UTC."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


FILTERS: dict[str, Callable[..., Any]] = {
    "money": money,
    "signed_money": signed_money,
    "price": price,
    "qty": qty,
    "percent": percent,
    "leverage": leverage,
    "utc": utc,
}

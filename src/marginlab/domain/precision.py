"""Where the engine rounds, and how numbers enter it: the venue's precision for money and prices.

Why quantise at all: every amount the engine books (fees, realized PnL, margins, funding, transfers,
insurance-fund flows) is rounded once, to the venue's money step, where it is created. Sums and differences
of such amounts are then exact in Decimal, so the ledger identity

    cross wallets + isolated margins + fees paid + insurance-fund delta == deposits + trading PnL + funding

holds with ``==``, not within a tolerance (issue 8, point 5). Before, averages such as ``notional / 7`` were
rounded by Decimal's 28-digit context wherever they happened to be computed, and sums of them at different
magnitudes drifted in the last digit.

Money step (``money_step``), per venue, as each venue reports account amounts:

* ``1e-8`` (8 decimal places): Binance USDⓈ-M — ``GET /fapi/v2/positionRisk`` and ``/fapi/v2/account`` report
  ``isolatedMargin``, ``unRealizedProfit``, ``isolatedWallet`` and wallet balances with 8 decimals (e.g.
  ``"isolatedMargin": "0.00000000"``, https://developers.binance.com/docs/derivatives/usds-margined-futures/
  trade/rest-api/Position-Information-V2 , checked 2026-12-01). Bybit, OKX, Gate and Bitget settle in
  USDT, whose balances none of them report finer than 8 decimals; we use Binance's 8 for them
  (not re-checked on each venue's API page in this session).
* ``1e-6`` (6 decimal places): dYdX v4 and Hyperliquid settle in USDC, whose smallest unit is 1e-6 —
  dYdX's USDC quantums have atomic resolution -6 (``dydxprotocol/v4-chain``; the client crate ``dydx``,
  ``src/noble/tokens.rs``: ``QUANTUMS_ATOMIC_RESOLUTION = -6``), and Hyperliquid's ``clearinghouseState``
  reports ``accountValue``/``totalRawUsd`` with 6 decimals (Hyperliquid API docs, info endpoint,
  "Retrieve a user's perpetuals account summary", checked 2026-12-01).

Rounding mode: half-even (banker's rounding), so rounding errors have no bias in either direction across
many fills; the venues do not document theirs.

Price step (``price_step``): average entry prices and prices given to the engine are kept to 8 decimal places
(like ``entryPrice`` and ``markPrice`` in Binance's ``positionRisk``), or to 1e-4 of the tick where the tick
itself is finer than 1e-4, so a low-priced contract keeps at least four digits below its tick. Liquidation
and bankruptcy prices are solved exactly and returned at the same step.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from marginlab.errors import InputError

EIGHT_DECIMALS = Decimal("1e-8")
SIX_DECIMALS = Decimal("1e-6")
MONEY_STEPS: dict[str, Decimal] = {"dydx": SIX_DECIMALS, "hyperliquid": SIX_DECIMALS}
# The largest magnitude an amount, price or quantity may have: beyond it a product of two such numbers
# would no longer be exact at the money step in the engine's 60-digit context.
LARGEST = Decimal("1e24")
ENGINE_PRECISION = 60

E = TypeVar("E", bound=StrEnum)


def money_step(venue_name: str) -> Decimal:
    """Return the smallest unit of account amounts on ``venue_name`` (see the module docstring)."""
    return MONEY_STEPS.get(venue_name, EIGHT_DECIMALS)


def price_step(tick_size: Decimal) -> Decimal:
    """Return the step (a power of ten) of entry and computed prices for an instrument with ``tick_size``."""
    finer = Decimal(1).scaleb(tick_size.adjusted() - 4)
    return min(EIGHT_DECIMALS, finer)


def quantize(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round ``value`` to the decimal places of ``step`` (a power of ten), half-even unless told otherwise.

    A value that already has no more places is returned as it is (``100000`` stays ``100000``, not
    ``100000.00000000``).
    """
    places = step.as_tuple().exponent
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and isinstance(places, int) and exponent >= places:
        return value
    return value.quantize(step, rounding=rounding)


def to_decimal(field: str, value: object) -> Decimal:
    """Convert an API argument to an exact Decimal, or raise :class:`InputError` naming ``field``.

    Accepts Decimal, int and str (``"10000"``, ``"0.001"``); refuses float, since a binary float such as
    0.1 is not the number it is written as, and bool. The result is finite and at most 1e24 in magnitude.
    """
    if isinstance(value, bool):
        raise InputError(field, value, "a number (Decimal, int or str), not a bool")
    if isinstance(value, float):
        raise InputError(
            field,
            value,
            "an exact number",
            problem=(
                f"binary floats are not exact (was {value!r}); pass a str or Decimal, "
                f'e.g. Decimal("{value!r}")'
            ),
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(field, _shown(value), "a decimal number") from None
    else:
        raise InputError(field, _shown(value), "a number (Decimal, int or str)")
    if not number.is_finite():
        raise InputError(field, number, "a finite number")
    if abs(number) > LARGEST:
        raise InputError(field, number, f"a number of magnitude at most {LARGEST}")
    return number


def positive(field: str, value: object) -> Decimal:
    """Return :func:`to_decimal` of ``value``, checked > 0."""
    number = to_decimal(field, value)
    if number <= 0:
        raise InputError(field, number, "a finite number > 0")
    return number


def to_enum(field: str, value: object, kind: type[E]) -> E:
    """Return ``value`` as the enum ``kind``, accepting its string value (``"long"``, ``"isolated"``)."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(repr(m.value) for m in kind)
    raise InputError(field, _shown(value), f"one of {allowed}")


def _shown(value: object, limit: int = 80) -> object:
    """Return ``value`` or, for a long string, its first ``limit`` characters and its length."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}… ({len(value)} characters)"
    return value

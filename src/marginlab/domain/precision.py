"""Where the engine rounds, and how numbers enter it.

The ledger identity

    cross wallets + isolated margins + fees paid + insurance-fund delta == deposits + trading PnL + funding

holds with ``==``, not within a tolerance (issue 8, point 5), because every amount the engine books is a
decimal with a bounded number of digits and the engine computes in a 60-digit context
(``ENGINE_PRECISION``), where sums and products of such amounts are exact:

* products - fees (``notional * rate``), realized and unrealized PnL (``qty * (price - entry)``), funding
  (``qty * mark * rate``), liquidation fees - are exact as they stand and are not rounded;
* quotients do not terminate (``notional / 7``), so the engine rounds each one once, half-even, to 18
  decimal places (``FINEST``), where the venue rounds it: an isolated margin from a leverage, a reduced
  position's share of its margin, an auto-add top-up, a liquidated cross pool's shares; an average entry
  price goes to the **price step**. Before, such quotients were rounded by Decimal's 28-digit context
  wherever they happened to be computed, and sums of them drifted in the last digit;
* numbers given to the engine are taken as given, to at most 18 decimal places (``to_decimal``).

Why 18 places and not the venue's money step below: the float fast core (``marginlab.sim``) is held to
1e-9 of this engine; rounding margins to 8 decimals moves a 1x position's liquidation price off zero and
leftovers of 5e-9 into equity where the fast core has none. The venue's own rounding of booked amounts is
therefore not modelled (at most half a step, 5e-9 USDT, per amount); ``money_step`` records it for
reports and for a fast core that would mirror it.

Money step (``money_step``), per venue, as each venue reports account amounts:

* ``1e-8`` (8 decimal places): Binance USDⓈ-M - ``GET /fapi/v2/positionRisk`` and ``/fapi/v2/account``
  report ``isolatedMargin``, ``unRealizedProfit``, ``isolatedWallet`` and wallet balances with 8 decimals
  (e.g. ``"isolatedMargin": "0.00000000"``, https://developers.binance.com/docs/derivatives/usds-margined-
  futures/trade/rest-api/Position-Information-V2 , checked 2026-12-01). Bybit, OKX, Gate and Bitget settle
  in USDT, whose balances none of them report finer than 8 decimals; we use Binance's 8 for them (not
  re-checked on each venue's API page in this session).
* ``1e-6`` (6 decimal places): dYdX v4 and Hyperliquid settle in USDC, whose smallest unit is 1e-6 -
  dYdX's USDC quantums have atomic resolution -6 (``dydxprotocol/v4-chain``; the client crate ``dydx``,
  ``src/noble/tokens.rs``: ``QUANTUMS_ATOMIC_RESOLUTION = -6``), and Hyperliquid's ``clearinghouseState``
  reports ``accountValue``/``totalRawUsd`` with 6 decimals (Hyperliquid API docs, info endpoint,
  "Retrieve a user's perpetuals account summary", checked 2026-12-01).

Rounding mode: half-even (banker's rounding), so rounding has no bias in either direction across many
fills; the venues do not document theirs.

Price step (``price_step``): average entry prices are kept to 8 decimal places (like ``entryPrice`` in
Binance's ``positionRisk``), or to 1e-4 of the tick where the tick itself is finer than 1e-4, so a
low-priced contract keeps at least four digits below its tick. Liquidation and bankruptcy prices are not
rounded to a step: they are solved with 50 digits and returned to 28 significant digits
(``Account.liquidation_price``), so a bot comparing them with its exchange's figure gets every digit.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from marginlab.errors import InputError

ZERO = Decimal(0)
"""Decimal zero, defined once for every module of the engine, the lab and the venue."""
EIGHT_DECIMALS = Decimal("1e-8")
SIX_DECIMALS = Decimal("1e-6")
MONEY_STEPS: dict[str, Decimal] = {"dydx": SIX_DECIMALS, "hyperliquid": SIX_DECIMALS}
# The largest magnitude an amount, price or quantity given to the engine may have, and the decimal places
# it is kept to (18: the finest unit of any token, ETH's wei): within these, sums and products of such
# numbers are exact in the engine's 60-digit context.
LARGEST = Decimal("1e24")
MOST_PLACES = 18
FINEST = Decimal(1).scaleb(-MOST_PLACES)
ENGINE_PRECISION = 60
_QUANTIZE_CONTEXT = Context(prec=ENGINE_PRECISION)  # 1e24 to 18 places is 43 digits: more than the default 28
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")
"""A number as text: ASCII digits only, an optional exponent. Python's ``Decimal`` also takes ``"1_000"``,
other scripts' digits (``"١٠٠"``), ``"nan"`` and ``"inf"``; none of them is a number a file or an API
argument means, so every text number is matched against this first."""

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
    return value.quantize(step, rounding=rounding, context=_QUANTIZE_CONTEXT)


def to_decimal(field: str, value: object) -> Decimal:
    """Convert an API argument to an exact Decimal, or raise :class:`InputError` naming ``field``.

    Accepts Decimal, int and str (``"10000"``, ``"0.001"``); refuses float, since a binary float such as
    0.1 is not the number it is written as, and bool. The result is finite and at most 1e24 in magnitude;
    digits past the 18th decimal place (a Decimal made from a float, ``Decimal(1) / 3``) are rounded
    half-even, so ``"1e-999999"`` becomes 0.
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
        if not NUMBER_TEXT.fullmatch(value.strip()):
            raise InputError(field, _shown(value), "a decimal number in ASCII digits (no '_')")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - NUMBER_TEXT admits only what Decimal reads
            raise InputError(field, _shown(value), "a decimal number") from None
    else:
        raise InputError(field, _shown(value), "a number (Decimal, int or str)")
    if not number.is_finite():
        raise InputError(field, number, "a finite number")
    if abs(number) > LARGEST:
        raise InputError(field, _shown(str(number)), f"a number of magnitude at most {LARGEST}")
    return quantize(number, FINEST)


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

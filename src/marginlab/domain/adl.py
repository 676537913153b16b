"""Auto-deleveraging (ADL) ranking: which counterparties are deleveraged first.

When the insurance fund cannot absorb a bankrupt position, the opposite side's positions are closed against
it at its bankruptcy price, highest ranking first. BitMEX's wording, which Binance, MEXC and CoinEx repeat::

    Ranking           = PNL% * EffectiveLeverage     if PNL% > 0
                      = PNL% / EffectiveLeverage     otherwise
    EffectiveLeverage = |MarkValue| / (MarkValue - BankruptValue)
    PNL%              = (MarkValue - AvgEntryValue) / |AvgEntryValue|

Values are signed by side: ``MarkValue = s * qty * mark``, ``AvgEntryValue = s * qty * entry`` and
``BankruptValue = s * qty * bankruptcy`` with ``s = +1`` long, ``-1`` short. Hence
``PNL% = s * (mark - entry) / entry`` (a short in profit has PNL% > 0) and
``EffectiveLeverage = mark / (s * (mark - bankruptcy))`` (> 0 for every position not yet bankrupt).
Longs and shorts are ranked separately.

Sources (checked 2026-11-25):

* BitMEX, Auto-Deleveraging: https://support.bitmex.com/hc/en-gb/articles/18589621443357
* Binance Liquidation Protocols (ADL last, after the insurance fund):
  https://www.binance.com/en-NZ/support/faq/360033525271
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from marginlab.domain.enums import Side
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.errors import InputError


@dataclass(frozen=True, slots=True, kw_only=True)
class AdlRank:
    """One position's place in the ADL queue.

    Parameters
    ----------
    position : Position
        The ranked position.
    bankruptcy_price : Decimal
        Its bankruptcy price, quote per base.
    pnl_ratio : Decimal
        PNL% as a fraction (0.1 == 10 %), > 0 when in profit on either side.
    effective_leverage : Decimal
        ``|MarkValue| / (MarkValue - BankruptValue)``, > 0.
    score : Decimal
        The ranking; higher is deleveraged first.
    """

    position: Position
    bankruptcy_price: Decimal
    pnl_ratio: Decimal
    effective_leverage: Decimal
    score: Decimal


def _check(position: Position, bankruptcy_price: Decimal) -> None:
    where = f"positions.{position.symbol}"
    for name, value in (("entry", position.entry), ("mark", position.mark), ("qty", position.qty)):
        if not isinstance(value, Decimal) or not value.is_finite() or value <= ZERO:
            raise InputError(f"{where}.{name}", value, "a finite number > 0")
    if not isinstance(bankruptcy_price, Decimal) or not bankruptcy_price.is_finite():
        raise InputError(f"{where}.bankruptcy_price", bankruptcy_price, "a finite Decimal")
    if position.side.sign * (position.mark - bankruptcy_price) <= ZERO:
        relation = "below" if position.side is Side.LONG else "above"
        raise InputError(
            f"{where}.bankruptcy_price",
            bankruptcy_price,
            f"a price {relation} the mark {position.mark} for a {position.side} (not yet bankrupt)",
        )


def adl_rank(position: Position, bankruptcy_price: Decimal) -> AdlRank:
    """Return the ADL ranking of ``position`` with its parts.

    Parameters
    ----------
    position : Position
        The position at its current mark (entry, mark and qty > 0).
    bankruptcy_price : Decimal
        Price at which the position's margin is exhausted: below the mark for a long (it may be <= 0 for a
        long backed by more than its notional), above it for a short.

    Raises
    ------
    InputError
        If the bankruptcy price is on the wrong side of the mark (the position is already bankrupt) or a
        price or size is not a positive finite number.
    """
    _check(position, bankruptcy_price)
    sign = position.side.sign
    mark_value = sign * position.qty * position.mark
    entry_value = sign * position.qty * position.entry
    bankrupt_value = sign * position.qty * bankruptcy_price
    pnl_ratio = (mark_value - entry_value) / abs(entry_value)
    leverage = abs(mark_value) / (mark_value - bankrupt_value)
    score = pnl_ratio * leverage if pnl_ratio > ZERO else pnl_ratio / leverage
    return AdlRank(
        position=position,
        bankruptcy_price=bankruptcy_price,
        pnl_ratio=pnl_ratio,
        effective_leverage=leverage,
        score=score,
    )


def adl_score(position: Position, bankruptcy_price: Decimal) -> Decimal:
    """Return the ADL ranking of ``position`` (dimensionless; higher is deleveraged first).

    See :func:`adl_rank` for the parameters and errors.
    """
    return adl_rank(position, bankruptcy_price).score


def adl_queue(
    positions_with_bankruptcy_prices: Iterable[tuple[Position, Decimal]], side: Side
) -> list[AdlRank]:
    """Return the ADL queue of one side, highest ranking first.

    Parameters
    ----------
    positions_with_bankruptcy_prices : iterable of (Position, Decimal)
        Candidate positions of both sides with their bankruptcy prices; positions of the other side are
        ignored, since longs and shorts are ranked separately.
    side : Side
        The side whose queue to build (the side opposite the bankrupt position).

    Returns
    -------
    list of AdlRank
        Sorted by score, descending; equal scores keep their input order.
    """
    ranks = [adl_rank(p, bankruptcy) for p, bankruptcy in positions_with_bankruptcy_prices if p.side is side]
    return sorted(ranks, key=lambda rank: rank.score, reverse=True)

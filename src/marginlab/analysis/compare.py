"""Compare margin modes on the same bars: cross vs isolated vs hybrid, with a verdict a trader reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from marginlab.analysis.replay import replay_exact
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.bars import Bars
from marginlab.io.portfolio import MODES
from marginlab.io.results import ModeResult
from marginlab.io.schema import Portfolio

ReplayFn = Callable[[Portfolio, Venue, Bars, str], ModeResult]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every requested mode replayed on the same bars."""

    bars: Bars
    results: dict[str, ModeResult]
    verdicts: dict[str, str]


def parse_modes(text: str) -> tuple[str, ...]:
    """Parse ``"cross,isolated,hybrid"`` into known mode names, in order, without duplicates."""
    modes = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InputError("--modes", text, "a comma-separated subset of cross,isolated,hybrid")
    return modes


def compare(
    portfolio: Portfolio,
    venue: Venue,
    bars: Bars,
    modes: Sequence[str] = MODES,
    *,
    replay: ReplayFn | None = None,
    on_mode_done: Callable[[str], None] | None = None,
) -> Comparison:
    """Replay ``portfolio`` once per mode on ``bars`` and return the results with verdicts.

    ``replay`` defaults to the exact engine; the CLI passes the fast core.
    """
    run = replay or (lambda p, v, b, m: replay_exact(p, v, b, m))
    results: dict[str, ModeResult] = {}
    for mode in modes:
        results[mode] = run(portfolio, venue, bars, mode)
        if on_mode_done is not None:
            on_mode_done(mode)
    return Comparison(bars=bars, results=results, verdicts={m: verdict(r) for m, r in results.items()})


def _money(value: Decimal) -> str:
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def verdict(result: ModeResult) -> str:
    """Return one plain sentence on what the mode did to the account."""
    change = result.pnl / result.start_equity * 100 if result.start_equity else Decimal(0)
    ending = f"equity {_money(result.start_equity)} → {_money(result.final_equity)} ({change:+.1f} %)"
    if not result.liquidations:
        closest = result.closest_to_liquidation
        if closest is None:
            return f"{result.mode}: no liquidation, and none possible at any price; {ending}"
        return (
            f"{result.mode}: survived — closest call {closest.symbol} {closest.distance * 100:.1f} % from "
            f"liquidation at {closest.time}; {ending}"
        )
    parts = []
    for mode in ("isolated", "cross"):
        hits = [liq for liq in result.liquidations if liq.mode == mode]
        if not hits:
            continue
        lost = sum((liq.loss for liq in hits), Decimal(0))
        names = ", ".join(dict.fromkeys(liq.symbol.removesuffix("USDT") for liq in hits))
        if mode == "isolated" and len(hits) == 1:
            parts.append(f"lost the {_money(lost)} {names} isolated margin")
        elif mode == "isolated":
            parts.append(f"lost {_money(lost)} of isolated margin ({names})")
        else:
            parts.append(f"the cross book ({names}) was liquidated at {hits[0].time}, losing {_money(lost)}")
    survived = "the rest of the account survived" if result.final_equity > 0 else "nothing survived"
    return f"{result.mode}: " + "; ".join(parts) + f"; {survived}; {ending}"

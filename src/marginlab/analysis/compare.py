"""Compare margin modes on the same bars: cross vs isolated vs hybrid, with a verdict a trader reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from marginlab.analysis.replay import prepare_replay, replay_exact
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.bars import HIGH, LOW, Bars, to_decimal
from marginlab.io.portfolio import MODES, start_warnings
from marginlab.io.results import ModeResult
from marginlab.io.schema import Portfolio

ReplayFn = Callable[[Portfolio, Venue, Bars, str], ModeResult]
ReplayModesFn = Callable[[Portfolio, Venue, Bars, Sequence[str]], dict[str, ModeResult]]


@dataclass(frozen=True, slots=True)
class PositionOutcome:
    """What happened to one position in one mode.

    ``liquidated_at`` is the bar time of its liquidation (None if it survived). For a survivor,
    ``closest_distance`` is its **closest call**: the smallest gap between its mark at a bar's adverse
    extreme (low for a long, high for a short) and its liquidation price at that bar's close, as a fraction
    of that mark (0.05 = the mark came within 5 % of liquidation), and ``closest_time`` the bar it happened
    in; None when no price liquidates it.
    """

    label: str
    liquidated_at: str | None
    closest_distance: Decimal | None
    closest_time: str | None


CLOSEST_CALL_DEFINITION = (
    "closest call: the smallest gap between a surviving position's mark at a bar's adverse extreme "
    "(low for a long, high for a short) and its liquidation price, as a % of that mark"
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every requested mode replayed on the same bars.

    ``outcomes`` per mode, one per position; ``notes`` and ``warnings`` come from the replay's opening
    rules (:func:`marginlab.analysis.replay.prepare_replay`) and the start-of-replay checks.
    """

    bars: Bars
    results: dict[str, ModeResult]
    verdicts: dict[str, str]
    outcomes: dict[str, tuple[PositionOutcome, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


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
    open_at_start: bool = False,
    replay_modes: ReplayModesFn | None = None,
) -> Comparison:
    """Replay ``portfolio`` once per mode on ``bars`` and return the results with verdicts.

    The portfolio first goes through the replay's opening rules (:func:`prepare_replay`: positions in
    symbols the data lacks are skipped, far entries warned about, ``open_at_start`` opens everything at
    the first bar, isolated margin sits on top of the balances). ``replay`` defaults to the exact engine;
    the CLI passes the fast core as ``replay_modes``, which replays every mode in one pass over the bars
    (``replay`` is then not used).
    """
    prepared = prepare_replay(portfolio, venue, bars, open_at_start=open_at_start)
    warnings = prepared.warnings + tuple(start_warnings(prepared.portfolio, venue))
    run = replay or (lambda p, v, b, m: replay_exact(p, v, b, m))
    results: dict[str, ModeResult] = {}
    if replay_modes is not None:
        results = replay_modes(prepared.portfolio, venue, bars, tuple(modes))
    for mode in modes:
        if replay_modes is None:
            results[mode] = run(prepared.portfolio, venue, bars, mode)
        if on_mode_done is not None:
            on_mode_done(mode)
    outcomes = {m: position_outcomes(r, bars) for m, r in results.items()}
    return Comparison(
        bars=bars,
        results=results,
        verdicts={m: verdict(r, outcomes[m]) for m, r in results.items()},
        outcomes=outcomes,
        notes=prepared.notes,
        warnings=warnings,
    )


def position_outcomes(result: ModeResult, bars: Bars) -> tuple[PositionOutcome, ...]:
    """Return each position's fate in ``result``: liquidated (when) or its closest call (see the class)."""
    liquidated: dict[str, str] = {}
    for liq in result.liquidations:
        liquidated.setdefault(f"{liq.symbol} {liq.side}", liq.time)
    out = []
    for label, series in result.liquidation_prices.items():
        if label in liquidated:
            out.append(PositionOutcome(label, liquidated[label], None, None))
            continue
        symbol, _, side = label.partition(" ")
        lp = np.array([np.nan if v is None else float(v) for v in series], dtype=float)
        extreme = bars.mark[symbol][: len(lp), LOW if side == "long" else HIGH]
        with np.errstate(invalid="ignore"):
            gap = (extreme - lp) / extreme if side == "long" else (lp - extreme) / extreme
        gap = np.where(np.isfinite(gap), np.maximum(gap, 0.0), np.inf)
        if not np.isfinite(gap).any():
            out.append(PositionOutcome(label, None, None, None))
            continue
        i = int(np.argmin(gap))
        out.append(PositionOutcome(label, None, to_decimal(float(gap[i])), bars.time_label(i)))
    return tuple(out)


def closest_text(outcomes: Sequence[PositionOutcome]) -> str:
    """Return the closest-call cell: liquidated positions by name, else the nearest survivor."""
    dead = [o.label.split(" ")[0].removesuffix("USDT") for o in outcomes if o.liquidated_at is not None]
    alive = [o for o in outcomes if o.liquidated_at is None and o.closest_distance is not None]
    parts = [f"{', '.join(dead)} liquidated"] if dead else []
    if alive:
        best = min(alive, key=lambda o: o.closest_distance or Decimal(0))
        parts.append(f"{best.label.split(' ')[0]} {best.closest_distance * 100:.2f} %")  # type: ignore[operator]
    elif not dead:
        parts.append("none possible")
    return "; ".join(parts)


def _money(value: Decimal) -> str:
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def verdict(result: ModeResult, outcomes: Sequence[PositionOutcome] = ()) -> str:
    """Return one plain sentence on what the mode did to the account."""
    change = result.pnl / result.start_equity * 100 if result.start_equity else Decimal(0)
    ending = f"equity {_money(result.start_equity)} → {_money(result.final_equity)} ({change:+.1f} %)"
    if not result.liquidations:
        alive = [o for o in outcomes if o.closest_distance is not None]
        if not alive:
            closest = result.closest_to_liquidation
            if closest is None:
                return f"{result.mode}: no liquidation, and none possible at any price; {ending}"
            name, distance, time = closest.symbol, closest.distance, closest.time
        else:
            best = min(alive, key=lambda o: o.closest_distance or Decimal(0))
            name, time = best.label.split(" ")[0], best.closest_time or ""
            distance = best.closest_distance or Decimal(0)
        return (
            f"{result.mode}: survived — closest call {name} {distance * 100:.1f} % from "
            f"liquidation at {time}; {ending}"
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

"""The margin-mode advisor: cross or isolated for a new trade, with every reason measured.

Each criterion of the seed's list contributes a signed weight — positive favours cross, negative isolated —
and a sentence that states the measured value it rests on:

=====================  ====================================================================  ===========
criterion              measured as                                                           weight
=====================  ====================================================================  ===========
experience             the profile (new / intermediate / experienced)                         −2 / 0 / +1
risk tolerance         the profile (low / medium / high)                                      −1 / 0 / +1
monitoring             the profile (no / yes)                                                 −1 / +1
conviction / leverage  the trade's leverage: ≥ 20x speculative, ≤ 5x conviction                −2 / +1
hedge                  an open position on the other side with return correlation ≥ 0.7      +3
same-direction bet     mean correlation with open same-side positions ≥ 0.7 (cross book)      −1
diversified book       ≥ 3 open positions, mean absolute pairwise correlation < 0.5           +1
volatility regime      realized vol of the last day / of the whole window ≥ 1.5              −1
Monte Carlo            P(account wiped out) cross − isolated above the tolerance's threshold  −2
Monte Carlo            P(trade liquidated) isolated − cross ≥ 20 points                       +1
=====================  ====================================================================  ===========

The sum decides (ties go to isolated: the loss stays capped). Correlations and volatilities are estimated
from log returns of the market data used; the Monte Carlo evidence comes from a callable so the advisor
stays testable and the simulation stays in :mod:`marginlab.app.risk`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import numpy as np

from marginlab.domain.enums import MarginMode, ModeSwitchPolicy, PositionMode
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, shown
from marginlab.io.candles import MarketData
from marginlab.io.schema import Portfolio, PositionSpec, parse

HEDGE_CORRELATION = 0.7
SAME_BET_CORRELATION = 0.7
DIVERSIFIED_CORRELATION = 0.5
HIGH_VOL_RATIO = 1.5
WIPEOUT_THRESHOLD = {"low": 0.001, "medium": 0.01, "high": 0.05}


class Experience(StrEnum):
    """How long the trader has traded perpetuals."""

    NEW = "new"
    INTERMEDIATE = "intermediate"
    EXPERIENCED = "experienced"


class Tolerance(StrEnum):
    """How much of the account the trader accepts to put at risk."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Profile:
    """The trader: experience, risk tolerance, and whether they watch their positions."""

    experience: Experience = Experience.INTERMEDIATE
    risk: Tolerance = Tolerance.MEDIUM
    monitoring: bool = True


@dataclass(frozen=True, slots=True)
class Evidence:
    """Monte Carlo evidence for one mode of the new trade (probabilities and losses over the horizon)."""

    p_trade_liquidated: float
    p_wipeout: float
    expected_loss: float
    es95: float
    es99: float
    asset: str = "USDT"  # unit of the losses: the settlement asset, USD for a Multi-Assets account


@dataclass(frozen=True, slots=True)
class Reason:
    """One criterion: its signed weight (+ cross, − isolated) and the measured sentence behind it."""

    criterion: str
    weight: int
    text: str


@dataclass(frozen=True, slots=True)
class Advice:
    """The recommendation, its reasons, the Monte Carlo evidence, and open positions to revisit."""

    recommendation: MarginMode
    score: int
    reasons: tuple[Reason, ...]
    evidence: Mapping[str, Evidence]
    flags: tuple[str, ...] = field(default=())
    action: str = ""
    adds_to: str | None = None

    def __repr__(self) -> str:
        """Return one line: the recommendation, its score and how much evidence stands behind it."""
        return (
            f"<Advice {self.recommendation} (score {self.score:+d}): {len(self.reasons)} reasons, "
            f"{len(self.flags)} open position(s) to revisit>"
        )


EvidenceFn = Callable[[Portfolio, Portfolio], Mapping[str, Evidence]]


def parse_trade(text: str) -> PositionSpec:
    """Parse ``"DOGEUSDT long notional=1000 leverage=50"`` (also qty=, entry=, margin=) into a position."""
    words = text.split()
    if len(words) < 2:
        raise InputError(
            "--trade", text, "'SYMBOL SIDE key=value ...', e.g. 'BTCUSDT long notional=5000 leverage=10'"
        )
    fields: dict[str, object] = {"symbol": words[0], "side": words[1].lower()}
    for word in words[2:]:
        key, sep, value = word.partition("=")
        if not sep or key not in {"notional", "qty", "leverage", "entry", "margin"}:
            raise InputError("--trade", word, "key=value with key notional, qty, leverage, entry or margin")
        if key in fields:
            raise _given_twice("--trade", key, value, fields[key], value)
        fields[key] = value
    return parse(PositionSpec, fields, where="--trade")


def _given_twice(option: str, key: str, value: str, first: object, second: object) -> InputError:
    """Return the error for ``key`` given twice in ``option`` (``value``: the second, as written)."""
    return InputError(
        f"{option} {key}", value, "", problem=f"{key} given twice ({shown(first)}, {shown(second)})"
    )


def parse_profile(text: str | None) -> Profile:
    """Parse ``"experience=new,risk=low,monitoring=no"``; missing keys keep their defaults."""
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        if not sep or key not in {"experience", "risk", "monitoring"}:
            raise InputError("--profile", part, "experience=..., risk=... or monitoring=...")
        if key in values:
            raise _given_twice("--profile", key, value, values[key], value.strip())
        values[key] = value.strip().lower()
    try:
        experience = Experience(values.get("experience", "intermediate"))
    except ValueError:
        raise InputError(
            "--profile experience", values["experience"], "new, intermediate or experienced"
        ) from None
    try:
        risk = Tolerance(values.get("risk", "medium"))
    except ValueError:
        raise InputError("--profile risk", values["risk"], "low, medium or high") from None
    monitoring = values.get("monitoring", "yes")
    if monitoring not in {"yes", "no"}:
        raise InputError("--profile monitoring", monitoring, "yes or no")
    return Profile(experience=experience, risk=risk, monitoring=monitoring == "yes")


def log_returns(market: MarketData) -> dict[str, np.ndarray]:
    """Return per-symbol log returns of the last-price closes (bar to bar)."""
    return {s: np.diff(np.log(market.ohlc(s, "last")[:, 3])) for s in market.symbols}


def correlation(returns: Mapping[str, np.ndarray], a: str, b: str) -> float:
    """Return the Pearson correlation of two symbols' returns (1 for the same symbol)."""
    if a == b:
        return 1.0
    return float(np.corrcoef(returns[a], returns[b])[0, 1])


def volatility_ratio(market: MarketData, symbol: str) -> float:
    """Return realized volatility over the last day divided by that over the whole window."""
    r = log_returns(market)[symbol]
    per_day = max(1, round(86400 / market.interval.total_seconds()))
    recent = r[-per_day:]
    whole = float(np.std(r))
    return float(np.std(recent)) / whole if whole > 0 else 1.0


def advise(
    portfolio: Portfolio,
    trade: PositionSpec,
    venue: Venue,
    market: MarketData,
    profile: Profile,
    *,
    evidence: EvidenceFn | None = None,
) -> Advice:
    """Recommend cross or isolated for ``trade`` added to ``portfolio``; see the module docstring.

    A trade in a symbol already held is advice on **adding to that position**: the criteria are measured
    on the combined position (its size, the trade's leverage) against the rest of the book, and since the
    mode is the symbol's, the action says whether to add in the current mode or how to change it (the
    venue's policy: switch in place, or close and reopen). The revisit list applies exactly the same
    criteria (:func:`position_reasons`) to every other open position, so it never disagrees with the
    recommendation about the same facts; the position being added to is not repeated there.
    """
    symbol = venue.resolve_symbol(trade.symbol)
    held = [venue.resolve_symbol(p.symbol) for p in portfolio.positions]
    for name in [symbol, *held]:
        if name not in market.symbols:
            raise InputError("symbol", name, f"one of the market data's symbols {', '.join(market.symbols)}")
    if portfolio.position_mode is PositionMode.ONE_WAY:
        opposite = next(
            (
                p
                for name, p in zip(held, portfolio.positions, strict=True)
                if name == symbol and p.side is not trade.side
            ),
            None,
        )
        if opposite is not None:
            # one-way mode nets a symbol to one position: the trade reduces, closes or flips the open one
            raise InputError(
                "trade",
                f"{symbol} {trade.side}",
                "",
                problem=(
                    f"in one-way mode a {trade.side} on {symbol} reduces the open {opposite.side} position "
                    "(or closes and flips it), whose margin mode stays the symbol's; advise is for opening "
                    "or adding. Ask about the open position with `marginlab liq`, or use position_mode = "
                    '"hedge" to hold both sides'
                ),
            )
    returns = log_returns(market)
    index = next(
        (
            i
            for i, (name, p) in enumerate(zip(held, portfolio.positions, strict=True))
            if name == symbol and p.side is trade.side
        ),
        None,
    )
    rest = portfolio
    subject = trade
    if index is not None:
        current = portfolio.positions[index]
        rest = portfolio.model_copy(
            update={"positions": [p for j, p in enumerate(portfolio.positions) if j != index]}
        )
        subject = _combined(current, trade, market, venue)
    reasons = position_reasons(subject, rest, venue, market, returns, profile)
    results: Mapping[str, Evidence] = {}
    if evidence is not None:
        as_cross = _with_trade(rest, subject, MarginMode.CROSS)
        as_isolated = _with_trade(rest, subject, MarginMode.ISOLATED)
        results = evidence(as_cross, as_isolated)
        reasons += _evidence_reasons(results, profile)
    score = sum(r.weight for r in reasons)
    recommendation = _decide(score)
    flags = _flag_open_positions(portfolio, venue, market, returns, profile, skip=index)
    if index is None:
        action = f"open {symbol} {trade.side} {recommendation}"
        adds_to = None
    else:
        current = portfolio.positions[index]
        adds_to = f"positions[{index}] {symbol} {current.side} ({current.mode})"
        if current.mode is recommendation:
            action = f"add to the open {symbol} {current.side} position, keeping it {current.mode}"
        else:
            action = (
                f"the open {symbol} {current.side} position is {current.mode}; the criteria favour "
                f"{recommendation} for the combined position: {switch_how(venue, recommendation)}"
            )
    return Advice(
        recommendation=recommendation,
        score=score,
        reasons=tuple(reasons),
        evidence=results,
        flags=flags,
        action=action,
        adds_to=adds_to,
    )


def _decide(score: int) -> MarginMode:
    """Return the mode a total score favours (ties go to isolated: the loss stays capped)."""
    return MarginMode.CROSS if score > 0 else MarginMode.ISOLATED


def switch_how(venue: Venue, mode: MarginMode) -> str:
    """Return how to move an open position to ``mode`` on ``venue`` (its mode-switch policy)."""
    if venue.mode_switch is ModeSwitchPolicy.ANYTIME:
        return f"switch it to {mode} in place ({venue.title} allows it with a position open)"
    return (
        f"close it and reopen it {mode} ({venue.title} does not switch the margin mode of a symbol "
        "while a position is open)"
    )


def position_reasons(
    spec: PositionSpec,
    rest: Portfolio,
    venue: Venue,
    market: MarketData,
    returns: Mapping[str, np.ndarray],
    profile: Profile,
) -> list[Reason]:
    """Return every measured criterion (profile, leverage, book, volatility) for ``spec`` beside ``rest``.

    The one scoring rule for the new trade and for every open position: same facts, same score.
    """
    reasons = _profile_reasons(profile) + _trade_reasons(spec, venue)
    reasons += _book_reasons(rest, spec, venue, returns)
    reasons.append(_volatility_reason(market, venue.resolve_symbol(spec.symbol)))
    return reasons


def _volatility_reason(market: MarketData, symbol: str) -> Reason:
    ratio = volatility_ratio(market, symbol)
    if ratio >= HIGH_VOL_RATIO:
        return Reason(
            "volatility regime",
            -1,
            f"{symbol}'s volatility over the last day is {ratio:.1f}× "
            "its level over the data window: wicks are more likely",
        )
    return Reason("volatility regime", 0, f"{symbol}'s recent volatility is {ratio:.1f}× its window level")


def _combined(current: PositionSpec, trade: PositionSpec, market: MarketData, venue: Venue) -> PositionSpec:
    """Return ``current`` with ``trade`` added: summed size, volume-weighted entry, the trade's leverage.

    A trade without ``entry`` fills at the data's last close; a position without one is valued there too.
    """
    price = Decimal(repr(float(market.ohlc(venue.resolve_symbol(trade.symbol), "last")[-1, 3])))

    def size(spec: PositionSpec) -> tuple[Decimal, Decimal]:
        entry = spec.entry or price
        qty = spec.qty if spec.qty is not None else spec.notional / entry  # type: ignore[operator]
        return qty, entry

    (q1, e1), (q2, e2) = size(current), size(trade)
    qty = q1 + q2
    entry = (q1 * e1 + q2 * e2) / qty
    leverage = trade.leverage or current.leverage or venue.default_leverage
    margin = None
    if current.mode is MarginMode.ISOLATED:
        margin = (
            current.margin or q1 * e1 / (current.leverage or venue.default_leverage)
        ) + q2 * e2 / leverage
    return current.model_copy(
        update={
            "qty": qty,
            "notional": None,
            "entry": entry,
            "mark": current.mark,
            "leverage": leverage,
            "margin": margin,
        }
    )


def _with_trade(portfolio: Portfolio, trade: PositionSpec, mode: MarginMode) -> Portfolio:
    spec = trade.model_copy(
        update={"mode": mode, "margin": trade.margin if mode is MarginMode.ISOLATED else None}
    )
    return portfolio.model_copy(update={"positions": [*portfolio.positions, spec]})


def _profile_reasons(profile: Profile) -> list[Reason]:
    experience = {
        Experience.NEW: (-2, "new trader: isolated caps each trade's loss at its margin while learning"),
        Experience.INTERMEDIATE: (0, "intermediate experience: no lean either way"),
        Experience.EXPERIENCED: (1, "experienced trader: can manage a shared margin pool"),
    }[profile.experience]
    tolerance = {
        Tolerance.LOW: (-1, "low risk tolerance: the account must not be at stake for one trade"),
        Tolerance.MEDIUM: (0, "medium risk tolerance"),
        Tolerance.HIGH: (1, "high risk tolerance: accepts the account-wide exposure of cross"),
    }[profile.risk]
    monitoring = (
        (1, "monitors positions: can add margin or cut a cross position before it drains the account")
        if profile.monitoring
        else (-1, "does not monitor: nobody will act in time, so the loss should be capped")
    )
    return [
        Reason("experience", *experience),
        Reason("risk tolerance", *tolerance),
        Reason("monitoring", *monitoring),
    ]


def _trade_reasons(trade: PositionSpec, venue: Venue) -> list[Reason]:
    leverage = trade.leverage or venue.default_leverage
    if leverage >= 20:
        return [
            Reason(
                "conviction / leverage",
                -2,
                f"{leverage}x is a speculative bet: a {100 / float(leverage):.1f} % "
                "move wipes its margin; isolate it",
            )
        ]
    if leverage <= 5:
        return [
            Reason(
                "conviction / leverage",
                1,
                f"{leverage}x is a conviction position: cross keeps it from being liquidated by a wick",
            )
        ]
    return [Reason("conviction / leverage", 0, f"{leverage}x: moderate leverage")]


def _book_reasons(
    portfolio: Portfolio, trade: PositionSpec, venue: Venue, returns: Mapping[str, np.ndarray]
) -> list[Reason]:
    symbol = venue.resolve_symbol(trade.symbol)
    reasons: list[Reason] = []
    positions = [(venue.resolve_symbol(p.symbol), p) for p in portfolio.positions]
    n = len(positions)
    hedges = [
        (s, correlation(returns, symbol, s))
        for s, p in positions
        if p.side is not trade.side and correlation(returns, symbol, s) >= HEDGE_CORRELATION
    ]
    if hedges:
        s, rho = max(hedges, key=lambda h: h[1])
        reasons.append(
            Reason(
                "hedge",
                3,
                f"hedges the open {s} position (return correlation {rho:.2f}): in cross the "
                "legs share margin and offset; isolated could liquidate one leg alone",
            )
        )
    same = [
        correlation(returns, symbol, s)
        for s, p in positions
        if p.side is trade.side and p.mode is MarginMode.CROSS
    ]
    if same and float(np.mean(same)) >= SAME_BET_CORRELATION:
        reasons.append(
            Reason(
                "same-direction bet",
                -1,
                f"adds to {len(same)} open cross position(s) on the same side "
                f"with mean correlation {float(np.mean(same)):.2f}: one move hits the whole cross book",
            )
        )
    if n >= 3:
        symbols = [s for s, _ in positions] + [symbol]
        pairs = [
            abs(correlation(returns, a, b)) for i, a in enumerate(symbols) for b in symbols[i + 1 :] if a != b
        ]
        mean_abs = float(np.mean(pairs)) if pairs else 1.0
        if mean_abs < DIVERSIFIED_CORRELATION:
            reasons.append(
                Reason(
                    "diversified book",
                    1,
                    f"{n} open positions with mean absolute correlation "
                    f"{mean_abs:.2f}: losses rarely coincide, so pooled margin is used efficiently",
                )
            )
        else:
            reasons.append(
                Reason(
                    "diversified book",
                    0,
                    f"{n} open positions but mean absolute correlation {mean_abs:.2f}: they move together",
                )
            )
    else:
        reasons.append(Reason("number of positions", 0, f"{n} open position(s)"))
    return reasons


def _evidence_reasons(results: Mapping[str, Evidence], profile: Profile) -> list[Reason]:
    cross, isolated = results["cross"], results["isolated"]
    reasons: list[Reason] = []
    threshold = WIPEOUT_THRESHOLD[profile.risk.value]
    gap = cross.p_wipeout - isolated.p_wipeout
    if gap > threshold:
        text = (
            f"cross raises P(account loses ≥ 90 %) from {isolated.p_wipeout:.2%} to {cross.p_wipeout:.2%}, "
            f"above the {threshold:.1%} a {profile.risk.value}-risk trader accepts"
        )
        reasons.append(Reason("Monte Carlo: wipe-out", -2, text))
    else:
        reasons.append(
            Reason(
                "Monte Carlo: wipe-out",
                0,
                f"P(account loses ≥ 90 %): cross {cross.p_wipeout:.2%}, isolated {isolated.p_wipeout:.2%}",
            )
        )
    liq_gap = isolated.p_trade_liquidated - cross.p_trade_liquidated
    if liq_gap >= 0.2:
        reasons.append(
            Reason(
                "Monte Carlo: liquidation",
                1,
                f"isolated liquidates the trade in "
                f"{isolated.p_trade_liquidated:.1%} of paths against {cross.p_trade_liquidated:.1%} in cross",
            )
        )
    else:
        reasons.append(
            Reason(
                "Monte Carlo: liquidation",
                0,
                f"P(trade liquidated): isolated {isolated.p_trade_liquidated:.1%}, "
                f"cross {cross.p_trade_liquidated:.1%}",
            )
        )
    return reasons


def _flag_open_positions(
    portfolio: Portfolio,
    venue: Venue,
    market: MarketData,
    returns: Mapping[str, np.ndarray],
    profile: Profile,
    *,
    skip: int | None = None,
) -> tuple[str, ...]:
    """Return open positions whose mode disagrees with :func:`position_reasons` applied to them.

    Each flag says how to change the mode on this venue (:func:`switch_how`). ``skip`` is the position the
    trade adds to (the recommendation already covers it).
    """
    flags = []
    for i, spec in enumerate(portfolio.positions):
        if i == skip:
            continue
        rest = portfolio.model_copy(
            update={"positions": [p for j, p in enumerate(portfolio.positions) if j != i]}
        )
        score = sum(r.weight for r in position_reasons(spec, rest, venue, market, returns, profile))
        fits = _decide(score)
        if fits is not spec.mode:
            flags.append(
                f"positions[{i}] {venue.resolve_symbol(spec.symbol)} {spec.side} is {spec.mode}; "
                f"the same criteria favour {fits} (score {score:+d}): {switch_how(venue, fits)}"
            )
    return tuple(flags)

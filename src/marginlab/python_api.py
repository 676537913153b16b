"""The Python front end: ``marginlab.replay``, ``marginlab.risk``, ``marginlab.size``, ``marginlab.advise``.

Keyword-only functions that take the plain values a bot developer has at hand — a file path or a dict for a
portfolio, ``"long"`` for a side, ``10000`` or ``"0.05"`` for an amount, ``"1%"`` for a share — check them at
the boundary, build the use case's request and return its typed result (short ``repr``, exact Decimals).

Amounts are exact: an ``int``, a ``str`` or a ``Decimal``; a ``float`` is refused, because ``0.1`` as a float
is not the decimal its writer meant. Every bad value raises a :class:`~marginlab.errors.MarginLabError`
subclass whose message starts with the argument's name. Like the CLI, this module reaches the engine only
through :mod:`marginlab.app` (an import-linter contract says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

from marginlab.app import advice as advice_case
from marginlab.app import replay as replay_case
from marginlab.app import risk as risk_case
from marginlab.app import sizing as sizing_case
from marginlab.app.inputs import (
    PortfolioSource,
    parse_choice,
    parse_count,
    parse_decimal,
    parse_fraction,
    read_portfolio,
)
from marginlab.app.sizing import MarginMode, Side
from marginlab.errors import InputError

__all__ = ["advise", "replay", "risk", "size"]

Number = str | int | Decimal
MODES = ("cross", "isolated", "hybrid")


def replay(
    *,
    portfolio: PortfolioSource,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    modes: str | Sequence[str] = MODES,
    exchange: str | None = None,
    tiers_file: str | Path | None = None,
    engine: str = "fast",
    extremes: bool = True,
) -> replay_case.ReplayReport:
    """Replay a portfolio through market history once per margin mode.

    Parameters
    ----------
    portfolio : path, mapping or Portfolio
        The ``liq`` format with the replay fields (``notional``, ``open_at``, ``stop_loss`` …).
    scenario, datadir : str, optional
        Exactly one: a bundled scenario (``"2025-10-10"``; see ``marginlab scenarios``) or a freqtrade data
        directory.
    start, end : str, optional
        ISO 8601 bounds, ``[start, end)`` (UTC if no zone).
    modes : str or sequence of str
        ``"cross,isolated,hybrid"`` or a subset, in order.
    exchange, tiers_file : optional
        Rule set overriding the portfolio's, and a ccxt ``fetch_leverage_tiers()`` dump.
    engine : {"fast", "exact"}
        The numba core or the Decimal engine (same results, parity-tested).
    extremes : bool
        Check liquidation at each bar's adverse mark extreme (default) or at the close.

    Returns
    -------
    ReplayReport
        ``.results[mode]`` (``final_equity``, ``liquidations`` …, money in the settlement asset) and
        ``.verdicts[mode]`` (one sentence).
    """
    request = replay_case.ReplayRequest(
        portfolio=read_portfolio(portfolio),
        **_data_and_rules(scenario, datadir, modes, exchange, tiers_file),
        start=_optional_text("start", start),
        end=_optional_text("end", end),
        engine=parse_choice_text("engine", engine, ("fast", "exact")),
        extremes=_flag("extremes", extremes),
    )
    return replay_case.replay(request)


def risk(
    *,
    portfolio: PortfolioSource,
    horizon: str | int = "1d",
    paths: int = 100_000,
    seed: int = 0,
    model: str = "gbm",
    vol: float | None = None,
    drift: float = 0.0,
    steps_per_day: int = 288,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    modes: str | Sequence[str] = MODES,
    exchange: str | None = None,
    tiers_file: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> risk_case.RiskResult:
    """Monte Carlo liquidation and ruin probabilities of a portfolio in each margin mode.

    Parameters
    ----------
    portfolio : path, mapping or Portfolio
        Positions without ``entry`` open at the data's last close.
    horizon : str or int
        ``"1d"``, ``"12h"``, ``"90m"``, or whole days.
    paths, seed : int
        Number of simulated paths; the same seed gives the same answer (whatever the number of workers).
    model : {"gbm", "student-t", "jump", "bootstrap"}
        Path model.
    vol, drift : float, optional
        Annualised volatility replacing the estimate from the data, and drift (statistics, so floats).
    steps_per_day : int
        Monitoring points per day (liquidation is checked there).
    scenario, datadir : optional
        Data for start prices and estimation; default the latest bundled scenario.
    modes, exchange, tiers_file :
        As in :func:`replay`.
    workers, scheduler : optional
        A local Dask cluster of N workers, or a scheduler's address.

    Returns
    -------
    RiskResult
        ``.modes[mode]``: ``p_any_liquidation``, ``p_wipeout`` (fractions, with Wilson 95 % intervals),
        ``expected_loss``, ``es95``, ``es99`` (settlement asset), per-position ``p_liquidation``.
    """
    request = risk_case.RiskRequest(
        portfolio=read_portfolio(portfolio),
        horizon=_horizon(horizon),
        paths=parse_count("paths", paths, maximum=risk_case.MAX_PATHS),
        seed=parse_count("seed", seed, minimum=0),
        model=parse_choice_text("model", model, ("gbm", "student-t", "jump", "bootstrap")),
        vol=None if vol is None else _real("vol", vol, positive=True),
        drift=_real("drift", drift),
        steps_per_day=parse_count("steps_per_day", steps_per_day),
        **_data_and_rules(scenario, datadir, modes, exchange, tiers_file),
        workers=None if workers is None else parse_count("workers", workers),
        scheduler=_optional_text("scheduler", scheduler),
    )
    return risk_case.risk(request)


def size(
    *,
    symbol: str,
    side: str | Side,
    equity: Number,
    risk: Number,
    entry: Number,
    stop: Number,
    exchange: str = "binance",
    tiers_file: str | Path | None = None,
    mode: str | MarginMode = MarginMode.ISOLATED,
    leverage: Number | None = None,
    buffer: Number = "0.5%",
) -> sizing_case.Sizing:
    """Size a position that risks a share of equity to its stop, and check the stop comes first.

    Parameters
    ----------
    symbol : str
        Venue-native (``"BTCUSDT"``) or ccxt-unified (``"BTC/USDT:USDT"``).
    side, mode : str or enum
        ``"long"``/``"short"``; ``"isolated"`` (default) or ``"cross"``.
    equity, entry, stop : int, str or Decimal
        Account equity (settlement asset) and prices (quote per base).
    risk, buffer : int, str or Decimal
        Shares as fractions (``0.01``) or percentages (``"1%"``): the equity lost at the stop (fees
        included), and the smallest gap between the stop and the liquidation price, of the entry.
    leverage : int, str or Decimal, optional
        Default: the venue's, capped at the tier maximum.
    exchange, tiers_file :
        Rule set and an optional ccxt tiers dump.

    Returns
    -------
    Sizing
        ``.qty`` (rounded down to the lot), ``.liquidation_price`` (exact), ``.loss_at_stop``,
        ``.stop_before_liquidation``, ``.warnings``.
    """
    request = sizing_case.SizingRequest(
        position=sizing_case.SizeRequest(
            symbol=_text("symbol", symbol),
            side=parse_choice("side", side, Side),
            equity=parse_decimal("equity", equity),
            risk=parse_fraction("risk", risk),
            entry=parse_decimal("entry", entry),
            stop=parse_decimal("stop", stop),
            mode=parse_choice("mode", mode, MarginMode),
            leverage=None if leverage is None else parse_decimal("leverage", leverage),
            buffer=parse_fraction("buffer", buffer),
        ),
        exchange=_text("exchange", exchange),
        tiers_file=_optional_path("tiers_file", tiers_file),
    )
    return sizing_case.size(request)


def advise(
    *,
    portfolio: PortfolioSource,
    trade: str,
    profile: str | None = None,
    seed: int = 0,
    paths: int = 20_000,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    exchange: str | None = None,
    tiers_file: str | Path | None = None,
) -> advice_case.Advice:
    """Recommend cross or isolated for a new trade next to a portfolio's open positions.

    Parameters
    ----------
    portfolio : path, mapping or Portfolio
        The open positions.
    trade : str
        ``"DOGEUSDT long notional=1000 leverage=50"`` (also ``qty=``, ``entry=``, ``margin=``).
    profile : str, optional
        ``"experience=new,risk=low,monitoring=no"``; default intermediate, medium, yes.
    seed, paths : int
        Monte Carlo seed and paths per mode (the evidence for both modes uses the same seed).
    scenario, datadir, exchange, tiers_file :
        As in :func:`risk`.

    Returns
    -------
    Advice
        ``.recommendation`` (MarginMode), ``.score`` (positive favours cross), ``.reasons`` (criterion,
        weight, measured sentence), ``.evidence[mode]``, ``.flags`` (open positions to revisit).
    """
    request = advice_case.AdviceRequest(
        portfolio=read_portfolio(portfolio),
        trade=_text("trade", trade),
        profile=_optional_text("profile", profile),
        seed=parse_count("seed", seed, minimum=0),
        paths=parse_count("paths", paths, maximum=risk_case.MAX_PATHS),
        scenario=_optional_text("scenario", scenario),
        datadir=_optional_path("datadir", datadir),
        exchange=_optional_text("exchange", exchange),
        tiers_file=_optional_path("tiers_file", tiers_file),
    )
    return advice_case.recommend(request)


# ------------------------------------------------------------------------------------------- boundary
def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(name, value, "a non-empty str")
    return value


class _DataAndRules(TypedDict):
    """The inputs :func:`replay` and :func:`risk` share, validated: the data, the modes, the rule set."""

    scenario: str | None
    datadir: Path | None
    modes: str | tuple[str, ...]
    exchange: str | None
    tiers_file: Path | None


def _data_and_rules(
    scenario: object, datadir: object, modes: object, exchange: object, tiers_file: object
) -> _DataAndRules:
    return _DataAndRules(
        scenario=_optional_text("scenario", scenario),
        datadir=_optional_path("datadir", datadir),
        modes=_modes(modes),
        exchange=_optional_text("exchange", exchange),
        tiers_file=_optional_path("tiers_file", tiers_file),
    )


def _optional_text(name: str, value: object) -> str | None:
    return None if value is None else _text(name, value)


def _optional_path(name: str, value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str | Path) or not str(value):
        raise InputError(name, value, "a file or directory path")
    return Path(value)


def parse_choice_text(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise InputError naming ``name``."""
    if value not in choices:
        raise InputError(name, value, "one of " + ", ".join(choices))
    return str(value)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(name, value, "True or False")
    return value


def _real(name: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, value, "a finite number (annualised, as a fraction: 0.8 = 80 %)")
    if positive and value <= 0:
        raise InputError(name, value, "a number > 0")
    return float(value)


def _horizon(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError("horizon", value, "a duration such as '1d', '12h', or whole days")
    return value if isinstance(value, str) else f"{value}d"


def _modes(value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and all(m in MODES for m in value):
        return tuple(str(m) for m in value)
    raise InputError("modes", value, "a non-empty subset of cross, isolated, hybrid")

"""What every use case reads: rule sets, portfolio and script documents, market data, option text.

Front ends hand these functions what the user typed (a venue name, a path, ``"1%"``); they return the typed
objects the use cases take, or raise a :class:`~marginlab.errors.MarginLabError` naming the field.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import marginlab.sim
from marginlab.analysis.compare import parse_modes
from marginlab.domain.precision import FINEST, LARGEST, NUMBER_TEXT
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.candles import DataGapWarning, MarketData, load_freqtrade_dir
from marginlab.io.files import read_document
from marginlab.io.scenarios import DEFAULT_SCENARIO, load_scenario
from marginlab.io.schema import Portfolio, Script, parse
from marginlab.io.tiers_file import read_ccxt_tiers
from marginlab.rules import get_venue

__all__ = [
    "DEFAULT_SCENARIO",
    "OnVenue",
    "Portfolio",
    "PortfolioSource",
    "ProgressFn",
    "Script",
    "fast_core_cold",
    "load_market",
    "load_venue",
    "market_or_default",
    "parse_choice",
    "parse_count",
    "parse_decimal",
    "parse_fraction",
    "parse_modes",
    "parse_percent",
    "read_portfolio",
    "read_script",
    "venue_for",
]

E = TypeVar("E", bound=Enum)
D = TypeVar("D", Portfolio, Script)
PortfolioSource = Portfolio | Mapping[str, Any] | str | Path
ScriptSource = Script | Mapping[str, Any] | str | Path
ProgressFn = Callable[[int, int | None, str], None]
"""A long use case reports progress as ``(units done, units in total or None, what it is doing)``."""


def load_venue(name: str, *, tiers_file: str | Path | None = None) -> Venue:
    """Return the rule set ``name``, with tiers replaced from a ccxt tiers file if given."""
    venue = get_venue(name)
    return venue if tiers_file is None else read_ccxt_tiers(tiers_file, venue)


def venue_for(document_exchange: str, exchange: str | None, tiers_file: str | Path | None) -> Venue:
    """Return the rule set a request names (``exchange``), else the one its document names.

    An ``exchange`` given empty (``--exchange ""``) is refused, not taken as "not given".
    """
    if exchange is not None and not exchange.strip():
        raise InputError("--exchange", exchange, "a venue name such as 'binance' (see `marginlab venues`)")
    return load_venue(document_exchange if exchange is None else exchange, tiers_file=tiers_file)


@dataclass(frozen=True, slots=True, kw_only=True)
class OnVenue:
    """The rule set part of a request whose document (portfolio, script, book) names an exchange.

    The requests of the use cases derive from it, so the two fields and their meaning are stated once.

    Parameters
    ----------
    exchange : str, optional
        Rule set name; overrides the document's ``exchange``.
    tiers_file : Path, optional
        ccxt ``fetch_leverage_tiers()`` dump replacing the bundled tiers.
    """

    exchange: str | None = None
    tiers_file: Path | None = None

    def venue(self, document_exchange: str) -> Venue:
        """Return the rule set :attr:`exchange` names, else ``document_exchange``'s (:func:`venue_for`)."""
        return venue_for(document_exchange, self.exchange, self.tiers_file)


def read_portfolio(source: PortfolioSource) -> Portfolio:
    """Return a validated portfolio from a model, a mapping, or a ``.toml``/``.json`` file path."""
    return _read(Portfolio, source, "portfolio")


def read_script(source: ScriptSource) -> Script:
    """Return a validated what-if script from a model, a mapping, or a ``.toml``/``.json`` file path."""
    return _read(Script, source, "script")


def _read(model: type[D], source: D | Mapping[str, Any] | str | Path, name: str) -> D:
    if isinstance(source, model):
        return source
    if isinstance(source, Mapping):
        return parse(model, dict(source), where=name)
    if not isinstance(source, str | Path):
        raise InputError(name, source, f"a file path, a mapping or a {model.__name__}")
    doc = read_document(source)
    if not doc:
        raise InputError(
            Path(source).name,
            None,
            "",
            problem=f"empty {name}: the file holds no keys"
            + (" (give [balances] and [[positions]])" if model is Portfolio else " (give [[steps]])"),
        )
    return parse(model, doc, where=Path(source).name)


def load_market(
    *,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    timeframe: str | None = None,
) -> MarketData:
    """Return market data from a bundled scenario or a freqtrade data directory, cut to [start, end).

    ``datadir`` may be the candle folder, a freqtrade root (``user_data/data/binance/futures/`` is found)
    or a freqtrade ``config.json``; ``timeframe`` picks the candles when the folder holds several. The
    load-time gap warnings are silenced: the notes of the returned window report its gaps.
    """
    if (scenario is None) == (datadir is None):
        raise InputError(
            "--scenario/--datadir", None, "", problem="give exactly one of --scenario or --datadir"
        )
    if scenario is not None and timeframe is not None:
        raise InputError("--timeframe", timeframe, "", problem="--timeframe applies to --datadir only")
    if scenario is not None:
        market = load_scenario(scenario)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataGapWarning)
            market = load_freqtrade_dir(Path(str(datadir)), timeframe=timeframe)
    return market.slice(start, end) if start is not None or end is not None else market


def market_or_default(scenario: str | None, datadir: str | Path | None) -> MarketData:
    """Return the data a request names, or the bundled :data:`DEFAULT_SCENARIO` (the latest) by default."""
    if scenario is not None and datadir is not None:
        return load_market(scenario=scenario, datadir=datadir)  # raises: give exactly one
    if datadir is not None:
        return load_market(datadir=datadir)
    return load_market(scenario=scenario or DEFAULT_SCENARIO)


def fast_core_cold() -> bool:
    """Return whether numba's on-disk cache holds no compiled replay kernel yet (the first run compiles).

    ``make install`` warms it (:mod:`marginlab.app.warmup`); an install without it compiles on first use,
    which front ends announce with one line.
    """
    custom = os.environ.get("NUMBA_CACHE_DIR")  # numba then caches there only
    folders = [Path(custom)] if custom else [Path(marginlab.sim.__file__).parent / "__pycache__"]
    return not any(next(folder.rglob("nb.*.nbi"), None) for folder in folders if folder.is_dir())


_FLOAT_WHY = "an int, a str ('0.1') or a Decimal (a float cannot hold most decimal amounts exactly)"


def parse_decimal(field: str, value: object) -> Decimal:
    """Return ``value`` as an exact, finite Decimal, or raise InputError naming ``field``.

    Accepts a Decimal, an int or a plain decimal string in ASCII digits (``"0.1"``, ``"-2.5e3"``; no ``_``
    separators, no other scripts' digits). Refuses floats, since a float such as 0.1 is not the decimal the
    caller wrote, and bools.
    """
    if isinstance(value, float):
        raise InputError(field, value, _FLOAT_WHY)
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InputError(field, value, "a number given as a str, an int or a Decimal")
    if isinstance(value, str) and not NUMBER_TEXT.fullmatch(value.strip()):
        raise InputError(field, value, "a number")
    number = (
        value if isinstance(value, Decimal) else Decimal(value.strip() if isinstance(value, str) else value)
    )
    if not number.is_finite():
        raise InputError(field, value, "a finite number")
    if abs(number) > LARGEST or (number and abs(number) < FINEST):
        raise InputError(field, value, "0 or a number of magnitude between 1e-18 and 1e24")
    return number


def parse_percent(field: str, text: object) -> Decimal:
    """Return ``"1%"`` or ``"1"`` (percent, as the CLI takes it) as the fraction 0.01, or raise InputError."""
    if isinstance(text, str):
        return parse_decimal(field, text.strip().removesuffix("%")) / 100
    return parse_decimal(field, text) / 100


def parse_fraction(field: str, value: object) -> Decimal:
    """Return ``"1%"`` as 0.01 and any other number as itself (0.01): how the Python API takes shares."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_percent(field, value)
    return parse_decimal(field, value)


def parse_choice(field: str, value: object, choices: type[E]) -> E:
    """Return ``value`` as a member of the enum ``choices`` (a member or its string), or raise InputError."""
    if isinstance(value, choices):
        return value
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in choices)
        raise InputError(field, value, f"one of {allowed}") from None


def parse_count(field: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``, or raise InputError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(field, value, f"an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise InputError(field, value, f"an integer <= {maximum:,}")
    return value

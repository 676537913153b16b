"""What every use case reads: rule sets, portfolio and script documents, market data, option text.

Front ends hand these functions what the user typed (a venue name, a path, ``"1%"``); they return the typed
objects the use cases take, or raise a :class:`~marginlab.errors.MarginLabError` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from marginlab.analysis.compare import parse_modes
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.candles import MarketData, load_freqtrade_dir
from marginlab.io.files import read_document
from marginlab.io.scenarios import DEFAULT_SCENARIO, load_scenario
from marginlab.io.schema import Portfolio, Script, parse
from marginlab.io.tiers_file import read_ccxt_tiers
from marginlab.rules import get_venue

__all__ = [
    "DEFAULT_SCENARIO",
    "Portfolio",
    "ProgressFn",
    "Script",
    "load_market",
    "load_venue",
    "market_or_default",
    "parse_decimal",
    "parse_modes",
    "parse_percent",
    "read_portfolio",
    "read_script",
    "venue_for",
]

PortfolioSource = Portfolio | Mapping[str, Any] | str | Path
ScriptSource = Script | Mapping[str, Any] | str | Path
ProgressFn = Callable[[int, int | None, str], None]
"""A long use case reports progress as ``(units done, units in total or None, what it is doing)``."""


def load_venue(name: str, *, tiers_file: str | Path | None = None) -> Venue:
    """Return the rule set ``name``, with tiers replaced from a ccxt tiers file if given."""
    venue = get_venue(name)
    return venue if tiers_file is None else read_ccxt_tiers(tiers_file, venue)


def venue_for(document_exchange: str, exchange: str | None, tiers_file: str | Path | None) -> Venue:
    """Return the rule set a request names (``exchange``), else the one its document names."""
    return load_venue(exchange or document_exchange, tiers_file=tiers_file)


def read_portfolio(source: PortfolioSource) -> Portfolio:
    """Return a validated portfolio from a model, a mapping, or a ``.toml``/``.json`` file path."""
    if isinstance(source, Portfolio):
        return source
    if isinstance(source, Mapping):
        return parse(Portfolio, dict(source), where="portfolio")
    return parse(Portfolio, read_document(source), where=Path(source).name)


def read_script(source: ScriptSource) -> Script:
    """Return a validated what-if script from a model, a mapping, or a ``.toml``/``.json`` file path."""
    if isinstance(source, Script):
        return source
    if isinstance(source, Mapping):
        return parse(Script, dict(source), where="script")
    return parse(Script, read_document(source), where=Path(source).name)


def load_market(
    *,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
) -> MarketData:
    """Return market data from a bundled scenario or a freqtrade data directory, cut to [start, end)."""
    if (scenario is None) == (datadir is None):
        raise InputError(
            "--scenario/--datadir", None, "", problem="give exactly one of --scenario or --datadir"
        )
    market = load_scenario(scenario) if scenario is not None else load_freqtrade_dir(Path(str(datadir)))
    return market.slice(start, end) if start is not None or end is not None else market


def market_or_default(scenario: str | None, datadir: str | Path | None) -> MarketData:
    """Return the data a request names, or the bundled :data:`DEFAULT_SCENARIO` (the latest) by default."""
    if scenario is not None and datadir is not None:
        return load_market(scenario=scenario, datadir=datadir)  # raises: give exactly one
    if datadir is not None:
        return load_market(datadir=datadir)
    return load_market(scenario=scenario or DEFAULT_SCENARIO)


def parse_decimal(field: str, text: str | int | Decimal) -> Decimal:
    """Return ``text`` as a finite Decimal, or raise InputError naming ``field``."""
    try:
        value = Decimal(text) if not isinstance(text, Decimal) else text
    except ArithmeticError:
        raise InputError(field, text, "a number") from None
    if not value.is_finite():
        raise InputError(field, text, "a finite number")
    return value


def parse_percent(field: str, text: str | int | Decimal) -> Decimal:
    """Return ``"1%"`` or ``"1"`` (percent) as the fraction 0.01, or raise InputError naming ``field``."""
    if isinstance(text, str):
        try:
            value = Decimal(text.strip().removesuffix("%"))
        except ArithmeticError:
            raise InputError(field, text, "a percentage such as 1 or 1%") from None
    else:
        value = Decimal(text)
    return value / 100

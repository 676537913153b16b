"""marginlab: what a margin mode does to a trade, in exact numbers.

For a bot or a notebook, four calls with keyword-only arguments (plain values in, typed results out)::

    import marginlab

    marginlab.replay(portfolio="book.toml", scenario="2025-10-10")      # each mode through a crash
    marginlab.risk(portfolio="book.toml", paths=20_000, seed=1)         # Monte Carlo per mode
    marginlab.size(symbol="BTCUSDT", side="long", equity=10_000, risk="1%", entry=100_000, stop=97_000)
    marginlab.advise(portfolio="book.toml", trade="DOGEUSDT long notional=1000 leverage=50")

The exact engine itself::

    from decimal import Decimal
    from marginlab import Account, MarginMode, Side, get_venue

    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": Decimal("9500")})
    account.import_position(venue.instrument("BTCUSDT"), Side.LONG, Decimal("0.05"), Decimal("100000"),
                            leverage=Decimal("10"), mode=MarginMode.ISOLATED)
    account.liquidation_price(account.position("BTCUSDT"))   # Decimal('90361.44578...')

Files and reports: :func:`load_portfolio` + :func:`analyze`, :func:`load_script` + :func:`run_script`,
:func:`compare_modes`, :func:`ccxt_position` for ccxt's ``Position`` structure, :func:`jsonable` for JSON.
Every error is a :class:`MarginLabError` whose message names the argument or field and the value.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are loaded on first use (``__getattr__``), not at ``import marginlab``
    from marginlab.app import (
        LiquidationReport,
        ReplayReport,
        RunReport,
        analyze,
        ccxt_position,
        compare_modes,
        load_venue,
        run_script,
    )
    from marginlab.app.advice import Advice
    from marginlab.app.risk import RiskResult
    from marginlab.app.sizing import Sizing
    from marginlab.domain.account import Account, AutoAddMargin
    from marginlab.domain.enums import Liquidity, MarginMode, PositionMode, Side
    from marginlab.domain.tiers import RiskTier, TierTable
    from marginlab.errors import (
        DataError,
        InputError,
        InsufficientMargin,
        MarginLabError,
        OperationRejected,
        RuleSetError,
    )
    from marginlab.io.schema import Portfolio, Script
    from marginlab.python_api import advise, replay, risk, size
    from marginlab.render import jsonable
    from marginlab.rules import get_venue

__version__ = "0.1.0"

# Where each public name lives. Importing them all up front cost ~1.1 s (pandas, Plotly, the use cases):
# every Dask worker paid it to unpickle a Monte Carlo chunk (``marginlab.sim...`` imports this package
# first), as did ``from marginlab import Account``. PEP 562: a name is imported when first used.
_HOMES = {
    "marginlab.app": (
        "LiquidationReport",
        "ReplayReport",
        "RunReport",
        "analyze",
        "ccxt_position",
        "compare_modes",
        "load_venue",
        "run_script",
    ),
    "marginlab.app.advice": ("Advice",),
    "marginlab.app.risk": ("RiskResult",),
    "marginlab.app.sizing": ("Sizing",),
    "marginlab.domain.account": ("Account", "AutoAddMargin"),
    "marginlab.domain.enums": ("Liquidity", "MarginMode", "PositionMode", "Side"),
    "marginlab.domain.tiers": ("RiskTier", "TierTable"),
    "marginlab.errors": (
        "DataError",
        "InputError",
        "InsufficientMargin",
        "MarginLabError",
        "OperationRejected",
        "RuleSetError",
    ),
    "marginlab.io.schema": ("Portfolio", "Script"),
    "marginlab.python_api": ("advise", "replay", "risk", "size"),
    "marginlab.render": ("jsonable",),
    "marginlab.rules": ("get_venue",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562), then keep it here."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'marginlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names too, loaded or not."""
    return sorted({*globals(), *_HOME_OF})


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a portfolio file (.toml or .json)."""
    from marginlab.app import read_portfolio

    return read_portfolio(Path(path))


def load_script(path: str | Path) -> Script:
    """Read and validate a what-if script file (.toml or .json)."""
    from marginlab.app import read_script

    return read_script(Path(path))


__all__ = [
    "Account",
    "Advice",
    "AutoAddMargin",
    "DataError",
    "InputError",
    "InsufficientMargin",
    "LiquidationReport",
    "Liquidity",
    "MarginLabError",
    "MarginMode",
    "OperationRejected",
    "Portfolio",
    "PositionMode",
    "ReplayReport",
    "RiskResult",
    "RiskTier",
    "RuleSetError",
    "RunReport",
    "Script",
    "Side",
    "Sizing",
    "TierTable",
    "advise",
    "analyze",
    "ccxt_position",
    "compare_modes",
    "get_venue",
    "jsonable",
    "load_portfolio",
    "load_script",
    "load_venue",
    "replay",
    "risk",
    "run_script",
    "size",
]

"""marginlab: what a margin mode does to a trade, in exact numbers.

The public surface is small::

    from decimal import Decimal
    from marginlab import Account, MarginMode, Side, get_venue

    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": Decimal("9500")})
    account.import_position(venue.instrument("BTCUSDT"), Side.LONG, Decimal("0.05"), Decimal("100000"),
                            leverage=Decimal("10"), mode=MarginMode.ISOLATED)
    account.liquidation_price(account.position("BTCUSDT"))   # Decimal('90361.44578...')

Files and reports: :func:`load_portfolio` + :func:`analyze`, :func:`load_script` + :func:`run_script`,
:func:`compare_modes`, and :func:`ccxt_position` for ccxt's ``Position`` structure.
"""

from __future__ import annotations

from pathlib import Path

from marginlab.app import (
    LiquidationReport,
    RunReport,
    analyze,
    ccxt_position,
    compare_modes,
    load_venue,
    run_script,
)
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
from marginlab.io.files import read_document
from marginlab.io.schema import Portfolio, Script, parse
from marginlab.render import jsonable
from marginlab.rules import get_venue

__version__ = "0.1.0"


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a portfolio file (.toml or .json)."""
    return parse(Portfolio, read_document(path), where=Path(path).name)


def load_script(path: str | Path) -> Script:
    """Read and validate a what-if script file (.toml or .json)."""
    return parse(Script, read_document(path), where=Path(path).name)


__all__ = [
    "Account",
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
    "RiskTier",
    "RuleSetError",
    "RunReport",
    "Script",
    "Side",
    "TierTable",
    "analyze",
    "ccxt_position",
    "compare_modes",
    "get_venue",
    "jsonable",
    "load_portfolio",
    "load_script",
    "load_venue",
    "run_script",
]

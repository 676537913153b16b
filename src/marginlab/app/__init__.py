"""Use cases: one module per thing a user does, shared by every front end (CLI, REST API, dashboard).

=============  ==============================================================================
module         use case
=============  ==============================================================================
calculator     liquidation and margin figures of a portfolio as it stands; all-cross vs all-isolated
whatif         a price move applied to a book as it is, all-cross and all-isolated, side by side
scripts        drive the exact engine through a what-if script
replay         a portfolio through market history once per margin mode
risk           Monte Carlo liquidation and ruin probabilities per margin mode
sizing         the quantity that risks a share of equity to the stop
advice         cross or isolated for a new trade, with measured reasons
catalog        the bundled market scenarios and venue rule sets
inputs         what they all read: rule sets, documents, market data, option text
=============  ==============================================================================

Each module has a few plain functions that take a typed request (a frozen dataclass) and return a typed
result; :mod:`marginlab.render` turns results into JSON-ready data and Rich tables. Front ends import this
package and :mod:`marginlab.render` only (an import-linter contract says so).
"""

from __future__ import annotations

from marginlab.app.calculator import (
    AccountReport,
    LiquidationReport,
    ModesReport,
    PortfolioRequest,
    PositionReport,
    analyze,
    build_account,
    ccxt_position,
    compare_modes,
)
from marginlab.app.inputs import DEFAULT_SCENARIO, load_market, load_venue, read_portfolio, read_script
from marginlab.app.replay import ReplayReport, ReplayRequest, compare_history
from marginlab.app.scripts import RunReport, ScriptRequest, StepResult, apply_step, run_script

__all__ = [
    "DEFAULT_SCENARIO",
    "AccountReport",
    "LiquidationReport",
    "ModesReport",
    "PortfolioRequest",
    "PositionReport",
    "ReplayReport",
    "ReplayRequest",
    "RunReport",
    "ScriptRequest",
    "StepResult",
    "analyze",
    "apply_step",
    "build_account",
    "ccxt_position",
    "compare_history",
    "compare_modes",
    "load_market",
    "load_venue",
    "read_portfolio",
    "read_script",
    "run_script",
]

"""The one place that defines the fast core's data layouts, integer codes and their messages.

Every array a kernel reads or writes is described here, so ``compile.py`` (which fills them) and ``nb.py``
(which reads them) cannot drift apart.

Layouts
-------
tiers : float64 (K, 5)
    All tier tables concatenated; columns ``FLOOR, CAP, MMR, CUM, MAX_LEV``. ``CAP`` of a table's last tier is
    its real cap (``inf`` when open-ended); the liquidation solver treats the last tier as open-ended, as the
    exact ``Leg.tier_at`` does, while ``tier_for`` (leverage checks, partial liquidation) reports overflow.
tables : float64 (T, 10)
    One row per instrument (one per symbol of a replay); columns ``T_*`` below. Integer-valued columns hold
    exact small integers.
positions : structured ``POSITION_DT`` (P,)
    The positions of a replay in portfolio order (one slot per portfolio entry).
events : structured ``EVENT_DT`` (E,)
    What happened during a replay, in order.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

# --------------------------------------------------------------------------- tiers (K, 5)
FLOOR, CAP, MMR, CUM, MAX_LEV = 0, 1, 2, 3, 4
N_TIER_COLS = 5
KMAX = 16  # tiers per table searched branchlessly by the vectorised liquidation price (more: a linear scan)

# --------------------------------------------------------------------------- tables (T, 10)
T_START = 0  # first row of the table in ``tiers``
T_COUNT = 1  # number of tiers
T_CONTRACTS = 2  # 1: tiers count contracts (OKX), 0: quote notional
T_CONTRACT_SIZE = 3  # base units per contract
T_CLOSE_FEE = 4  # fee rate added to the maintenance rate (venue puts the close fee in the condition), else 0
T_TAKER = 5  # taker fee rate (fraction of notional)
T_MAKER = 6  # maker fee rate
T_LIQ_FEE = 7  # liquidation (clearance) fee rate
T_LOT = 8  # lot size, base units
T_RANK = 9  # rank of the symbol's name among the replay's symbols (the engine's tie-break order)
N_TABLE_COLS = 10

# --------------------------------------------------------------------------- venue policy flags (int64 (6,))
V_BASIS_ENTRY = 0  # 1: maintenance rate applies at the entry price (Bybit classic), 0: at the price
V_FEE_STYLE = 1  # 1: LiquidationStyle.FEE (close at mark, fee, rest returned), 0: BANKRUPTCY
V_PARTIAL = 2  # 1: liquidation first steps a position down one tier
V_FLAT_ONLY = 3  # 1: a symbol keeps one margin mode while any position is open
V_HEDGE = 4  # 1: hedge position mode (one position per side), 0: one-way
V_FUNDING_AVAILABLE_FIRST = 5  # 1: isolated funding paid from the available balance first (Bybit)
N_VENUE_FLAGS = 6

# --------------------------------------------------------------------------- replay state
OPEN, HIGH, LOW, CLOSE = 0, 1, 2, 3  # columns of the bar arrays (n, S, 4)
# dynamic position state, float64 (P, 6): open flag, qty, entry, isolated margin, leverage, fees paid on it
S_OPEN, S_QTY, S_ENTRY, S_MARGIN, S_LEV, S_FEES = 0, 1, 2, 3, 4, 5
N_STATE = 6
# per-symbol state, float64 (S, 5): mark, leverage setting, auto-add policy (on flag, trigger, target)
Y_MARK, Y_LEV, Y_AA_ON, Y_AA_TRIG, Y_AA_TGT = 0, 1, 2, 3, 4
N_SYM_STATE = 5
# account scalars, float64 (4,): cross wallet, fees paid, funding received, other assets' wallets
A_WALLET, A_FEES, A_FUNDING, A_OTHER = 0, 1, 2, 3
N_ACC = 4
# counters, int64 (3,): open positions at the head of ``book`` (in the order opened), events written, and 1
# while the derived values (``DV_UPNL``, ``DV_MM``) hold every open position's figures at the current marks
C_NBOOK, C_NEV, C_DERIVED = 0, 1, 2
N_CNT = 3
# per-position derived values and the liquidation-price memo, float64 (7, P): uPnL and maintenance margin at
# the marks; the inputs of the last liquidation price solved (qty, entry, the pool's fixed equity, and the
# mark it was picked nearest to, NaN when the solve found at most one root so the mark did not matter) and it
DV_UPNL, DV_MM, DV_QTY, DV_ENTRY, DV_FIXED, DV_REF, DV_PRICE = 0, 1, 2, 3, 4, 5, 6
N_DV = 7
# closest call, float64 (3,): distance |mark - liq| / mark, symbol row, bar
CL_DISTANCE, CL_SYM, CL_BAR = 0, 1, 2

# --------------------------------------------------------------------------- sides and modes
LONG, SHORT = 1, -1
CROSS, ISOLATED = 0, 1

# open_bar of a position already in the account at the start (it has an entry) / never due in the data
OPEN_AT_START = -1
NEVER = -2

POSITION_DT = np.dtype(
    [
        ("sym", np.int64),  # symbol index (== its table row and its column in the bar arrays)
        ("key", np.int64),  # index of the (symbol, side) pair: positions sharing it are the same account slot
        ("side", np.int64),  # LONG or SHORT
        ("mode", np.int64),  # CROSS or ISOLATED
        ("qty", np.float64),  # base units, > 0
        ("entry", np.float64),  # entry price of a position open at the start; NaN for one opened in a bar
        ("margin", np.float64),  # isolated margin given (settle asset); NaN: qty * price / leverage
        ("leverage", np.float64),  # NaN: the symbol's current setting
        ("open_bar", np.int64),  # bar in which it opens at the last-price open, OPEN_AT_START or NEVER
        ("stop_loss", np.float64),  # last price; NaN: none
        ("take_profit", np.float64),  # last price; NaN: none
        ("aa_trigger", np.float64),  # auto-add margin policy set for the symbol when it opens; NaN: none
        ("aa_target", np.float64),
    ],
    align=True,
)

EVENT_DT = np.dtype(
    [
        ("bar", np.int64),
        ("pos", np.int64),  # position slot (index into the portfolio's positions)
        ("kind", np.int64),  # an EventKind
        ("mark", np.float64),  # mark price at the event (fill price for fills)
        ("price", np.float64),  # liquidation: bankruptcy price (bankruptcy style) or mark; fills: fill price
        ("loss", np.float64),  # liquidation: loss incl. every fee paid on the position (> 0: lost)
        ("qty", np.float64),  # base units affected
        ("amount", np.float64),  # fee (fills, partial liquidations) or margin added (auto-add)
    ],
    align=True,
)


class EventKind(IntEnum):
    """Kinds of rows in the event table."""

    OPENED = 1
    LIQUIDATED = 2
    PARTIALLY_LIQUIDATED = 3
    STOP_LOSS = 4
    TAKE_PROFIT = 5
    STOP_REJECTED = 6
    MARGIN_ADDED = 7


# --------------------------------------------------------------------------- status codes
class Status(IntEnum):
    """Return codes of the kernels (0: success). ``sim.api`` maps the others to ``marginlab.errors``."""

    OK = 0
    BAD_PRICE = 1
    LEVERAGE_TOO_HIGH = 2
    TIER_OVERFLOW = 3
    POSITION_EXISTS = 4
    ONE_WAY_CONFLICT = 5
    MODE_CONFLICT = 6
    ISOLATED_MARGIN_TOO_LOW = 7
    INSUFFICIENT_BALANCE = 8
    LIQUIDATED_ON_FILL = 9
    EVENT_OVERFLOW = 10
    BAD_INPUT = 11


STATUS_MESSAGES: dict[int, str] = {
    Status.OK: "ok",
    Status.BAD_PRICE: "a price is not a finite number > 0",
    Status.LEVERAGE_TOO_HIGH: "leverage exceeds the maximum of the tier holding the position",
    Status.TIER_OVERFLOW: "position size exceeds the largest tier cap",
    Status.POSITION_EXISTS: "a position on this symbol and side is already open",
    Status.ONE_WAY_CONFLICT: "one-way mode holds one position per symbol; the other side is open",
    Status.MODE_CONFLICT: "the venue keeps one margin mode per symbol while a position is open",
    Status.ISOLATED_MARGIN_TOO_LOW: "isolated margin is below the initial margin",
    Status.INSUFFICIENT_BALANCE: "insufficient available balance",
    Status.LIQUIDATED_ON_FILL: "the position would be liquidated at once",
    Status.EVENT_OVERFLOW: "the event buffer is full",
    Status.BAD_INPUT: "an input array holds an invalid value",
}

# --------------------------------------------------------------------------- status detail (float64 (4,))
I_BAR, I_POS, I_REQUIRED, I_AVAILABLE = 0, 1, 2, 3
N_INFO = 4

# named float tolerance: a quotient ``x / lot`` within this relative distance below a whole number is that
# number (float rounding of the division, a few ulps), so rounding down to the lot does not lose a lot
LOT_EPS = 1e-15
# named float tolerance: a liquidation or bankruptcy price below this fraction of the entry price is no price
# (the exact root is 0, e.g. a 1x isolated long, and float cancellation leaves a few ulps of the entry)
ROOT_EPS = 1e-12
# named float tolerance: the liquidation rule ``equity <= requirement`` (touching liquidates) holds when the
# difference is within this fraction of the magnitudes summed into it (``nb.touches``): an exact tie computed
# in float64 lands a few ulps (~1e-16 relative) either side of zero
TIE_EPS = 1e-12
# named float tolerance: how far (relative to the terms' magnitude) the replay's tier-band bounds are widened
# (``nb._near_bands_nb``) so that a tier they rule out cannot hold a root; float rounding is ~1e-16 of them
NEAR_EPS = 1e-12

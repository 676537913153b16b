"""Numba kernels: vectorised liquidation prices and the whole replay of one margin mode.

Everything here takes arrays and scalars laid out as :mod:`marginlab.sim.dtypes` describes, returns a
:class:`~marginlab.sim.dtypes.Status` code instead of raising, and mirrors the exact engine
(:mod:`marginlab.domain.account`, :mod:`marginlab.domain.liquidation`) and the exact replay
(:func:`marginlab.analysis.replay.replay_exact`) step for step, in float64.

The liquidation condition of a group of legs (one symbol; both sides in hedge mode) at price ``P``::

    fixed + sum_i s_i q_i (P - E_i) - sum_i (q_i B_i mmr_i - cum_i + q_i P f_i) = 0

is linear between the prices where a leg's tier changes (``floor_k / q_i``); it is solved on every such
interval, roots outside their interval are dropped and the one nearest the mark is kept (NaN if none).

Each formula is written once in the fast core (``@njit(inline="always")`` helpers where a hot loop needs it
inlined; :mod:`marginlab.sim.montecarlo_nb` calls the same helpers) and mirrors one exact function.
``tests/unit/sim/test_formula_map.py`` reads this table and fails when a name on either side is renamed:

=====================================================  ===================================================
fast core (``marginlab.sim.nb``)                       exact function it mirrors (``marginlab.``)
=====================================================  ===================================================
``_tier_size_nb``                                      ``domain.instrument.Instrument.tier_size``
``tier_row``, ``_tier_at_nb``                          ``domain.liquidation.Leg.tier_at``
``_tier_for_nb``                                       ``domain.tiers.TierTable.tier_for``
``leg_requirement``, ``_maintenance_nb``, ``_mm``      ``domain.liquidation.Leg.maintenance``
``touches``                                            ``domain.account.Account.is_liquidatable``
``_iso_liquidatable``, ``_cross_liquidatable``         ``domain.account.Account.is_liquidatable``
``_band``, ``_root_above``, ``_has_slope``             ``domain.liquidation.solve_price``
``_keep_nearest``, ``_solve_one_nb``                   ``domain.liquidation.solve_price``
``_solve_two_nb``, ``_near_bands_nb``                  ``domain.liquidation.solve_price``
``_steepness_nb``                                      ``domain.liquidation.solve_price``
``_one_leg_bounds_nb``, ``_liq_unique_nb``             ``domain.liquidation.solve_price``
``_liq_unique_one_nb``, ``_liq_price_general_nb``      ``domain.liquidation.solve_price``
``liq_prices_nb``, ``_pool_price``                     ``domain.account.Account.liquidation_price``
``cross_fixed_nb``, ``_pool_values``, ``_pool_fixed``  ``domain.account.Account._liquidation_group``
``_pool_price``                                        ``domain.account.Account.bankruptcy_price``
``_upnl``                                              ``domain.position.Position.unrealized_pnl``
``_mm``, ``_derive``                                   ``domain.account.Account.maintenance_margin``
``_cross_sums``                                        ``domain.account.Account.cross_margin_balance``
``_cross_sums``, ``_worst_ratio``                      ``domain.account.Account.cross_maintenance_margin``
``_cross_sums``                                        ``domain.account.Account.cross_initial_margin``
``_round_lot_down``                                    ``domain.instrument.Instrument.round_qty_down``
``_step_down``                                         ``domain.account.Account._step_down``
``_forfeit``                                           ``domain.account.Account._settle_forfeit``
``_liquidate_isolated``                                ``domain.account.Account._liquidate_isolated``
``_liquidate_cross``, ``_ranks_above``                 ``domain.account.Account._liquidate_cross``
``_sweep``, ``_quiet``                                 ``domain.account.Account._liquidation_sweep``
``_auto_add``                                          ``domain.account.Account._auto_add``
``_update_marks``                                      ``domain.account.Account.update_marks``
``_open``                                              ``domain.account.Account.open``
``_funding``                                           ``domain.account.Account.apply_funding``
``_available``                                         ``domain.account.Account.available_balance``
``_stops``                                             ``analysis.replay._stops``
``_book_prices``                                       ``analysis.replay._record_liquidation_prices``
``_equity``                                            ``analysis.replay._equity``
``_worst_ratio``                                       ``analysis.replay._worst_ratio``
``replay_nb``, ``_replay_loop_nb``                     ``analysis.replay.replay_exact``
=====================================================  ===================================================

Bookkeeping without an exact counterpart (the engine's dicts and lists do it): ``_book_remove``, ``_emit``,
``_close_slot``; data layout and input checks: ``_pack_bands_nb``, ``_compact_ok``.

Tolerances (named in :mod:`marginlab.sim.dtypes`): ``TIE_EPS`` (a float tie of equity and requirement is a
tie: touching liquidates), ``ROOT_EPS`` (a price below this fraction of the entry is no price), ``LOT_EPS``.
"""

# Kernels are excluded from strict typing (numba types), see pyproject; wrappers in api.py are typed.
from __future__ import annotations

import math

import numpy as np
from numba import njit

from marginlab.sim.dtypes import (
    A_FEES,
    A_FUNDING,
    A_OTHER,
    A_WALLET,
    C_DERIVED,
    C_NBOOK,
    C_NEV,
    CAP,
    CL_BAR,
    CL_DISTANCE,
    CL_SYM,
    CLOSE,
    CROSS,
    CUM,
    DV_ENTRY,
    DV_FIXED,
    DV_MM,
    DV_PRICE,
    DV_QTY,
    DV_REF,
    DV_UPNL,
    FLOOR,
    HIGH,
    I_AVAILABLE,
    I_BAR,
    I_POS,
    I_REQUIRED,
    ISOLATED,
    KMAX,
    LOT_EPS,
    LOW,
    MAX_LEV,
    MMR,
    N_DV,
    NEAR_EPS,
    OPEN,
    ROOT_EPS,
    S_ENTRY,
    S_FEES,
    S_LEV,
    S_MARGIN,
    S_OPEN,
    S_QTY,
    T_CLOSE_FEE,
    T_CONTRACT_SIZE,
    T_CONTRACTS,
    T_COUNT,
    T_LIQ_FEE,
    T_LOT,
    T_MAKER,
    T_RANK,
    T_START,
    T_TAKER,
    TIE_EPS,
    V_BASIS_ENTRY,
    V_FEE_STYLE,
    V_FLAT_ONLY,
    V_FUNDING_AVAILABLE_FIRST,
    V_HEDGE,
    V_PARTIAL,
    Y_AA_ON,
    Y_AA_TGT,
    Y_AA_TRIG,
    Y_LEV,
    Y_MARK,
    EventKind,
    Status,
)

NO_NEAR = np.empty((0, 2, 3))  # ``near`` of :func:`_solve_one_nb` without band bounds

_OPENED = int(EventKind.OPENED)
_LIQUIDATED = int(EventKind.LIQUIDATED)
_PARTIAL = int(EventKind.PARTIALLY_LIQUIDATED)
_STOP = int(EventKind.STOP_LOSS)
_TAKE = int(EventKind.TAKE_PROFIT)
_STOP_REJECTED = int(EventKind.STOP_REJECTED)
_ADDED = int(EventKind.MARGIN_ADDED)

_OK = int(Status.OK)
_BAD_PRICE = int(Status.BAD_PRICE)
_LEVERAGE = int(Status.LEVERAGE_TOO_HIGH)
_OVERFLOW = int(Status.TIER_OVERFLOW)
_EXISTS = int(Status.POSITION_EXISTS)
_ONE_WAY = int(Status.ONE_WAY_CONFLICT)
_MODE = int(Status.MODE_CONFLICT)
_ISO_MARGIN = int(Status.ISOLATED_MARGIN_TOO_LOW)
_BALANCE = int(Status.INSUFFICIENT_BALANCE)
_ON_FILL = int(Status.LIQUIDATED_ON_FILL)
_EV_OVERFLOW = int(Status.EVENT_OVERFLOW)
_BAD_INPUT = int(Status.BAD_INPUT)


# =========================================================================== tiers and maintenance
@njit(cache=True)
def _tier_size_nb(tables, t, qty, price):
    if tables[t, T_CONTRACTS] != 0.0:
        return qty / tables[t, T_CONTRACT_SIZE]
    return qty * price


@njit(cache=True, inline="always")
def tier_row(tiers, start, last, size):
    """Return the row of ``tiers[start:last + 1]`` holding ``size`` (``last`` beyond the table's end)."""
    for k in range(start, last):
        if size <= tiers[k, CAP]:
            return k
    return last


@njit(cache=True)
def _tier_at_nb(tiers, tables, t, size):
    """Return the tier row of table ``t`` holding ``size`` (the last tier beyond the table's end)."""
    start = int(tables[t, T_START])
    return tier_row(tiers, start, start + int(tables[t, T_COUNT]) - 1, size)


@njit(cache=True)
def _tier_for_nb(tiers, tables, t, size):
    """Return the tier row holding ``size``, or -1 beyond the last cap (the engine's RuleSetError)."""
    k = _tier_at_nb(tiers, tables, t, size)
    if size > tiers[k, CAP]:
        return -1
    return k


@njit(cache=True, inline="always")
def leg_requirement(qty, basis_price, price, mmr, cum, close_fee):
    """Return one leg's maintenance requirement on a tier (``mmr``, ``cum``), close fee included."""
    return qty * basis_price * mmr - cum + qty * price * close_fee


@njit(cache=True)
def _maintenance_nb(tiers, tables, basis_entry, t, qty, entry, price):
    basis_price = entry if basis_entry else price
    k = _tier_at_nb(tiers, tables, t, _tier_size_nb(tables, t, qty, basis_price))
    return leg_requirement(qty, basis_price, price, tiers[k, MMR], tiers[k, CUM], tables[t, T_CLOSE_FEE])


@njit(cache=True, inline="always")
def touches(equity, requirement, scale):
    """Return whether a margin pool is liquidatable: ``equity <= requirement`` (margin ratio >= 100 %).

    The exact engine's rule (``Account.is_liquidatable``): touching the liquidation price liquidates. In
    float64 the two sides of an exact tie differ by rounding, a few ulps of the terms they are summed from;
    ``scale`` is the sum of those terms' magnitudes (wallet or margin, ``qty * (mark + entry)``, maintenance)
    and a difference within ``TIE_EPS * scale`` is a tie. One tick away from the liquidation price moves the
    difference by ``qty * tick``, many orders of magnitude more, so only true ties change sides.
    """
    return equity - requirement <= TIE_EPS * scale


# =========================================================================== liquidation solver
@njit(cache=True)
def _keep_nearest(root, best, ref, floor):
    if not root > floor:
        return best
    if math.isnan(best):
        return root
    d, bd = abs(root - ref), abs(best - ref)
    if d < bd or (d == bd and root < best):
        return root
    return best


@njit(cache=True, inline="always")
def _band(tiers, k, last, s, f):
    """Return ``(d, lo, hi)`` of tier row ``k`` for one leg of side ``s`` (close-fee rate ``f``).

    On the tier the leg's root in notional is ``N = (y - cum_k) / d`` with ``y = s q E - fixed`` and
    ``d = s - mmr_k - f``; it lies in ``[floor_k, cap_k]`` (the last tier open-ended) iff
    ``lo <= y - cum_k <= hi``. No root when ``d == 0`` (``lo``, ``hi`` are then meaningless).
    """
    d = s - tiers[k, MMR] - f
    lo = tiers[k, FLOOR] * d
    hi = np.inf * d if k == last else tiers[k, CAP] * d
    if d < 0.0:
        lo, hi = hi, lo
    return d, lo, hi


@njit(cache=True, inline="always")
def _has_slope(slope, qty):
    """Return whether ``slope`` (summed from terms of size ``qty``) is more than float rounding of zero."""
    return abs(slope) > ROOT_EPS * qty


@njit(cache=True, inline="always")
def _root_above(intercept, slope, floor, qty):
    """Return the root of ``intercept + slope * P`` if above ``floor``, else NaN (also without a slope).

    ``qty`` is the size the slope is summed from (``q``, or ``q1 + q2`` for two legs): a slope within
    ``ROOT_EPS * qty`` of zero is float rounding of terms that cancel exactly in Decimal (hedged legs on a
    shared tier), where the exact engine finds no price; dividing by it would give a "price" near 1e26.
    """
    if not _has_slope(slope, qty):
        return np.nan
    root = -intercept / slope
    return root if root > floor else np.nan


@njit(cache=True)
def _solve_one_nb(tiers, tables, basis_entry, t, s, q, e, fixed, ref, maintenance, near):
    """Return ``(price, ambiguous)``: where one leg's pool equity meets its requirement (NaN: none).

    ``ambiguous`` is true when several prices do and ``ref`` (the mark) picked the nearest: otherwise the
    price does not depend on ``ref`` (the replay's memo relies on it). ``near`` (:func:`_near_bands_nb`, or
    ``NO_NEAR``) lets the tier loop skip tiers whose root cannot lie on them and stop early; the tiers it
    does solve are solved as without it, so the price is the same float.
    """
    floor = ROOT_EPS * e
    if not maintenance:
        root = e - s * fixed / q
        return (root if root > floor else np.nan), False
    f = tables[t, T_CLOSE_FEE]
    if basis_entry or tables[t, T_CONTRACTS] != 0.0:
        # the tier does not move with the price: one linear piece
        k = _tier_at_nb(tiers, tables, t, _tier_size_nb(tables, t, q, e))
        m, c = tiers[k, MMR], tiers[k, CUM]
        if basis_entry:
            slope = s * q - q * f
            intercept = fixed - s * q * e + c - q * e * m
        else:
            slope = s * q - q * m - q * f
            intercept = fixed - s * q * e + c
        return _root_above(intercept, slope, floor, q), False
    # in notional N = q * P on tier k: (s - m_k - f) N = s q E - fixed - cum_k, valid in [floor_k, cap_k]
    start = int(tables[t, T_START])
    last = start + int(tables[t, T_COUNT]) - 1
    y = s * q * e - fixed
    best = np.nan
    roots = 0
    c = 0 if s > 0 else 1
    slack = NEAR_EPS * abs(y)
    for k in range(start, last + 1):
        if near.shape[0] > 0:
            below, above = y < near[k, c, 0] - slack, y > near[k, c, 1] + slack
            if below or above:
                if near[k, c, 2] != 0.0 and (below if s > 0 else above):
                    break  # sorted bands: every later tier's lies further from y
                continue
        d, lo, hi = _band(tiers, k, last, s, f)
        if d == 0.0:
            continue
        yk = y - tiers[k, CUM]
        if lo <= yk <= hi:
            root = yk / d / q
            roots += root > floor
            best = _keep_nearest(root, best, ref, floor)
    return best, roots > 1


@njit(cache=True)
def _near_bands_nb(tiers, tables, basis_entry):
    """Return float64 (K, 2, 3): per tier row and side (0 long, 1 short), bounds on ``y = s q E - fixed``
    outside which the tier holds no root of :func:`_solve_one_nb`, and whether the table's bands are sorted.

    A root lies on tier ``k`` iff ``lo_k <= y - cum_k <= hi_k`` (:func:`_band`); the bounds are
    :func:`_one_leg_bounds_nb`'s ``lo_k + cum_k`` and ``hi_k + cum_k`` widened by ``NEAR_EPS`` of the terms'
    magnitude (far more than their float rounding), so a tier outside them cannot hold a root. Sorted (1.0):
    the lower bounds ascend (longs) or the upper bounds descend (shorts) with the tier, as with a continuous
    requirement, so once ``y`` is below (long) or above (short) a tier's band it is beyond every later one.
    Rows of tables whose tier does not move with the price are NaN (not read).
    """
    ylo, yhi, slope, _, _, _ = _one_leg_bounds_nb(tiers, tables, basis_entry)
    near = np.full((tiers.shape[0], 2, 3), np.nan)
    for t in range(tables.shape[0]):
        if basis_entry or tables[t, T_CONTRACTS] != 0.0:
            continue
        start = int(tables[t, T_START])
        stop = start + int(tables[t, T_COUNT])
        for c in range(2):
            ordered = 1.0
            for k in range(start, stop):
                scale = 3.0 * abs(tiers[k, CUM])  # bounds |lo|, |hi| and |cum| in every sum above
                for x in (ylo[k, c], yhi[k, c]):
                    if abs(x) < np.inf:
                        scale += abs(x)
                near[k, c, 0] = ylo[k, c] - NEAR_EPS * scale
                near[k, c, 1] = yhi[k, c] + NEAR_EPS * scale
                later = near[k, c, 0] < near[k - 1, c, 0] if c == 0 else near[k, c, 1] > near[k - 1, c, 1]
                if slope[k, c] == 0.0 or (k > start and later):
                    ordered = 0.0  # no root on a flat tier (its bounds are empty), or bands out of order
            near[start:stop, c, 2] = ordered
    return near


@njit(cache=True)
def _steepness_nb(tiers, tables, basis_entry):
    """Return float64 (T,): per table, a bound on how fast a single leg's pool slack moves with the price,
    per unit of size: ``1 + max mmr + close fee``; NaN where the requirement is not continuous in the price
    (the bound does not hold across a jump) or the tier does not move with the price.

    The slack ``fixed + s q (P - E) - (q P mmr_k(P) - cum_k(P) + q P f)`` then changes by at most
    ``q * steepness`` per unit of price, so a pool with slack ``S > 0`` at mark ``m`` is liquidated no
    nearer than ``S / (q * steepness)`` from ``m``.
    """
    out = np.full(tables.shape[0], np.nan)
    for t in range(tables.shape[0]):
        if basis_entry or tables[t, T_CONTRACTS] != 0.0:
            continue
        start = int(tables[t, T_START])
        last = start + int(tables[t, T_COUNT]) - 1
        steep = 1.0 + tiers[start, MMR] + tables[t, T_CLOSE_FEE]
        continuous = True
        for k in range(start + 1, last + 1):
            floor = tiers[k, FLOOR]
            below = floor * tiers[k - 1, MMR] - tiers[k - 1, CUM]
            above = floor * tiers[k, MMR] - tiers[k, CUM]
            continuous &= abs(below - above) <= 1e-9 * (abs(below) + abs(above))
            steep = max(steep, 1.0 + tiers[k, MMR] + tables[t, T_CLOSE_FEE])
        if continuous:
            out[t] = steep
    return out


@njit(cache=True)
def _solve_two_nb(tiers, tables, basis_entry, t, s1, q1, e1, s2, q2, e2, fixed, ref, maintenance):
    """Return the shared liquidation price of two legs of one symbol (hedge mode, cross); NaN: none."""
    floor = ROOT_EPS * max(e1, e2)
    if not maintenance:
        return _root_above(fixed - s1 * q1 * e1 - s2 * q2 * e2, s1 * q1 + s2 * q2, floor, q1 + q2)
    f = tables[t, T_CLOSE_FEE]
    base_slope = s1 * q1 + s2 * q2 - (q1 + q2) * f
    base_icpt = fixed - s1 * q1 * e1 - s2 * q2 * e2
    if basis_entry or tables[t, T_CONTRACTS] != 0.0:
        k1 = _tier_at_nb(tiers, tables, t, _tier_size_nb(tables, t, q1, e1))
        k2 = _tier_at_nb(tiers, tables, t, _tier_size_nb(tables, t, q2, e2))
        slope, icpt = base_slope, base_icpt + tiers[k1, CUM] + tiers[k2, CUM]
        if basis_entry:
            icpt -= q1 * e1 * tiers[k1, MMR] + q2 * e2 * tiers[k2, MMR]
        else:
            slope -= q1 * tiers[k1, MMR] + q2 * tiers[k2, MMR]
        return _root_above(icpt, slope, floor, q1 + q2)
    start = int(tables[t, T_START])
    last = start + int(tables[t, T_COUNT]) - 1
    k1, k2 = start, start
    lo = 0.0
    best = np.nan
    while True:
        b1 = tiers[k1 + 1, FLOOR] / q1 if k1 < last else np.inf
        b2 = tiers[k2 + 1, FLOOR] / q2 if k2 < last else np.inf
        hi = min(b1, b2)
        if hi > lo:
            slope = base_slope - q1 * tiers[k1, MMR] - q2 * tiers[k2, MMR]
            if _has_slope(slope, q1 + q2):
                root = -(base_icpt + tiers[k1, CUM] + tiers[k2, CUM]) / slope
                if lo <= root <= hi:
                    best = _keep_nearest(root, best, ref, floor)
        if hi == np.inf:
            break
        if b1 == hi:
            k1 += 1
        if b2 == hi:
            k2 += 1
        lo = hi
    return best


@njit(cache=True)
def _one_leg_bounds_nb(tiers, tables, basis_entry):
    """Precompute, per tier row and side (0 long, 1 short), where a single leg's root lies on that tier.

    On tier ``k`` the root in notional is ``N = (y - cum_k) / d_k`` with ``y = s q E - fixed`` and
    ``d_k = s - mmr_k - f``; it lies in ``[floor_k, cap_k]`` iff ``ylo <= y <= yhi``. ``unique`` is true
    when these bands do not overlap (a continuous requirement: the Binance cum recurrence), so the first hit
    is the only root (never for tables whose tier does not move with the price). Rows of ``unique``, ``lower``
    and ``bands`` are ``2 * table + side``; for unique tables of at most ``KMAX`` tiers, ``lower`` holds each
    band's lower end in ``z`` (``y`` for longs, ``-y`` for shorts, so bands ascend) padded with ``inf``, and
    ``bands`` its (ylo, yhi, cum, slope).
    """
    n_rows, n_tables = tiers.shape[0], tables.shape[0]
    ylo = np.full((n_rows, 2), np.inf)
    yhi = np.full((n_rows, 2), -np.inf)
    slope = np.zeros((n_rows, 2))
    unique = np.zeros(2 * n_tables, np.bool_)
    lower = np.full((2 * n_tables, KMAX), np.inf)  # padded: the search never moves past a table's tiers
    bands = np.full((2 * n_tables, KMAX, 4), np.nan)  # ylo, yhi, cum, slope per band
    for t in range(n_tables):
        if basis_entry or tables[t, T_CONTRACTS] != 0.0:
            continue
        f = tables[t, T_CLOSE_FEE]
        start = int(tables[t, T_START])
        last = start + int(tables[t, T_COUNT]) - 1
        for c in range(2):
            s = 1.0 if c == 0 else -1.0
            for k in range(start, last + 1):
                d, lo, hi = _band(tiers, k, last, s, f)
                if d == 0.0:
                    continue
                slope[k, c] = d
                ylo[k, c] = lo + tiers[k, CUM]
                yhi[k, c] = hi + tiers[k, CUM]
            disjoint = 1
            for k in range(start, last + 1):
                for m in range(k + 1, last + 1):
                    overlap = min(yhi[k, c], yhi[m, c]) - max(ylo[k, c], ylo[m, c])
                    if overlap > 1e-9 * max(1.0, abs(ylo[m, c]), abs(ylo[k, c])):
                        disjoint = 0
            r = 2 * t + c
            unique[r] = disjoint == 1 and last - start + 1 <= KMAX
            if unique[r]:
                for k in range(start, last + 1):
                    m = k - start
                    lower[r, m] = ylo[k, c] if c == 0 else -yhi[k, c]
                    bands[r, m, 0] = ylo[k, c]
                    bands[r, m, 1] = yhi[k, c]
                    bands[r, m, 2] = tiers[k, CUM]
                    bands[r, m, 3] = slope[k, c] if slope[k, c] != 0.0 else np.nan
    return ylo, yhi, slope, unique, lower, bands


@njit(cache=True, inline="always")
def _liq_unique_one_nb(s, q, e, fixed, lower, bands, r):
    # bands ascend in z = s * y: branchless search over the padded row ``r`` of band lower ends; indexes the
    # 2-D/3-D arrays directly (a row view per position would cost a refcounted view in the hot loop)
    y = s * q * e - fixed
    z = s * y
    k = 8 * (lower[r, 8] <= z)
    k += 4 * (lower[r, k + 4] <= z)
    k += 2 * (lower[r, k + 2] <= z)
    k += lower[r, k + 1] <= z
    root = (y - bands[r, k, 2]) / (bands[r, k, 3] * q)
    hit = (bands[r, k, 0] <= y) & (y <= bands[r, k, 1]) & (root > ROOT_EPS * e)
    return root if hit else np.nan


_ROW = (
    5 * KMAX
)  # packed row of (table, side): KMAX band lower ends, then KMAX bands of (ylo, yhi, cum, slope)


@njit(cache=True)
def _pack_bands_nb(lower, bands):
    """Return ``lower`` and ``bands`` in one contiguous float64 array, one row of ``_ROW`` per (table, side).

    One row is 640 bytes (10 cache lines) and every row of a tier set fits in L1: the search reads its band
    lower ends from the row's first two lines and the band it lands on from one more.
    """
    n_rows = lower.shape[0]
    packed = np.empty(n_rows * _ROW)
    for r in range(n_rows):
        for m in range(KMAX):
            packed[r * _ROW + m] = lower[r, m]
            for c in range(4):
                packed[r * _ROW + KMAX + 4 * m + c] = bands[r, m, c]
    return packed


@njit(cache=True)
def _compact_ok(table, side, qty, n_tables):
    """Return whether every row names a known table, a side of +-1 and a size > 0 (one streaming pass)."""
    bad = False
    for i in range(qty.shape[0]):
        t, s = table[i], side[i]
        bad |= (t < 0) | (t >= n_tables) | (s * s != 1) | (not qty[i] > 0.0)
    return not bad


@njit(cache=True, error_model="numpy")  # no zero-division check per position (the slopes are never 0)
def _liq_unique_nb(table, side, qty, entry, fixed, lower, bands, out):
    """The one-root-per-band case of :func:`liq_prices_nb`: a branch-free loop over compact inputs.

    Same arithmetic as :func:`_liq_unique_one_nb`, on the packed rows of :func:`_pack_bands_nb` indexed with
    unsigned integers (no negative-index wraparound code). The inputs are checked first, in a pass of their
    own that the compiler vectorises (``out`` is left untouched on BAD_INPUT), so the solving loop carries
    no checks: it is ~20 % faster than with the checks folded in.
    """
    if not _compact_ok(table, side, qty, lower.shape[0] // 2):
        return _BAD_INPUT
    packed = _pack_bands_nb(lower, bands)
    row = np.uint64(_ROW)
    for i in range(qty.shape[0]):
        si, q = side[i], qty[i]
        base = (np.uint64(2 * table[i]) + np.uint64(si < 0)) * row
        s = np.float64(si)
        e = entry[i]
        y = s * q * e - fixed[i]
        z = s * y
        k = np.uint64(8) * np.uint64(packed[base + np.uint64(8)] <= z)
        k += np.uint64(4) * np.uint64(packed[base + k + np.uint64(4)] <= z)
        k += np.uint64(2) * np.uint64(packed[base + k + np.uint64(2)] <= z)
        k += np.uint64(packed[base + k + np.uint64(1)] <= z)
        b = base + np.uint64(KMAX) + np.uint64(4) * k
        root = (y - packed[b + np.uint64(2)]) / (packed[b + np.uint64(3)] * q)
        hit = (packed[b] <= y) & (y <= packed[b + np.uint64(1)]) & (root > ROOT_EPS * e)
        out[i] = root if hit else np.nan
    return _OK


@njit(cache=True)
def _liq_price_general_nb(
    tiers, tables, basis_entry, ylo, yhi, slope, t, i, table, side, qty, entry, fixed, mark, j
):
    s, q = side[i], qty[i]
    if j >= 0:
        return _solve_two_nb(
            tiers, tables, basis_entry, t, s, q, entry[i], side[j], qty[j], entry[j], fixed[i], mark[i], True
        )
    if basis_entry or tables[t, T_CONTRACTS] != 0.0:  # the tier does not move with the price
        return _solve_one_nb(tiers, tables, basis_entry, t, s, q, entry[i], fixed[i], mark[i], True, NO_NEAR)[
            0
        ]
    c = (1 - s) >> 1
    y = s * q * entry[i] - fixed[i]
    start = int(tables[t, T_START])
    best = np.nan
    for k in range(start, start + int(tables[t, T_COUNT])):
        if ylo[k, c] <= y <= yhi[k, c]:
            best = _keep_nearest((y - tiers[k, CUM]) / slope[k, c] / q, best, mark[i], ROOT_EPS * entry[i])
    return best


@njit(cache=True)
def liq_prices_nb(tiers, tables, basis_entry, table, side, qty, entry, fixed, mark, partner, out):
    """Fill ``out`` with liquidation prices (NaN where none); return a Status code.

    Parameters
    ----------
    tiers, tables : ndarray
        Tier and table arrays (``dtypes`` layout).
    basis_entry : int
        1 when the maintenance rate applies at the entry price (Bybit classic).
    table : int64 (n,)
        Table row of each position.
    side : int64 (n,)
        +1 long, -1 short.
    qty, entry, fixed, mark : float64 (n,)
        Size (base units, > 0), entry price, the price-independent equity of the pool (isolated: margin;
        cross: wallet + other symbols' uPnL - their maintenance) and the mark (picks among several roots).
    partner : int64 (n,) or (0,)
        Index of the other leg sharing the price (hedge-mode cross, same symbol), -1 for none; an empty
        array means no partners at all.
    out : float64 (n,)
        Written in place.
    """
    n = qty.shape[0]
    n_tables = tables.shape[0]
    pairs = partner.shape[0] == n
    ylo, yhi, slope, unique, lower, bands = _one_leg_bounds_nb(tiers, tables, basis_entry)
    if not pairs and unique.all():
        return _liq_unique_nb(table, side, qty, entry, fixed, lower, bands, out)
    for i in range(n):
        t = table[i]
        q = qty[i]
        s = side[i]
        if t < 0 or t >= n_tables or not q > 0.0 or s * s != 1:
            return _BAD_INPUT
        r = 2 * t + ((1 - s) >> 1)
        if unique[r] and not (pairs and partner[i] >= 0):
            out[i] = _liq_unique_one_nb(s, q, entry[i], fixed[i], lower, bands, r)
        else:
            out[i] = _liq_price_general_nb(
                tiers, tables, basis_entry, ylo, yhi, slope, t, i, table, side, qty, entry, fixed, mark,
                partner[i] if pairs else -1,
            )  # fmt: skip
    return _OK


@njit(cache=True)
def cross_fixed_nb(tiers, tables, basis_entry, table, side, qty, entry, mark, cross, wallet, out):
    """Fill ``out`` with each cross position's ``fixed`` (one account): wallet + Σ others' (uPnL - MM).

    Positions of another table (symbol) than ``i`` count as "others"; isolated positions (``cross == 0``) get
    NaN. Returns a Status code.
    """
    n = qty.shape[0]
    upnl_mm = np.empty(n)
    for i in range(n):
        t = table[i]
        if t < 0 or t >= tables.shape[0] or not qty[i] > 0.0:
            return _BAD_INPUT
        upnl_mm[i] = side[i] * qty[i] * (mark[i] - entry[i]) - _maintenance_nb(
            tiers, tables, basis_entry, t, qty[i], entry[i], mark[i]
        )
    for i in range(n):
        if not cross[i]:
            out[i] = np.nan
            continue
        total = wallet
        for j in range(n):
            if cross[j] and table[j] != table[i]:
                total += upnl_mm[j]
        out[i] = total
    return _OK


# =========================================================================== account state helpers
@njit(cache=True)
def _upnl(pos, st, sym_st, p):
    return pos[p].side * st[p, S_QTY] * (sym_st[pos[p].sym, Y_MARK] - st[p, S_ENTRY])


@njit(cache=True)
def _mm(pos, st, sym_st, tiers, tables, flags, p):
    t = pos[p].sym
    return _maintenance_nb(
        tiers, tables, flags[V_BASIS_ENTRY], t, st[p, S_QTY], st[p, S_ENTRY], sym_st[t, Y_MARK]
    )


@njit(cache=True)
def _cross_sums(pos, st, sym_st, tiers, tables, flags, book, cnt):
    """Return (n cross, cross uPnL, cross maintenance, cross initial margin, gross) at marks.

    ``gross`` is the sum of ``qty * (mark + entry)``: the magnitude of the uPnL terms, the scale of their
    float rounding (:func:`_touches`).
    """
    n, upnl, mm, im, gross = 0, 0.0, 0.0, 0.0, 0.0
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        if pos[p].mode != CROSS:
            continue
        n += 1
        upnl += _upnl(pos, st, sym_st, p)
        mm += _mm(pos, st, sym_st, tiers, tables, flags, p)
        mark = sym_st[pos[p].sym, Y_MARK]
        im += st[p, S_QTY] * mark / st[p, S_LEV]
        gross += st[p, S_QTY] * (mark + st[p, S_ENTRY])
    return n, upnl, mm, im, gross


@njit(cache=True)
def _available(pos, st, sym_st, tiers, tables, flags, book, cnt, acc):
    _, upnl, _, im, _ = _cross_sums(pos, st, sym_st, tiers, tables, flags, book, cnt)
    return acc[A_WALLET] + upnl - im


@njit(cache=True)
def _iso_liquidatable(pos, st, sym_st, tiers, tables, flags, p):
    margin, qty = st[p, S_MARGIN], st[p, S_QTY]
    mm = _mm(pos, st, sym_st, tiers, tables, flags, p)
    gross = qty * (sym_st[pos[p].sym, Y_MARK] + st[p, S_ENTRY])
    return touches(margin + _upnl(pos, st, sym_st, p), mm, abs(margin) + gross + mm)


@njit(cache=True)
def _cross_liquidatable(pos, st, sym_st, tiers, tables, flags, book, cnt, acc):
    n, upnl, mm, _, gross = _cross_sums(pos, st, sym_st, tiers, tables, flags, book, cnt)
    wallet = acc[A_WALLET]
    return n > 0 and touches(wallet + upnl, mm, abs(wallet) + gross + mm)


@njit(cache=True)
def _pool_values(pos, st, sym_st, tiers, tables, flags, book, cnt, maintenance, val):
    """Write what each cross position adds to the other symbols' ``fixed`` to ``val[b]`` (book order).

    uPnL minus maintenance (liquidation prices), or uPnL alone (``maintenance`` false: bankruptcy prices).
    """
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        if pos[p].mode == CROSS:
            v = _upnl(pos, st, sym_st, p)
            if maintenance:
                v -= _mm(pos, st, sym_st, tiers, tables, flags, p)
            val[b] = v


@njit(cache=True)
def _pool_fixed(pos, st, acc, book, cnt, val, p):
    """Return ``(fixed, other)``: the price-independent equity of ``p``'s margin pool, and the other cross
    leg of its symbol sharing the price (-1: none).

    Isolated: the margin. Cross: the wallet and the other symbols' ``val`` (:func:`_pool_values`).
    """
    if pos[p].mode == ISOLATED:
        return st[p, S_MARGIN], -1
    fixed = acc[A_WALLET]
    other = -1
    for c in range(cnt[C_NBOOK]):
        o = book[c]
        if pos[o].mode != CROSS or o == p:
            continue
        if pos[o].sym == pos[p].sym:
            other = o
        else:
            fixed += val[c]
    return fixed, other


@njit(cache=True)
def _pool_price(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, p, maintenance):
    """Return the liquidation (or, without maintenance, bankruptcy) price of position ``p``; NaN: none.

    ``val`` holds :func:`_pool_values` of the same ``maintenance`` (read for cross positions only).
    """
    sym = pos[p].sym
    mark = sym_st[sym, Y_MARK]
    basis_entry = flags[V_BASIS_ENTRY]
    s, q, e = pos[p].side, st[p, S_QTY], st[p, S_ENTRY]
    fixed, other = _pool_fixed(pos, st, acc, book, cnt, val, p)
    if other < 0:
        return _solve_one_nb(tiers, tables, basis_entry, sym, s, q, e, fixed, mark, maintenance, NO_NEAR)[0]
    # the engine lists the group in book order; the solution does not depend on it
    return _solve_two_nb(
        tiers, tables, basis_entry, sym, s, q, e, pos[other].side, st[other, S_QTY], st[other, S_ENTRY],
        fixed, mark, maintenance,
    )  # fmt: skip


@njit(cache=True)
def _book_prices(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, out, dv, near, steep, beyond):
    """Write the liquidation price of every open position (book order) to ``out[b]``; NaN: none.

    Reads uPnL and maintenance from ``dv`` (:func:`_derive`, computed here if stale). A single leg's price
    is solved again only when its inputs changed (quantity, entry, the pool's fixed equity, and the mark
    when it picked among several roots): an isolated position's price stays put while only its mark moves.
    The memo returns the very float the solver would.

    A cross leg whose price would lie further than ``beyond`` (a distance ``|mark - price| / mark``) from
    its mark is not solved (NaN): its pool slack ``S`` bounds the distance from below by
    ``S / (q * mark * steepness)`` (:func:`_steepness_nb`; a safety margin covers float rounding). The
    replay passes the closest call so far at the adverse extreme (a price that cannot beat it is not needed)
    and ``inf`` at the close.
    """
    if cnt[C_DERIVED] == 0:
        _derive(pos, st, sym_st, tiers, tables, flags, book, cnt, dv)
    slack, scale = acc[A_WALLET], abs(acc[A_WALLET])
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        if pos[p].mode == CROSS:
            val[b] = dv[DV_UPNL, p] - dv[DV_MM, p]  # what _pool_values writes
            slack += val[b]
            scale += (
                abs(dv[DV_UPNL, p])
                + dv[DV_MM, p]
                + st[p, S_QTY] * (sym_st[pos[p].sym, Y_MARK] + st[p, S_ENTRY])
            )
    slack -= 1e-9 * scale  # far beyond the float rounding of the sums
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        fixed, other = _pool_fixed(pos, st, acc, book, cnt, val, p)
        if other >= 0:  # hedged cross legs of one symbol: not memoised
            out[b] = _pool_price(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, p, True)
            continue
        q, e, mark = st[p, S_QTY], st[p, S_ENTRY], sym_st[pos[p].sym, Y_MARK]
        if (
            pos[p].mode == CROSS
            and slack > 0.0
            and slack / (q * mark * steep[pos[p].sym]) > beyond * (1.0 + 1e-9)
        ):
            out[b] = np.nan
            continue
        same = q == dv[DV_QTY, p] and e == dv[DV_ENTRY, p] and fixed == dv[DV_FIXED, p]
        if same and (math.isnan(dv[DV_REF, p]) or dv[DV_REF, p] == mark):
            out[b] = dv[DV_PRICE, p]
            continue
        price, ambiguous = _solve_one_nb(
            tiers, tables, flags[V_BASIS_ENTRY], pos[p].sym, pos[p].side, q, e, fixed, mark, True, near
        )
        dv[DV_QTY, p], dv[DV_ENTRY, p], dv[DV_FIXED, p] = q, e, fixed
        dv[DV_REF, p] = mark if ambiguous else np.nan
        dv[DV_PRICE, p] = price
        out[b] = price


@njit(cache=True)
def _derive(pos, st, sym_st, tiers, tables, flags, book, cnt, dv):
    """Write every open position's uPnL and maintenance margin at the current marks to ``dv``."""
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        dv[DV_UPNL, p] = _upnl(pos, st, sym_st, p)
        dv[DV_MM, p] = _mm(pos, st, sym_st, tiers, tables, flags, p)
    cnt[C_DERIVED] = 1


@njit(cache=True)
def _quiet(pos, st, sym_st, book, cnt, acc, dv):
    """Return whether neither auto-add nor a liquidation acts at the current marks (``dv`` up to date).

    The same tests, on the same floats, as :func:`_auto_add`, :func:`_iso_liquidatable` and
    :func:`_cross_liquidatable` (cross sums in book order, as :func:`_cross_sums`); when it says no, the
    replay runs those: this only spares them when they would change nothing.
    """
    n_cross, upnl, mm, gross = 0, 0.0, 0.0, 0.0
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        t = pos[p].sym
        u, m = dv[DV_UPNL, p], dv[DV_MM, p]
        size = st[p, S_QTY] * (sym_st[t, Y_MARK] + st[p, S_ENTRY])
        if pos[p].mode == CROSS:
            n_cross += 1
            upnl += u
            mm += m
            gross += size
            continue
        margin = st[p, S_MARGIN]
        equity = margin + u
        if sym_st[t, Y_AA_ON] != 0.0 and not (equity > 0.0 and m / equity < sym_st[t, Y_AA_TRIG]):
            return False
        if touches(equity, m, abs(margin) + size + m):
            return False
    wallet = acc[A_WALLET]
    return not (n_cross > 0 and touches(wallet + upnl, mm, abs(wallet) + gross + mm))


@njit(cache=True)
def _book_remove(book, cnt, p):
    n = cnt[C_NBOOK]
    for b in range(n):
        if book[b] == p:
            for c in range(b, n - 1):
                book[c] = book[c + 1]
            cnt[C_NBOOK] = n - 1
            return


@njit(cache=True)
def _emit(ev, cnt, bar, p, kind, mark, price, loss, qty, amount):
    k = cnt[C_NEV]
    cnt[C_NEV] = k + 1
    if k >= ev.shape[0]:
        return
    ev[k].bar = bar
    ev[k].pos = p
    ev[k].kind = kind
    ev[k].mark = mark
    ev[k].price = price
    ev[k].loss = loss
    ev[k].qty = qty
    ev[k].amount = amount


@njit(cache=True)
def _round_lot_down(x, lot):
    r = x / lot
    k = math.floor(r)
    if 1.0 - (r - k) <= LOT_EPS * max(1.0, r):
        k += 1.0  # ``r`` is a whole number of lots, off by float rounding
    return k * lot


# =========================================================================== liquidation
@njit(cache=True)
def _step_down(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, p):
    """Close just enough of ``p`` at mark to drop it one tier; return 1 (done), 0 (not possible) or -code."""
    if not flags[V_PARTIAL]:
        return 0
    t = pos[p].sym
    mark = sym_st[t, Y_MARK]
    qty = st[p, S_QTY]
    k = _tier_for_nb(tiers, tables, t, _tier_size_nb(tables, t, qty, mark))
    if k < 0:
        return -_OVERFLOW
    if k == int(tables[t, T_START]):
        return 0
    lower_cap = tiers[k, FLOOR]
    lot = tables[t, T_LOT]
    if tables[t, T_CONTRACTS] != 0.0:
        keep = _round_lot_down(lower_cap * tables[t, T_CONTRACT_SIZE], lot)
    else:
        keep = _round_lot_down(lower_cap / mark, lot)
    closed = qty - keep
    if closed <= 0.0 or keep <= 0.0:
        return 0
    pnl = pos[p].side * closed * (mark - st[p, S_ENTRY])
    fee = closed * mark * tables[t, T_LIQ_FEE]
    if pos[p].mode == ISOLATED:
        if st[p, S_MARGIN] + pnl - fee < 0.0:
            return 0
        st[p, S_MARGIN] += pnl - fee
    else:
        if acc[A_WALLET] + _cross_sums(pos, st, sym_st, tiers, tables, flags, book, cnt)[1] - fee < 0.0:
            return 0  # the pool cannot pay the fee: it is past bankruptcy and goes as a whole
        acc[A_WALLET] += pnl - fee
    st[p, S_QTY] = keep
    st[p, S_FEES] += fee
    _emit(ev, cnt, bar, p, _PARTIAL, mark, mark, 0.0, closed, fee)
    return 1


@njit(cache=True)
def _forfeit(flags, equity, notional, rate):
    """Split a liquidated pool's equity into (fee, returned to the trader)."""
    if equity <= 0.0:
        return 0.0, 0.0
    fee = min(notional * rate, equity)
    if flags[V_FEE_STYLE]:
        return fee, equity - fee
    return fee, 0.0


@njit(cache=True)
def _close_slot(st, book, cnt, p):
    st[p, S_OPEN] = 0.0
    st[p, S_FEES] = 0.0
    _book_remove(book, cnt, p)


@njit(cache=True)
def _liquidate_isolated(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, p, wk):
    while _iso_liquidatable(pos, st, sym_st, tiers, tables, flags, p):
        r = _step_down(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, p)
        if r < 0:
            return -r
        if r == 0:
            break
    if not _iso_liquidatable(pos, st, sym_st, tiers, tables, flags, p):
        return _OK
    t = pos[p].sym
    mark = sym_st[t, Y_MARK]
    bankruptcy = _pool_price(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, wk[4], p, False)
    equity = st[p, S_MARGIN] + _upnl(pos, st, sym_st, p)
    fee, returned = _forfeit(flags, equity, st[p, S_QTY] * mark, tables[t, T_LIQ_FEE])
    acc[A_WALLET] += returned
    loss = st[p, S_MARGIN] - returned + st[p, S_FEES]
    price = mark if flags[V_FEE_STYLE] or math.isnan(bankruptcy) else bankruptcy
    _emit(ev, cnt, bar, p, _LIQUIDATED, mark, price, loss, st[p, S_QTY], fee)
    _close_slot(st, book, cnt, p)
    return _OK


@njit(cache=True)
def _liquidate_cross(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, wk):
    # scratch rows of wk (5, P): tried flags, members, bankruptcy prices, uPnL, pool values (no allocation)
    tried, members, bankruptcy, upnl, val = wk[0], wk[1], wk[2], wk[3], wk[4]
    while _cross_liquidatable(pos, st, sym_st, tiers, tables, flags, book, cnt, acc):
        # candidates by maintenance margin, then (symbol, side), descending: the engine's sort, reversed
        for j in range(tried.shape[0]):
            tried[j] = 0.0
        stepped = False
        while not stepped:
            best, best_mm = -1, 0.0
            for b in range(cnt[C_NBOOK]):
                q = book[b]
                if pos[q].mode != CROSS or tried[q] != 0.0:
                    continue
                mm = _mm(pos, st, sym_st, tiers, tables, flags, q)
                if best < 0 or _ranks_above(pos, tables, mm, q, best_mm, best):
                    best, best_mm = q, mm
            if best < 0:
                break
            tried[best] = 1.0
            r = _step_down(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, best)
            if r < 0:
                return -r
            stepped = r == 1
        if not stepped:
            break
    if not _cross_liquidatable(pos, st, sym_st, tiers, tables, flags, book, cnt, acc):
        return _OK
    n_book = cnt[C_NBOOK]
    n = 0
    notional, upnl_total = 0.0, 0.0
    for b in range(n_book):
        q = book[b]
        if pos[q].mode == CROSS:
            members[n] = q
            n += 1
            notional += st[q, S_QTY] * sym_st[pos[q].sym, Y_MARK]
            upnl_total += _upnl(pos, st, sym_st, q)
    equity = acc[A_WALLET] + upnl_total
    fee, returned = _forfeit(flags, equity, notional, tables[pos[int(members[0])].sym, T_LIQ_FEE])
    _pool_values(pos, st, sym_st, tiers, tables, flags, book, cnt, False, val)
    for m in range(n):
        q = int(members[m])
        bankruptcy[m] = _pool_price(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, q, False)
        upnl[m] = _upnl(pos, st, sym_st, q)
    acc[A_WALLET] = returned
    for m in range(n):
        q = int(members[m])
        mark = sym_st[pos[q].sym, Y_MARK]
        share = st[q, S_QTY] * mark / notional if notional != 0.0 else 1.0 / n
        loss = -(returned * share - equity * share + upnl[m]) + st[q, S_FEES]
        price = mark if flags[V_FEE_STYLE] or math.isnan(bankruptcy[m]) else bankruptcy[m]
        _emit(ev, cnt, bar, q, _LIQUIDATED, mark, price, loss, st[q, S_QTY], fee * share)
    for m in range(n):
        _close_slot(st, book, cnt, int(members[m]))
    return _OK


@njit(cache=True)
def _ranks_above(pos, tables, mm, q, best_mm, best):
    if mm != best_mm:
        return mm > best_mm
    rq, rb = tables[pos[q].sym, T_RANK], tables[pos[best].sym, T_RANK]
    if rq != rb:
        return rq > rb
    return pos[q].side < pos[best].side  # "short" sorts after "long": reversed, short comes first


@njit(cache=True)
def _sweep(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, wk):
    # isolated positions in book order; liquidating one removes only itself from the book
    b = 0
    while b < cnt[C_NBOOK]:
        p = book[b]
        if pos[p].mode == ISOLATED and _iso_liquidatable(pos, st, sym_st, tiers, tables, flags, p):
            code = _liquidate_isolated(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, p, wk)
            if code != _OK:
                return code
            if st[p, S_OPEN] == 0.0:
                continue
        b += 1
    if _cross_liquidatable(pos, st, sym_st, tiers, tables, flags, book, cnt, acc):
        return _liquidate_cross(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, wk)
    return _OK


@njit(cache=True)
def _auto_add(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar):
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        t = pos[p].sym
        if pos[p].mode != ISOLATED or sym_st[t, Y_AA_ON] == 0.0:
            continue
        equity = st[p, S_MARGIN] + _upnl(pos, st, sym_st, p)
        mm = _mm(pos, st, sym_st, tiers, tables, flags, p)
        if equity > 0.0 and mm / equity < sym_st[t, Y_AA_TRIG]:
            continue
        needed = mm / sym_st[t, Y_AA_TGT] - equity
        amount = min(needed, max(0.0, _available(pos, st, sym_st, tiers, tables, flags, book, cnt, acc)))
        if amount <= 0.0:
            continue
        acc[A_WALLET] -= amount
        st[p, S_MARGIN] += amount
        _emit(ev, cnt, bar, p, _ADDED, sym_st[t, Y_MARK], sym_st[t, Y_MARK], 0.0, st[p, S_QTY], amount)


@njit(cache=True)
def _update_marks(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, mark, columns, wk, dv):
    """Move every held symbol's mark to ``mark[bar, sym, columns[sym]]``, then auto-add and sweep.

    When :func:`_quiet` says neither would act, they are skipped and ``dv`` stays valid for the bar's
    bookkeeping (``cnt[C_DERIVED]``).
    """
    for b in range(cnt[C_NBOOK]):
        t = pos[book[b]].sym
        price = mark[bar, t, columns[t]]
        if not (price > 0.0 and price < np.inf):
            return _BAD_PRICE
        sym_st[t, Y_MARK] = price
    _derive(pos, st, sym_st, tiers, tables, flags, book, cnt, dv)
    if _quiet(pos, st, sym_st, book, cnt, acc, dv):
        return _OK
    cnt[C_DERIVED] = 0
    _auto_add(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar)
    return _sweep(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, wk)


# =========================================================================== opening and closing
@njit(cache=True)
def _open(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, info, bar, p, price, wk):
    t = pos[p].sym
    side = pos[p].side
    mode = pos[p].mode
    qty = pos[p].qty
    info[I_POS] = p
    if not (price > 0.0 and price < np.inf):
        return _BAD_PRICE
    lev = pos[p].leverage if not math.isnan(pos[p].leverage) else sym_st[t, Y_LEV]
    notional = qty * price
    k = _tier_for_nb(tiers, tables, t, _tier_size_nb(tables, t, qty, price))
    if k < 0:
        return _OVERFLOW
    if lev > tiers[k, MAX_LEV]:
        info[I_REQUIRED], info[I_AVAILABLE] = lev, tiers[k, MAX_LEV]
        return _LEVERAGE
    first_mode = -1
    for b in range(cnt[C_NBOOK]):
        q = book[b]
        if pos[q].sym != t:
            continue
        if pos[q].side == side:
            return _EXISTS
        if not flags[V_HEDGE]:
            return _ONE_WAY
        if first_mode < 0:
            first_mode = pos[q].mode
    if first_mode >= 0 and first_mode != mode and flags[V_FLAT_ONLY]:
        return _MODE
    fee = notional * tables[t, T_TAKER]
    initial = notional / lev
    available = _available(pos, st, sym_st, tiers, tables, flags, book, cnt, acc)
    if mode == ISOLATED:
        margin = initial if math.isnan(pos[p].margin) else pos[p].margin
        if margin < initial:
            info[I_REQUIRED], info[I_AVAILABLE] = initial, margin
            return _ISO_MARGIN
        if margin + fee > available:
            info[I_REQUIRED], info[I_AVAILABLE] = margin + fee, available
            return _BALANCE
        acc[A_WALLET] -= margin + fee
    else:
        margin = 0.0
        if initial + fee > available:
            info[I_REQUIRED], info[I_AVAILABLE] = initial + fee, available
            return _BALANCE
        acc[A_WALLET] -= fee
    acc[A_FEES] += fee
    sym_st[t, Y_LEV] = lev
    st[p, S_OPEN] = 1.0
    st[p, S_QTY] = qty
    st[p, S_ENTRY] = price
    st[p, S_MARGIN] = margin
    st[p, S_LEV] = lev
    st[p, S_FEES] = fee
    book[cnt[C_NBOOK]] = p
    cnt[C_NBOOK] += 1
    sym_st[t, Y_MARK] = price
    if mode == ISOLATED:
        liquidatable = _iso_liquidatable(pos, st, sym_st, tiers, tables, flags, p)
    else:
        liquidatable = _cross_liquidatable(pos, st, sym_st, tiers, tables, flags, book, cnt, acc)
    if liquidatable:
        return _ON_FILL
    if not math.isnan(pos[p].aa_trigger):
        sym_st[t, Y_AA_ON] = 1.0
        sym_st[t, Y_AA_TRIG] = pos[p].aa_trigger
        sym_st[t, Y_AA_TGT] = pos[p].aa_target
    _emit(ev, cnt, bar, p, _OPENED, price, price, 0.0, qty, fee)
    return _sweep(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, wk)


@njit(cache=True)
def _stops(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, bar, last):
    """Stops, then take-profits, of every position that has them, on the bar's last-price range.

    Returns how many filled.
    """
    filled = 0
    for j in range(pos.shape[0]):
        stop, take = pos[j].stop_loss, pos[j].take_profit
        if math.isnan(stop) and math.isnan(take):
            continue
        t, side = pos[j].sym, pos[j].side
        p = -1  # the engine closes whatever position holds (symbol, side), whichever entry opened it
        for b in range(cnt[C_NBOOK]):
            if pos[book[b]].sym == t and pos[book[b]].side == side:
                p = book[b]
        if p < 0:
            continue
        o, h, lo = last[bar, t, OPEN], last[bar, t, HIGH], last[bar, t, LOW]
        long = side > 0
        kind, fill = 0, 0.0
        if not math.isnan(stop) and (lo <= stop if long else h >= stop):
            kind, fill = _STOP, (min(o, stop) if long else max(o, stop))
        elif not math.isnan(take) and (h >= take if long else lo <= take):
            kind, fill = _TAKE, (max(o, take) if long else min(o, take))
        if kind == 0:
            continue
        qty = st[p, S_QTY]
        pnl = side * qty * (fill - st[p, S_ENTRY])
        fee = qty * fill * (tables[t, T_TAKER] if kind == _STOP else tables[t, T_MAKER])
        if pos[p].mode == ISOLATED:
            released = st[p, S_MARGIN] + pnl - fee
            if released < 0.0:
                _emit(ev, cnt, bar, p, _STOP_REJECTED, sym_st[t, Y_MARK], fill, 0.0, qty, fee)
                continue
            wallet = acc[A_WALLET] + released
        else:
            wallet = acc[A_WALLET] + pnl - fee
            rest = 0.0
            for b in range(cnt[C_NBOOK]):
                q = book[b]
                if q != p and pos[q].mode == CROSS:
                    rest += _upnl(pos, st, sym_st, q)
            if wallet + rest < 0.0:
                _emit(ev, cnt, bar, p, _STOP_REJECTED, sym_st[t, Y_MARK], fill, 0.0, qty, fee)
                continue
        acc[A_WALLET] = wallet
        acc[A_FEES] += fee
        _emit(ev, cnt, bar, p, kind, sym_st[t, Y_MARK], fill, 0.0, qty, fee)
        _close_slot(st, book, cnt, p)
        filled += 1
    return filled


# =========================================================================== one bar's bookkeeping
@njit(cache=True)
def _equity(pos, st, book, cnt, acc, dv):
    """Return wallets + isolated margins + uPnL (``dv`` up to date)."""
    total = acc[A_WALLET] + acc[A_OTHER]
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        total += dv[DV_UPNL, p]
        if pos[p].mode == ISOLATED:
            total += st[p, S_MARGIN]
    return total


@njit(cache=True)
def _worst_ratio(pos, st, book, cnt, acc, dv):
    """Return the highest maintenance / equity of any margin pool (``dv`` up to date; cross sums in book
    order, as :func:`_cross_sums`)."""
    worst = 0.0
    n_cross, upnl, mm_cross = 0, 0.0, 0.0
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        if pos[p].mode == CROSS:
            n_cross += 1
            upnl += dv[DV_UPNL, p]
            mm_cross += dv[DV_MM, p]
    if n_cross > 0 and acc[A_WALLET] + upnl > 0.0:
        worst = max(worst, mm_cross / (acc[A_WALLET] + upnl))
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        if pos[p].mode == ISOLATED:
            equity = st[p, S_MARGIN] + dv[DV_UPNL, p]
            if equity > 0.0:
                worst = max(worst, dv[DV_MM, p] / equity)
    return worst


@njit(cache=True)
def _funding(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, held, funding, bar):
    for b in range(cnt[C_NBOOK]):
        p = book[b]
        t = pos[p].sym
        rate = funding[bar, t]
        if not held[t] or rate == 0.0:
            continue
        amount = -pos[p].side * st[p, S_QTY] * sym_st[t, Y_MARK] * rate
        from_margin = amount if pos[p].mode == ISOLATED else 0.0
        if from_margin != 0.0 and flags[V_FUNDING_AVAILABLE_FIRST]:
            from_margin = min(
                0.0, amount + max(0.0, _available(pos, st, sym_st, tiers, tables, flags, book, cnt, acc))
            )
        st[p, S_MARGIN] += from_margin
        acc[A_WALLET] += amount - from_margin
        acc[A_FUNDING] += amount


# =========================================================================== the replay
@njit(cache=True)
def replay_nb(
    pos, st, sym_st, acc, book, cnt, tiers, tables, flags, last, mark, funding, extremes,
    equity, ratio, liq, key_first, closest, ev, info, code,
):  # fmt: skip
    """Replay ``M`` margin modes of one portfolio over every bar in one pass, mirroring ``replay_exact``.

    The bars are read once: each bar is played in every mode before the next one. Modes do not interact
    (each has its own state and outputs; one that stops on an error does not stop the others), so mode
    ``m`` gives exactly what a run of that mode alone gives. Arrays with a leading ``M`` axis hold one row
    per mode.

    Parameters
    ----------
    pos : POSITION_DT (M, P)
        Positions in portfolio order (the same slots in every mode; ``mode`` and margins differ).
    st : float64 (M, P, 6)
        Dynamic position state (``S_*`` columns), positions open at the start already filled in.
    sym_st : float64 (M, S, 5)
        Per-symbol mark, leverage setting and auto-add policy (``Y_*`` columns).
    acc : float64 (M, 4)
        Cross wallet, fees paid, funding received, other assets' wallets (settle asset units).
    book : int64 (M, P), cnt : int64 (M, 3)
        Open positions in the order they were opened, and counters (``C_*``).
    tiers, tables, flags : ndarray
        Tier arrays, table rows (one per symbol) and venue flags (``dtypes`` layout), shared by the modes.
    last, mark : float64 (n, S, 4)
        Last-price and mark-price OHLC per bar and symbol.
    funding : float64 (n, S)
        Funding rate settled in each bar (fraction; positive: longs pay).
    extremes : bool
        Check liquidation at the adverse mark extreme (True) or at the mark close.
    equity, ratio : float64 (M, n)
        Written: equity (wallets + isolated margins + uPnL at mark close) and the highest margin ratio.
    liq : float64 (M, n, K)
        Written: liquidation price per (symbol, side) key at the bar's close; NaN when none or flat.
    key_first : int64 (M, K)
        Written: first bar a key is open at a close (-1: never).
    closest : float64 (M, 3)
        Written: smallest distance |mark - liq| / mark at an adverse extreme, its symbol and bar.
    ev : EVENT_DT (M, E)
        Written: events; ``cnt[m, C_NEV]`` counts them even beyond the buffer (EVENT_OVERFLOW).
    info : float64 (M, 4)
        Written on error: bar, position slot, required and available amounts.
    code : int64 (M,)
        Written: each mode's Status code.
    """
    # scratch for the loop, allocated once: the loop itself runs without the runtime's reference counting
    n_modes, n_pos = pos.shape[0], pos.shape[1]
    n_sym = sym_st.shape[1]
    held = np.zeros((n_modes, n_sym), np.bool_)
    net = np.zeros((n_modes, n_sym))
    adverse = np.empty((n_modes, n_sym), np.int64)
    at_open = np.full(n_sym, OPEN, np.int64)
    at_close = np.full(n_sym, CLOSE, np.int64)
    val = np.empty((n_modes, max(n_pos, 1)))
    prices = np.empty((n_modes, max(n_pos, 1)))
    wk = np.empty((n_modes, 5, max(n_pos, 1)))
    dv = np.full((n_modes, N_DV, max(n_pos, 1)), np.nan)
    near = _near_bands_nb(tiers, tables, flags[V_BASIS_ENTRY])
    steep = _steepness_nb(tiers, tables, flags[V_BASIS_ENTRY])
    _replay_loop_nb(
        pos, st, sym_st, acc, book, cnt, tiers, tables, flags, last, mark, funding, extremes,
        equity, ratio, liq, key_first, closest, ev, info, code,
        held, net, adverse, at_open, at_close, val, prices, wk, dv, near, steep,
    )  # fmt: skip


# ``_nrt=False``: no atomic reference counting of the ~30 array arguments and per-mode views at every helper
# call (that was ~1.4 us per bar, most of the replay's time); nothing here or in its callees allocates
@njit(cache=True, _nrt=False)  # type: ignore[call-overload]  # numba option, not in its stubs
def _replay_loop_nb(
    pos_m, st_m, sym_st_m, acc_m, book_m, cnt_m, tiers, tables, flags, last, mark, funding, extremes,
    equity_m, ratio_m, liq_m, key_first_m, closest_m, ev_m, info_m, code,
    held_m, net_m, adverse_m, at_open, at_close, val_m, prices_m, wk_m, dv_m, near, steep,
):  # fmt: skip
    n = last.shape[0]
    n_modes, n_pos = pos_m.shape[0], pos_m.shape[1]
    n_sym = sym_st_m.shape[1]
    for m in range(n_modes):
        code[m] = _OK
        closest_m[m, CL_DISTANCE], closest_m[m, CL_SYM], closest_m[m, CL_BAR] = np.inf, -1.0, -1.0
        for k in range(key_first_m.shape[1]):
            key_first_m[m, k] = -1
    for i in range(n):
        for m in range(n_modes):
            if code[m] != _OK:
                continue
            # this mode's rows (views: no copy, no allocation)
            pos, st, sym_st, acc, book, cnt = pos_m[m], st_m[m], sym_st_m[m], acc_m[m], book_m[m], cnt_m[m]
            ev, info, held, net, adverse = ev_m[m], info_m[m], held_m[m], net_m[m], adverse_m[m]
            val, prices, wk, dv, closest = val_m[m], prices_m[m], wk_m[m], dv_m[m], closest_m[m]
            info[I_BAR] = i
            # 1. positions due open at the bar's last-price open
            c = _OK
            for p in range(n_pos):
                if pos[p].open_bar == i and c == _OK:
                    c = _open(
                        pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, info, i, p,
                        last[i, pos[p].sym, OPEN], wk,
                    )  # fmt: skip
            if c != _OK:
                code[m] = c
                continue
            # 2. mark open, then funding at it
            for t in range(n_sym):
                held[t] = False
            for b in range(cnt[C_NBOOK]):
                held[pos[book[b]].sym] = True
            c = _update_marks(
                pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, mark, at_open, wk, dv
            )
            if c != _OK:
                code[m] = c
                continue
            any_rate = False
            for t in range(n_sym):
                if held[t] and funding[i, t] != 0.0:
                    any_rate = True
            if any_rate:
                _funding(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, held, funding, i)
                c = _sweep(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, wk)
                if c != _OK:
                    code[m] = c
                    continue
            # 3. adverse extremes (net long: mark low; net short: mark high) or closes
            for t in range(n_sym):
                net[t] = 0.0
            for b in range(cnt[C_NBOOK]):
                p = book[b]
                net[pos[p].sym] += pos[p].side * st[p, S_QTY]
            for t in range(n_sym):
                adverse[t] = CLOSE if not extremes else (LOW if net[t] >= 0.0 else HIGH)
            c = _update_marks(
                pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, mark, adverse, wk, dv
            )
            if c != _OK:
                code[m] = c
                continue
            _book_prices(
                pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, prices, dv, near, steep,
                closest[CL_DISTANCE],
            )  # fmt: skip
            for b in range(cnt[C_NBOOK]):
                p = book[b]
                price = prices[b]
                if math.isnan(price):
                    continue
                mk = sym_st[pos[p].sym, Y_MARK]
                distance = abs(mk - price) / mk
                if distance < closest[CL_DISTANCE]:
                    closest[CL_DISTANCE], closest[CL_SYM], closest[CL_BAR] = distance, pos[p].sym, i
            # 4. stops then take-profits on last price; a stop's realised loss can leave the cross wallet
            #    short of the rest's maintenance: the engine's close sweeps at the marks it holds (adverse)
            if _stops(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, last) > 0:
                c = _sweep(pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, wk)
                if c != _OK:
                    code[m] = c
                    continue
            # 5. mark close, equity, worst margin ratio, liquidation prices
            c = _update_marks(
                pos, st, sym_st, tiers, tables, flags, book, cnt, acc, ev, i, mark, at_close, wk, dv
            )
            if c != _OK:
                code[m] = c
                continue
            if cnt[C_DERIVED] == 0:
                _derive(pos, st, sym_st, tiers, tables, flags, book, cnt, dv)
            equity_m[m, i] = _equity(pos, st, book, cnt, acc, dv)
            ratio_m[m, i] = _worst_ratio(pos, st, book, cnt, acc, dv)
            for k in range(liq_m.shape[2]):
                liq_m[m, i, k] = np.nan
            _book_prices(
                pos, st, sym_st, tiers, tables, flags, book, cnt, acc, val, prices, dv, near, steep, np.inf
            )
            for b in range(cnt[C_NBOOK]):
                k = pos[book[b]].key
                if key_first_m[m, k] < 0:
                    key_first_m[m, k] = i
                liq_m[m, i, k] = prices[b]
    for m in range(n_modes):
        if code[m] == _OK and cnt_m[m, C_NEV] > ev_m.shape[1]:
            code[m] = _EV_OVERFLOW

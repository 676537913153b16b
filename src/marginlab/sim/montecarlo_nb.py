"""Numba kernels of the Monte Carlo risk lab: walk price paths through margin-mode configurations.

Semantics (see ``docs/montecarlo.md``), per path and per mode configuration, at every step point ``t`` of
``0..steps`` (the mark is the path price, monitored only at step points):

* an isolated position is liquidated when the mark reaches its liquidation price (fixed for the horizon:
  no funding, no fees, no margin top-ups); it loses its isolated margin and nothing else;
* the cross book is liquidated as a whole when cross equity (wallet + uPnL of the cross positions)
  ``<=`` its tiered maintenance margin at the step's prices (touching liquidates,
  :func:`~marginlab.sim.nb.touches`); the cross wallet is lost;
* a Multi-Assets (pooled) mode values its cross book in USD: every collateral asset's equity at its index,
  a coin priced by a simulated perpetual moving with its path (:func:`_pool_nb`), against the maintenance
  converted at the settlement asset's ask rate; at 100 % the whole pool is lost; a mode that left the
  mode counts its idle coins in equity at their index;
* liquidated positions stay closed; equity = cross equity (0 once liquidated) + isolated margin + uPnL of
  the live isolated positions.

Randomness for GBM is drawn inside the kernel from a counter-based generator (splitmix64 output of a per-path
counter, two normals per 64-bit draw by a 128-layer ziggurat on 32-bit words), so path ``i`` of a chunk
depends only on ``(key, i)``: results do not depend on the number of threads or workers. Kernels return a
:class:`~marginlab.sim.dtypes.Status`.
"""

# Kernels are excluded from strict typing (numba types), see pyproject; wrappers in sim.montecarlo.
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from marginlab.sim.dtypes import (
    CAP,
    CUM,
    MMR,
    T_CLOSE_FEE,
    T_CONTRACT_SIZE,
    T_CONTRACTS,
    T_COUNT,
    T_START,
    Status,
)
from marginlab.sim.nb import leg_requirement, tier_row, touches

_OK = int(Status.OK)
_BAD_INPUT = int(Status.BAD_INPUT)

NO_LIQUIDATION = -1  # liq_step of a position that survives the horizon


@njit(cache=True, inline="always")
def _inputs_ok(x0, sym, side, qty, tables):
    """Whether every position names a known asset and table row, a side of +-1 and a size > 0."""
    for p in range(qty.shape[1]):
        if sym[p] < 0 or sym[p] >= x0.shape[0] or sym[p] >= tables.shape[0] or side[p] * side[p] != 1.0:
            return False
        if tables[sym[p], T_CONTRACTS] != 0.0 and not tables[sym[p], T_CONTRACT_SIZE] > 0.0:
            return False
        for m in range(qty.shape[0]):
            if not qty[m, p] > 0.0:
                return False
    return True


@intrinsic
def _f64_from_bits(typingctx, bits):
    """Return the float64 whose IEEE-754 bits are the int64 ``bits`` (a register move; it vectorises)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


# exp of a log price: Cody-Waite reduction x = k ln2 + r (|r| <= ln2 / 2; fdlibm's split of ln2, k * _LN2_HI
# exact), Taylor polynomial of degree 13 (truncation < 1e-17 relative), scale by 2^k built from its bits
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: (y + _ROUND) - _ROUND rounds y to the nearest integer
_E2, _E3, _E4, _E5, _E6, _E7 = (1.0 / math.factorial(k) for k in range(2, 8))
_E8, _E9, _E10, _E11, _E12, _E13 = (1.0 / math.factorial(k) for k in range(8, 14))
_EXP_HI = 709.4  # at or above: +inf (2^1023 is the largest scale built); the true overflow is at 709.78
_EXP_LO = -708.0  # at or below: 0 (no subnormal results)


@njit(cache=True, inline="always", error_model="numpy")
def exp_nb(x):
    """Return ``e**x`` within 2e-16 relative (glibc's ``exp``: 1.1e-16; they differ by 1 ulp on ~10 % of x).

    Branch-free arithmetic only, so the loops over a block's paths vectorise (measured 1.9 vs 6.5 ns per
    call for glibc's, which numba cannot vectorise without SVML), and the value is the same on every machine
    (IEEE-754 operations, no library). ``x >= 709.4`` gives +inf, ``x <= -708`` gives 0, NaN gives NaN: a
    log price never comes near (prices of 1e308 or 1e-308).
    """
    k = (x * _LOG2E + _ROUND) - _ROUND
    k = k if k < 1023.0 else 1023.0  # keeps the int conversion defined (inf, NaN) and the scale finite
    k = k if k > -1022.0 else -1022.0
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _E13 * r + _E12
    p = p * r + _E11
    p = p * r + _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + 1.0
    p = p * r + 1.0
    scale = _f64_from_bits((np.int64(k) + np.int64(1023)) << np.int64(52))  # type: ignore[call-arg,var-annotated]
    y = p * scale
    y = y if x < _EXP_HI else math.inf
    y = y if x > _EXP_LO else 0.0
    return y if x == x else x


# columns of ``pool_rate`` (C, 4): one row per Multi-Assets collateral asset
PR_COL = 0  # price column of the perpetual that prices the coin (BTCUSDT for BTC), -1: a constant index
PR_SCALE = 1  # USD index (col -1), else the USD index of that perpetual's settlement asset (USDTUSD)
PR_BID = 2  # (1 - bid buffer) * collateral value ratio: values a holding
PR_ASK = 3  # 1 + ask buffer: values a debt and converts maintenance


def no_pool(n_modes: int, n_pos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(pool_of, pool_wallet, pool_rate)`` of a book without a Multi-Assets mode."""
    return np.full((n_modes, n_pos), -1, np.int64), np.zeros((n_modes, 0)), np.zeros((0, 4))


@njit(cache=True, inline="always")
def _pool_ok(x0, iso, pool_of, pool_wallet, pool_rate):
    """Whether each mode is either unpooled (every ``pool_of`` -1) or a pool of cross legs, every leg's
    settlement asset a row with a constant index, and every coin's price column a simulated asset."""
    n_coll = pool_rate.shape[0]
    if pool_wallet.shape[1] != n_coll or pool_wallet.shape[0] != pool_of.shape[0]:
        return False
    for c in range(n_coll):
        if not (-1.0 <= pool_rate[c, PR_COL] < x0.shape[0]) or not pool_rate[c, PR_SCALE] > 0.0:
            return False
    for m in range(pool_of.shape[0]):
        pooled = pool_of.shape[1] > 0 and pool_of[m, 0] >= 0
        for p in range(pool_of.shape[1]):
            c = pool_of[m, p]
            if (c >= 0) != pooled or c >= n_coll or (pooled and (iso[m, p] or pool_rate[c, PR_COL] >= 0.0)):
                return False
    return True


@njit(cache=True, inline="always")
def _pool_nb(m, price, sym, sq, entry, pool_of, pool_wallet, pool_rate):
    """Return (market value, haircut, magnitude) of mode ``m``'s Multi-Assets pool at ``price`` (USD).

    Per collateral asset ``c``: equity ``e = wallet + uPnL of the legs settled in c`` (asset units), index
    ``scale * price[col]`` (a coin moves with its simulated perpetual) or ``scale``; market value
    ``sum e * index`` (no haircut, what equity reports); account equity ``sum e * index * (bid factor if
    e > 0 else ask factor)`` (``domain.collateral.AssetRate.value``); haircut = market value - account
    equity (>= 0), added to the requirement so that ``market value <= requirement + haircut`` is
    Binance's ``accountEquity <= accountMM``; magnitude ``sum |e * index|`` scales the tie tolerance.
    """
    mval, heq, mag = 0.0, 0.0, 0.0
    for c in range(pool_rate.shape[0]):
        e = pool_wallet[m, c]
        for p in range(sym.shape[0]):
            if pool_of[m, p] == c:
                e += sq[m, p] * (price[sym[p]] - entry[m, p])
        col = int(pool_rate[c, PR_COL])
        v = e * (pool_rate[c, PR_SCALE] * price[col] if col >= 0 else pool_rate[c, PR_SCALE])
        mval += v
        heq += v * (pool_rate[c, PR_BID] if v > 0.0 else pool_rate[c, PR_ASK])
        mag += abs(v)
    return mval, mval - heq, mag


@njit(cache=True, inline="always")
def _pool_modes(pool_of, pool_wallet):
    """Return (pooled, idle, keep walking): per mode whether it is a Multi-Assets pool, or an unpooled mode
    holding coins that back nothing (it left the mode; they count in equity at their index), and whether
    any mode holds such coins (then paths walk to the horizon: the coins move after every position closed).
    """
    n_modes = pool_of.shape[0]
    pooled = np.zeros(n_modes, np.bool_)
    idle = np.zeros(n_modes, np.bool_)
    for m in range(n_modes):
        pooled[m] = pool_of.shape[1] > 0 and pool_of[m, 0] >= 0
        for c in range(pool_wallet.shape[1]):
            idle[m] |= not pooled[m] and pool_wallet[m, c] != 0.0
    return pooled, idle, idle.any()


@njit(cache=True, inline="always")
def _mm_rate(pool_of, pool_rate, m, p):
    """Return the factor taking leg ``p``'s maintenance to the pool's USD (its settle ask rate), else 1."""
    c = pool_of[m, p]
    return pool_rate[c, PR_SCALE] * pool_rate[c, PR_ASK] if c >= 0 else 1.0


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S7, _S8, _S11, _S32 = np.uint64(7), np.uint64(8), np.uint64(11), np.uint64(32)
_LOW7, _LOW32, _ONE = np.uint64(0x7F), np.uint64(0xFFFFFFFF), np.uint64(1)
_TWO_M53 = 2.0**-53

# 128-layer ziggurat of the standard normal (Marsaglia & Tsang 2000) on 32-bit words: 7 bits of layer,
# 1 bit of sign, 24 bits of magnitude; one 64-bit draw gives two normals (low word first)
_ZIG_LAYERS = 128
_ZIG_BITS = 24
_ZIG_R = 3.442619855899
_ZIG_V = 9.91256303526217e-3


def ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the (k, w, f) tables of the 128-layer, 24-bit normal ziggurat for :func:`gbm_log_paths_nb`."""
    m = 2.0**_ZIG_BITS
    last = _ZIG_LAYERS - 1
    k, w, f = np.zeros(_ZIG_LAYERS), np.zeros(_ZIG_LAYERS), np.zeros(_ZIG_LAYERS)
    dn = tn = _ZIG_R
    q = _ZIG_V / math.exp(-0.5 * dn * dn)
    k[0] = (dn / q) * m
    w[0], w[last] = q / m, dn / m
    f[0], f[last] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(last - 1, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = (dn / tn) * m
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


@njit(cache=True, inline="always")
def _mix_nb(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def path_state_nb(key, path):
    """Return the generator state of path ``path`` (int) of the stream ``key`` (uint64)."""
    return _mix_nb(key ^ _mix_nb(np.uint64(path) * _GAMMA + _GAMMA))


@njit(cache=True, inline="always")
def _uniform_nb(u):
    return (np.float64(u >> _S11) + 0.5) * _TWO_M53


# inlined although rare (~3 % of words): called out of line it made every normal ~5x slower (measured: 35 vs
# 6.6 ns per pair of normals), the call in the hot loop costing far more than its code
@njit(cache=True, error_model="numpy", inline="always")
def _normal_slow_nb(s, h, zk, zw, zf):
    """Return (state, normal) after 32-bit word ``h`` missed the ziggurat's fast path: tail, wedge, retry.

    Every further word is the low half of a fresh draw; uniforms are 53-bit, from fresh draws.
    """
    while True:
        iz = np.int64(h & _LOW7)
        neg = ((h >> _S7) & _ONE) == _ONE
        j = np.float64(np.int64(h >> _S8))
        x = j * zw[iz]
        if j < zk[iz]:
            return s, -x if neg else x
        if iz == 0:
            while True:
                s = s + _GAMMA
                a = -math.log(_uniform_nb(_mix_nb(s))) / _ZIG_R
                s = s + _GAMMA
                b = -math.log(_uniform_nb(_mix_nb(s)))
                if b + b > a * a:
                    break
            return s, -(_ZIG_R + a) if neg else _ZIG_R + a
        s = s + _GAMMA
        if zf[iz] + _uniform_nb(_mix_nb(s)) * (zf[iz - 1] - zf[iz]) < math.exp(-0.5 * x * x):
            return s, -x if neg else x
        s = s + _GAMMA
        h = _mix_nb(s) & _LOW32


@njit(cache=True, inline="always")
def _normal_nb(s, h, zk, zw, zf):
    """Return (state, the standard normal of 32-bit word ``h``): the fast path (~97 %), else the slow one."""
    iz = np.int64(h & _LOW7)
    j = np.float64(np.int64(h >> _S8))
    if j < zk[iz]:
        # the sign bit is a coin flip: multiply by +-1 rather than branch (a branch mispredicts half the time,
        # which cost ~6 ns per normal); x * 1.0 and x * -1.0 are exact, so the numbers do not change
        return s, j * zw[iz] * (1.0 - 2.0 * np.float64(np.int64((h >> _S7) & _ONE)))
    return _normal_slow_nb(s, h, zk, zw, zf)


@njit(cache=True, inline="always")
def _gbm_step_nb(s, x, z, drift_dt, chol_dt, upper, zk, zw, zf):
    n_assets = x.shape[0]
    for b in range(0, n_assets, 2):  # one draw per pair of assets; an odd count drops the last high word
        s = s + _GAMMA
        u = _mix_nb(s)
        s, z[b] = _normal_nb(s, u & _LOW32, zk, zw, zf)
        if b + 1 < n_assets:
            s, z[b + 1] = _normal_nb(s, u >> _S32, zk, zw, zf)
    for a in range(n_assets):
        acc = drift_dt[a]
        for b in range(a + 1):
            acc += chol_dt[a, b] * z[b]
        if upper:  # entries above the diagonal: zero for a Cholesky factor, kept for semi-definite roots
            for b in range(a + 1, n_assets):
                acc += chol_dt[a, b] * z[b]
        x[a] += acc
    return s


@njit(cache=True)
def _has_upper(chol_dt):
    """Return whether ``chol_dt`` has entries above the diagonal (a semi-definite root, not Cholesky's)."""
    n = chol_dt.shape[0]
    for a in range(n):
        for b in range(a + 1, n):
            if chol_dt[a, b] != 0.0:
                return True
    return False


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def gbm_log_paths_nb(key, first_path, steps, x0, drift_dt, chol_dt, zk, zw, zf, out):
    """Fill ``out`` (n, steps + 1, A) with GBM log-price paths drawn exactly as :func:`mc_run_nb` draws them.

    ``x0`` start log prices; per step ``x += drift_dt + chol_dt @ z`` with ``z`` standard normal; path
    ``i`` is global path ``first_path + i`` of stream ``key`` (uint64).
    """
    n, n_assets = out.shape[0], x0.shape[0]
    upper = _has_upper(chol_dt)
    for i in prange(n):
        s = path_state_nb(key, first_path + i)
        x = x0.copy()
        z = np.empty(n_assets)
        out[i, 0, :] = x
        for t in range(1, steps + 1):
            s = _gbm_step_nb(s, x, z, drift_dt, chol_dt, upper, zk, zw, zf)
            out[i, t, :] = x
    return _OK


@njit(cache=True, inline="always")
def _leg_invariants(sym, side, qty, tiers, tables, pool_of, pool_rate):
    """Return the legs' loop invariants, computed once with the same arithmetic as the per-step formulas.

    ``(sq, size_c, contracts, monotone, first_tier, last_tier, fee, mmf)``: per mode and leg ``side * qty``
    (uPnL = sq * (price - entry)); per mode and leg the tier size when it does not move with the price
    (contract-sized tables, else 0); per leg whether its table sizes in contracts, whether the table's caps
    ascend, its first and last tier row (the last is open-ended, as the engine's ``tier_at``) and its close
    fee rate; per mode and leg the factor taking maintenance to the pool's unit (:func:`_mm_rate`).
    """
    n_modes, n_pos = qty.shape
    sq = np.empty((n_modes, n_pos))
    size_c = np.zeros((n_modes, n_pos))
    contracts = np.zeros(n_pos, np.bool_)
    monotone = np.ones(n_pos, np.bool_)
    first_tier = np.empty(n_pos, np.int64)
    last_tier = np.empty(n_pos, np.int64)
    fee = np.empty(n_pos)
    mmf = np.empty((n_modes, n_pos))
    for p in range(n_pos):
        t_row = sym[p]
        contracts[p] = tables[t_row, T_CONTRACTS] != 0.0
        first_tier[p] = int(tables[t_row, T_START])
        last_tier[p] = first_tier[p] + int(tables[t_row, T_COUNT]) - 1
        for k in range(first_tier[p], last_tier[p] - 1):
            if not tiers[k, CAP] <= tiers[k + 1, CAP]:
                monotone[p] = False
        fee[p] = tables[t_row, T_CLOSE_FEE]
        for m in range(n_modes):
            sq[m, p] = side[p] * qty[m, p]
            mmf[m, p] = _mm_rate(pool_of, pool_rate, m, p)
            if contracts[p]:
                size_c[m, p] = qty[m, p] / tables[t_row, T_CONTRACT_SIZE]
    return sq, size_c, contracts, monotone, first_tier, last_tier, fee, mmf


@njit(cache=True, inline="always")
def _leg_lists(iso):
    """Return ``(n_iso, n_cross, iso_p, cross_p)``: per mode the count and the list of its isolated legs and
    of its cross legs, each list in position order (as the reference kernel visits them)."""
    n_modes, n_pos = iso.shape
    n_iso = np.zeros(n_modes, np.int64)
    n_cross = np.zeros(n_modes, np.int64)
    iso_p = np.zeros((n_modes, n_pos), np.int64)
    cross_p = np.zeros((n_modes, n_pos), np.int64)
    for m in range(n_modes):
        for p in range(n_pos):
            if iso[m, p]:
                iso_p[m, n_iso[m]] = p
                n_iso[m] += 1
            else:
                cross_p[m, n_cross[m]] = p
                n_cross[m] += 1
    return n_iso, n_cross, iso_p, cross_p


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def mc_run_ref_nb(gbm, incr, n, steps,  # noqa: C901 - one fused loop on purpose
              key, first_path, x0, drift_dt, chol_dt, zk, zw, zf,
              sym, side, qty, entry, iso, margin, log_lp, wallet, tiers, tables, basis_entry,
              pool_of, pool_wallet, pool_rate,
              liq_step, final_eq, min_eq):  # fmt: skip
    """Reference kernel, one path at a time: :func:`mc_run_nb` must give byte-identical outputs.

    Kept as the plain statement of the semantics (and for ``tests/unit/sim/test_mc_lockstep.py``); the
    production kernel is :func:`mc_run_nb`, which walks blocks of paths in lockstep (same parameters).

    A path stops walking once every position of every mode is closed (its equity is constant from then on).
    """
    n_assets = x0.shape[0]
    n_modes, n_pos = qty.shape
    if not _inputs_ok(x0, sym, side, qty, tables) or not _pool_ok(x0, iso, pool_of, pool_wallet, pool_rate):
        return _BAD_INPUT
    sq, size_c, contracts, _, first_tier, last_tier, fee, mmf = _leg_invariants(
        sym, side, qty, tiers, tables, pool_of, pool_rate
    )
    _, n_cross, _, _ = _leg_lists(iso)
    pooled, idle, keep_walking = _pool_modes(pool_of, pool_wallet)
    upper = gbm and _has_upper(chol_dt)
    for i in prange(n):
        s = path_state_nb(key, first_path + i)
        x = x0.copy()
        z = np.empty(n_assets)
        price = np.empty(n_assets)
        for a in range(n_assets):
            price[a] = exp_nb(x[a])
        alive = np.ones((n_modes, n_pos), np.bool_)
        cross_alive = np.ones(n_modes, np.bool_)
        open_m = np.full(n_modes, n_pos)  # open positions per mode
        open_a = np.zeros(n_assets, np.int64)  # open positions per asset, all modes
        for p in range(n_pos):
            open_a[sym[p]] += n_modes
        for c in range(pool_rate.shape[0]):  # a coin of the pool is re-valued at every step
            if pool_rate[c, PR_COL] >= 0.0:
                open_a[int(pool_rate[c, PR_COL])] += 1
        n_open = n_modes * n_pos
        low = np.full(n_modes, np.inf)
        for m in range(n_modes):
            for p in range(n_pos):
                liq_step[m, i, p] = NO_LIQUIDATION
        for t in range(steps + 1):
            if t > 0:
                if n_open == 0 and not keep_walking:
                    break  # nothing left to liquidate: equity is constant, final_eq reads no price
                if gbm:
                    s = _gbm_step_nb(s, x, z, drift_dt, chol_dt, upper, zk, zw, zf)
                else:
                    for a in range(n_assets):
                        x[a] += incr[i, t - 1, a]
                for a in range(n_assets):
                    if open_a[a] > 0:  # prices of closed positions are never read again
                        price[a] = exp_nb(x[a])
            for m in range(n_modes):
                if t > 0 and open_m[m] == 0 and not idle[m]:
                    continue  # equity of the mode is constant: its minimum is already recorded
                eq = 0.0
                for p in range(n_pos):  # isolated positions
                    if not iso[m, p] or not alive[m, p]:
                        continue
                    a = sym[p]
                    if side[p] * (x[a] - log_lp[m, p]) <= 0.0:
                        alive[m, p] = False
                        liq_step[m, i, p] = t
                        open_m[m] -= 1
                        open_a[a] -= 1
                        n_open -= 1
                        continue
                    eq += margin[m, p] + sq[m, p] * (price[a] - entry[m, p])
                if cross_alive[m]:
                    cross_eq = wallet[m]
                    if n_cross[m] > 0:
                        mm, gross = 0.0, 0.0
                        for p in range(n_pos):
                            if iso[m, p]:
                                continue
                            a = sym[p]
                            pa = price[a]
                            q = qty[m, p]
                            cross_eq += sq[m, p] * (pa - entry[m, p])
                            basis = entry[m, p] if basis_entry else pa
                            size = size_c[m, p] if contracts[p] else q * basis
                            k = tier_row(tiers, first_tier[p], last_tier[p], size)
                            req = leg_requirement(q, basis, pa, tiers[k, MMR], tiers[k, CUM], fee[p])
                            mm += req * mmf[m, p]
                            gross += q * (pa + entry[m, p])
                        if pooled[m]:  # Multi-Assets: the pool in USD, coins at the step's prices
                            cross_eq, haircut, mag = _pool_nb(
                                m, price, sym, sq, entry, pool_of, pool_wallet, pool_rate
                            )
                            mm += haircut
                            gross += mag
                        if touches(cross_eq, mm, abs(wallet[m]) + gross + mm):
                            cross_alive[m] = False
                            for p in range(n_pos):
                                if not iso[m, p]:
                                    alive[m, p] = False
                                    liq_step[m, i, p] = t
                                    open_m[m] -= 1
                                    open_a[sym[p]] -= 1
                                    n_open -= 1
                    if cross_alive[m]:
                        eq += cross_eq
                if idle[m]:  # coins that back nothing (the mode left Multi-Assets mode), at their index
                    eq += _pool_nb(m, price, sym, sq, entry, pool_of, pool_wallet, pool_rate)[0]
                if eq < low[m]:
                    low[m] = eq
        # final equity at the last evaluation; a closed position's price is not read (cross ones only when
        # the cross book is alive, i.e. open)
        for m in range(n_modes):
            min_eq[m, i] = low[m]
            eq = 0.0
            cross_eq = wallet[m]
            for p in range(n_pos):
                if iso[m, p]:
                    if alive[m, p]:
                        eq += margin[m, p] + sq[m, p] * (price[sym[p]] - entry[m, p])
                elif cross_alive[m]:
                    cross_eq += sq[m, p] * (price[sym[p]] - entry[m, p])
            if pooled[m] or idle[m]:
                value = _pool_nb(m, price, sym, sq, entry, pool_of, pool_wallet, pool_rate)[0]
                if pooled[m]:
                    cross_eq = value
                else:
                    eq += value
            final_eq[m, i] = eq + (cross_eq if cross_alive[m] else 0.0)
    return _OK


BLOCK = 32  # paths walked in lockstep by mc_run_nb: the per-path loops over a block vectorise (SIMD)


@njit(cache=True, inline="always")
def _fast_normal_nb(h, zk, zw):
    """Return (hit, value): the ziggurat's fast path on 32-bit word ``h`` (branch-free; hit ~97 %)."""
    iz = np.int64(h & _LOW7)
    j = np.float64(np.int64(h >> _S8))
    return j < zk[iz], j * zw[iz] * (1.0 - 2.0 * np.float64(np.int64((h >> _S7) & _ONE)))


@njit(cache=True, inline="always")
def _block_normals_nb(state, z, nb, ubuf, zk, zw, zf):
    """Fill ``z[:, :nb]`` (A, B) with one step's normals of the block's paths as :func:`_gbm_step_nb` would.

    Per pair of assets, the block's draws come first, as one loop that vectorises (counters and splitmix64's
    multiplies on SIMD lanes), then the ziggurat turns each draw into two normals, path by path; a word that
    misses the fast path (~3 %) goes through the slow path, which takes further draws of that path only.
    Each path's draws and numbers are those of the one-path kernel (byte-identical), whatever the block.
    (The ziggurat itself does not vectorise: LLVM will not emit table gathers on this CPU; measured 2.5 vs
    3.2 ns per normal for draws and ziggurat fused per path.)
    """
    n_assets = z.shape[0]
    for b in range(0, n_assets, 2):
        for i in range(nb):
            s = state[i] + _GAMMA
            state[i] = s
            ubuf[i] = _mix_nb(s)
        pair = b + 1 < n_assets  # an odd count drops the last draw's high word
        for i in range(nb):
            u = ubuf[i]
            ok0, v0 = _fast_normal_nb(u & _LOW32, zk, zw)
            z[b, i] = v0
            ok1 = True
            if pair:
                ok1, v1 = _fast_normal_nb(u >> _S32, zk, zw)
                z[b + 1, i] = v1
            if not (ok0 and ok1):
                s, z[b, i] = _normal_nb(state[i], u & _LOW32, zk, zw, zf)
                if pair:
                    s, z[b + 1, i] = _normal_nb(s, u >> _S32, zk, zw, zf)
                state[i] = s
    return 0


@njit(cache=True, inline="always")
def _block_gbm_step_nb(state, x, z, acc, ubuf, nb, drift_dt, chol_dt, upper, zk, zw, zf):
    """Advance the block's log prices ``x[:, :nb]`` (A, B) by one GBM step, as :func:`_gbm_step_nb` does.

    The normals come from :func:`_block_normals_nb`; the product with the root is one loop over the block's
    paths per (row, column) of the root (it vectorises), each path summing in the one-path kernel's order.
    """
    n_assets = x.shape[0]
    _block_normals_nb(state, z, nb, ubuf, zk, zw, zf)
    for a in range(n_assets):
        d = drift_dt[a]
        for i in range(nb):
            acc[i] = d
        for b in range(a + 1):
            c = chol_dt[a, b]
            for i in range(nb):
                acc[i] += c * z[b, i]
        if upper:
            for b in range(a + 1, n_assets):
                c = chol_dt[a, b]
                for i in range(nb):
                    acc[i] += c * z[b, i]
        for i in range(nb):
            x[a, i] += acc[i]
    return 0


@njit(cache=True, inline="always")
def _block_prices_nb(x, price, nb):
    """Set ``price[:, :nb] = exp(x[:, :nb])`` with :func:`exp_nb` (one vectorised loop per asset)."""
    for a in range(x.shape[0]):
        for i in range(nb):
            price[a, i] = exp_nb(x[a, i])
    return 0


@njit(cache=True, inline="always")
def _walk_tier_nb(tiers, first, last, size, monotone):
    """Return (row, lower, upper): the tier row of ``size`` and the band of sizes that keep it.

    ``size`` in ``(lower, upper]`` keeps the row (caps ascend, so :func:`tier_row` would return it again);
    ``lower = +inf`` (never in band) when the table's caps do not ascend, so that every step walks.
    """
    k = tier_row(tiers, first, last, size)
    lower = -np.inf if k == first else tiers[k - 1, CAP]
    upper = np.inf if k == last else tiers[k, CAP]
    if not monotone:
        lower = np.inf
    return k, lower, upper


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def mc_run_nb(gbm, incr, n, steps,  # noqa: C901 - one fused loop on purpose
              key, first_path, x0, drift_dt, chol_dt, zk, zw, zf,
              sym, side, qty, entry, iso, margin, log_lp, wallet, tiers, tables, basis_entry,
              pool_of, pool_wallet, pool_rate,
              liq_step, final_eq, min_eq):  # fmt: skip
    """Walk ``n`` paths through every mode configuration; fill the outputs; return a Status code.

    Paths go in blocks of :data:`BLOCK`, all of a block's paths one step at a time (lockstep): the loops
    over the block's paths (Cholesky product, barrier tests, cross sums) are branch-free and vectorise;
    the rare events (a liquidation, a cross leg changing tier) are handled afterwards for the paths they
    concern. Every path does the same float operations in the same order as in :func:`mc_run_ref_nb`,
    so the outputs are byte-identical to it (``tests/unit/sim/test_mc_lockstep.py``) and, as there, do
    not depend on the number of threads. A cross leg's tier row is kept from step to step with the band
    of sizes it covers and walked again only when the size leaves that band.

    Parameters
    ----------
    gbm : bool
        True: draw GBM steps in the kernel (``drift_dt`` (A,), ``chol_dt`` (A, A), stream ``key`` uint64 from
        path ``first_path``; ``incr`` unused). False: read log increments ``incr`` (n, steps, A).
    x0 : float64 (A,)
        Start log mark price of each asset (column = tier table row).
    sym : int64 (P,)
        Asset column / table row of each position.
    side : float64 (P,)
        +1 long, -1 short.
    qty, entry, margin : float64 (M, P)
        Per mode: size (base units), entry price, isolated margin (settle asset; unused for cross).
    iso : bool (M, P)
        Per mode: isolated (True) or cross.
    log_lp : float64 (M, P)
        Log of the isolated liquidation price; -inf (long) / +inf (short) where none.
    wallet : float64 (M,)
        Cross wallet of each mode, settle asset (0 in a Multi-Assets mode: the pool holds the wallets).
    pool_of : int64 (M, P)
        Per mode: -1 everywhere (no pool), or the ``pool_rate`` row of each (cross) leg's settlement asset:
        the mode is a Multi-Assets pool whose equity is :func:`_pool_nb`'s, in USD, tested against the
        legs' maintenance times their settle ask rate plus the pool's haircut.
    pool_wallet : float64 (M, C)
        Per mode and collateral asset: wallet, asset units. In an unpooled mode, coins that back nothing
        (the mode left Multi-Assets mode): they count in equity at their index, and paths then walk to the
        horizon.
    pool_rate : float64 (C, 4)
        Per collateral asset ``(column, scale, bid factor, ask factor)`` (``PR_*``; ``compile_pool``).
    liq_step : int32 (M, n, P)
        Out: step at which each position was liquidated, ``NO_LIQUIDATION`` if never.
    final_eq, min_eq : float64 (M, n)
        Out: equity at the last step and lowest equity at any step point (settle asset).

    A block stops walking once every position of every mode of all its paths is closed.
    """
    n_assets = x0.shape[0]
    n_modes, n_pos = qty.shape
    if not _inputs_ok(x0, sym, side, qty, tables) or not _pool_ok(x0, iso, pool_of, pool_wallet, pool_rate):
        return _BAD_INPUT
    sq, size_c, contracts, monotone, first_tier, last_tier, fee, mmf = _leg_invariants(
        sym, side, qty, tiers, tables, pool_of, pool_rate
    )
    n_iso, n_cr, iso_p, cr_p = _leg_lists(iso)
    pooled, idle, keep_walking = _pool_modes(pool_of, pool_wallet)
    upper = gbm and _has_upper(chol_dt)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        i0 = blk * BLOCK
        nb = min(BLOCK, n - i0)
        state = np.empty(BLOCK, np.uint64)
        x = np.empty((n_assets, BLOCK))
        z = np.zeros((n_assets, BLOCK))
        acc = np.empty(BLOCK)
        price = np.empty((n_assets, BLOCK))
        eq = np.empty(BLOCK)
        ceq = np.empty(BLOCK)
        mmv = np.empty(BLOCK)
        gross = np.empty(BLOCK)
        hit = np.zeros(BLOCK, np.bool_)
        outp = np.zeros(BLOCK, np.bool_)  # a cross leg of the path left its tier's band this step
        ubuf = np.empty(BLOCK, np.uint64)
        low = np.full((n_modes, BLOCK), np.inf)
        alive = np.ones((n_modes, n_pos, BLOCK), np.bool_)  # isolated legs (by list index j)
        calive = np.ones((n_modes, BLOCK), np.bool_)  # cross book of each mode
        t_mmr = np.zeros((n_modes, n_pos, BLOCK))  # cross legs' current tier (by list index j)
        t_cum = np.zeros((n_modes, n_pos, BLOCK))
        t_lo = np.full((n_modes, n_pos, BLOCK), np.inf)  # size band of the tier: (lo, hi]; empty: walk
        t_hi = np.full((n_modes, n_pos, BLOCK), -np.inf)
        n_open = nb * n_modes * n_pos
        for i in range(nb):
            state[i] = path_state_nb(key, first_path + i0 + i)
            for a in range(n_assets):
                x[a, i] = x0[a]
                price[a, i] = exp_nb(x[a, i])
            for m in range(n_modes):
                for p in range(n_pos):
                    liq_step[m, i0 + i, p] = NO_LIQUIDATION
        for t in range(steps + 1):
            if t > 0:
                if n_open == 0 and not keep_walking:
                    break
                if gbm:
                    _block_gbm_step_nb(state, x, z, acc, ubuf, nb, drift_dt, chol_dt, upper, zk, zw, zf)
                else:
                    for i in range(nb):
                        for a in range(n_assets):
                            x[a, i] += incr[i0 + i, t - 1, a]
                _block_prices_nb(x, price, nb)
            for m in range(n_modes):
                for i in range(nb):
                    eq[i] = 0.0
                # isolated legs: barrier in log space, then the live ones' equity
                for j in range(n_iso[m]):
                    p = iso_p[m, j]
                    a = sym[p]
                    sd, llp, mg, sqp, e = side[p], log_lp[m, p], margin[m, p], sq[m, p], entry[m, p]
                    n_hit = 0
                    for i in range(nb):
                        was = alive[m, j, i]
                        h = was & (sd * (x[a, i] - llp) <= 0.0)
                        still = was & ~h
                        term = mg + sqp * (price[a, i] - e)
                        eq[i] = eq[i] + term if still else eq[i]
                        alive[m, j, i] = still
                        hit[i] = h
                        n_hit += h
                    if n_hit > 0:
                        n_open -= n_hit
                        for i in range(nb):
                            if hit[i]:
                                liq_step[m, i0 + i, p] = t
                if n_cr[m] == 0:
                    w = wallet[m]
                    for i in range(nb):
                        eq[i] = eq[i] + w
                else:
                    w = wallet[m]
                    for i in range(nb):
                        ceq[i] = w
                        mmv[i] = 0.0
                        gross[i] = 0.0
                        outp[i] = False
                    n_out = 0
                    for j in range(n_cr[m]):
                        p = cr_p[m, j]
                        a = sym[p]
                        sqp, q, e, f, sc, con, mf = (
                            sq[m, p],
                            qty[m, p],
                            entry[m, p],
                            fee[p],
                            size_c[m, p],
                            contracts[p],
                            mmf[m, p],
                        )
                        # one output array per loop: LLVM vectorises a loop only if it can rule out overlaps
                        # between the arrays it writes and reads with few run-time checks (measured: the
                        # fused loop ran scalar)
                        for i in range(nb):
                            ceq[i] += sqp * (price[a, i] - e)
                        for i in range(nb):
                            pa = price[a, i]
                            basis = e if basis_entry else pa
                            mmv[i] += leg_requirement(q, basis, pa, t_mmr[m, j, i], t_cum[m, j, i], f) * mf
                        for i in range(nb):
                            gross[i] += q * (price[a, i] + e)
                        for i in range(nb):
                            pa = price[a, i]
                            size = sc if con else q * (e if basis_entry else pa)
                            out = ((not (size <= t_hi[m, j, i])) | (size <= t_lo[m, j, i])) & calive[m, i]
                            outp[i] |= out
                            n_out += out
                    if n_out > 0:  # a leg left its tier's band (or the first step): walk the tiers again
                        for i in range(nb):
                            if not outp[i]:  # in band (or closed): the sum above used the right tiers
                                continue
                            mm = 0.0
                            for j in range(n_cr[m]):
                                p = cr_p[m, j]
                                a = sym[p]
                                pa = price[a, i]
                                q, e = qty[m, p], entry[m, p]
                                basis = e if basis_entry else pa
                                size = size_c[m, p] if contracts[p] else q * basis
                                if not (size <= t_hi[m, j, i]) or size <= t_lo[m, j, i]:
                                    k, lo, hi = _walk_tier_nb(
                                        tiers, first_tier[p], last_tier[p], size, monotone[p]
                                    )
                                    t_mmr[m, j, i], t_cum[m, j, i] = tiers[k, MMR], tiers[k, CUM]
                                    t_lo[m, j, i], t_hi[m, j, i] = lo, hi
                                mm += (
                                    leg_requirement(q, basis, pa, t_mmr[m, j, i], t_cum[m, j, i], fee[p])
                                    * mmf[m, p]
                                )
                            mmv[i] = mm
                    if pooled[m]:  # Multi-Assets: the pool in USD, coins at the step's prices (_pool_nb)
                        for i in range(nb):
                            ceq[i], haircut, mag = _pool_nb(
                                m, price[:, i], sym, sq, entry, pool_of, pool_wallet, pool_rate
                            )
                            mmv[i] += haircut
                            gross[i] += mag
                    aw = abs(w)
                    n_hit = 0
                    for i in range(nb):
                        was = calive[m, i]
                        h = was & touches(ceq[i], mmv[i], aw + gross[i] + mmv[i])
                        still = was & ~h
                        eq[i] = eq[i] + ceq[i] if still else eq[i]
                        calive[m, i] = still
                        hit[i] = h
                        n_hit += h
                    if n_hit > 0:
                        n_open -= n_hit * n_cr[m]
                        for i in range(nb):
                            if hit[i]:
                                for j in range(n_cr[m]):
                                    liq_step[m, i0 + i, cr_p[m, j]] = t
                if idle[m]:  # coins that back nothing (the mode left Multi-Assets mode), at their index
                    for i in range(nb):
                        eq[i] += _pool_nb(m, price[:, i], sym, sq, entry, pool_of, pool_wallet, pool_rate)[0]
                for i in range(nb):
                    low[m, i] = eq[i] if eq[i] < low[m, i] else low[m, i]
        # final equity at the last evaluation (prices of closed positions are not read)
        for i in range(nb):
            for m in range(n_modes):
                min_eq[m, i0 + i] = low[m, i]
                e_iso = 0.0
                cross_eq = wallet[m]
                for p in range(n_pos):
                    if iso[m, p]:
                        if liq_step[m, i0 + i, p] == NO_LIQUIDATION:
                            e_iso += margin[m, p] + sq[m, p] * (price[sym[p], i] - entry[m, p])
                    elif calive[m, i]:
                        cross_eq += sq[m, p] * (price[sym[p], i] - entry[m, p])
                if pooled[m] or idle[m]:
                    value = _pool_nb(m, price[:, i], sym, sq, entry, pool_of, pool_wallet, pool_rate)[0]
                    if pooled[m]:
                        cross_eq = value
                    else:
                        e_iso += value
                final_eq[m, i0 + i] = e_iso + (cross_eq if calive[m, i] else 0.0)
    return _OK

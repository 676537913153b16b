"""The lockstep Monte Carlo kernel (blocks of paths, cached tier rows) is byte-identical to the reference
kernel that walks one path at a time and looks every tier up afresh, whatever the book, the tier tables,
the block partition or the source of the increments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from marginlab.rules import get_venue
from marginlab.sim import dtypes as dt
from marginlab.sim.api import compile_tiers
from marginlab.sim.montecarlo_nb import BLOCK, mc_run_nb, mc_run_ref_nb, no_pool, ziggurat_tables

ZIG = ziggurat_tables()
SYMBOLS = ["BTCUSDT", "ETHUSDT", "DOGEUSDT"]
PRICES = np.array([60000.0, 3000.0, 0.2])


def book(
    *,
    basis_entry: int = 0,
    contracts: bool = False,
    scrambled: bool = False,
    hedge: bool = False,
    pooled: bool = False,
) -> dict[str, Any]:
    """Return kernel inputs: three modes (all cross, all isolated, hybrid), legs near tier boundaries.

    ``pooled``: the all-cross mode is a Multi-Assets pool of USDT, BTC (priced by the BTC column) and USDC
    (ETH's leg settles in USDC), with haircuts and buffers; the all-isolated mode holds idle BTC.
    """
    tiers = compile_tiers(get_venue("binance"), SYMBOLS)
    tier_rows, tables = tiers.tiers.copy(), tiers.tables.copy()
    if contracts:  # ETH's table counted in contracts of 0.01 ETH: its tier does not move with the price
        tables[1, dt.T_CONTRACTS], tables[1, dt.T_CONTRACT_SIZE] = 1.0, 0.01
    if scrambled:  # BTC's caps not ascending: every step must walk its table
        start = int(tables[0, dt.T_START])
        tier_rows[start + 1, dt.CAP], tier_rows[start + 2, dt.CAP] = (
            tier_rows[start + 2, dt.CAP],
            tier_rows[start + 1, dt.CAP],
        )
    sym = np.array([0, 1, 2, 0] if hedge else [0, 1, 2], np.int64)
    side = np.array([1.0, -1.0, 1.0, -1.0] if hedge else [1.0, -1.0, 1.0])
    # notional a hair under BTC's and ETH's first caps, so that paths cross tier bands both ways
    caps = [tier_rows[int(tables[t, dt.T_START]), dt.CAP] for t in range(3)]
    notional = np.array([0.98 * caps[0], 0.99 * caps[1], 0.5 * caps[2]] + ([0.3 * caps[0]] if hedge else []))
    entry_1 = PRICES[sym] * np.array([1.0, 1.0, 1.0] + ([1.02] if hedge else []))
    qty_1 = notional / entry_1
    n_pos = sym.shape[0]
    qty = np.vstack([qty_1] * 3)
    entry = np.vstack([entry_1] * 3)
    iso = np.array([[False] * n_pos, [True] * n_pos, [False, True] + [False] * (n_pos - 2)])
    margin = np.where(iso, qty * entry / 12.0, 0.0)
    lp = entry * (1.0 - side * 0.14)
    log_lp = np.where(iso, np.log(lp), np.where(side > 0, -np.inf, np.inf))
    wallet = np.array([0.09, 0.0, 0.08]) * notional.sum()
    out = {"sym": sym, "side": side, "qty": qty, "entry": entry, "iso": iso, "margin": margin,
           "log_lp": log_lp, "wallet": wallet, "tiers": tier_rows, "tables": tables,
           "basis_entry": basis_entry}  # fmt: skip
    if pooled:
        pool_of, pool_wallet, pool_rate = no_pool(3, n_pos)
        pool_of[0] = np.where(sym == 1, 2, 0)  # ETH's leg settles in USDC, the others in USDT
        usd = 0.09 * notional.sum()
        pool_wallet = np.zeros((3, 3))
        pool_wallet[0] = [0.2 * usd, 0.7 * usd / PRICES[0], 0.1 * usd / 0.999]
        pool_wallet[1] = [0.0, 0.3 * usd / PRICES[0], 0.0]  # all isolated: left the mode, BTC sits idle
        # rows: USDT (index 1), BTC (BTC column x USDT index 0.998, haircut 95 %), USDC (index 0.999)
        pool_rate = np.array(
            [[-1.0, 1.0, 0.9999, 1.0], [0.0, 0.998, 0.95 * 0.99, 1.01], [-1.0, 0.999, 0.9999 * 0.999, 1.002]]
        )
        out["wallet"] = np.array([0.0, wallet[1], wallet[2]])
        out["pool"] = (pool_of, pool_wallet, pool_rate)
    return out


def run(kernel: Any, b: dict[str, Any], n: int, steps: int, *, first_path: int = 0, incr: Any = None,
        upper: bool = False, status: int = 0) -> tuple[np.ndarray, ...]:  # fmt: skip
    n_assets = 3
    x0 = np.log(PRICES)
    corr = np.array([[1.0, 0.7, 0.5], [0.7, 1.0, 0.6], [0.5, 0.6, 1.0]])
    vol = np.array([1.5, 1.8, 2.4])
    dt_y = 1.0 / (365 * 24)
    root = np.linalg.cholesky(corr)
    if upper:  # a symmetric square root: entries above the diagonal too
        w, v = np.linalg.eigh(corr)
        root = v @ np.diag(np.sqrt(w)) @ v.T
    chol_dt = np.ascontiguousarray(root * (vol * dt_y**0.5)[:, None])
    drift_dt = -0.5 * vol**2 * dt_y
    n_modes, n_pos = b["qty"].shape
    liq = np.empty((n_modes, n, n_pos), np.int32)
    final = np.empty((n_modes, n))
    low = np.empty((n_modes, n))
    gbm = incr is None
    increments = np.zeros((0, 0, 0)) if gbm else incr
    code = kernel(gbm, increments, n, steps, np.uint64(77), first_path, x0, drift_dt, chol_dt, *ZIG,
                  b["sym"], b["side"], b["qty"], b["entry"], b["iso"], b["margin"], b["log_lp"], b["wallet"],
                  b["tiers"], b["tables"], b["basis_entry"], *b.get("pool", no_pool(n_modes, n_pos)),
                  liq, final, low)  # fmt: skip
    assert code == status, code
    assert n_assets == x0.shape[0]
    return liq, final, low


def assert_identical(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"basis_entry": 1},
        {"contracts": True},
        {"scrambled": True},
        {"hedge": True},
        {"pooled": True},
        {"pooled": True, "hedge": True, "scrambled": True},
    ],
    ids=["price-basis", "entry-basis", "contracts", "caps-not-ascending", "hedge", "pool", "pool-hedge"],
)
def test_lockstep_kernel_equals_the_one_path_reference(options: dict[str, Any]) -> None:
    # Arrange: a path count that is no multiple of the block, a start path that is no multiple either
    b = book(**options)
    n, steps = 3 * BLOCK + 5, 96
    # Act
    fast = run(mc_run_nb, b, n, steps, first_path=11)
    ref = run(mc_run_ref_nb, b, n, steps, first_path=11)
    # Assert: identical bytes, and the sample is not trivial (liquidations in every mode, not all paths)
    assert_identical(fast, ref)
    liq = fast[0]
    for m in range(3):
        hit = (liq[m] >= 0).any(axis=1).mean()
        assert 0.05 < hit < 0.95, (m, hit)


def test_lockstep_kernel_equals_the_reference_on_given_increments_and_a_full_root() -> None:
    b = book()
    n, steps = BLOCK + 3, 48
    incr = np.random.default_rng(5).normal(0.0, 0.02, (n, steps, 3))
    assert_identical(run(mc_run_nb, b, n, steps, incr=incr), run(mc_run_ref_nb, b, n, steps, incr=incr))
    assert_identical(run(mc_run_nb, b, n, steps, upper=True), run(mc_run_ref_nb, b, n, steps, upper=True))


def test_any_split_of_the_paths_gives_the_same_paths() -> None:
    # Arrange
    b = book(hedge=True, pooled=True)
    steps = 64
    # Act: 100 paths at once, and as 37 + 63 paths (blocks no longer aligned)
    whole = run(mc_run_nb, b, 100, steps)
    head = run(mc_run_nb, b, 37, steps)
    tail = run(mc_run_nb, b, 63, steps, first_path=37)
    # Assert
    assert whole[0].tobytes() == np.concatenate([head[0], tail[0]], axis=1).tobytes()
    for k in (1, 2):
        assert whole[k].tobytes() == np.concatenate([head[k], tail[k]], axis=1).tobytes()


def test_both_kernels_refuse_an_inconsistent_pool() -> None:
    b = book(pooled=True)
    pool_of, pool_wallet, pool_rate = b["pool"]
    moving_settle = pool_rate.copy()
    moving_settle[0, 0] = 1.0  # USDT, a settlement asset, priced by a simulated column
    half_pooled = pool_of.copy()
    half_pooled[0, 1] = -1  # one leg of the pooled mode outside the pool
    isolated_leg = pool_of.copy()
    isolated_leg[2] = 0  # the hybrid mode (an isolated leg) pooled
    narrow = np.ascontiguousarray(pool_wallet[:, :2])  # fewer wallet columns than rate rows
    bad = [
        (pool_of, pool_wallet, moving_settle),
        (half_pooled, pool_wallet, pool_rate),
        (isolated_leg, pool_wallet, pool_rate),
        (pool_of, narrow, pool_rate),
    ]
    for pool in bad:
        for kernel in (mc_run_nb, mc_run_ref_nb):
            run(kernel, {**b, "pool": pool}, 4, 2, status=int(dt.Status.BAD_INPUT))

"""The Monte Carlo kernel gives byte-identical results on 1, 2 and 4 threads, whether numba hands the blocks
to the threads in two halves or a few at a time (paths never share numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import hashlib, json, sys
import numba
import numpy as np
from marginlab.rules import get_venue
from marginlab.sim.api import compile_tiers
from marginlab.sim.montecarlo_nb import mc_run_nb, no_pool, ziggurat_tables

tiers = compile_tiers(get_venue("binance"), ["BTCUSDT", "ETHUSDT", "DOGEUSDT"])
n, steps = 3001, 96
x0 = np.log(np.array([60000.0, 3000.0, 0.2]))
corr = np.array([[1.0, 0.7, 0.5], [0.7, 1.0, 0.6], [0.5, 0.6, 1.0]])
dt = 1.0 / (365 * 96)
chol_dt = np.ascontiguousarray(np.linalg.cholesky(corr) * (np.array([0.8, 0.9, 1.2]) * dt**0.5)[:, None])
drift_dt = -0.5 * np.array([0.8, 0.9, 1.2]) ** 2 * dt
sym = np.array([0, 1, 2, 0], np.int64)
side = np.array([1.0, -1.0, 1.0, -1.0])
qty = np.array([[1.0, 10.0, 50000.0, 0.5]] * 3)
entry = np.array([[60000.0, 3000.0, 0.2, 61000.0]] * 3)
iso = np.array([[False, False, False, False], [True, True, True, True], [False, False, False, False]])
margin = np.where(iso, qty * entry / 20.0, 0.0)
lp = entry * (1.0 - side * 0.045)
log_lp = np.where(iso, np.log(lp), np.where(side > 0, -np.inf, np.inf))
wallet = np.array([8000.0, 0.0, 0.0])
# mode 2: a Multi-Assets pool of 300 USDT and 0.03 BTC (moving with column 0); mode 1 holds 0.1 BTC idle
pool_of, pool_wallet, pool_rate = no_pool(3, 4)
pool_of[2] = 0
pool_wallet = np.array([[0.0, 0.0], [0.0, 0.1], [300.0, 0.03]])
pool_rate = np.array([[-1.0, 1.0, 0.9999, 1.0], [0.0, 1.0, 0.95, 1.0]])
out = {}
# threads x how numba hands out the blocks (0: two equal halves; 3 and 8 blocks at a time, as sim.montecarlo)
for threads, grab in ((1, 0), (2, 0), (4, 0), (2, 3), (2, 8), (4, 8)):
    numba.set_num_threads(threads)
    liq = np.empty((3, n, 4), np.int32)
    final = np.empty((3, n))
    low = np.empty((3, n))
    with numba.parallel_chunksize(grab):
        code = mc_run_nb(True, np.zeros((0, 0, 0)), n, steps, np.uint64(2024), 17, x0, drift_dt, chol_dt,
                         *ziggurat_tables(), sym, side, qty, entry, iso, margin, log_lp, wallet,
                         tiers.tiers, tiers.tables, 0, pool_of, pool_wallet, pool_rate, liq, final, low)
    assert code == 0, code
    digest = hashlib.sha256(liq.tobytes() + final.tobytes() + low.tobytes()).hexdigest()
    out[f"{threads}/{grab}"] = {"digest": digest, "liquidated": int((liq >= 0).sum()),
                                "pooled": int((liq[2] >= 0).sum())}
print(json.dumps(out))
"""


def test_one_two_and_four_threads_give_byte_identical_results() -> None:
    # Arrange: numba's pool must be started with room for 4 threads, hence a fresh process
    env = {**os.environ, "NUMBA_NUM_THREADS": "4"}
    # Act
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    # Assert
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    first = runs["1/0"]
    assert len(runs) == 6 and all(run == first for run in runs.values())
    assert first["liquidated"] > 100  # the paths do liquidate: the digests cover real outcomes
    assert first["pooled"] > 10  # the Multi-Assets pool too

"""Monte Carlo on arrays: the chunk of paths (the unit of work), its execution in-process or on Dask, and the
statistics that merge chunks. The use case around it — portfolio to compiled arrays, data, report — is
:mod:`marginlab.app.risk`; semantics and simplifications: ``docs/montecarlo.md``.

Determinism: chunk ``c`` draws from ``SeedSequence(seed).spawn(...)[c]`` (GBM: a counter-based generator
keyed by it, inside the kernel); chunks are combined in order, so a seed gives the same report whatever the
number of workers. Results depend on ``(seed, paths, chunk_size)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from marginlab.errors import InputError
from marginlab.sim.dtypes import Status
from marginlab.sim.montecarlo_nb import mc_run_nb, no_pool, ziggurat_tables
from marginlab.sim.paths import ModelParams, cholesky, increments

__all__ = [
    "WIPEOUT",
    "ChunkResult",
    "Job",
    "execute",
    "expected_shortfall",
    "quantiles",
    "run_chunk",
    "run_chunk_one_thread",
    "wilson",
    "with_params",
]

FloatArray = npt.NDArray[np.float64]
WIPEOUT = 0.9  # an account that loses at least this fraction of its start equity is wiped out
Z95 = 1.959963984540054
TTL_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_SUB_BATCH = 4096  # paths per array of pre-drawn increments (non-GBM models): bounds memory
_ZIG = ziggurat_tables()
# blocks of paths a thread takes at a time (numba's dynamic chunks): a thread that is slowed down (a busy
# machine) or whose blocks end early (every position closed) does not leave the other idle at the end of a
# chunk, as the default static split into equal halves does. Results do not depend on it (paths are
# independent and written by index).
_BLOCKS_PER_GRAB = 8


# =========================================================================== statistics helpers
def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion ``k / n`` (default 95 %)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if k <= 0 else max(0.0, center - half)
    hi = 1.0 if k >= n else min(1.0, center + half)
    return (lo, hi)


def expected_shortfall(losses: FloatArray, level: float) -> float:
    """Return the mean of the worst ``1 - level`` fraction of ``losses`` (positive: money lost)."""
    k = max(1, math.ceil((1.0 - level) * losses.shape[0] - 1e-9))
    worst = np.partition(losses, losses.shape[0] - k)[losses.shape[0] - k :]
    return float(worst.mean())


# =========================================================================== compiled job
@dataclass(frozen=True)
class Job:
    """Everything a chunk needs (small arrays; pickled to Dask workers). Modes are stacked on axis 0."""

    model: str
    steps: int
    dt: float
    paths: int
    chunk_size: int
    seed: int
    block: int
    x0: FloatArray
    params: ModelParams | None
    returns: FloatArray | None
    sym: npt.NDArray[np.int64]
    side: FloatArray
    qty: FloatArray
    entry: FloatArray
    iso: npt.NDArray[np.bool_]
    margin: FloatArray
    log_lp: FloatArray
    wallet: FloatArray
    start_equity: FloatArray
    tiers: FloatArray
    tables: FloatArray
    basis_entry: int
    pool_of: npt.NDArray[np.int64] | None = None  # Multi-Assets pool (mc_run_nb); None: no pooled mode
    pool_wallet: FloatArray | None = None
    pool_rate: FloatArray | None = None

    @property
    def n_chunks(self) -> int:
        """Return the number of chunks."""
        return -(-self.paths // self.chunk_size)

    def chunk_paths(self, c: int) -> int:
        """Return the number of paths of chunk ``c``."""
        return min(self.chunk_size, self.paths - c * self.chunk_size)


@dataclass(frozen=True)
class ChunkResult:
    """Per-chunk tallies (mergeable exactly): modes on axis 0."""

    liq_hist: npt.NDArray[np.int64]  # (M, P, steps + 1): liquidations of each position per step
    any_hist: npt.NDArray[np.int64]  # (M, steps + 1): first liquidation of any position per step
    wipeouts: npt.NDArray[np.int64]  # (M,) final equity <= 10 % of start
    wipeouts_intra: npt.NDArray[np.int64]  # (M,) min equity <= 10 % of start
    losses: FloatArray  # (M, n) start - final equity


def _gbm_arrays(job: Job) -> tuple[FloatArray, FloatArray]:
    n_assets = job.x0.shape[0]
    if job.model != "gbm" or job.params is None:
        return np.zeros(n_assets), np.zeros((n_assets, n_assets))
    p = job.params.validated()
    drift_dt = (p.drift - 0.5 * p.vol**2) * job.dt
    chol_dt = np.ascontiguousarray(cholesky(p.corr) * (p.vol * math.sqrt(job.dt))[:, None])
    return drift_dt, chol_dt


def _walk(
    job: Job, gbm: bool, incr: FloatArray, n: int, key: np.uint64, *, kernel: Any = mc_run_nb
) -> tuple[Any, ...]:
    n_modes, n_pos = job.qty.shape
    liq = np.empty((n_modes, n, n_pos), np.int32)
    final = np.empty((n_modes, n))
    low = np.empty((n_modes, n))
    drift_dt, chol_dt = _gbm_arrays(job)
    pool = no_pool(n_modes, n_pos)
    if job.pool_of is not None and job.pool_wallet is not None and job.pool_rate is not None:
        pool = (job.pool_of, job.pool_wallet, job.pool_rate)
    with numba.parallel_chunksize(_BLOCKS_PER_GRAB):
        code = kernel(
            gbm, incr, n, job.steps, key, 0, job.x0, drift_dt, chol_dt, *_ZIG,
            job.sym, job.side, job.qty, job.entry, job.iso, job.margin, job.log_lp, job.wallet,
            job.tiers, job.tables, job.basis_entry, *pool, liq, final, low,
        )  # fmt: skip
    if code != Status.OK:
        # imported here: sim.api pulls in pandas (io.bars), which a Dask worker running chunks never needs
        from marginlab.sim.api import raise_for_status

        raise_for_status(code, where="Monte Carlo kernel")
    return liq, final, low


def run_chunk(job: Job, c: int) -> ChunkResult:
    """Simulate chunk ``c`` of ``job`` and return its tallies (the unit of work; a pure function)."""
    n = job.chunk_paths(c)
    seq = np.random.SeedSequence(job.seed, spawn_key=(c,))
    if job.model == "gbm":
        key = np.uint64(seq.generate_state(1, np.uint64)[0])
        liq, final, low = _walk(job, True, np.zeros((0, 0, 0)), n, key)
    else:
        rng = np.random.Generator(np.random.PCG64(seq))
        parts = []
        for start in range(0, n, _SUB_BATCH):
            m = min(_SUB_BATCH, n - start)
            incr = increments(
                job.model, steps=job.steps, dt=job.dt, paths=m, rng=rng, params=job.params,
                returns=job.returns, block=job.block,
            )  # fmt: skip
            parts.append(_walk(job, False, np.ascontiguousarray(incr), m, np.uint64(0)))
        liq = np.concatenate([p[0] for p in parts], axis=1)
        final = np.concatenate([p[1] for p in parts], axis=1)
        low = np.concatenate([p[2] for p in parts], axis=1)
    n_modes, _, n_pos = liq.shape
    bins = job.steps + 2  # step + 1 so that NO_LIQUIDATION (-1) lands in bin 0, dropped below
    liq_hist = np.zeros((n_modes, n_pos, job.steps + 1), np.int64)
    any_hist = np.zeros((n_modes, job.steps + 1), np.int64)
    for m in range(n_modes):
        for p in range(n_pos):
            liq_hist[m, p] = np.bincount(liq[m, :, p] + 1, minlength=bins)[1:]
        first = np.where(liq[m] >= 0, liq[m], np.iinfo(np.int32).max).min(axis=1)
        hit = first[first != np.iinfo(np.int32).max]
        any_hist[m] = np.bincount(hit, minlength=job.steps + 1)
    floor = ((1.0 - WIPEOUT) * job.start_equity)[:, None]
    return ChunkResult(
        liq_hist=liq_hist,
        any_hist=any_hist,
        wipeouts=(final <= floor).sum(axis=1),
        wipeouts_intra=(low <= floor).sum(axis=1),
        losses=job.start_equity[:, None] - final,
    )


def run_chunk_one_thread(job: Job, c: int) -> ChunkResult:
    """Run :func:`run_chunk` with numba on the calling thread only (a Dask task).

    A Dask worker's parallelism is its tasks: a kernel that also spread over every core would put
    workers x cores threads on the cores (numba defaults to every core in each worker process). Results do
    not depend on it.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return run_chunk(job, c)
    finally:
        numba.set_num_threads(previous)


def quantiles(hist: npt.NDArray[np.int64], hours_per_step: float) -> dict[str, float | None]:
    """Return the time-to-liquidation quantiles (``"q05"``..``"q95"``, hours) of a per-step histogram."""
    total = int(hist.sum())
    out: dict[str, float | None] = {}
    cum = np.cumsum(hist)
    for q in TTL_QUANTILES:
        key = f"q{round(q * 100):02d}"
        out[key] = None if total == 0 else float(np.searchsorted(cum, q * total)) * hours_per_step
    return out


SCHEDULER_TIMEOUT_S = 5  # a scheduler that does not answer within this is reported, not waited for (30 s)
WORKER_TIMEOUT_S = 60  # a scheduler without workers: how long to wait for the first one to join


def _connect(dist: Any, address: str) -> Any:
    """Return a ``distributed.Client`` of the scheduler at ``address``; InputError if it cannot connect."""
    try:
        client = dist.Client(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            "--scheduler", address, "", problem=f"cannot connect to a Dask scheduler at {address} ({reason})"
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise InputError(
            "--scheduler",
            address,
            "",
            problem=f"the Dask scheduler at {address} has no worker "
            f"(none joined within {WORKER_TIMEOUT_S} s): start one with `dask worker {address}`",
        ) from exc
    return client


def execute(
    job: Job, *, workers: int | None, scheduler: str | Any | None, progress: Callable[[int, int], None] | None
) -> list[ChunkResult]:
    """Run every chunk of ``job`` and return their tallies in chunk order.

    In-process by default; ``workers=N`` on a local Dask cluster of N single-thread workers; ``scheduler``
    (an address or a ``distributed.Client``) on an existing one. ``progress(done, total)`` after each chunk.
    """
    n = job.n_chunks
    if workers is None and scheduler is None:
        out = []
        for c in range(n):
            out.append(run_chunk(job, c))
            if progress is not None:
                progress(c + 1, n)
        return out
    import distributed

    dist: Any = distributed  # untyped package
    cluster: Any = None
    client: Any
    if scheduler is not None:
        client = scheduler if isinstance(scheduler, dist.Client) else _connect(dist, scheduler)
        own_client = not isinstance(scheduler, dist.Client)
    else:
        if not (isinstance(workers, int) and workers >= 1):
            raise InputError("workers", workers, "an integer >= 1")
        cluster = dist.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = dist.Client(cluster)
        own_client = True
    try:
        shared = client.scatter(job, broadcast=True)
        futures = [client.submit(run_chunk_one_thread, shared, c, pure=False) for c in range(n)]
        for done, _ in enumerate(dist.as_completed(futures), start=1):
            if progress is not None:
                progress(done, n)
        return list(client.gather(futures))
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def with_params(params: ModelParams, **changes: Any) -> ModelParams:
    """Return ``params`` with fields replaced (e.g. ``vol=np.full(2, 0.8)``)."""
    return replace(params, **changes)

"""Benchmarks: ``make bench`` runs this and writes ``benchmarks/results.json`` (flat, units in the names).

Speed is measured here, never in tests. Each figure is the median of several repeats, because the machine
is shared and noisy.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from marginlab import Account, MarginMode, Side, get_venue
from marginlab.analysis.replay import replay_exact
from marginlab.app.risk import run_risk
from marginlab.app.whatif import WhatIfRequest, move, prepare
from marginlab.io.bars import Bars
from marginlab.io.portfolio import MODES
from marginlab.io.schema import Portfolio, parse
from marginlab.sim.api import compile_tiers, liquidation_prices, replay_fast_modes
from marginlab.sim.paths import ModelParams

OUT = Path(__file__).with_name("results.json")
REPEATS = 7


def median_seconds(
    fn: Callable[[], object], *, repeats: int = REPEATS, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Return the median time of ``fn()`` over ``repeats`` runs, in seconds: wall time by default.

    ``clock=time.process_time`` gives the CPU time of this process (user + system) instead: on a shared
    machine the wall time measures the neighbours too, the CPU time what the code costs.
    """
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def median_cpu_seconds(fn: Callable[[], object], *, repeats: int = REPEATS) -> float:
    """Return :func:`median_seconds` in CPU time."""
    return median_seconds(fn, repeats=repeats, clock=time.process_time)


def cross_book() -> Account:
    """Return a Binance account with four cross positions across tier boundaries and one isolated."""
    venue = get_venue("binance")
    account = Account(venue, balances={"USDT": Decimal("2000000")})
    book = [
        ("BTCUSDT", Side.LONG, "30", "95000", "94000"),
        ("ETHUSDT", Side.SHORT, "400", "3500", "3550"),
        ("SOLUSDT", Side.LONG, "5000", "180", "175"),
        ("XRPUSDT", Side.LONG, "200000", "2.5", "2.4"),
    ]
    for symbol, side, qty, entry, mark in book:
        account.import_position(
            venue.instrument(symbol),
            side,
            Decimal(qty),
            Decimal(entry),
            mark=Decimal(mark),
            leverage=Decimal(5),
        )
    account.import_position(
        venue.instrument("DOGEUSDT"),
        Side.LONG,
        Decimal("100000"),
        Decimal("0.2"),
        leverage=Decimal(10),
        mode=MarginMode.ISOLATED,
    )
    return account


def bench_exact_liquidation_prices() -> float:
    """Return exact (Decimal) liquidation prices per second over a mixed cross/isolated book."""
    account = cross_book()
    positions = account.positions
    n = 200

    def run() -> None:
        for _ in range(n):
            for p in positions:
                account.liquidation_price(p)

    return n * len(positions) / median_seconds(run)


def bench_engine_operations() -> float:
    """Return exact engine operations per second (open, mark with liquidation check, funding, close)."""
    venue = get_venue("binance")
    n = 100

    def run() -> None:
        for _ in range(n):
            account = Account(venue, balances={"USDT": Decimal("10000")})
            account.open(
                "BTCUSDT",
                Side.LONG,
                Decimal("0.05"),
                Decimal("100000"),
                leverage=Decimal(10),
                mode=MarginMode.ISOLATED,
            )
            account.open("ETHUSDT", Side.LONG, Decimal("1"), Decimal("4000"), leverage=Decimal(5))
            account.update_marks({"BTCUSDT": Decimal("95000"), "ETHUSDT": Decimal("3900")})
            account.apply_funding({"BTCUSDT": Decimal("0.0001"), "ETHUSDT": Decimal("0.0001")})
            account.update_marks({"BTCUSDT": Decimal("88000"), "ETHUSDT": Decimal("3600")})
            account.close("ETHUSDT", Decimal("3600"))

    return n * 6 / median_seconds(run)


SIX = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT")
SIX_PRICES = (60000.0, 3000.0, 150.0, 2.5, 0.2, 600.0)
BARS_1Y_5M = 365 * 288  # 105,120


def bench_liq_positions() -> dict[str, float]:
    """Return vectorised liquidation prices per second: 10 M isolated positions, 6 tier tables, one thread.

    Compact inputs (``int8`` table and side, float64 qty, entry, margin; the mark is not read when every
    table has one root per band) and a preallocated output: the kernel alone is timed (wall and CPU).
    Bytes moved per position: the check pass reads table, side and qty (10), the solving pass table, side,
    qty, entry and margin (26) and writes 8 (+ 8 read for the write-allocate of the output) = 44 (52); with
    ``int64`` table and side, 72 (80).
    """
    tiers = compile_tiers(get_venue("binance"), SIX)
    rng = np.random.default_rng(0)
    n = 10_000_000
    table = rng.integers(0, len(SIX), n)
    side = np.where(rng.random(n) < 0.5, 1, -1)
    entry = np.array(SIX_PRICES)[table] * rng.uniform(0.9, 1.1, n)
    notional = 10 ** rng.uniform(2.0, 7.5, n)  # 100 USDT .. 30 M USDT: every bracket up to tier 5
    qty = notional / entry
    fixed = notional / rng.integers(1, 20, n)  # isolated margin at 1x..19x
    out = np.empty(n)
    figures = {}
    for label, index_type in (("", np.int8), ("_int64", np.int64)):
        args = {"table": table.astype(index_type), "side": side.astype(index_type), "qty": qty,
                "entry": entry, "fixed": fixed, "mark": entry}  # fmt: skip
        liquidation_prices(tiers, **{k: v[:1000] for k, v in args.items()})  # compile / load the cache
        liquidation_prices(tiers, **args, out=out)  # warm: fault in the output's pages
        seconds = median_seconds(lambda a=args: liquidation_prices(tiers, **a, out=out), repeats=REPEATS)
        cpu = median_cpu_seconds(lambda a=args: liquidation_prices(tiers, **a, out=out), repeats=REPEATS)
        figures[f"liq_positions_per_s{label}"] = round(n / seconds)
        figures[f"liq_positions_per_cpu_s{label}"] = round(n / cpu)
    figures["liq_bytes_per_position"] = 44
    figures["liq_bytes_per_position_int64"] = 72
    return figures


def synthetic_bars(n: int, *, seed: int = 1) -> Bars:
    """Return ``n`` 5-minute bars of the six symbols: a random walk (~0.15 %/bar) with rare crashes."""
    rng = np.random.default_rng(seed)
    times = np.datetime64("2025-01-01T00:00", "ns") + np.arange(n) * np.timedelta64(5, "m")
    last, mark, funding = {}, {}, {}
    for symbol, p0 in zip(SIX, SIX_PRICES, strict=True):
        step = rng.normal(0.0, 0.0015, n)
        step[rng.random(n) < 0.0002] -= 0.08
        close = p0 * np.exp(np.cumsum(step))
        opens = np.concatenate(([p0], close[:-1]))
        wick = np.abs(rng.normal(0.0, 0.001, (2, n)))
        high = np.maximum(opens, close) * (1 + wick[0])
        low = np.minimum(opens, close) * (1 - wick[1])
        last[symbol] = np.column_stack([opens, high, low, close])
        mark[symbol] = last[symbol] * (1 + rng.normal(0.0, 0.0002, (n, 1)))
        funding[symbol] = np.where(np.arange(n) % 96 == 0, 0.0001, 0.0)
    return Bars(times=times, last=last, mark=mark, funding=funding)


def six_symbol_portfolio() -> Portfolio:
    """Return a $100k hybrid book: cross core on BTC/ETH/BNB, isolated speculation on SOL/XRP/DOGE."""
    cross = [
        ("BTCUSDT", "long", "40000", "5"),
        ("ETHUSDT", "short", "20000", "5"),
        ("BNBUSDT", "long", "10000", "5"),
    ]
    isolated = [
        ("SOLUSDT", "long", "5000", "10"),
        ("XRPUSDT", "short", "3000", "10"),
        ("DOGEUSDT", "long", "2000", "20"),
    ]
    positions = [{"symbol": s, "side": d, "notional": x, "leverage": lev} for s, d, x, lev in cross]
    positions += [
        {"symbol": s, "side": d, "notional": x, "leverage": lev, "mode": "isolated",
         "auto_add_margin": {"trigger": "0.8", "target": "0.5"}}
        for s, d, x, lev in isolated
    ]  # fmt: skip
    return parse(Portfolio, {"balances": {"USDT": "100000"}, "positions": positions})


def window(bars: Bars, n: int) -> Bars:
    """Return the first ``n`` bars."""
    return Bars(
        times=bars.times[:n],
        last={s: a[:n] for s, a in bars.last.items()},
        mark={s: a[:n] for s, a in bars.mark.items()},
        funding={s: a[:n] for s, a in bars.funding.items()},
    )


def bench_replay() -> tuple[float, float, float]:
    """Return (wall and CPU seconds for 1 year of 5m bars x 6 symbols x 3 modes, warm; exact/fast ratio).

    Wall time of :func:`replay_fast_modes` (compiling the inputs, the one-pass kernel, reading the results
    back; median of 5), as ``marginlab compare`` calls it minus the Decimal conversion of the series.
    """
    venue = get_venue("binance")
    portfolio = six_symbol_portfolio()
    bars = synthetic_bars(BARS_1Y_5M)

    def fast(b: Bars) -> None:
        replay_fast_modes(portfolio, venue, b, MODES)  # the three modes in one pass over the bars

    fast(window(bars, 100))  # compile / load the numba cache
    fast_s = median_seconds(lambda: fast(bars), repeats=5)
    fast_cpu = median_cpu_seconds(lambda: fast(bars), repeats=5)
    n_exact = 300
    short = window(bars, n_exact)
    exact_s = median_cpu_seconds(lambda: [replay_exact(portfolio, venue, short, m) for m in MODES], repeats=3)
    return fast_s, fast_cpu, (exact_s / n_exact) / (fast_cpu / BARS_1Y_5M)


def _mc_run(paths: int, **kwargs: object) -> float:
    """Return the seconds of one GBM risk run of the six-symbol book, cross and isolated, 1 day at 5 min."""
    corr = np.full((6, 6), 0.6) + 0.4 * np.eye(6)
    params = ModelParams(vol=np.full(6, 0.8), drift=np.zeros(6), corr=corr)
    start = time.perf_counter()
    run_risk(
        six_symbol_portfolio(), get_venue("binance"), model="gbm", horizon=1.0, steps_per_day=288,
        paths=paths, seed=1, params=params, modes=("cross", "isolated"), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    return time.perf_counter() - start


_MC_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
import numba
from run import _mc_run
_mc_run(2_000)  # load the numba cache
numba.set_num_threads({threads})
wall, cpu = time.perf_counter(), time.process_time()
_mc_run({paths})
try:  # this process image's own peak: ru_maxrss keeps the parent's peak across fork + exec (Linux)
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    rss_mb = int(status.split()[0]) / 1024
except (OSError, IndexError):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rss_mb": rss_mb}}))
"""


def _mc_child(paths: int, threads: int) -> dict[str, float]:
    """Run one GBM risk run in a fresh process; return its wall and CPU seconds and peak RSS (MB)."""
    code = _MC_CHILD.format(here=str(Path(__file__).parent), paths=paths, threads=threads)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_monte_carlo() -> dict[str, float]:
    """Return Monte Carlo figures at 1 M paths x 288 steps x 6 assets (2 modes): time, threads, Dask.

    Every run is in a fresh process (peak RSS of that process), median of 3. CPU seconds are given next to
    the wall time because on a shared machine the wall time measures the other tenants too; CPU ns per
    path step = CPU seconds / (paths x steps). Threads: the same run on 1 and on every core. Dask: a local
    cluster of 1 and 2 single-thread workers (cluster start included) against the in-process run on one
    thread; overhead = 1 worker / in-process - 1.
    """
    _mc_run(2_000)  # compile / load the numba cache
    n, steps, repeats = 1_000_000, 288, 3
    cores = os.cpu_count() or 1
    runs = {k: [_mc_child(n, k) for _ in range(repeats)] for k in sorted({1, cores})}
    big = {key: statistics.median(r[key] for r in runs[cores]) for key in ("wall", "cpu", "rss_mb")}
    one = statistics.median(r["wall"] for r in runs[1])
    out = {
        "mc_1m_paths_288_steps_6_assets_s": round(big["wall"], 2),
        "mc_1m_paths_288_steps_6_assets_cpu_s": round(big["cpu"], 2),
        "mc_1m_paths_288_steps_6_assets_peak_rss_mb": round(big["rss_mb"]),
        "mc_cpu_ns_per_path_step": round(big["cpu"] / (n * steps) * 1e9, 1),
        "mc_cpu_ns_per_path_step_1_thread": round(
            statistics.median(r["cpu"] for r in runs[1]) / (n * steps) * 1e9, 1
        ),
        "mc_threads_speedup_2": round(one / statistics.median(r["wall"] for r in runs[cores]), 2),
        "mc_paths_per_s_1_thread": round(n / one),
    }
    dask = {k: median_seconds(lambda k=k: _mc_run(n, workers=k), repeats=repeats) for k in (1, 2)}
    out["mc_dask_1_workers_s"] = round(dask[1], 2)
    out["mc_dask_2_workers_s"] = round(dask[2], 2)
    out["mc_dask_overhead_pct"] = round(100 * (dask[1] / one - 1), 1)
    out["mc_dask_speedup_2_workers"] = round(dask[1] / dask[2], 2)
    out["mc_load_average_1"] = round(os.getloadavg()[0], 2)
    return out


def _real_2025() -> Path | None:
    """Return ``../shared/data/binance-usdm-5m-2025`` next to the checkout (or a worktree's parents)."""
    for folder in Path(__file__).resolve().parents[1:]:
        candidate = folder.parent / "shared/data/binance-usdm-5m-2025"
        if candidate.is_dir():
            return candidate
    return None


def bench_replay_real() -> dict[str, float | None]:
    """Return seconds for the real 2025 (5m bars, six Binance perpetuals, 3 modes, warm; median of 5).

    Reads ``../shared/data/binance-usdm-5m-2025`` next to the checkout when present (not part of the
    repository); ``None`` otherwise. Loading the files is not timed.
    """
    real = _real_2025()
    if real is None:
        return {"replay_real_1y_5m_6sym_3modes_s": None}
    from marginlab.io.bars import bars_from_market
    from marginlab.io.candles import load_freqtrade_dir

    market = load_freqtrade_dir(real, timeframe="5m").slice("2025-01-01", "2026-01-01")
    bars = bars_from_market(market)
    venue = get_venue("binance")
    portfolio = six_symbol_portfolio()

    def fast(b: Bars) -> None:
        replay_fast_modes(portfolio, venue, b, MODES)  # the three modes in one pass over the bars

    fast(window(bars, 100))
    return {
        "replay_real_1y_5m_6sym_3modes_s": round(median_seconds(lambda: fast(bars), repeats=5), 3),
        "replay_real_1y_5m_6sym_3modes_cpu_s": round(median_cpu_seconds(lambda: fast(bars), repeats=5), 3),
        "replay_real_bars": len(bars),
    }


EXAMPLE = Path(__file__).resolve().parent.parent / "src/marginlab/examples/crash_2025_10_10.toml"


def _timed_command(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own CLI
    return time.perf_counter() - start


def bench_first_compare() -> dict[str, float]:
    """Return seconds of a ``compare`` in a new process: with an empty numba cache, and after install.

    "After install" is what ``make install`` leaves: a cache dir filled by ``python -m marginlab.app.warmup``;
    each repeat is a fresh process (the first command a user types). The cold figure (every kernel compiled
    on the spot) is one run: it takes half a minute.
    """
    cli = str(Path(sys.executable).with_name("marginlab"))
    compare = [cli, "compare", str(EXAMPLE), "--scenario", "2025-10-10", "--json"]
    with tempfile.TemporaryDirectory() as cold_dir:
        cold = _timed_command(compare, {**os.environ, "NUMBA_CACHE_DIR": cold_dir})
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        subprocess.run([sys.executable, "-m", "marginlab.app.warmup"], env=env, check=True)
        after = statistics.median(_timed_command(compare, env) for _ in range(3))
    return {"first_compare_cold_cache_s": round(cold, 2), "first_compare_after_install_s": round(after, 2)}


def _replay_figures() -> dict[str, float]:
    replay_s, replay_cpu, ratio = bench_replay()
    return {
        "replay_1y_5m_6sym_3modes_s": round(replay_s, 3),
        "replay_1y_5m_6sym_3modes_cpu_s": round(replay_cpu, 3),
        "replay_fast_vs_exact_ratio": round(ratio),
    }


WHATIF_BOOK = (  # 20 symbols, (price, notional in USDT), every other one isolated
    ("BTCUSDT", "100000", 50_000), ("ETHUSDT", "4000", 40_000), ("SOLUSDT", "200", 20_000),
    ("XRPUSDT", "2.5", 15_000), ("DOGEUSDT", "0.2", 10_000), ("BNBUSDT", "600", 10_000),
    ("ADAUSDT", "0.8", 8_000), ("LINKUSDT", "20", 8_000), ("AVAXUSDT", "30", 6_000),
    ("DOTUSDT", "6", 6_000), ("LTCUSDT", "90", 5_000), ("BCHUSDT", "450", 5_000),
    ("TRXUSDT", "0.25", 4_000), ("UNIUSDT", "10", 4_000), ("ATOMUSDT", "8", 3_000),
    ("ETCUSDT", "25", 3_000), ("FILUSDT", "5", 2_000), ("AAVEUSDT", "250", 2_000),
    ("NEARUSDT", "5", 2_000), ("APTUSDT", "8", 2_000),
)  # fmt: skip


def whatif_portfolio() -> Portfolio:
    """Return a 20-position Binance book: cross and isolated, longs and shorts, leverage 3-20×."""
    positions = [
        {
            "symbol": symbol,
            "side": "long" if i % 3 else "short",
            "notional": str(notional),
            "entry": price,
            "mark": str(Decimal(price) * Decimal("0.98")),
            "leverage": str(3 + i % 18),
            "mode": "isolated" if i % 2 else "cross",
        }
        for i, (symbol, price, notional) in enumerate(WHATIF_BOOK)
    ]
    return parse(Portfolio, {"balances": {"USDT": "200000"}, "positions": positions})


def bench_whatif() -> dict[str, float]:
    """Return the wall time of one what-if move of a 20-position book (3 scenarios, exact engine), in ms.

    What a dashboard slider costs server-side (:func:`marginlab.app.whatif.move`; the book is prepared once,
    as the page does). The moves alternate between -8 % and +5 % so no result can be reused; the target is
    100 ms. The 1-minute load average at the time is stored with it (the machine is shared).
    """
    book = prepare(WhatIfRequest(book=whatif_portfolio()))
    moves = iter([Decimal("-0.08"), Decimal("0.05")] * REPEATS)
    seconds = median_seconds(lambda: move(book, change=next(moves)))
    return {
        "whatif_move_ms_20_positions": round(seconds * 1000, 1),
        "whatif_load_average_1": round(os.getloadavg()[0], 2),
    }


GROUPS: dict[str, Callable[[], dict[str, float]]] = {
    "exact": lambda: {
        "exact_liq_prices_per_s": round(bench_exact_liquidation_prices()),
        "exact_engine_ops_per_s": round(bench_engine_operations()),
    },
    "liq": bench_liq_positions,
    "replay": _replay_figures,
    "replay_real": bench_replay_real,
    "mc": bench_monte_carlo,
    "first_run": bench_first_compare,
    "whatif": bench_whatif,
}


def machine() -> dict[str, object]:
    """Return what the figures were measured on, and how busy it was (the machine may be shared)."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "machine": f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "statistic": f"median of {REPEATS} repeats unless a docstring in benchmarks/run.py says otherwise",
    }


def main(argv: list[str]) -> None:
    """Run the named benchmark groups (default: all) and merge their figures into the results file."""
    names = argv or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown benchmark group(s) {unknown}; known: {list(GROUPS)}")
    # a full run starts afresh (no figure of an older run survives); a partial one updates the file
    partial = len(names) < len(GROUPS) and OUT.exists()
    results: dict[str, object] = json.loads(OUT.read_text(encoding="utf-8")) if partial else {}
    load_before = os.getloadavg()[0]
    # when and at what load each group was last measured: a partial run re-stamps only its own groups
    earlier = results.get("measured_by_group") if partial else None
    measured: dict[str, object] = dict(earlier) if isinstance(earlier, dict) else {}
    for name in names:
        start = os.getloadavg()[0]
        results.update(GROUPS[name]())
        measured[name] = {
            "utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "load_average_1_at_start": round(start, 2),
            "load_average_1_at_end": round(os.getloadavg()[0], 2),
        }
    results.update(machine())
    results["load_average_1_at_start"] = round(load_before, 2)
    results["measured_by_group"] = measured
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Benchmarks: ``make bench`` runs this and writes ``benchmarks/results.json`` (flat, units in the names).

Speed is measured here, never in tests. Each figure is the median of several repeats, because the machine
is shared and noisy.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from marginlab import Account, MarginMode, Side, get_venue

OUT = Path(__file__).with_name("results.json")
REPEATS = 7


def median_seconds(fn: Callable[[], object], *, repeats: int = REPEATS) -> float:
    """Return the median wall time of ``fn()`` over ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def main() -> None:
    """Run every benchmark and write the results file."""
    results: dict[str, object] = {
        "exact_liq_prices_per_s": round(bench_exact_liquidation_prices()),
        "exact_engine_ops_per_s": round(bench_engine_operations()),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        "statistic": f"median of {REPEATS} repeats",
    }
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

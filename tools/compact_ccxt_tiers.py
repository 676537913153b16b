"""Derive the bundled Binance tier snapshot from a ccxt ``fetch_leverage_tiers()`` JSON dump.

Usage: python tools/compact_ccxt_tiers.py SOURCE.json SNAPSHOT_DATE OUT.json.gz

Run once by a maintainer (the package never reads the source at run time). Numbers are kept as the decimal
strings of the source, so the bundled table is exact.
"""

from __future__ import annotations

import gzip
import json
import sys
from decimal import Decimal


def main() -> None:
    source, snapshot, out = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(source, encoding="utf-8") as fh:
        raw = json.load(fh, parse_float=Decimal, parse_int=Decimal)
    markets = {}
    for unified, tiers in sorted(raw.items()):
        rows = []
        for t in tiers:
            info = t.get("info", {})
            rows.append(
                [
                    str(t["minNotional"]),
                    str(t["maxNotional"]),
                    str(t["maintenanceMarginRate"]),
                    str(info.get("cum", "0")),
                    str(t["maxLeverage"]),
                ]
            )
        markets[unified] = rows
    doc = {"snapshot": snapshot, "source": source.rsplit("/", 1)[-1], "markets": markets}
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))


if __name__ == "__main__":
    main()

"""Bundled Multi-Assets collateral tables (haircuts and index buffers), read into the domain's types.

A venue's data file names its table (``multi_assets = "<file>.json"`` in ``rules/data/<venue>.toml``); the
table is a dated JSON file in ``rules/data/`` (``binance_multi_assets_2021-05-28.json``): the venue's
collateral value ratio per asset, the bid/ask buffers where known, which assets are stablecoins, and which
perpetual's mark prices each coin. Its ``sources``, ``published`` and ``checked`` dates travel with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marginlab.domain.collateral import CollateralAsset, CollateralTable


def collateral_table(doc: Mapping[str, Any]) -> CollateralTable:
    """Return the collateral table of a parsed ``rules/data/<venue>_multi_assets_<date>.json``."""
    assets = {
        code: CollateralAsset(
            asset=code,
            value_ratio=Decimal(row["value_ratio"]),
            bid_buffer=Decimal(row.get("bid_buffer", "0")),
            ask_buffer=Decimal(row.get("ask_buffer", "0")),
            stable=bool(row.get("stable", False)),
            index_symbol=row.get("index_symbol"),
        )
        for code, row in doc["assets"].items()
    }
    table = CollateralTable(
        title=doc["title"],
        published=doc["published"],
        checked=doc["checked"],
        assets=assets,
        sources=tuple((s["title"], s["url"]) for s in doc["sources"]),
        notes=tuple(doc["notes"]),
    )
    for row in assets.values():
        row.rate(Decimal(1))  # a malformed bundled row fails here, naming the asset and field
    return table

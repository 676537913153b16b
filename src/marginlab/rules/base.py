"""Helpers shared by the venue modules (reading bundled data, building instruments)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierTable
from marginlab.rules.ccxt import is_dated, split_unified, tiers_from_ccxt


def read_bundled_json(name: str) -> Any:
    """Return the parsed JSON (optionally gzipped) package data file ``rules/data/<name>``, exact decimals."""
    data = resources.files("marginlab.rules").joinpath("data", name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data, parse_float=Decimal, parse_int=Decimal)


def instruments_from_ccxt(
    markets: Mapping[str, Sequence[Mapping[str, object]]],
    *,
    source: str,
    native_symbol: Any,
    taker_fee: Decimal,
    maker_fee: Decimal,
    liquidation_fee: Decimal,
    specs: Mapping[str, tuple[Decimal, Decimal]] | None = None,
) -> dict[str, Instrument]:
    """Build instruments from ccxt-format tiers keyed by unified symbol.

    ``specs`` maps native symbols to ``(tick_size, lot_size)``; others get 1e-8 for both, i.e. no rounding.
    """
    out: dict[str, Instrument] = {}
    tiny = Decimal("0.00000001")
    for unified, rows in markets.items():
        if is_dated(unified):
            continue  # marginlab models perpetuals only
        base, quote, settle = split_unified(unified)
        native = native_symbol(base, quote, settle)
        tick, lot = (specs or {}).get(native, (tiny, tiny))
        out[native] = Instrument(
            symbol=native,
            base=base,
            settle=settle,
            tiers=tiers_from_ccxt(unified, rows, source=source),
            tick_size=tick,
            lot_size=lot,
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            liquidation_fee=liquidation_fee,
        )
    return out


UNROUNDED = Decimal("0.00000001")


def unrounded_instrument(
    *,
    symbol: str,
    base: str,
    settle: str,
    tiers: TierTable,
    taker_fee: Decimal,
    maker_fee: Decimal,
    liquidation_fee: Decimal,
) -> Instrument:
    """Return an instrument whose tick and lot sizes are unknown here (1e-8: prices and sizes not rounded)."""
    return Instrument(
        symbol=symbol,
        base=base,
        settle=settle,
        tiers=tiers,
        tick_size=UNROUNDED,
        lot_size=UNROUNDED,
        taker_fee=taker_fee,
        maker_fee=maker_fee,
        liquidation_fee=liquidation_fee,
    )


def tier_rows(rows: list[list[str]]) -> list[dict[str, object]]:
    """Expand compact ``[floor, cap, mmr, cum, max_leverage]`` rows into ccxt-style tier dicts."""
    return [
        {
            "minNotional": r[0],
            "maxNotional": r[1],
            "maintenanceMarginRate": r[2],
            "maxLeverage": r[4],
            "info": {"cum": r[3]},
        }
        for r in rows
    ]


def table(rows: list[list[str]], *, symbol: str, source: str) -> TierTable:
    """Build one tier table from compact rows."""
    return tiers_from_ccxt(symbol, tier_rows(rows), source=source)

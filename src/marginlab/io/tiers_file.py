"""Read a ccxt ``fetch_leverage_tiers()`` JSON dump (``--tiers FILE``) into instruments for a venue.

Dated futures are skipped, with a note: a real Binance USDⓈ-M dump holds ``BTC/USDT:USDT`` next to the
quarterlies ``BTC/USDT:USDT-260925`` and ``BTC/USDT:USDT-261225``, whose tiers are far steeper (MMR 10 %
instead of 1 % at 3.5 M notional). marginlab models perpetuals only, so a quarterly's tiers must never
replace the perpetual's, and a portfolio cannot name one (``Venue.resolve_symbol`` refuses it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierBasis
from marginlab.domain.venue import Venue
from marginlab.errors import DataError
from marginlab.io.files import read_document
from marginlab.rules.ccxt import is_dated, split_unified, tiers_from_ccxt

SHOWN = 4  # dated symbols named in the note; the rest are counted


def read_ccxt_tiers(path: str | Path, venue: Venue) -> Venue:
    """Return ``venue`` with the tier tables of ``path`` replacing or extending its bundled ones.

    The file maps ccxt unified symbols (``"BTC/USDT:USDT"``) to lists of ccxt ``LeverageTier`` dicts, as
    ``exchange.fetch_leverage_tiers()`` returns them. Bundled instruments keep their tick, lot and fees;
    new symbols get the venue's default fees. Tables use the venue's tier basis (contracts on OKX). Dated
    futures are left out and named in a note of the returned venue.
    """
    doc = read_document(path)
    name = Path(path).name
    source = f"{name} (ccxt tiers file)"
    basis = next(iter(venue.instruments.values())).tiers.basis if venue.instruments else None
    instruments: dict[str, Instrument] = {}
    dated: list[str] = []
    for unified, rows in doc.items():
        if not isinstance(rows, list):
            raise DataError(f"{name}: {unified}: expected a list of tiers, was {type(rows).__name__}")
        if is_dated(unified):
            dated.append(unified)
            continue
        base, quote, settle = split_unified(unified)
        tiers = tiers_from_ccxt(unified, rows, source=source, basis=basis or TierBasis.NOTIONAL)
        native = venue.native_symbol(base, quote, settle)
        if native in venue.instruments:
            instruments[native] = replace(venue.instruments[native], tiers=tiers)
        else:
            instruments[native] = replace(
                venue.custom_instrument(unified, tiers=tiers, settle=settle), base=base
            )
    if not instruments:
        raise DataError(f"{name}: no perpetual markets in the tiers file")
    snapshot = f"{name} (ccxt tiers file; {len(dated)} dated futures skipped)" if dated else source
    return venue.with_instruments(instruments, snapshot=snapshot, notes=_dated_note(name, dated))


def _dated_note(name: str, dated: list[str]) -> tuple[str, ...]:
    if not dated:
        return ()
    shown = ", ".join(dated[:SHOWN]) + (f" and {len(dated) - SHOWN} more" if len(dated) > SHOWN else "")
    return (
        f"{name}: {len(dated)} dated futures skipped ({shown}); marginlab models perpetuals only, so their "
        "tiers never replace a perpetual's.",
    )

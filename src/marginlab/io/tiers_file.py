"""Read a ccxt ``fetch_leverage_tiers()`` JSON dump (``--tiers FILE``) into instruments for a venue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from marginlab.domain.instrument import Instrument
from marginlab.domain.tiers import TierBasis
from marginlab.domain.venue import Venue
from marginlab.errors import DataError
from marginlab.io.files import read_document
from marginlab.rules.ccxt import split_unified, tiers_from_ccxt


def read_ccxt_tiers(path: str | Path, venue: Venue) -> Venue:
    """Return ``venue`` with the tier tables of ``path`` replacing or extending its bundled ones.

    The file maps ccxt unified symbols (``"BTC/USDT:USDT"``) to lists of ccxt ``LeverageTier`` dicts, as
    ``exchange.fetch_leverage_tiers()`` returns them. Bundled instruments keep their tick, lot and fees;
    new symbols get the venue's default fees. Tables use the venue's tier basis (contracts on OKX).
    """
    doc = read_document(path)
    name = Path(path).name
    basis = next(iter(venue.instruments.values())).tiers.basis if venue.instruments else None
    instruments: dict[str, Instrument] = {}
    for unified, rows in doc.items():
        if not isinstance(rows, list):
            raise DataError(f"{name}: {unified}: expected a list of tiers, was {type(rows).__name__}")
        base, quote, settle = split_unified(unified)
        tiers = tiers_from_ccxt(
            unified, rows, source=f"{name} (ccxt tiers file)", basis=basis or TierBasis.NOTIONAL
        )
        native = venue.native_symbol(base, quote, settle)
        if native in venue.instruments:
            instruments[native] = replace(venue.instruments[native], tiers=tiers)
        else:
            instruments[native] = replace(
                venue.custom_instrument(unified, tiers=tiers, settle=settle), base=base
            )
    if not instruments:
        raise DataError(f"{name}: no markets in the tiers file")
    return venue.with_instruments(instruments, snapshot=f"{name} (ccxt tiers file)")

"""``--tiers FILE`` with real Binance ccxt dumps: dated futures never replace the perpetual's tiers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.errors import RuleSetError
from marginlab.io.tiers_file import read_ccxt_tiers
from marginlab.rules import get_venue

D = Decimal
ROOT = Path(__file__).parents[3]
SUBSETS = ROOT / "tests" / "data" / "binance-tiers"
SHARED = next(
    (p for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
    None,
)


def maintenance(venue_symbol: str, notional: Decimal, tiers_file: Path) -> tuple[Decimal, Decimal, Decimal]:
    """Return (mmr, cum, maintenance margin) of ``venue_symbol`` at ``notional`` with the file's tiers."""
    venue = read_ccxt_tiers(tiers_file, get_venue("binance"))
    tier = venue.instrument(venue_symbol).tiers.tier_for(notional)
    return tier.mmr, tier.maintenance_amount, notional * tier.mmr - tier.maintenance_amount


def test_2026_09_perpetual_keeps_its_own_tiers_next_to_the_quarterlies() -> None:
    path = SUBSETS / "binance_usdm_tiers_2026-09_subset.json"
    venue = read_ccxt_tiers(path, get_venue("binance"))
    btc = venue.instrument("BTC/USDT:USDT")
    assert len(btc.tiers.tiers) == 12  # the quarterlies have 8
    assert [t.maintenance_amount for t in btc.tiers.tiers[:4]] == [D(0), D(300), D(1500), D(12000)]
    # 3.5 M notional: the perpetual's tier 4 (1 %, cum 12,000), not the quarterly's (10 %, cum 111,750)
    assert maintenance("BTCUSDT", D(3_500_000), path) == (D("0.01"), D(12000), D(23000))
    assert btc.tick_size == D("0.1")  # bundled contract data kept, only the tiers replaced
    assert btc.tiers.source == "binance_usdm_tiers_2026-09_subset.json (ccxt tiers file)"
    assert len(venue.instrument("ETHUSDT").tiers.tiers) == 12
    assert maintenance("BTCUSDC", D(3_500_000), path) == (D("0.01"), D(2550), D(32450))
    eth_btc = venue.instrument("ETH/BTC:BTC")
    assert (eth_btc.symbol, eth_btc.base, eth_btc.settle) == ("ETHBTC", "ETH", "BTC")


def test_dated_futures_are_skipped_with_a_note_and_cannot_be_named() -> None:
    venue = read_ccxt_tiers(SUBSETS / "binance_usdm_tiers_2026-09_subset.json", get_venue("binance"))
    (note,) = [n for n in venue.notes if "dated futures" in n]
    assert note.startswith("binance_usdm_tiers_2026-09_subset.json: 4 dated futures skipped (")
    for unified in ("BTC/USDT:USDT-260925", "BTC/USDT:USDT-261225", "ETH/USDT:USDT-260925"):
        assert unified in note
    assert not any("_26" in symbol for symbol in venue.instruments)
    with pytest.raises(RuleSetError, match=r"'BTC/USDT:USDT-260925' is a dated future \(expiry 260925\)"):
        venue.instrument("BTC/USDT:USDT-260925")
    assert len(get_venue("binance").notes) + 1 == len(venue.notes)
    # the snapshot, which error messages about symbols quote, says so too
    with pytest.raises(RuleSetError, match=r"4 dated futures skipped"):
        venue.instrument("BTCUSDT_260925")


def test_2024_10_24_perpetual_tiers() -> None:
    path = SUBSETS / "binance_usdm_tiers_2024-10-24_subset.json"
    venue = read_ccxt_tiers(path, get_venue("binance"))
    btc = venue.instrument("BTCUSDT").tiers
    assert len(btc.tiers) == 12
    assert (btc.tiers[0].cap, btc.tiers[0].max_leverage) == (D(50000), D(125))
    assert maintenance("BTCUSDT", D(3_500_000), path) == (D("0.01"), D(11450), D(23550))
    assert btc.follows_recurrence()
    (note,) = [n for n in venue.notes if "dated futures" in n]
    assert "BTC/USDT:USDT-241227" in note and "ETH/USDT:USDT-250328" in note


@pytest.mark.skipif(SHARED is None, reason="the shared data folder (full Binance tier dumps) is not here")
def test_full_2026_09_dump_equals_the_bundled_snapshot() -> None:
    assert SHARED is not None
    venue = read_ccxt_tiers(
        SHARED / "binance-tiers" / "binance_usdm_tiers_2026-09.json", get_venue("binance")
    )
    bundled = get_venue("binance")
    assert len(venue.instruments) == len(bundled.instruments) == 903  # 907 markets, 4 dated skipped
    assert "4 dated futures skipped" in venue.notes[-1]
    for symbol, instrument in bundled.instruments.items():
        assert venue.instruments[symbol].tiers.tiers == instrument.tiers.tiers, symbol
    tier = venue.instrument("BTCUSDT").tiers.tier_for(D(3_500_000))
    assert (tier.mmr, tier.maintenance_amount) == (D("0.01"), D(12000))


@pytest.mark.skipif(SHARED is None, reason="the shared data folder (full Binance tier dumps) is not here")
def test_full_2024_10_24_dump() -> None:
    assert SHARED is not None
    path = SHARED / "binance-tiers" / "binance_usdm_tiers_2024-10-24.json"
    venue = read_ccxt_tiers(path, get_venue("binance"))
    assert (
        venue.tier_snapshot == "binance_usdm_tiers_2024-10-24.json (ccxt tiers file; 4 dated futures skipped)"
    )
    source = "binance_usdm_tiers_2024-10-24.json (ccxt tiers file)"
    from_file = [i for i in venue.instruments.values() if i.tiers.source == source]
    assert len(from_file) == 345  # 349 markets, 4 dated skipped
    assert maintenance("BTCUSDT", D(3_500_000), path) == (D("0.01"), D(11450), D(23550))
    assert maintenance("ETHUSDT", D(3_500_000), path)[0] == D("0.01")

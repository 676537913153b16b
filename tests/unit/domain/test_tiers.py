"""Tier tables against Binance's published maintenance-amount examples (exchange-rules.md §1.2, §1.3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.tiers import RiskTier, TierBasis, TierTable
from marginlab.errors import RuleSetError
from marginlab.rules import get_venue

D = Decimal

# BTCUSDT 2021 (gist highfestiva/b71e76f51eed84d56c1be8ebbcc286b5, 2021-03-26; exchange-rules.md §1.3):
# caps 50k/250k/1M/10M/20M/50M/100M/200M/300M/500M, MMR 0.4/0.5/1/2.5/5/10/12.5/15/25/50 %. The max
# leverages (125/100/50/20/10/5/4/3/2/1) are not part of that row; they do not affect the maintenance amounts.
CAPS_2021 = [50_000, 250_000, 1_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000,
             300_000_000, 500_000_000]  # fmt: skip
MMR_2021 = ["0.004", "0.005", "0.01", "0.025", "0.05", "0.10", "0.125", "0.15", "0.25", "0.50"]
LEVERAGE_2021 = [125, 100, 50, 20, 10, 5, 4, 3, 2, 1]
CUM_2021 = [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300, 100_016_300]


def btcusdt_2021() -> TierTable:
    floors = [0, *CAPS_2021[:-1]]
    bands = [
        (D(floor), D(cap), D(mmr), D(lev))
        for floor, cap, mmr, lev in zip(floors, CAPS_2021, MMR_2021, LEVERAGE_2021, strict=True)
    ]
    return TierTable.from_rates(bands, source="BTCUSDT 2021")


def maintenance(table: TierTable, notional: Decimal) -> Decimal:
    tier = table.tier_for(notional)
    return notional * tier.mmr - tier.maintenance_amount


def tier(floor: int, cap: int | None, mmr: str, cum: str = "0", lev: int = 10) -> RiskTier:
    return RiskTier(
        floor=D(floor),
        cap=None if cap is None else D(cap),
        mmr=D(mmr),
        maintenance_amount=D(cum),
        max_leverage=D(lev),
    )


# ---------------------------------------------------------------- Binance's published figures


def test_from_rates_reproduces_every_2021_cum() -> None:
    table = btcusdt_2021()
    assert [t.maintenance_amount for t in table.tiers] == [D(c) for c in CUM_2021]
    assert table.follows_recurrence()
    assert table.max_leverage == D(125)
    assert table.floors() == tuple(D(c) for c in CAPS_2021[:-1])


def test_faq_level_3_maintenance_amount() -> None:
    # "Maintenance Amount on Level 3 = 250,000 x (1% - 0.5%) + 50 USDT = 1,300 USDT"
    level_3 = btcusdt_2021().tiers[2]
    assert level_3.floor == D(250_000)
    assert level_3.maintenance_amount == D(250_000) * (D("0.01") - D("0.005")) + D(50) == D(1300)


def test_faq_264000_position_has_mmr_1_percent() -> None:
    tier_ = btcusdt_2021().tier_for(D(264_000))
    assert tier_.mmr == D("0.01")
    assert tier_.maintenance_amount == D(1300)


def test_faq_500000_position_has_maintenance_amount_1300() -> None:
    table = btcusdt_2021()
    assert table.tier_for(D(500_000)).maintenance_amount == D(1300)
    assert maintenance(table, D(500_000)) == D(3700)  # 500,000 * 1 % - 1,300


def test_maintenance_is_continuous_at_every_floor() -> None:
    table = btcusdt_2021()
    for lower, upper in zip(table.tiers, table.tiers[1:], strict=False):
        at = upper.floor
        assert at * lower.mmr - lower.maintenance_amount == at * upper.mmr - upper.maintenance_amount


# ---------------------------------------------------------------- lookup convention (floor, cap]


@pytest.mark.parametrize(
    ("notional", "mmr"),
    [
        ("0", "0.004"),
        ("1", "0.004"),
        ("50000", "0.004"),  # a cap belongs to its own tier
        ("50000.01", "0.005"),  # just above a cap is the next tier
        ("250000", "0.005"),
        ("250000.0000001", "0.01"),
        ("-264000", "0.01"),  # signed sizes are looked up by absolute value
        ("500000000", "0.50"),  # the last cap is still inside
    ],
)
def test_lookup_is_by_notional_with_floor_exclusive_cap_inclusive(notional: str, mmr: str) -> None:
    assert btcusdt_2021().tier_for(D(notional)).mmr == D(mmr)


def test_contains_matches_the_convention() -> None:
    first, second = btcusdt_2021().tiers[:2]
    assert first.contains(D(0))
    assert first.contains(D(50_000))
    assert not first.contains(D("50000.01"))
    assert not second.contains(D(50_000))
    assert second.contains(D("50000.01"))
    assert second.contains(D(250_000))


def test_size_beyond_the_last_cap_raises() -> None:
    with pytest.raises(RuleSetError, match=r"500000001 .*exceeds the largest tier cap 500000000"):
        btcusdt_2021().tier_for(D(500_000_001))


def test_open_ended_last_tier_takes_any_size() -> None:
    table = TierTable((tier(0, 100, "0.01"), tier(100, None, "0.02", "1")))
    assert table.tier_for(D(10) ** 20).mmr == D("0.02")


def test_contracts_basis_is_kept() -> None:
    table = TierTable((tier(0, 100, "0.01"),), basis=TierBasis.CONTRACTS)
    assert table.basis is TierBasis.CONTRACTS


# ---------------------------------------------------------------- validation


def test_gap_between_tiers_raises() -> None:
    with pytest.raises(RuleSetError, match="has a gap: cap 100 followed by floor 120"):
        TierTable((tier(0, 100, "0.01"), tier(120, 200, "0.02")))


def test_overlap_between_tiers_raises() -> None:
    with pytest.raises(RuleSetError, match="has a gap: cap 100 followed by floor 90"):
        TierTable((tier(0, 100, "0.01"), tier(90, 200, "0.02")))


def test_open_tier_before_the_last_raises() -> None:
    with pytest.raises(RuleSetError, match="has a gap: cap None"):
        TierTable((tier(0, None, "0.01"), tier(100, 200, "0.02")))


def test_first_floor_must_be_zero() -> None:
    with pytest.raises(RuleSetError, match="first tier must start at 0, was 10"):
        TierTable((tier(10, 100, "0.01"),))


def test_empty_table_raises() -> None:
    with pytest.raises(RuleSetError, match="no tiers"):
        TierTable(())


def test_descending_caps_raise() -> None:
    # contiguous (each cap equals the next floor) but not ascending: the bisect lookup would be wrong
    with pytest.raises(RuleSetError, match=r"not ascending: floor 100, cap 50"):
        TierTable((tier(0, 100, "0.01"), tier(100, 50, "0.02"), tier(50, 200, "0.03")))


@pytest.mark.parametrize(("mmr", "lev"), [("1", 10), ("-0.01", 10), ("0.01", 0)])
def test_rate_and_leverage_bounds(mmr: str, lev: int) -> None:
    with pytest.raises(RuleSetError):
        TierTable((tier(0, 100, mmr, lev=lev),))


def test_follows_recurrence_detects_a_wrong_cum() -> None:
    table = TierTable((tier(0, 100, "0.01"), tier(100, 200, "0.02", "1.01")))
    assert not table.follows_recurrence()
    assert TierTable((tier(0, 100, "0.01"), tier(100, 200, "0.02", "1"))).follows_recurrence()


def test_flat_table() -> None:
    table = TierTable.flat(mmr=D("0.008"), max_leverage=D(100), source="custom")
    assert table.tier_for(D(10) ** 12).mmr == D("0.008")
    assert table.max_leverage == D(100)
    assert table.floors() == ()


# ---------------------------------------------------------------- bundled Binance data


def test_every_bundled_binance_market_follows_the_recurrence() -> None:
    instruments = get_venue("binance").instruments
    assert len(instruments) > 800
    broken = [symbol for symbol, inst in instruments.items() if not inst.tiers.follows_recurrence()]
    assert broken == []


def test_bundled_btcusdt_2026_09_matches_the_reference() -> None:
    table = get_venue("binance").instruments["BTCUSDT"].tiers
    assert "2026-09" in table.source
    first, second = table.tiers[:2]
    assert (first.floor, first.cap, first.mmr, first.maintenance_amount, first.max_leverage) == (
        D(0),
        D(300_000),
        D("0.004"),
        D(0),
        D(150),
    )
    assert (second.floor, second.cap, second.mmr, second.maintenance_amount) == (
        D(300_000),
        D(800_000),
        D("0.005"),
        D(300),  # 300,000 * (0.5 % - 0.4 %)
    )
    assert table.tier_for(D(300_000)) is first
    assert table.tier_for(D(300_001)) is second

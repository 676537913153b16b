"""ccxt ``fetch_leverage_tiers`` conversion: exact values, errors naming the field, derived cum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.tiers import TierBasis
from marginlab.errors import InputError, RuleSetError
from marginlab.rules.ccxt import is_dated, split_unified, tiers_from_ccxt

D = Decimal
SYMBOL = "BTC/USDT:USDT"


def rows_2024() -> list[dict[str, object]]:
    """First three BTCUSDT tiers of the 2024-10-24 snapshot (exchange-rules.md §1.3), as ccxt returns them."""
    return [
        {
            "minNotional": 0.0,
            "maxNotional": 50000.0,
            "maintenanceMarginRate": 0.004,
            "maxLeverage": 125.0,
            "info": {"bracket": "1", "cum": "0.0"},
        },
        {
            "minNotional": 50000.0,
            "maxNotional": 600000.0,
            "maintenanceMarginRate": 0.005,
            "maxLeverage": 100.0,
            "info": {"bracket": "2", "cum": "50.0"},
        },
        {
            "minNotional": 600000.0,
            "maxNotional": 3000000.0,
            "maintenanceMarginRate": 0.0065,
            "maxLeverage": 75.0,
            "info": {"bracket": "3", "cum": "950.0"},
        },
    ]


def rows_2021_without_cum() -> list[dict[str, object]]:
    """BTCUSDT 2021 (exchange-rules.md §1.3) up to 20M, with no ``info.cum``."""
    bands = [
        ("0", "50000", "0.004", "125"),
        ("50000", "250000", "0.005", "100"),
        ("250000", "1000000", "0.01", "50"),
        ("1000000", "10000000", "0.025", "20"),
        ("10000000", "20000000", "0.05", "10"),
    ]
    return [
        {"minNotional": f, "maxNotional": c, "maintenanceMarginRate": m, "maxLeverage": lev, "info": {}}
        for f, c, m, lev in bands
    ]


def test_floats_become_exact_decimals() -> None:
    table = tiers_from_ccxt(SYMBOL, rows_2024(), source="binance 2024-10-24")
    assert [t.mmr for t in table.tiers] == [D("0.004"), D("0.005"), D("0.0065")]
    assert [t.maintenance_amount for t in table.tiers] == [D(0), D(50), D(950)]
    assert [t.cap for t in table.tiers] == [D(50_000), D(600_000), D(3_000_000)]
    assert [t.max_leverage for t in table.tiers] == [D(125), D(100), D(75)]
    assert table.source == "binance 2024-10-24"
    assert table.basis is TierBasis.NOTIONAL
    assert table.follows_recurrence()


def test_missing_cum_is_derived_from_the_recurrence() -> None:
    table = tiers_from_ccxt(SYMBOL, rows_2021_without_cum(), source="2021")
    assert [t.maintenance_amount for t in table.tiers] == [D(0), D(50), D(1300), D(16_300), D(266_300)]
    assert table.follows_recurrence()


def test_missing_cum_continues_from_a_given_one() -> None:
    rows = rows_2021_without_cum()[:3]
    rows[1]["info"] = {"cum": "50"}
    rows[2].pop("info")
    table = tiers_from_ccxt(SYMBOL, rows, source="mixed")
    assert table.tiers[2].maintenance_amount == D(1300)  # 250,000 * (1 % - 0.5 %) + 50


def test_missing_cum_kept_at_zero_when_asked() -> None:
    table = tiers_from_ccxt(SYMBOL, rows_2021_without_cum(), source="okx", derive_missing_cum=False)
    assert [t.maintenance_amount for t in table.tiers] == [D(0)] * 5
    assert not table.follows_recurrence()


def test_open_ended_last_tier_and_contracts_basis() -> None:
    rows = rows_2021_without_cum()[:2]
    rows[1]["maxNotional"] = None
    table = tiers_from_ccxt("BTC-USDT-SWAP", rows, source="okx", basis=TierBasis.CONTRACTS)
    assert table.tiers[-1].cap is None
    assert table.basis is TierBasis.CONTRACTS
    assert table.tier_for(D(10) ** 15).mmr == D("0.005")


@pytest.mark.parametrize(
    ("index", "key", "value", "field", "expected"),
    [
        (1, "maintenanceMarginRate", "abc", "BTC/USDT:USDT[1].maintenanceMarginRate", "a number"),
        (0, "minNotional", None, "BTC/USDT:USDT[0].minNotional", "a number"),
        (2, "maxLeverage", True, "BTC/USDT:USDT[2].maxLeverage", "a number"),
        (1, "maxNotional", "inf", "BTC/USDT:USDT[1].maxNotional", "a finite number"),
        (2, "maintenanceMarginRate", "NaN", "BTC/USDT:USDT[2].maintenanceMarginRate", "a finite number"),
        (0, "maxLeverage", [125], "BTC/USDT:USDT[0].maxLeverage", "a number"),
    ],
)
def test_parsing_errors_name_the_field_and_value(
    index: int, key: str, value: object, field: str, expected: str
) -> None:
    rows = rows_2024()
    rows[index][key] = value
    with pytest.raises(InputError) as caught:
        tiers_from_ccxt(SYMBOL, rows, source="test")
    assert caught.value.field == field
    assert caught.value.value == value
    assert caught.value.expected == expected
    assert str(caught.value) == f"{field}: expected {expected}, was {value!r}"


def test_a_missing_key_names_the_field() -> None:
    rows = rows_2024()
    del rows[1]["maintenanceMarginRate"]
    with pytest.raises(InputError, match=r"^BTC/USDT:USDT\[1\]\.maintenanceMarginRate: expected a number"):
        tiers_from_ccxt(SYMBOL, rows, source="test")


def test_a_bad_cum_names_the_info_field() -> None:
    rows = rows_2024()
    rows[2]["info"] = {"cum": "9.5O"}
    with pytest.raises(InputError) as caught:
        tiers_from_ccxt(SYMBOL, rows, source="test")
    assert caught.value.field == "BTC/USDT:USDT[2].info.cum"
    assert "'9.5O'" in str(caught.value)


def test_empty_tier_list_raises() -> None:
    with pytest.raises(InputError, match="BTC/USDT:USDT: expected a non-empty list of tiers"):
        tiers_from_ccxt(SYMBOL, [], source="test")


def test_a_gap_in_ccxt_rows_raises() -> None:
    rows = rows_2024()
    rows[2]["minNotional"] = 700000.0
    with pytest.raises(RuleSetError, match=r"gap: cap 600000\.0 followed by floor 700000\.0"):
        tiers_from_ccxt(SYMBOL, rows, source="test")


@pytest.mark.parametrize(
    ("unified", "parts"),
    [
        ("BTC/USDT:USDT", ("BTC", "USDT", "USDT")),
        ("ETH/USDC:USDC", ("ETH", "USDC", "USDC")),
        ("BTC/USD:BTC", ("BTC", "USD", "BTC")),
        ("SOL/USDT", ("SOL", "USDT", "USDT")),
    ],
)
def test_split_unified(unified: str, parts: tuple[str, str, str]) -> None:
    assert split_unified(unified) == parts


@pytest.mark.parametrize("bad", ["BTCUSDT", "/USDT:USDT", "BTC/:USDT"])
def test_split_unified_rejects_non_unified_symbols(bad: str) -> None:
    with pytest.raises(InputError, match="symbol: expected a ccxt unified symbol"):
        split_unified(bad)


@pytest.mark.parametrize(
    ("symbol", "dated"),
    [
        ("BTC/USDT:USDT", False),
        ("BTC/USDT:USDT-260925", True),
        ("XYZ-AAPL/USDC:USDC", False),
        ("BTC/USDT", False),
    ],
)
def test_dated_futures_are_recognised(symbol: str, dated: bool) -> None:
    assert is_dated(symbol) is dated

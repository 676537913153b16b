"""Registry: every venue is listed, resolvable, cited with dates and carries a tier snapshot."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from marginlab.domain.enums import LiquidationStyle, MaintenanceBasis, ModeSwitchPolicy, RemoveMarginCap
from marginlab.errors import RuleSetError
from marginlab.rules import VENUES, get_venue

NAMES = ["binance", "bybit", "okx", "gate", "bitget", "hyperliquid", "dydx"]


def test_registry_lists_all_seven() -> None:
    assert sorted(VENUES) == sorted(NAMES)


def test_unknown_name_names_the_known_ones() -> None:
    with pytest.raises(RuleSetError) as info:
        get_venue("kraken")
    message = str(info.value)
    assert "'kraken'" in message
    for name in NAMES:
        assert name in message


def test_lookup_is_case_insensitive() -> None:
    assert get_venue(" Hyperliquid ").name == "hyperliquid"


@pytest.mark.parametrize("name", NAMES)
def test_every_venue_is_cited_with_dates_and_a_snapshot(name: str) -> None:
    venue = get_venue(name)
    assert venue.name == name
    assert venue.tier_snapshot
    assert venue.sources
    for source in venue.sources:
        assert source.title
        assert source.url.startswith("https://") or re.fullmatch(r"[\w.-]+/[\w.-]+:\S+", source.url), (
            source.url
        )
        assert date.fromisoformat(source.checked) <= datetime.now(UTC).date()  # never in the future
    for instrument in venue.instruments.values():
        assert instrument.tiers.source


@pytest.mark.parametrize("name", NAMES)
def test_every_venue_bundles_btc_and_eth(name: str) -> None:
    venue = get_venue(name)
    settle = "USDC" if name in {"hyperliquid", "dydx"} else "USDT"
    quote = "USD" if name == "dydx" else settle
    for base in ("BTC", "ETH"):
        instrument = venue.instrument(f"{base}/{quote}:{settle}")
        assert instrument.base == base
        assert instrument.settle == settle


@pytest.mark.parametrize(
    ("name", "native"),
    [
        ("binance", "BTCUSDT"),
        ("bybit", "BTCUSDT"),
        ("okx", "BTC-USDT-SWAP"),
        ("gate", "BTC_USDT"),
        ("bitget", "BTCUSDT"),
        ("hyperliquid", "BTC"),
        ("dydx", "BTC-USD"),
    ],
)
def test_native_symbols(name: str, native: str) -> None:
    venue = get_venue(name)
    unified = {"hyperliquid": "BTC/USDC:USDC", "dydx": "BTC/USD:USDC"}.get(name, "BTC/USDT:USDT")
    assert venue.resolve_symbol(unified) == native
    assert venue.has_instrument(native)


POLICIES = {
    # name: (maintenance basis, fee in LP, style, mode switch, remove cap, hedge)
    "bybit": (
        MaintenanceBasis.ENTRY,
        False,
        LiquidationStyle.BANKRUPTCY,
        ModeSwitchPolicy.FLAT_ONLY,
        RemoveMarginCap.INITIAL_MARGIN,
        True,
    ),
    "okx": (
        MaintenanceBasis.LIQUIDATION_PRICE,
        True,
        LiquidationStyle.FEE,
        ModeSwitchPolicy.ANYTIME,
        RemoveMarginCap.INITIAL_MARGIN,
        True,
    ),
    "gate": (
        MaintenanceBasis.LIQUIDATION_PRICE,
        True,
        LiquidationStyle.BANKRUPTCY,
        ModeSwitchPolicy.ANYTIME,
        RemoveMarginCap.INITIAL_MARGIN,
        True,
    ),
    "bitget": (
        MaintenanceBasis.LIQUIDATION_PRICE,
        True,
        LiquidationStyle.BANKRUPTCY,
        ModeSwitchPolicy.FLAT_ONLY,
        RemoveMarginCap.INITIAL_MARGIN,
        True,
    ),
    "hyperliquid": (
        MaintenanceBasis.LIQUIDATION_PRICE,
        False,
        LiquidationStyle.FEE,
        ModeSwitchPolicy.FLAT_ONLY,
        RemoveMarginCap.INITIAL_OR_10PCT,
        False,
    ),
    "dydx": (
        MaintenanceBasis.LIQUIDATION_PRICE,
        False,
        LiquidationStyle.FEE,
        ModeSwitchPolicy.FLAT_ONLY,
        RemoveMarginCap.INITIAL_MARGIN,
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policies(name: str) -> None:
    venue = get_venue(name)
    got = (
        venue.maintenance_basis,
        venue.fee_in_liquidation,
        venue.liquidation_style,
        venue.mode_switch,
        venue.remove_margin_cap,
        venue.supports_hedge,
    )
    assert got == POLICIES[name]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_approximations_are_declared(name: str) -> None:
    venue = get_venue(name)
    assert any("approximate" in note.lower() for note in venue.notes)


def test_venues_are_cached() -> None:
    assert get_venue("okx") is get_venue("okx")


def test_venue_repr_is_one_short_line() -> None:
    # the generated repr printed every tier of every instrument (1.45 million characters for Binance)
    assert repr(get_venue("binance")) == (
        "<Venue binance: 903 instruments, tiers 2026-09, cross/isolated, one-way/hedge>"
    )
    assert repr(get_venue("dydx")).startswith("<Venue dydx: 5 instruments, tiers ")
    assert repr(get_venue("dydx")).endswith(", cross/isolated, one-way>")


@pytest.mark.parametrize("name", NAMES)
def test_reprs_of_big_rule_objects_stay_short(name: str) -> None:
    venue = get_venue(name)
    assert len(repr(venue)) < 120
    for instrument in venue.instruments.values():
        assert len(repr(instrument.tiers)) < 300
        assert len(repr(instrument)) < 600


def test_tier_table_repr_names_count_rates_and_source() -> None:
    tiers = get_venue("binance").instrument("BTCUSDT").tiers
    assert repr(tiers) == (
        f"<TierTable {len(tiers.tiers)} tiers by notional, mmr 0.004..0.5, max leverage 150, "
        "Binance leverageBracket snapshot 2026-09>"
    )


@pytest.mark.parametrize("name", NAMES)
def test_rule_sets_cite_the_venues_pages_not_a_private_reference(name: str) -> None:
    venue = get_venue(name)
    texts = [venue.tier_snapshot, *venue.notes, *(s.url for s in venue.sources)]
    texts += [i.tiers.source for i in venue.instruments.values()]
    for text in texts:
        for private in ("exchange-rules", "reference/", "in the reference", "not in the reference"):
            assert private not in text, text


def test_rule_sets_are_data_files() -> None:
    # every venue is read from rules/data/<name>.toml; a venue module holds only its own functions
    from importlib import resources

    files = {p.name for p in resources.files("marginlab.rules").joinpath("data").iterdir()}
    assert {f"{name}.toml" for name in NAMES} <= files

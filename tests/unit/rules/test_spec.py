"""The data-file form of a rule set: symbol formats both ways, strict policy values, table kinds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.tiers import TierBasis
from marginlab.domain.venue import SymbolFormat
from marginlab.errors import RuleSetError
from marginlab.rules import VENUES, get_venue
from marginlab.rules.spec import VenueSpec, bands_table, flag

D = Decimal


@pytest.mark.parametrize("name", sorted(VENUES))
def test_every_bundled_symbol_parses_back_to_its_base(name: str) -> None:
    venue = get_venue(name)
    for native, instrument in venue.instruments.items():
        parsed = venue.symbols.parse(native)
        assert parsed is not None, native
        assert parsed[0] == instrument.base, native


@pytest.mark.parametrize(
    ("template", "native", "parts"),
    [
        ("{base}{quote}", "1000PEPEUSDT", ("1000PEPE", "USDT")),
        ("{base}{quote}", "BTCUSDC", ("BTC", "USDC")),
        ("{base}-{quote}-SWAP", "ETH-USDT-SWAP", ("ETH", "USDT")),
        ("{base}_{quote}", "BTC_USDT", ("BTC", "USDT")),
        ("{base}", "XYZ-AAPL", ("XYZ-AAPL", None)),
        ("{base}-USD", "STRK-USD", ("STRK", None)),
    ],
)
def test_symbol_format_parses_native_symbols(
    template: str, native: str, parts: tuple[str, str | None]
) -> None:
    assert SymbolFormat(template).parse(native) == parts
    assert SymbolFormat("{base}-{quote}-SWAP").parse("BTCUSDT") is None


def test_policy_flags_refuse_strings() -> None:
    assert flag(True) is True
    with pytest.raises(RuleSetError, match="expected true or false, was 'false'"):
        flag("false")


def test_bands_without_deduction_count_contracts() -> None:
    table = bands_table(
        {
            "rows": [[0, 2000, "0.01", 75], [2000, 4000, "0.015", 50]],
            "basis": "contracts",
            "deduction": "none",
            "source": "test",
        }
    )
    assert table.basis is TierBasis.CONTRACTS
    assert [t.maintenance_amount for t in table.tiers] == [D(0), D(0)]
    recurrence = bands_table({"rows": [[0, 2000, "0.01", 75], [2000, 4000, "0.015", 50]], "source": "test"})
    assert recurrence.tiers[1].maintenance_amount == D(10)  # 2,000 * (1.5 % - 1 %)


def test_unknown_table_kind_is_named() -> None:
    spec = VenueSpec.read("gate")
    doc = {**spec.doc, "tables": {"odd": {"kind": "steps", "source": "x"}}}
    with pytest.raises(RuleSetError, match=r"gate: table odd: unknown kind 'steps'"):
        VenueSpec(doc).table("odd")


def test_venue_modules_are_data_plus_their_own_rules() -> None:
    from marginlab.rules import dydx, hyperliquid

    assert dydx.fractions("Long-Tail") == (D("0.2"), D("0.1"))
    assert hyperliquid.maintenance_rate(D(40)) == D("0.0125")
    assert get_venue("dydx").settlement == get_venue("hyperliquid").settlement == "USDC"
    assert get_venue("binance").settlement is None

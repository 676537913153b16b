"""A venue rule set as one data file: ``rules/data/<name>.toml`` read into a :class:`Venue`.

The file holds everything that is data: policies, fees, the symbol format, tier tables, markets, sources with
the dates checked, and notes. A venue module adds only what is truly its own (a tier-table kind such as
Hyperliquid's leverage-defined tiers, a relation between rates) and explains its reasoning in its docstring.

File layout (numbers may be TOML integers, floats or strings; they become exact Decimals)::

    name, title, symbols = "{base}{quote}", settlement = "USDC" (optional)
    [policy]   maintenance_basis, fee_in_liquidation, liquidation_style, mode_switch, remove_margin_cap,
               partial_liquidation, isolated_funding, supports_hedge, default_leverage
    [fees]     taker, maker, liquidation                      (fractions of notional)
    [tiers]    snapshot (what and when), ccxt_file (optional: bundled ccxt-format markets)
    [tables.NAME]  kind = "bands" | "flat" | a venue's own kind, source, ...
    [markets.NATIVE]  tiers = "NAME", source (optional), tick, lot, contract_size (optional)
    [[sources]]  title, url, checked
    notes = [...]
    multi_assets = "<file>.json" (optional: the venue's Multi-Assets collateral table, rules/collateral.py)

Generic table kinds: ``flat`` (``mmr``, ``max_leverage``: one tier) and ``bands`` (``rows`` of ``[floor, cap,
mmr, max_leverage]``, ``basis = "notional" | "contracts"``, ``deduction = "recurrence" | "none"``: the
maintenance amount follows ``cum_n = cum_{n-1} + floor_n * (mmr_n - mmr_{n-1})``, or is 0 as on OKX).
"""

from __future__ import annotations

import gzip
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from typing import Any

from marginlab.domain.enums import (
    IsolatedFunding,
    LiquidationStyle,
    MaintenanceBasis,
    ModeSwitchPolicy,
    RemoveMarginCap,
)
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import RiskTier, TierBasis, TierTable
from marginlab.domain.venue import UNROUNDED, DeriveRates, Source, SymbolFormat, Venue, given_rates
from marginlab.errors import RuleSetError
from marginlab.rules.ccxt import is_dated, split_unified, tiers_from_ccxt
from marginlab.rules.collateral import collateral_table

TableBuilder = Callable[[Mapping[str, Any]], TierTable]
"""Builds one tier table from its ``[tables.NAME]`` entry (``source`` included)."""


def number(value: object) -> Decimal:
    """Return a TOML value (int, Decimal float or string) as an exact Decimal."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def flat_table(table: Mapping[str, Any]) -> TierTable:
    """Return the one-tier table of a ``kind = "flat"`` entry."""
    return TierTable.flat(
        mmr=number(table["mmr"]), max_leverage=number(table["max_leverage"]), source=table["source"]
    )


def bands_table(table: Mapping[str, Any]) -> TierTable:
    """Return the table of a ``kind = "bands"`` entry (rows ``[floor, cap, mmr, max_leverage]``)."""
    bands = [tuple(number(v) for v in row) for row in table["rows"]]
    basis = TierBasis(table.get("basis", "notional"))
    if table.get("deduction", "recurrence") == "recurrence":
        return TierTable.from_rates(bands, basis=basis, source=table["source"])  # type: ignore[arg-type]
    tiers = tuple(
        RiskTier(floor=floor, cap=cap, mmr=mmr, maintenance_amount=ZERO, max_leverage=lever)
        for floor, cap, mmr, lever in bands
    )
    return TierTable(tiers, basis=basis, source=table["source"])


def flag(value: object) -> bool:
    """Return a TOML boolean, refusing anything else (a string "false" must not read as true)."""
    if not isinstance(value, bool):
        raise RuleSetError(f"expected true or false, was {value!r}")
    return value


POLICY: Mapping[str, Callable[[Any], Any]] = {
    "maintenance_basis": MaintenanceBasis,
    "fee_in_liquidation": flag,
    "liquidation_style": LiquidationStyle,
    "mode_switch": ModeSwitchPolicy,
    "remove_margin_cap": RemoveMarginCap,
    "partial_liquidation": flag,
    "isolated_funding": IsolatedFunding,
    "supports_hedge": flag,
    "default_leverage": number,
}
"""The ``[policy]`` keys, each with its conversion (they are :class:`Venue`'s policy fields)."""

GENERIC_TABLES: Mapping[str, TableBuilder] = {"flat": flat_table, "bands": bands_table}


def read_bundled(name: str) -> Any:
    """Return the parsed package data file ``rules/data/<name>`` (TOML, JSON or JSON.gz), exact numbers."""
    data = resources.files("marginlab.rules").joinpath("data", name).read_bytes()
    if name.endswith(".toml"):
        return tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data, parse_float=Decimal, parse_int=Decimal)


def ccxt_rows(rows: list[list[str]]) -> list[dict[str, object]]:
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


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue's data file plus the venue's own table kinds and rate relation.

    Parameters
    ----------
    doc : Mapping
        The parsed ``rules/data/<name>.toml``.
    tables : Mapping[str, TableBuilder]
        Table kinds the venue adds to the generic ``flat`` and ``bands``.
    derive_rates : DeriveRates
        How the venue relates a market's ``mmr`` and ``max_leverage`` (see :class:`Venue`).
    """

    doc: Mapping[str, Any]
    tables: Mapping[str, TableBuilder] = field(default_factory=dict)
    derive_rates: DeriveRates = given_rates

    @classmethod
    def read(
        cls,
        name: str,
        *,
        tables: Mapping[str, TableBuilder] | None = None,
        derive_rates: DeriveRates = given_rates,
    ) -> VenueSpec:
        """Return the spec of ``rules/data/<name>.toml``."""
        return cls(read_bundled(f"{name}.toml"), tables or {}, derive_rates)

    @property
    def native_symbol(self) -> SymbolFormat:
        """Return the venue's symbol format (callable as ``native_symbol(base, quote, settle)``)."""
        return SymbolFormat(self.doc["symbols"])

    def table(self, name: str) -> TierTable:
        """Return the tier table ``[tables.<name>]``."""
        entry = self.doc["tables"][name]
        builders = {**GENERIC_TABLES, **self.tables}
        try:
            build = builders[entry["kind"]]
        except KeyError:
            raise RuleSetError(f"{self.doc['name']}: table {name}: unknown kind {entry['kind']!r}") from None
        return build(entry)

    def venue(self) -> Venue:
        """Return the rule set (builds every instrument; cache the result)."""
        doc = self.doc
        policy = {key: convert(doc["policy"][key]) for key, convert in POLICY.items()}
        return Venue(
            name=doc["name"],
            title=doc["title"],
            **policy,
            taker_fee=number(doc["fees"]["taker"]),
            maker_fee=number(doc["fees"]["maker"]),
            liquidation_fee=number(doc["fees"]["liquidation"]),
            instruments=self.instruments(),
            symbols=self.native_symbol,
            settlement=doc.get("settlement"),
            derive_rates=self.derive_rates,
            tier_snapshot=doc["tiers"]["snapshot"],
            sources=tuple(Source(**source) for source in doc["sources"]),
            notes=tuple(doc["notes"]),
            collateral=collateral_table(read_bundled(doc["multi_assets"])) if "multi_assets" in doc else None,
        )

    def instruments(self) -> dict[str, Instrument]:
        """Return the bundled instruments keyed by native symbol."""
        tables = {name: self.table(name) for name in self.doc.get("tables", {})}
        found = self._ccxt_markets()
        for native, market in self.doc.get("markets", {}).items():
            if "tiers" in market:
                tiers = tables[market["tiers"]]
            elif native in found:
                tiers = found[native][2]
            else:
                raise RuleSetError(f"{self.doc['name']}: market {native} has no tiers")
            if "source" in market:
                tiers = replace(tiers, source=market["source"])
            base, settle = self._parts(native)
            found[native] = (base, settle, tiers, market)
        return {native: self._instrument(native, *parts) for native, parts in found.items()}

    def _instrument(
        self, native: str, base: str, settle: str, tiers: TierTable, market: Mapping[str, Any]
    ) -> Instrument:
        fees = self.doc["fees"]
        return Instrument(
            symbol=native,
            base=base,
            settle=settle,
            tiers=tiers,
            tick_size=number(market.get("tick", UNROUNDED)),
            lot_size=number(market.get("lot", UNROUNDED)),
            contract_size=number(market.get("contract_size", 1)),
            taker_fee=number(fees["taker"]),
            maker_fee=number(fees["maker"]),
            liquidation_fee=number(fees["liquidation"]),
        )

    def _parts(self, native: str) -> tuple[str, str]:
        """Return (base, settle) of a bundled native symbol."""
        parsed = self.native_symbol.parse(native)
        if parsed is None:
            raise RuleSetError(f"{self.doc['name']}: market {native} does not fit {self.doc['symbols']!r}")
        base, quote = parsed
        settle = self.doc.get("settlement") or quote
        if settle is None:
            raise RuleSetError(f"{self.doc['name']}: market {native}: no settlement asset")
        return base, settle

    def _ccxt_markets(self) -> dict[str, tuple[str, str, TierTable, Mapping[str, Any]]]:
        """Return the perpetuals of the bundled ccxt-format file, if any: native -> (base, settle, tiers)."""
        name = self.doc["tiers"].get("ccxt_file")
        if name is None:
            return {}
        bundle = read_bundled(name)
        source = self.doc["tiers"]["snapshot"]
        out: dict[str, tuple[str, str, TierTable, Mapping[str, Any]]] = {}
        for unified, rows in bundle["markets"].items():
            if is_dated(unified):
                continue  # marginlab models perpetuals only
            base, quote, settle = split_unified(unified)
            tiers = tiers_from_ccxt(unified, ccxt_rows(rows), source=source)
            out[self.native_symbol(base, quote, settle)] = (base, settle, tiers, {})
        return out

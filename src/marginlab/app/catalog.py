"""The catalog use case: what marginlab bundles — market scenarios and venue rule sets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from marginlab.io.scenarios import ScenarioInfo, list_scenarios
from marginlab.rules import VENUES, get_venue

__all__ = ["ScenarioInfo", "Source", "VenueSummary", "scenarios", "venues"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A page a rule set rests on, and the date it was checked (ISO 8601)."""

    title: str
    url: str
    checked: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSummary:
    """A rule set's policies, tier snapshot and sources (what ``marginlab venues`` lists)."""

    name: str
    title: str
    tier_snapshot: str
    instruments: int
    maintenance_basis: str
    fee_in_liquidation: bool
    liquidation_style: str
    mode_switch: str
    partial_liquidation: bool
    isolated_funding: str
    hedge_mode: bool
    default_leverage: Decimal
    sources: tuple[Source, ...]
    notes: tuple[str, ...]
    multi_assets: str | None = None
    """The Multi-Assets collateral table (haircut per asset, date), or None where the mode is not modelled."""


def _percent(fraction: Decimal) -> str:
    """Return 0.9999 as ``"99.99 %"``."""
    return f"{format((fraction * 100).normalize(), 'f')} %"


def scenarios() -> list[ScenarioInfo]:
    """Return the bundled market scenarios in chronological order."""
    return list_scenarios()


def venues() -> list[VenueSummary]:
    """Return a summary of every bundled rule set."""
    out = []
    for name in VENUES:
        v = get_venue(name)
        table = v.collateral
        pooled: tuple[Source, ...] = ()
        if table is not None:
            pooled = tuple(
                Source(title=title, url=url, checked=table.checked) for title, url in table.sources
            )
        out.append(
            VenueSummary(
                name=v.name,
                title=v.title,
                tier_snapshot=v.tier_snapshot,
                instruments=len(v.instruments),
                maintenance_basis=str(v.maintenance_basis),
                fee_in_liquidation=v.fee_in_liquidation,
                liquidation_style=str(v.liquidation_style),
                mode_switch=str(v.mode_switch),
                partial_liquidation=v.partial_liquidation,
                isolated_funding=str(v.isolated_funding),
                hedge_mode=v.supports_hedge,
                default_leverage=v.default_leverage,
                sources=tuple(Source(title=s.title, url=s.url, checked=s.checked) for s in v.sources)
                + pooled,
                notes=tuple(v.notes),
                multi_assets=None
                if table is None
                else f"{table.title} ({table.published}): "
                + ", ".join(f"{a} {_percent(row.value_ratio)}" for a, row in table.assets.items()),
            )
        )
    return out

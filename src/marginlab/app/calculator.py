"""The calculator use case: liquidation and margin figures of a portfolio as it stands, per margin mode.

``liquidation`` is what ``marginlab liq`` shows; ``modes`` the same positions all-cross vs all-isolated.
Reports hold exact Decimals; :mod:`marginlab.render` rounds them for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from marginlab.app.inputs import venue_for
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.position import Position
from marginlab.domain.venue import Venue
from marginlab.io.portfolio import place_positions, portfolio_venue, with_all_modes
from marginlab.io.schema import Portfolio

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRequest:
    """A portfolio and the rule set to judge it by.

    Parameters
    ----------
    portfolio : Portfolio
        Balances and positions (:func:`marginlab.app.inputs.read_portfolio`).
    exchange : str, optional
        Rule set name; overrides the portfolio's ``exchange``.
    tiers_file : Path, optional
        ccxt ``fetch_leverage_tiers()`` dump replacing the bundled tiers.
    """

    portfolio: Portfolio
    exchange: str | None = None
    tiers_file: Path | None = None

    def venue(self) -> Venue:
        """Return the rule set this request names."""
        return venue_for(self.portfolio.exchange, self.exchange, self.tiers_file)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionReport:
    """Margin figures of one position (settlement asset; prices in quote per base; rates as fractions)."""

    symbol: str
    side: Side
    mode: MarginMode
    qty: Decimal
    entry: Decimal
    mark: Decimal
    leverage: Decimal
    notional: Decimal
    margin: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    mmr: Decimal
    maintenance_amount: Decimal
    unrealized_pnl: Decimal
    margin_ratio: Decimal | None
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    distance_to_liquidation: Decimal | None
    tick_size: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountReport:
    """Account totals in one settlement asset; ``margin_ratio`` is the cross pool's (1 = liquidation)."""

    asset: str
    wallet_balance: Decimal
    cross_wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    available_balance: Decimal
    margin_ratio: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationReport:
    """What ``marginlab liq`` shows: positions in input order and the account."""

    exchange: str
    positions: tuple[PositionReport, ...]
    account: AccountReport
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModesReport:
    """The same positions all-cross and all-isolated with the same money (``marginlab modes``)."""

    exchange: str
    venue_title: str
    cross: LiquidationReport
    isolated: LiquidationReport

    @property
    def by_mode(self) -> dict[str, LiquidationReport]:
        """Return ``{"cross": ..., "isolated": ...}``."""
        return {"cross": self.cross, "isolated": self.isolated}


# ------------------------------------------------------------------------------------------------ use cases
def liquidation(request: PortfolioRequest) -> LiquidationReport:
    """Return liquidation and margin figures for every position of the request's portfolio."""
    return analyze(request.portfolio, request.venue())


def modes(request: PortfolioRequest) -> ModesReport:
    """Return the request's portfolio analysed all-cross and all-isolated, with the same money."""
    venue = request.venue()
    reports = compare_modes(request.portfolio, venue)
    return ModesReport(
        exchange=venue.name, venue_title=venue.title, cross=reports["cross"], isolated=reports["isolated"]
    )


def analyze(portfolio: Portfolio, venue: Venue) -> LiquidationReport:
    """Return liquidation and margin figures for every position of ``portfolio`` on ``venue``."""
    account = build_account(portfolio, venue)
    by_key = {(p.symbol, p.side): p for p in account.positions}
    ordered = [by_key[(account.venue.resolve_symbol(s.symbol), s.side)] for s in portfolio.positions]
    return LiquidationReport(
        exchange=venue.name,
        positions=tuple(position_report(account, p) for p in ordered),
        account=account_report(account, primary_asset(account)),
        notes=venue.notes,
    )


def compare_modes(portfolio: Portfolio, venue: Venue) -> dict[str, LiquidationReport]:
    """Return the portfolio analysed all-cross and all-isolated, with the same money in the account."""
    return {
        "cross": analyze(with_all_modes(portfolio, MarginMode.CROSS, venue), venue),
        "isolated": analyze(with_all_modes(portfolio, MarginMode.ISOLATED, venue), venue),
    }


# ------------------------------------------------------------------------------------------------ building
def build_account(portfolio: Portfolio, venue: Venue) -> Account:
    """Return an account holding the portfolio's balances and positions as they stand (entries required)."""
    account = Account(
        portfolio_venue(portfolio, venue), balances=portfolio.balances, position_mode=portfolio.position_mode
    )
    place_positions(account, portfolio, require_entry=True)
    return account


def position_report(account: Account, pos: Position) -> PositionReport:
    """Return the margin figures of ``pos`` within ``account``."""
    tier = pos.tier()
    liq = account.liquidation_price(pos)
    distance = abs(pos.mark - liq) / pos.mark if liq is not None else None
    return PositionReport(
        symbol=pos.symbol,
        side=pos.side,
        mode=pos.mode,
        qty=pos.qty,
        entry=pos.entry,
        mark=pos.mark,
        leverage=pos.leverage,
        notional=pos.notional(),
        margin=pos.margin if pos.mode is MarginMode.ISOLATED else pos.initial_margin(),
        initial_margin=pos.initial_margin(),
        maintenance_margin=account.maintenance_margin(pos),
        mmr=tier.mmr,
        maintenance_amount=tier.maintenance_amount,
        unrealized_pnl=pos.unrealized_pnl(),
        margin_ratio=account.margin_ratio(pos),
        liquidation_price=liq,
        bankruptcy_price=account.bankruptcy_price(pos),
        distance_to_liquidation=distance,
        tick_size=pos.instrument.tick_size,
    )


def account_report(account: Account, asset: str) -> AccountReport:
    """Return the account totals in ``asset`` (cross wallet plus isolated margins)."""
    positions = [p for p in account.positions if p.instrument.settle == asset]
    isolated = sum((p.margin for p in positions if p.mode is MarginMode.ISOLATED), ZERO)
    cross_wallet = account.wallet(asset)
    upnl = sum((p.unrealized_pnl() for p in positions), ZERO)
    cross_balance = account.cross_margin_balance(asset)
    cross_mm = account.cross_maintenance_margin(asset)
    return AccountReport(
        asset=asset,
        wallet_balance=cross_wallet + isolated,
        cross_wallet_balance=cross_wallet,
        unrealized_pnl=upnl,
        margin_balance=cross_wallet + isolated + upnl,
        initial_margin=sum((p.initial_margin() for p in positions), ZERO),
        maintenance_margin=sum((account.maintenance_margin(p) for p in positions), ZERO),
        available_balance=account.available_balance(asset),
        margin_ratio=cross_mm / cross_balance if cross_balance > ZERO else None,
    )


def primary_asset(account: Account) -> str:
    """Return the settlement asset the account report is given in (first position's, else first wallet)."""
    if account.positions:
        return account.positions[0].instrument.settle
    return next(iter(account.wallets), "USDT")


def ccxt_position(account: Account, pos: Position) -> dict[str, Any]:
    """Return the position as ccxt's unified ``Position`` structure (numbers as Decimal).

    ``collateral`` is the isolated margin, or for cross the margin balance backing it;
    ``marginRatio`` is maintenance / collateral equity as a fraction.
    """
    report = position_report(account, pos)
    collateral = (
        pos.margin if pos.mode is MarginMode.ISOLATED else account.cross_margin_balance(pos.instrument.settle)
    )
    base, settle = pos.instrument.base, pos.instrument.settle
    return {
        "symbol": f"{base}/{settle}:{settle}",
        "contracts": pos.qty / pos.instrument.contract_size,
        "contractSize": pos.instrument.contract_size,
        "side": str(pos.side),
        "notional": report.notional,
        "leverage": pos.leverage,
        "unrealizedPnl": report.unrealized_pnl,
        "collateral": collateral,
        "entryPrice": pos.entry,
        "markPrice": pos.mark,
        "liquidationPrice": report.liquidation_price,
        "marginMode": str(pos.mode),
        "hedged": account.position_mode.value == "hedge",
        "maintenanceMargin": report.maintenance_margin,
        "maintenanceMarginPercentage": report.mmr,
        "initialMargin": report.initial_margin,
        "initialMarginPercentage": 1 / pos.leverage,
        "marginRatio": report.margin_ratio,
        "percentage": report.unrealized_pnl / report.initial_margin * 100 if report.initial_margin else None,
    }

"""The calculator use case: liquidation and margin figures of a portfolio as it stands, per margin mode.

``liquidation`` is what ``marginlab liq`` shows; ``modes`` the same positions all-cross vs all-isolated.
Reports hold exact Decimals; :mod:`marginlab.render` rounds them for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marginlab.app.inputs import OnVenue
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.portfolio import (
    account_options,
    place_positions,
    portfolio_venue,
    start_warnings,
    with_all_modes,
)
from marginlab.io.schema import Portfolio


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioRequest(OnVenue):
    """A portfolio and the rule set to judge it by.

    Parameters
    ----------
    portfolio : Portfolio
        Balances and positions (:func:`marginlab.app.inputs.read_portfolio`).
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
    """

    portfolio: Portfolio


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
    liquidatable: bool = False


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
class CollateralReport:
    """Multi-Assets mode: one asset of the pool (asset units, except the USD rates and value)."""

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    index_price: Decimal
    bid_rate: Decimal
    ask_rate: Decimal
    value_ratio: Decimal
    value: Decimal
    available_for_order: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiAssetsReport:
    """Multi-Assets mode: the pool per asset and the account in USD (Binance's announcement c983a926…).

    ``account_equity`` sums each asset's equity at its bid rate times its haircut (a debt at its ask rate);
    margins are converted at the ask rate; ``margin_ratio`` = maintenance / equity, every position is
    liquidated at 1 (100 %).
    """

    assets: tuple[CollateralReport, ...]
    account_equity: Decimal
    account_initial_margin: Decimal
    account_maintenance_margin: Decimal
    available_for_order: Decimal
    margin_ratio: Decimal | None
    market_value: Decimal
    table: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationReport:
    """What ``marginlab liq`` shows: positions in input order and the account.

    ``warnings``: what is wrong with the book as written (a negative available balance: it could never
    have been opened).
    """

    exchange: str
    positions: tuple[PositionReport, ...]
    account: AccountReport
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    multi_assets: MultiAssetsReport | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModesReport:
    """The same positions all-cross and all-isolated with the same money (``marginlab modes``)."""

    exchange: str
    venue_title: str
    cross: LiquidationReport
    isolated: LiquidationReport
    notes: tuple[str, ...] = ()

    @property
    def by_mode(self) -> dict[str, LiquidationReport]:
        """Return ``{"cross": ..., "isolated": ...}``."""
        return {"cross": self.cross, "isolated": self.isolated}


# ------------------------------------------------------------------------------------------------ use cases
def liquidation(request: PortfolioRequest) -> LiquidationReport:
    """Return liquidation and margin figures for every position of the request's portfolio."""
    return analyze(request.portfolio, request.venue(request.portfolio.exchange))


def modes(request: PortfolioRequest) -> ModesReport:
    """Return the request's portfolio analysed all-cross and all-isolated, with the same money."""
    venue = request.venue(request.portfolio.exchange)
    reports = compare_modes(request.portfolio, venue)
    return ModesReport(
        exchange=venue.name,
        venue_title=venue.title,
        cross=reports["cross"],
        isolated=reports["isolated"],
        notes=LEAVING_MULTI_ASSETS if request.portfolio.multi_assets else (),
    )


LEAVING_MULTI_ASSETS = (
    "cross is Multi-Assets mode as the file sets it: every coin in the wallet backs every cross position, "
    "and a liquidation takes the whole pool.",
    "all-isolated means leaving Multi-Assets mode (it is cross only, Binance FAQ 29b45c48…): each isolated "
    "margin must be paid in the position's settlement asset (USDT for BTCUSDT, USDC for ETHUSDC), and the "
    "other coins back nothing.",
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
        notes=venue.notes + (account.collateral.notes if account.collateral is not None else ()),
        multi_assets=multi_assets_report(account),
        warnings=tuple(start_warnings(portfolio, venue)),
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
        portfolio_venue(portfolio, venue),
        balances=portfolio.balances,
        position_mode=portfolio.position_mode,
        **account_options(portfolio, venue),
    )
    place_positions(account, portfolio, require_entry=True)
    if account.multi_assets:
        _check_collateral_prices(portfolio, account)
    return account


def _check_collateral_prices(portfolio: Portfolio, account: Account) -> None:
    """Refuse an index price the portfolio also sets through a perpetual's mark; price every asset."""
    for asset in portfolio.index_prices:
        symbol = account.collateral.assets[asset].index_symbol if account.collateral else None
        if symbol is not None and symbol in account.moving_collateral_symbols():
            raise InputError(
                f"index_prices.{asset}",
                portfolio.index_prices[asset],
                "",
                problem=(
                    f"{asset} is priced by the mark of the {symbol} position; leave index_prices.{asset} out"
                ),
            )
    account.multi_assets_margin()  # every asset needs a USD index (raises naming index_prices.ASSET)


def position_report(account: Account, pos: Position) -> PositionReport:
    """Return the margin figures of ``pos`` within ``account``."""
    tier = pos.tier()
    liq = account.liquidation_price(pos)
    liquidatable = account.is_liquidatable(pos)
    return PositionReport(
        **pos.snapshot(),
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
        distance_to_liquidation=distance_to_liquidation(pos.mark, liq, liquidatable=liquidatable),
        tick_size=pos.instrument.tick_size,
        liquidatable=liquidatable,
    )


def distance_to_liquidation(
    mark: Decimal, liquidation_price: Decimal | None, *, liquidatable: bool
) -> Decimal | None:
    """Return how far ``mark`` may move before the position is liquidated, as a fraction of ``mark``.

    Negative for a position already at or past its liquidation (one given as it stands, or moved there);
    None when nothing liquidates it.
    """
    if liquidation_price is None:
        return None
    distance = abs(mark - liquidation_price) / mark
    return -distance if liquidatable else distance


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
        margin_ratio=(
            account.multi_assets_margin().margin_ratio()
            if account.multi_assets
            else cross_mm / cross_balance
            if cross_balance > ZERO
            else None
        ),
    )


def multi_assets_report(account: Account) -> MultiAssetsReport | None:
    """Return the Multi-Assets pool per asset and in USD, or None for a single-asset account."""
    if not account.multi_assets or account.collateral is None:
        return None
    margin = account.multi_assets_margin()
    assets = []
    for asset, rate in margin.rates.items():
        equity = margin.asset_equity(asset)
        assets.append(
            CollateralReport(
                asset=asset,
                wallet_balance=account.wallet(asset),
                unrealized_pnl=equity - account.wallet(asset),
                equity=equity,
                index_price=rate.index_price,
                bid_rate=rate.bid_rate,
                ask_rate=rate.ask_rate,
                value_ratio=rate.value_ratio,
                value=margin.asset_value(asset),
                available_for_order=margin.available_for_order(asset),
            )
        )
    table = account.collateral
    return MultiAssetsReport(
        assets=tuple(assets),
        account_equity=margin.account_equity(),
        account_initial_margin=margin.account_initial_margin(),
        account_maintenance_margin=margin.account_maintenance_margin(),
        available_for_order=margin.uni_available_for_order(),
        margin_ratio=margin.margin_ratio(),
        market_value=margin.market_value(),
        table=f"{table.title}, published {table.published}, checked {table.checked}",
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
    # cross: the margin balance backing it (Multi-Assets: the pool's USD equity in the settlement asset)
    collateral = pos.margin if pos.mode is MarginMode.ISOLATED else account.position_equity(pos)
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

"""Service layer: one function per use case, shared by the CLI, the Python API and (later) the web API.

Front ends parse their input into the schema models of :mod:`marginlab.io.schema`, call a function here and
render the report it returns. Reports hold exact Decimals; :func:`jsonable` rounds them for display
(prices to the instrument's tick, half up; amounts and ratios to 8 decimal places).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from marginlab.analysis.advisor import Evidence
from marginlab.analysis.bars import bars_from_market
from marginlab.analysis.compare import Comparison, compare
from marginlab.analysis.portfolio import instrument_for, with_all_modes
from marginlab.analysis.replay import MODES, replay_exact
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.events import Event
from marginlab.domain.position import Position
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, MarginLabError
from marginlab.io.candles import MarketData, load_freqtrade_dir
from marginlab.io.scenarios import load_scenario
from marginlab.io.schema import (
    CloseStep,
    FundingStep,
    LeverageStep,
    MarginStep,
    MarkStep,
    ModeStep,
    OpenStep,
    Portfolio,
    PositionSpec,
    ResizeStep,
    Script,
    Step,
)
from marginlab.io.tiers_file import read_ccxt_tiers
from marginlab.rules import get_venue
from marginlab.sim.montecarlo import run_risk

ZERO = Decimal(0)
AMOUNT = Decimal("1e-8")


def load_venue(name: str, *, tiers_file: str | Path | None = None) -> Venue:
    """Return the rule set ``name``, with tiers replaced from a ccxt tiers file if given."""
    venue = get_venue(name)
    return venue if tiers_file is None else read_ccxt_tiers(tiers_file, venue)


def build_account(portfolio: Portfolio, venue: Venue) -> Account:
    """Return an account holding the portfolio's balances and positions as they stand."""
    account = Account(venue, balances=portfolio.balances, position_mode=portfolio.position_mode)
    for i, spec in enumerate(portfolio.positions):
        try:
            _import(account, venue, spec)
        except MarginLabError as exc:
            exc.args = (f"positions[{i}]: {exc}",)
            raise
    return account


def _import(account: Account, venue: Venue, spec: PositionSpec) -> None:
    instrument = instrument_for(venue, spec.symbol, spec)
    if spec.entry is None:
        raise InputError("entry", None, "", problem="required value is missing")
    qty = spec.qty if spec.qty is not None else spec.notional / spec.entry  # type: ignore[operator]
    account.import_position(
        instrument,
        spec.side,
        qty,
        spec.entry,
        mark=spec.mark,
        leverage=spec.leverage,
        mode=spec.mode,
        margin=spec.margin,
    )


# ------------------------------------------------------------------------------------------------ reports
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


def analyze(portfolio: Portfolio, venue: Venue) -> LiquidationReport:
    """Return liquidation and margin figures for every position of ``portfolio`` on ``venue``."""
    account = build_account(portfolio, venue)
    by_key = {(p.symbol, p.side): p for p in account.positions}
    ordered = [by_key[(venue.resolve_symbol(s.symbol), s.side)] for s in portfolio.positions]
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


# ------------------------------------------------------------------------------------------------- scripts
@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """Outcome of one script step: its events, or the one-line error that rejected it."""

    op: str
    ok: bool
    error: str | None
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """What ``marginlab run`` shows: every step, then the final positions and account."""

    exchange: str
    steps: tuple[StepResult, ...]
    positions: tuple[PositionReport, ...]
    account: AccountReport
    insurance_fund: Decimal
    fees_paid: Decimal
    completed: bool = field(default=True)


def run_script(script: Script, venue: Venue, *, keep_going: bool = False) -> RunReport:
    """Drive an account through the script's steps.

    A rejected step changes nothing and records its error; without ``keep_going`` the run stops there
    (``completed`` is False).
    """
    custom = {sym: instrument_for(venue, sym, o) for sym, o in script.instruments.items()}
    if custom:
        venue = venue.with_instruments(
            {i.symbol: i for i in custom.values()}, snapshot=venue.tier_snapshot + " + script instruments"
        )
    account = Account(
        venue,
        balances=script.balances,
        position_mode=script.position_mode,
        insurance_fund=script.insurance_fund,
    )
    results: list[StepResult] = []
    completed = True
    for i, step in enumerate(script.steps):
        try:
            events = apply_step(account, step)
        except MarginLabError as exc:
            results.append(
                StepResult(op=step.op, ok=False, error=f"steps[{i}] ({step.op}): {exc}", events=())
            )
            if not keep_going:
                completed = False
                break
            continue
        results.append(StepResult(op=step.op, ok=True, error=None, events=tuple(events)))
    return RunReport(
        exchange=venue.name,
        steps=tuple(results),
        positions=tuple(position_report(account, p) for p in account.positions),
        account=account_report(account, primary_asset(account)),
        insurance_fund=account.insurance_fund,
        fees_paid=account.fees_paid,
        completed=completed,
    )


def apply_step(account: Account, step: Step) -> list[Event]:
    """Apply one script step to ``account`` and return its events."""
    if isinstance(step, OpenStep):
        qty = step.qty
        if qty is None:
            assert step.notional is not None  # noqa: S101  # the schema requires one of them
            instrument = account.venue.instrument(step.symbol)
            qty = instrument.round_qty_down(step.notional / step.price)
            if qty <= ZERO:
                raise InputError("notional", step.notional, f"at least one lot ({instrument.lot_size})")
        return account.open(
            step.symbol,
            step.side,
            qty,
            step.price,
            leverage=step.leverage,
            mode=step.mode,
            margin=step.margin,
            liquidity=step.liquidity,
        )
    if isinstance(step, ResizeStep):
        operation = account.increase if step.op == "increase" else account.reduce
        return operation(step.symbol, step.qty, step.price, side=step.side, liquidity=step.liquidity)
    if isinstance(step, CloseStep):
        return account.close(step.symbol, step.price, side=step.side, liquidity=step.liquidity)
    if isinstance(step, MarginStep):
        if step.op == "add_margin":
            return account.add_margin(step.symbol, step.amount, side=step.side)
        return account.remove_margin(step.symbol, step.amount, side=step.side)
    if isinstance(step, LeverageStep):
        return account.set_leverage(step.symbol, step.leverage)
    if isinstance(step, ModeStep):
        return account.set_margin_mode(step.symbol, step.mode)
    if isinstance(step, MarkStep):
        return account.update_marks(step.prices)
    if isinstance(step, FundingStep):
        return account.apply_funding(step.rates)
    raise InputError("op", step.op, "a known operation")  # pragma: no cover - the schema is exhaustive


# ---------------------------------------------------------------------------------------------- ccxt view
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


# ------------------------------------------------------------------------------------------- presentation
PRICE_FIELDS = {"entry", "mark", "liquidation_price", "bankruptcy_price"}


def number(value: Decimal | None, *, step: Decimal = AMOUNT) -> str | None:
    """Return ``value`` rounded half up to ``step`` as a plain decimal string (None stays None)."""
    if value is None:
        return None
    rounded = (value / step).to_integral_value(rounding=ROUND_HALF_UP) * step
    text = format(rounded.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def jsonable(obj: Any, *, tick: Decimal | None = None) -> Any:
    """Return ``obj`` (reports, events, dicts, Decimals) as JSON-ready data with decimal strings."""
    if isinstance(obj, PositionReport):
        out: dict[str, Any] = {}
        for name in PositionReport.__dataclass_fields__:
            if name == "tick_size":
                continue
            value = getattr(obj, name)
            step = obj.tick_size if name in PRICE_FIELDS and name != "entry" else AMOUNT
            out[name] = (
                number(value, step=step) if isinstance(value, Decimal) or value is None else str(value)
            )
        return out
    if isinstance(obj, Event):
        return jsonable(obj.to_dict())
    if hasattr(obj, "__slots__") and hasattr(obj, "__dataclass_fields__"):
        return {name: jsonable(getattr(obj, name)) for name in obj.__dataclass_fields__}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return number(obj)
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    return str(obj)


# ------------------------------------------------------------------------------------------------ replay
def load_market(
    *,
    scenario: str | None = None,
    datadir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
) -> MarketData:
    """Return market data from a bundled scenario or a freqtrade data directory, cut to [start, end)."""
    if (scenario is None) == (datadir is None):
        raise InputError(
            "--scenario/--datadir", None, "", problem="give exactly one of --scenario or --datadir"
        )
    market = load_scenario(scenario) if scenario is not None else load_freqtrade_dir(Path(str(datadir)))
    return market.slice(start, end) if start is not None or end is not None else market


def compare_history(
    portfolio: Portfolio,
    venue: Venue,
    market: MarketData,
    modes: Sequence[str] = MODES,
    *,
    engine: str = "fast",
    extremes: bool = True,
    on_mode_done: Callable[[str], None] | None = None,
) -> Comparison:
    """Replay the portfolio on market history once per margin mode (fast core or exact engine)."""
    bars = bars_from_market(market)
    if engine == "exact":
        return compare(
            portfolio,
            venue,
            bars,
            modes,
            replay=lambda p, v, b, m: replay_exact(p, v, b, m, extremes=extremes),
            on_mode_done=on_mode_done,
        )
    if engine != "fast":
        raise InputError("--engine", engine, "fast or exact")
    from marginlab.sim.api import replay_fast  # numba compiles on first use

    return compare(
        portfolio,
        venue,
        bars,
        modes,
        replay=lambda p, v, b, m: replay_fast(p, v, b, m, extremes=extremes),
        on_mode_done=on_mode_done,
    )


def interval_text(interval: timedelta) -> str:
    """Return a bar interval as traders write it: ``5m``, ``1h``, ``1d``."""
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def comparison_json(comparison: Comparison, market: MarketData, *, name: str) -> dict[str, Any]:
    """Return the ``compare --json`` document (amounts as decimal strings, times ISO 8601 UTC)."""
    start, end = market.span
    modes: dict[str, Any] = {}
    for mode, r in comparison.results.items():
        closest = r.closest_to_liquidation
        modes[mode] = {
            "start_equity": number(r.start_equity),
            "final_equity": number(r.final_equity),
            "pnl": number(r.pnl),
            "fees": number(r.fees),
            "funding": number(r.funding),
            "max_drawdown": number(r.max_drawdown),
            "liquidations": [
                {
                    "symbol": x.symbol,
                    "side": x.side,
                    "mode": x.mode,
                    "time": x.time,
                    "mark": number(x.mark),
                    "price": number(x.price),
                    "loss": number(x.loss),
                }
                for x in r.liquidations
            ],
            "closest_to_liquidation": None
            if closest is None
            else {"symbol": closest.symbol, "time": closest.time, "distance": number(closest.distance)},
            "verdict": comparison.verdicts[mode],
        }
    return {
        "scenario": {
            "name": name,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
            "interval": interval_text(market.interval.to_pytimedelta()),
            "bars": len(market),
            "symbols": list(market.symbols),
            "notes": list(market.all_notes()),
        },
        "modes": modes,
    }


# -------------------------------------------------------------------------------------------- risk lab
def risk_evidence(
    venue: Venue,
    *,
    data: MarketData,
    seed: int,
    paths: int = 20_000,
    horizon: str = "1d",
) -> Callable[[Portfolio, Portfolio], dict[str, Evidence]]:
    """Return the advisor's Monte Carlo evidence function: the portfolio with the trade cross vs isolated.

    Both runs use the same seed (common random numbers), so the difference between them is the mode's.
    """

    def evidence(as_cross: Portfolio, as_isolated: Portfolio) -> dict[str, Evidence]:
        out: dict[str, Evidence] = {}
        for mode, model in (("cross", as_cross), ("isolated", as_isolated)):
            report = run_risk(
                model,
                venue,
                model="gbm",
                horizon=horizon,
                paths=paths,
                seed=seed,
                data=data,
                modes=("hybrid",),
            )
            result = report.modes["hybrid"]
            out[mode] = Evidence(
                p_trade_liquidated=result.positions[-1].p_liquidation,
                p_wipeout=result.p_wipeout,
                expected_loss=result.expected_loss,
                es95=result.es95,
                es99=result.es99,
            )
        return out

    return evidence

"""The what-if use case: drive the exact engine through a script of operations and price moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from marginlab.app.calculator import (
    AccountReport,
    MultiAssetsReport,
    PositionReport,
    account_report,
    multi_assets_report,
    position_report,
    primary_asset,
)
from marginlab.app.inputs import OnVenue
from marginlab.domain.account import Account
from marginlab.domain.events import Event
from marginlab.domain.precision import LARGEST, ZERO
from marginlab.domain.venue import Venue
from marginlab.errors import InputError, MarginLabError, shown
from marginlab.io.portfolio import account_options, instrument_for
from marginlab.io.schema import (
    CloseStep,
    FundingStep,
    LeverageStep,
    MarginStep,
    MarkStep,
    ModeStep,
    OpenStep,
    ResizeStep,
    Script,
    Step,
)

__all__ = ["Event", "RunReport", "ScriptRequest", "StepResult", "apply_step", "run", "run_script"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptRequest(OnVenue):
    """A script, the rule set to run it on, and whether a rejected step stops the run.

    Parameters
    ----------
    script : Script
        Balances and steps (:func:`marginlab.app.inputs.read_script`).
    exchange, tiers_file : optional
        The rule set (:class:`~marginlab.app.inputs.OnVenue`).
    keep_going : bool
        Record a rejected step and go on (default: stop there).
    """

    script: Script
    keep_going: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """Outcome of one script step: its events, or the one-line error that rejected it.

    ``expected_refusal``: the step said ``expect = "refused"`` and was refused as expected (``ok`` is
    False, ``error`` the venue's reason, and the run went on).
    """

    op: str
    ok: bool
    error: str | None
    events: tuple[Event, ...]
    expected_refusal: bool = False


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
    multi_assets: MultiAssetsReport | None = None
    collateral_seized: dict[str, Decimal] = field(default_factory=dict)


def run(request: ScriptRequest) -> RunReport:
    """Run the request's script on the rule set it names; see :func:`run_script`."""
    venue = request.venue(request.script.exchange)
    return run_script(request.script, venue, keep_going=request.keep_going)


def run_script(script: Script, venue: Venue, *, keep_going: bool = False) -> RunReport:
    """Drive an account through the script's steps.

    A rejected step changes nothing and records its error; without ``keep_going`` the run stops there
    (``completed`` is False). A step with ``expect = "refused"`` that is refused is recorded and the run
    goes on; if it goes through instead, that is the surprise that stops the run.
    """
    custom = {sym: instrument_for(venue, sym, o) for sym, o in script.instruments.items()}
    if custom:
        venue = venue.with_instruments(
            {i.symbol: i for i in custom.values()}, snapshot=venue.tier_snapshot + " + script instruments"
        )
    _check_symbols(script, venue)
    account = Account(
        venue,
        balances=script.balances,
        position_mode=script.position_mode,
        insurance_fund=script.insurance_fund,
        **account_options(script, venue),
    )
    if account.multi_assets:
        account.multi_assets_margin()  # every balance needs a USD index from the start (names the asset)
    results: list[StepResult] = []
    completed = True
    for i, step in enumerate(script.steps):
        try:
            events = apply_step(account, step)
        except MarginLabError as exc:
            refused = step.expect == "refused"
            results.append(
                StepResult(
                    op=step.op,
                    ok=False,
                    error=f"steps[{i}] ({step.op}): {exc}",
                    events=(),
                    expected_refusal=refused,
                )
            )
            if not keep_going and not refused:
                completed = False
                break
            continue
        if step.expect == "refused":
            surprise = f"steps[{i}] ({step.op}): expected to be refused, but {venue.name} accepted it"
            results.append(StepResult(op=step.op, ok=False, error=surprise, events=tuple(events)))
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
        multi_assets=multi_assets_report(account),
        collateral_seized=dict(account.collateral_seized),
    )


def _check_symbols(script: Script, venue: Venue) -> None:
    """Refuse, before any step runs, a step naming a symbol the venue (with the script's instruments) lacks.

    A typo in a ``mark`` or ``funding`` step would otherwise move nothing; in an ``open`` it would stop the
    run halfway. Raises InputError naming the step's field and the symbol.
    """
    for i, step in enumerate(script.steps):
        named = {"symbol": step.symbol} if hasattr(step, "symbol") else {}
        if isinstance(step, MarkStep):
            named = {f"prices.{s}": s for s in step.prices}
        elif isinstance(step, FundingStep):
            named = {f"rates.{s}": s for s in step.rates}
        for where, symbol in named.items():
            if venue.resolve_symbol(symbol) not in venue.instruments:
                raise InputError(
                    f"steps[{i}].{where}",
                    symbol,
                    "",
                    problem=(
                        f"unknown symbol {shown(symbol)}: {venue.title} has no such instrument "
                        f"({venue.tier_snapshot}); fix the name, or define it under [instruments.SYMBOL]"
                    ),
                )


def _lots(account: Account, step: OpenStep) -> Decimal:
    """Return the whole lots an open step's ``notional`` buys at its price (InputError: none; past 1e24)."""
    assert step.notional is not None  # noqa: S101  # the schema requires qty or notional
    instrument = account.venue.instrument(step.symbol)
    if step.notional / step.price > LARGEST:
        raise InputError("notional", step.notional, f"a notional buying at most 1e24 at {step.price}")
    qty = instrument.round_qty_down(step.notional / step.price)
    if qty <= ZERO:
        raise InputError("notional", step.notional, f"at least one lot ({instrument.lot_size})")
    return qty


def apply_step(account: Account, step: Step) -> list[Event]:
    """Apply one script step to ``account`` and return its events."""
    if isinstance(step, OpenStep):
        qty = step.qty if step.qty is not None else _lots(account, step)
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

"""Read models: what the venue reports about an account and its positions, every number from the engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.venue.records import AccountFields
from marginlab.venue.state import SETTLE, total_balance

# Binance's margin-ratio thresholds (Liquidation Protocols, https://www.binance.com/en/support/faq/360033525271,
# read 2026-12-01): liquidation when the margin ratio reaches 100 %; Binance advises staying below 80 %
# (its margin-call warning level). The dashboard's gauge marks both.
MARGIN_CALL_RATIO = Decimal("0.8")
LIQUIDATION_RATIO = Decimal(1)


@dataclass(frozen=True, slots=True)
class PositionView:
    """One position as ``positionRisk`` reports it (signed quantities: negative for shorts)."""

    symbol: str
    position_side: str
    signed_qty: Decimal
    entry: Decimal
    break_even: Decimal
    mark: Decimal
    unrealized_pnl: Decimal
    liquidation_price: Decimal | None
    margin_mode: MarginMode
    isolated_wallet: Decimal
    signed_notional: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    open_order_margin: Decimal
    leverage: Decimal
    max_notional: Decimal | None
    margin_ratio: Decimal | None
    """Maintenance/equity of the position's margin pool (its own margin, or the cross pool): 1 liquidates."""
    distance: Decimal | None
    """How far the mark may move against the position before it liquidates, as a fraction of the mark
    (negative: already past it); None without a liquidation price."""
    max_removable: Decimal
    """Isolated margin that may be removed now (Binance's cap); 0 for cross."""
    at_stake: Decimal
    """What a liquidation of this position can take: its isolated margin, or the whole cross wallet."""
    tick_size: Decimal
    """The symbol's price step: displays round solved prices (liquidation) to it."""

    @property
    def side(self) -> str:
        """Return ``long`` or ``short``."""
        return "long" if self.signed_qty > 0 else "short"

    @property
    def key(self) -> str:
        """Return ``SYMBOL-side``: the position's name in the dashboard (one per side in hedge mode)."""
        return f"{self.symbol}-{self.side}"


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as ``v3/account`` reports it, plus the bonus."""

    account_id: int
    wallet_balance: Decimal
    cross_wallet: Decimal
    unrealized_pnl: Decimal
    cross_unrealized_pnl: Decimal
    margin_balance: Decimal
    maint_margin: Decimal
    initial_margin: Decimal
    position_initial_margin: Decimal
    open_order_margin: Decimal
    available: Decimal
    max_withdraw: Decimal
    bonus_granted: Decimal
    bonus_left: Decimal
    own_balance: Decimal
    deposited: Decimal
    liquidations: int
    position_mode: PositionMode
    updated_ms: int
    positions: tuple[PositionView, ...]
    margin_ratio: Decimal | None = None
    """Cross maintenance margin / cross margin balance (Binance's account margin ratio; 1 liquidates the cross
    positions); None when the cross margin balance is not positive."""


def max_notional(instrument: Instrument, leverage: Decimal) -> Decimal | None:
    """Return the largest notional allowed at ``leverage``: the last allowing tier's cap (None: no cap)."""
    cap: Decimal | None = ZERO
    for tier in instrument.tiers.tiers:
        if tier.max_leverage >= leverage:
            cap = tier.cap
    return cap


def position_side(account: Account, pos: Position) -> str:
    """Return Binance's ``positionSide``: BOTH in one-way mode, else LONG/SHORT."""
    if account.position_mode is PositionMode.ONE_WAY:
        return "BOTH"
    return "LONG" if pos.side is Side.LONG else "SHORT"


def position_view(account: Account, pos: Position, open_order_margin: Decimal, now_ms: int) -> PositionView:
    """Return the report of one position."""
    fee = pos.instrument.taker_fee
    # break-even: the entry moved by the taker fee paid to open (Binance's breakEvenPrice of the contract)
    break_even = pos.entry * (1 + fee) if pos.side is Side.LONG else pos.entry * (1 - fee)
    liq = account.liquidation_price(pos)
    distance = None
    if liq is not None and pos.mark > ZERO:
        # positive while the mark is on the safe side: below for a short, above for a long
        distance = (pos.mark - liq) / pos.mark if pos.side is Side.LONG else (liq - pos.mark) / pos.mark
    isolated = pos.mode is MarginMode.ISOLATED
    return PositionView(
        symbol=pos.symbol,
        position_side=position_side(account, pos),
        signed_qty=pos.signed_qty,
        entry=pos.entry,
        break_even=break_even,
        mark=pos.mark,
        unrealized_pnl=pos.unrealized_pnl(),
        liquidation_price=liq,
        margin_mode=pos.mode,
        isolated_wallet=pos.margin,
        signed_notional=pos.side.sign * pos.notional(),
        initial_margin=pos.initial_margin(),
        maint_margin=account.maintenance_margin(pos),
        open_order_margin=open_order_margin,
        leverage=pos.leverage,
        max_notional=max_notional(pos.instrument, pos.leverage),
        margin_ratio=account.margin_ratio(pos),
        distance=distance,
        max_removable=account.max_removable_margin(pos) if isolated else ZERO,
        at_stake=pos.margin if isolated else account.wallet(SETTLE),
        tick_size=pos.instrument.tick_size,
    )


def account_view(
    account: Account, row: AccountFields, open_orders: Sequence[tuple[str, Decimal]], now_ms: int
) -> AccountView:
    """Return the account report: balances from the engine, open-order margin and the bonus from the rows.

    ``open_orders``: (symbol, initial margin reserved) of each open order.
    """
    reserved_by_symbol: dict[str, Decimal] = {}
    for symbol, amount in open_orders:
        reserved_by_symbol[symbol] = reserved_by_symbol.get(symbol, ZERO) + amount
    reserved = sum(reserved_by_symbol.values(), ZERO)
    positions = tuple(
        position_view(account, p, reserved_by_symbol.get(p.symbol, ZERO), now_ms) for p in account.positions
    )
    cross_upnl = sum((p.unrealized_pnl() for p in account.cross_positions(SETTLE)), ZERO)
    upnl = sum((p.unrealized_pnl() for p in account.positions), ZERO)
    position_im = sum((p.initial_margin() for p in account.positions), ZERO)
    wallet = total_balance(account)
    available = account.available_balance(SETTLE) - reserved
    cross_balance = account.cross_margin_balance(SETTLE)
    cross_mm = account.cross_maintenance_margin(SETTLE)
    return AccountView(
        account_id=row.id,
        wallet_balance=wallet,
        cross_wallet=account.wallet(SETTLE),
        unrealized_pnl=upnl,
        cross_unrealized_pnl=cross_upnl,
        margin_balance=wallet + upnl,
        maint_margin=sum((account.maintenance_margin(p) for p in account.positions), ZERO),
        initial_margin=position_im + reserved,
        position_initial_margin=position_im,
        open_order_margin=reserved,
        available=available,
        # the bonus backs positions but can never be withdrawn
        max_withdraw=max(ZERO, min(available, account.wallet(SETTLE) - row.bonus_left)),
        bonus_granted=row.bonus_granted,
        bonus_left=row.bonus_left,
        own_balance=wallet - row.bonus_left,
        deposited=row.deposited,
        liquidations=row.liquidations,
        position_mode=account.position_mode,
        updated_ms=row.updated_ms,
        positions=positions,
        margin_ratio=cross_mm / cross_balance if cross_balance > ZERO else None,
    )

"""The Decimal↔float seam of the fast core: venue rules, portfolios and bars in; float64 arrays out; and back.

The fast core converts nowhere else. Forward (:func:`compile_tiers`, :func:`compile_replay`,
:func:`to_float`): tier tables, fees and policies of a :class:`~marginlab.domain.venue.Venue`, a mode's
portfolio and :class:`~marginlab.io.bars.Bars` become the arrays of :mod:`marginlab.sim.dtypes`. Positions
that are in the account from the start are placed by the exact engine itself (so its checks and defaults
apply) and then read out. Backward (:func:`to_decimal`, :func:`decimal_or_none`, :func:`decimal_series`):
a kernel's float becomes the shortest Decimal that round-trips to it, only when a result is reported;
``to_decimal`` is defined once, in :mod:`marginlab.io.bars`, because the exact replay reads bar prices the
same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from marginlab.domain.account import Account
from marginlab.domain.collateral import MultiAssetsMargin
from marginlab.domain.enums import (
    IsolatedFunding,
    LiquidationStyle,
    MaintenanceBasis,
    MarginMode,
    ModeSwitchPolicy,
    PositionMode,
)
from marginlab.domain.enums import Side as DomainSide
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.domain.tiers import TierBasis
from marginlab.domain.venue import Venue
from marginlab.errors import InputError
from marginlab.io.bars import OPEN, Bars, to_decimal
from marginlab.io.portfolio import account_options, place_positions
from marginlab.io.schema import Portfolio, PositionSpec
from marginlab.sim import dtypes as dt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAN = float("nan")


def to_float(value: Decimal | None) -> float:
    """Return ``value`` as float64 (NaN for None): the forward seam."""
    return NAN if value is None else float(value)


def decimal_or_none(value: float) -> Decimal | None:
    """Return :func:`to_decimal` of ``value``, or None for NaN (the engine's "no such price")."""
    return None if math.isnan(value) else to_decimal(value)


def decimal_series(values: FloatArray) -> list[Decimal | None]:
    """Return a float series as Decimals, NaN as None."""
    return [None if math.isnan(x) else Decimal(repr(x)) for x in values.tolist()]


@dataclass(frozen=True, slots=True)
class TierSet:
    """Tier tables of some symbols of one venue, as kernel arrays (layouts in :mod:`marginlab.sim.dtypes`).

    Attributes
    ----------
    symbols : tuple of str
        Native symbols; ``symbols[t]`` is table row ``t``.
    tiers : float64 (K, 5)
        Concatenated tiers.
    tables : float64 (T, 10)
        One row per symbol.
    flags : int64 (5,)
        Venue policy flags (``V_*``); ``V_HEDGE`` is set by a replay's position mode.
    """

    symbols: tuple[str, ...]
    tiers: FloatArray
    tables: FloatArray
    flags: IntArray

    def index(self, symbol: str) -> int:
        """Return the table row of a native symbol."""
        return self.symbols.index(symbol)


def compile_tiers(venue: Venue, symbols: Sequence[str], *, hedge: bool = False) -> TierSet:
    """Compile the tier tables, fees and policies of ``symbols`` (native or unified) on ``venue``."""
    natives = tuple(dict.fromkeys(venue.resolve_symbol(s) for s in symbols))
    ranks = {s: r for r, s in enumerate(sorted(natives))}
    rows: list[list[float]] = []
    tables = np.zeros((len(natives), dt.N_TABLE_COLS))
    for t, native in enumerate(natives):
        instrument = venue.instrument(native)
        table = instrument.tiers
        tables[t, dt.T_START] = len(rows)
        tables[t, dt.T_COUNT] = len(table.tiers)
        for tier in table.tiers:
            rows.append(
                [
                    float(tier.floor),
                    math.inf if tier.cap is None else float(tier.cap),
                    float(tier.mmr),
                    float(tier.maintenance_amount),
                    float(tier.max_leverage),
                ]
            )
        tables[t, dt.T_CONTRACTS] = 1.0 if table.basis is TierBasis.CONTRACTS else 0.0
        tables[t, dt.T_CONTRACT_SIZE] = float(instrument.contract_size)
        tables[t, dt.T_CLOSE_FEE] = float(instrument.taker_fee) if venue.fee_in_liquidation else 0.0
        tables[t, dt.T_TAKER] = float(instrument.taker_fee)
        tables[t, dt.T_MAKER] = float(instrument.maker_fee)
        tables[t, dt.T_LIQ_FEE] = float(instrument.liquidation_fee)
        tables[t, dt.T_LOT] = float(instrument.lot_size)
        tables[t, dt.T_RANK] = ranks[native]
    flags = np.zeros(dt.N_VENUE_FLAGS, np.int64)
    flags[dt.V_BASIS_ENTRY] = venue.maintenance_basis is MaintenanceBasis.ENTRY
    flags[dt.V_FEE_STYLE] = venue.liquidation_style is LiquidationStyle.FEE
    flags[dt.V_PARTIAL] = venue.partial_liquidation
    flags[dt.V_FLAT_ONLY] = venue.mode_switch is ModeSwitchPolicy.FLAT_ONLY
    flags[dt.V_HEDGE] = hedge
    flags[dt.V_FUNDING_AVAILABLE_FIRST] = venue.isolated_funding is IsolatedFunding.AVAILABLE_FIRST
    tiers = np.array(rows, dtype=np.float64).reshape(-1, dt.N_TIER_COLS)
    return TierSet(symbols=natives, tiers=tiers, tables=tables, flags=flags)


def position_arrays(
    tier_set: TierSet, positions: Sequence[Position]
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return (table, side, qty, entry, mark, margin) arrays of domain positions (margin 0 for cross)."""
    table = np.array([tier_set.index(p.symbol) for p in positions], np.int64)
    side = np.array([dt.LONG if p.side is DomainSide.LONG else dt.SHORT for p in positions], np.int64)
    qty = np.array([float(p.qty) for p in positions])
    entry = np.array([float(p.entry) for p in positions])
    mark = np.array([float(p.mark) for p in positions])
    margin = np.array([float(p.margin) for p in positions])
    return table, side, qty, entry, mark, margin


BarArrays = tuple[tuple[str, ...], FloatArray, FloatArray, FloatArray]


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """Everything ``replay_nb`` needs for one mode, plus what the result needs to be read back.

    The state arrays (``st``, ``sym_st``, ``acc``, ``book``, ``cnt``) hold the account at the start; the
    kernel works on copies.
    """

    tier_set: TierSet
    positions: npt.NDArray[np.void]
    st: FloatArray
    sym_st: FloatArray
    acc: FloatArray
    book: IntArray
    cnt: IntArray
    last: FloatArray
    mark: FloatArray
    funding: FloatArray
    keys: tuple[tuple[str, str], ...]
    start_equity: Decimal

    @property
    def bar_arrays(self) -> BarArrays:
        """Return ``(symbols, last, mark, funding)``: the bars as converted for this plan's symbols."""
        return self.tier_set.symbols, self.last, self.mark, self.funding


def _spec_qty(spec: PositionSpec, venue: Venue, price: Decimal) -> Decimal:
    instrument = venue.instrument(spec.symbol)
    qty = spec.quantity(instrument, price)
    if qty % instrument.lot_size != ZERO:
        raise InputError("qty", qty, f"a multiple of {instrument.symbol}'s lot size {instrument.lot_size}")
    return qty


def _open_bar(spec: PositionSpec, bars: Bars) -> int:
    if spec.open_at is None:
        return 0
    when = np.datetime64(spec.open_at.astimezone(UTC).replace(tzinfo=None), "ns")
    i = int(np.searchsorted(bars.times, when, side="left"))
    return i if i < len(bars) else dt.NEVER


def bar_arrays(bars: Bars, symbols: Sequence[str]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return last and mark OHLC as (n, S, 4) and funding as (n, S), symbols in the given order."""
    n, n_sym = len(bars), len(symbols)
    last = np.empty((n, n_sym, 4))
    mark = np.empty((n, n_sym, 4))
    funding = np.zeros((n, n_sym))
    for t, native in enumerate(symbols):
        last[:, t, :] = bars.last[native]
        mark[:, t, :] = bars.mark[native]
        if native in bars.funding:
            funding[:, t] = bars.funding[native]
    return last, mark, funding


def compile_replay(
    model: Portfolio,
    venue: Venue,
    bars: Bars,
    *,
    pooled: bool = False,
    arrays: BarArrays | None = None,
) -> ReplayPlan:
    """Compile one mode's portfolio (``portfolio_for_mode``) on its replay venue and bars.

    ``pooled``: the positions may settle in several assets (a Multi-Assets pool, :func:`compile_pool`);
    the account arrays then hold the first settlement asset's wallet only. ``arrays``: another mode's
    :attr:`ReplayPlan.bar_arrays` on the same bars, reused when it holds the same symbols in the same
    order (the modes of one portfolio do), so several modes convert the bars once.

    Raises
    ------
    InputError
        If a symbol has no bars, the positions settle in more than one asset (unless ``pooled``), or a
        quantity is invalid.
    """
    natives = [venue.resolve_symbol(s.symbol) for s in model.positions]
    for i, native in enumerate(natives):
        if native not in bars.last:
            raise InputError(
                f"positions[{i}].symbol",
                model.positions[i].symbol,
                f"one of the data's symbols {bars.symbols}",
            )
    settles = {venue.instrument(s).settle for s in natives}
    if len(settles) > 1 and not pooled:
        raise InputError("positions", sorted(settles), "one settlement asset per replay (fast core)")
    # positions with an entry are placed by the exact engine itself, exactly as replay_exact does
    account = Account(venue, balances=model.balances, position_mode=model.position_mode)
    place_positions(account, model)
    settle = venue.instrument(natives[0]).settle if natives else "USDT"
    tier_set = compile_tiers(venue, natives, hedge=model.position_mode is PositionMode.HEDGE)
    symbols = tier_set.symbols
    n_pos, n_sym = len(natives), len(symbols)

    keys: dict[tuple[str, str], int] = {}
    positions = np.zeros(n_pos, dt.POSITION_DT)
    st = np.zeros((n_pos, dt.N_STATE))
    sym_st = np.zeros((n_sym, dt.N_SYM_STATE))
    sym_st[:, dt.Y_MARK] = NAN
    for t, native in enumerate(symbols):
        sym_st[t, dt.Y_LEV] = float(account.settings(native).leverage)
    slot_of: dict[tuple[str, DomainSide], int] = {}
    for p, (spec, native) in enumerate(zip(model.positions, natives, strict=True)):
        row = positions[p]
        row["sym"] = tier_set.index(native)
        row["key"] = keys.setdefault((native, str(spec.side)), len(keys))
        row["side"] = dt.LONG if spec.side is DomainSide.LONG else dt.SHORT
        row["mode"] = dt.ISOLATED if spec.mode is MarginMode.ISOLATED else dt.CROSS
        row["margin"] = to_float(spec.margin)
        row["leverage"] = to_float(spec.leverage)
        row["stop_loss"] = to_float(spec.stop_loss)
        row["take_profit"] = to_float(spec.take_profit)
        policy = spec.auto_add_margin
        row["aa_trigger"] = NAN if policy is None else float(policy.trigger)
        row["aa_target"] = NAN if policy is None else float(policy.target)
        if spec.entry is not None:
            row["open_bar"] = dt.OPEN_AT_START
            slot_of[(native, spec.side)] = p
            if policy is not None:
                sym_st[row["sym"], dt.Y_AA_ON : dt.Y_AA_TGT + 1] = (
                    1.0,
                    float(policy.trigger),
                    float(policy.target),
                )
            continue
        bar = _open_bar(spec, bars)
        row["open_bar"] = bar
        if bar >= 0:
            row["qty"] = float(_spec_qty(spec, venue, to_decimal(bars.last[native][bar, OPEN])))
    book = np.zeros(max(n_pos, 1), np.int64)
    for b, pos in enumerate(account.positions):
        p = slot_of[(pos.symbol, pos.side)]
        book[b] = p
        positions[p]["qty"] = float(pos.qty)
        positions[p]["entry"] = float(pos.entry)
        st[p] = (1.0, float(pos.qty), float(pos.entry), float(pos.margin), float(pos.leverage), 0.0)
        sym_st[tier_set.index(pos.symbol), dt.Y_MARK] = float(pos.mark)
    cnt = np.zeros(dt.N_CNT, np.int64)
    cnt[dt.C_NBOOK] = len(account.positions)
    wallets = account.wallets
    other = sum((v for k, v in wallets.items() if k != settle), ZERO)
    acc = np.array([float(account.wallet(settle)), 0.0, 0.0, float(other)])
    start_equity = sum(wallets.values(), ZERO)
    for pos in account.positions:
        start_equity += pos.unrealized_pnl() + (pos.margin if pos.mode is MarginMode.ISOLATED else ZERO)

    if arrays is not None and arrays[0] == symbols and arrays[1].shape[0] == len(bars):
        _, last, mark, funding = arrays
    else:
        last, mark, funding = bar_arrays(bars, symbols)
    return ReplayPlan(
        tier_set=tier_set,
        positions=positions,
        st=st,
        sym_st=sym_st,
        acc=acc,
        book=book,
        cnt=cnt,
        last=last,
        mark=mark,
        funding=funding,
        keys=tuple(keys),
        start_equity=start_equity,
    )


# =========================================================================== Multi-Assets pool (Monte Carlo)
@dataclass(frozen=True, slots=True)
class PoolPlan:
    """A Multi-Assets mode's collateral pool as :func:`marginlab.sim.montecarlo_nb.mc_run_nb` reads it.

    Attributes
    ----------
    assets : tuple of str
        Collateral assets (wallets and settlement assets); row ``c`` of ``wallet`` and ``rate``.
    pool_of : int64 (P,)
        Row of each position's settlement asset (positions in the portfolio's order).
    wallet : float64 (C,)
        Wallet per asset, asset units.
    rate : float64 (C, 4)
        ``(column, scale, bid factor, ask factor)`` (``montecarlo_nb.PR_*``): a coin whose perpetual is
        simulated column ``column`` is worth ``scale * price[column]`` USD (``scale`` the USD index of the
        perpetual's settlement asset); otherwise ``column`` is -1 and ``scale`` its constant USD index. Bid
        factor ``(1 - bid buffer) * value ratio``, ask factor ``1 + ask buffer``.
    start_value : Decimal
        Market value of the pool at the start prices (every asset's equity at its index, no haircut), USD.
    start_equity, start_maintenance : Decimal
        Binance's ``accountEquity`` (haircuts, bid/ask) and ``accountMM`` at the start prices, USD.
    fixed : tuple of str
        Coins (not stablecoins) whose index stays constant: no simulated perpetual prices them.
    """

    assets: tuple[str, ...]
    pool_of: IntArray
    wallet: FloatArray
    rate: FloatArray
    start_value: Decimal
    start_equity: Decimal
    start_maintenance: Decimal
    fixed: tuple[str, ...]


def compile_pool(
    model: Portfolio, venue: Venue, columns: Sequence[str], start: Mapping[str, float]
) -> PoolPlan:
    """Compile the Multi-Assets pool of ``model`` (``multi_assets = true``) for the Monte Carlo kernel.

    The exact engine places the positions (its checks apply: cross only, collateral assets of the venue's
    table, indices known) and values the pool at the start prices, so the table's haircuts, buffers and
    ``[collateral.*]`` overrides and the ``index_prices`` come from one place (:mod:`marginlab.domain
    .collateral`). A coin's index follows its table perpetual when that perpetual is one of the simulated
    ``columns`` (BTC: BTCUSDT mark times the USDT index); otherwise it keeps the engine's index.

    Parameters
    ----------
    model : Portfolio
        One mode's portfolio, every position with an ``entry``.
    venue : Venue
        Its venue (``portfolio_venue``), with a collateral table.
    columns : sequence of str
        The simulated perpetuals, in kernel column order.
    start : mapping of str to float
        Start mark of every column, quote units.

    Raises
    ------
    InputError
        A settlement asset priced by a simulated perpetual, or a coin whose USD index is unknown (names
        ``index_prices.ASSET``).
    """
    account = Account(
        venue, balances=model.balances, position_mode=model.position_mode, **account_options(model, venue)
    )
    place_positions(account, model)
    table = account.collateral
    if table is None:  # pragma: no cover - account_options refuses a venue without a table
        raise InputError("multi_assets", True, "a venue with a Multi-Assets collateral table")
    marks = {s: to_decimal(start[s]) for s in columns}
    column = {s: c for c, s in enumerate(columns)}
    positions = [p.with_mark(marks[p.symbol]) for p in account.positions]
    settles = [venue.instrument(venue.resolve_symbol(spec.symbol)).settle for spec in model.positions]
    assets = tuple(dict.fromkeys([*account.wallets, *settles]))
    rates, rows, fixed = [], [], []
    for asset in assets:
        row = table.row(asset, f"balances.{asset}")
        perp = row.index_symbol
        if perp is not None and perp in column:
            if asset in settles:
                raise InputError(
                    f"balances.{asset}", asset, "a settlement asset with a constant index (a stablecoin)"
                )
            scale = account.index_price(venue.instrument(perp).settle)
            index, col = marks[perp] * scale, float(column[perp])
        else:
            index, col = account.index_price(asset), -1.0
            scale = index
            if not row.stable:
                fixed.append(asset)
        rate = row.rate(index)
        rates.append(rate)
        rows.append(
            [col, float(scale), float((1 - rate.bid_buffer) * rate.value_ratio), float(1 + rate.ask_buffer)]
        )
    pool = MultiAssetsMargin(
        rates=rates, wallets=account.wallets, positions=positions, maintenance=account.maintenance_margin
    )
    return PoolPlan(
        assets=assets,
        pool_of=np.array([assets.index(a) for a in settles], np.int64),
        wallet=np.array([float(account.wallets.get(a, ZERO)) for a in assets]),
        rate=np.array(rows, np.float64).reshape(-1, 4),
        start_value=pool.market_value(),
        start_equity=pool.account_equity(),
        start_maintenance=pool.account_maintenance_margin(),
        fixed=tuple(fixed),
    )

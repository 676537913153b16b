"""Public entry points of the fast core: vectorised liquidation prices and the fast replay.

``from marginlab.sim.api import replay_fast, liquidation_prices``. Both wrap numba kernels
(:mod:`marginlab.sim.nb`) and turn their status codes into :mod:`marginlab.errors` exceptions
(:func:`raise_for_status`). Conversions between Decimal and float happen only in
:mod:`marginlab.sim.compile` (and :func:`marginlab.io.bars.to_decimal`, the one float-to-Decimal rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from marginlab.domain.venue import Venue
from marginlab.errors import (
    InputError,
    InsufficientMargin,
    MarginLabError,
    OperationRejected,
    RuleSetError,
)
from marginlab.io.bars import Bars, to_decimal
from marginlab.io.portfolio import portfolio_for_mode, portfolio_venue
from marginlab.io.results import Closest, Liquidation, ModeResult, ModeSummary, position_label
from marginlab.io.schema import Portfolio
from marginlab.sim import dtypes as dt
from marginlab.sim.compile import (
    BarArrays,
    ReplayPlan,
    TierSet,
    compile_replay,
    compile_tiers,
    decimal_or_none,
    decimal_series,
    to_float,
)
from marginlab.sim.nb import cross_fixed_nb, liq_prices_nb, replay_nb

__all__ = [
    "FastResult",
    "TierSet",
    "compile_tiers",
    "cross_fixed",
    "liquidation_prices",
    "raise_for_status",
    "replay_fast",
    "replay_fast_arrays",
    "replay_fast_modes",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ArrayLike = npt.ArrayLike


# =========================================================================== status codes -> errors
_REJECTION_RULES = {
    dt.Status.LEVERAGE_TOO_HIGH: "max_leverage",
    dt.Status.POSITION_EXISTS: "position.exists",
    dt.Status.ONE_WAY_CONFLICT: "one_way",
    dt.Status.MODE_CONFLICT: "mode_switch",
}
_MARGIN_RULES = {
    dt.Status.ISOLATED_MARGIN_TOO_LOW: "initial_margin",
    dt.Status.INSUFFICIENT_BALANCE: "available_balance",
    dt.Status.LIQUIDATED_ON_FILL: "maintenance_margin",
}


def raise_for_status(code: int, info: FloatArray | None = None, *, where: str = "fast core") -> None:
    """Raise the :mod:`marginlab.errors` exception of a kernel status code; return for ``Status.OK``.

    Parameters
    ----------
    code : int
        A :class:`~marginlab.sim.dtypes.Status` value.
    info : ndarray of float64 (4,), optional
        The kernel's detail: bar, position slot, required and available amounts (settle asset).
    where : str
        What to name in the message (e.g. ``"positions[1] BTCUSDT long, bar 12"``).
    """
    if code == dt.Status.OK:
        return
    try:
        status = dt.Status(code)
    except ValueError:
        raise MarginLabError(f"{where}: unknown status code {code}") from None
    message = f"{where}: {dt.STATUS_MESSAGES[status]}"
    required = to_decimal(info[dt.I_REQUIRED]) if info is not None else Decimal(0)
    available = to_decimal(info[dt.I_AVAILABLE]) if info is not None else Decimal(0)
    if status in (dt.Status.BAD_PRICE, dt.Status.BAD_INPUT):
        raise InputError("input", where, "finite prices > 0, qty > 0, known tables", problem=message)
    if status is dt.Status.TIER_OVERFLOW:
        raise RuleSetError(message)
    if status in _REJECTION_RULES:
        raise OperationRejected(_REJECTION_RULES[status], message)
    if status in _MARGIN_RULES:
        raise InsufficientMargin(
            what=where, required=required, available=available, rule=_MARGIN_RULES[status]
        )
    raise MarginLabError(message)


# =========================================================================== liquidation prices
def _f64(name: str, values: ArrayLike, n: int) -> FloatArray:
    arr = np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)))
    if arr.ndim != 1:
        raise InputError(name, arr.shape, f"a 1-D array of length {n}")
    return arr


def _small_int(name: str, values: ArrayLike, n: int) -> npt.NDArray[np.signedinteger]:
    """Return a contiguous signed-integer array as given (int8/16/32/64 stay compact: fewer bytes to read)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InputError(name, arr.dtype, "an integer array")
    if arr.dtype.kind == "u" or arr.dtype.itemsize > 8:
        arr = arr.astype(np.int64)
    return np.ascontiguousarray(np.broadcast_to(arr, (n,)))


def _i64(name: str, values: ArrayLike, n: int) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InputError(name, arr.dtype, "an integer array")
    return np.ascontiguousarray(np.broadcast_to(arr.astype(np.int64, copy=False), (n,)))


def liquidation_prices(
    tiers: TierSet,
    *,
    table: ArrayLike,
    side: ArrayLike,
    qty: ArrayLike,
    entry: ArrayLike,
    fixed: ArrayLike,
    mark: ArrayLike,
    partner: ArrayLike | None = None,
    out: FloatArray | None = None,
) -> FloatArray:
    """Return the liquidation mark price of every position, NaN where no positive price liquidates it.

    Mirrors :meth:`marginlab.domain.account.Account.liquidation_price` (None there is NaN here), tiers with
    iteration: the tier is the one holding the notional at the liquidation price.

    Parameters
    ----------
    tiers : TierSet
        From :func:`compile_tiers` (the venue's tiers, fees and maintenance basis).
    table : int array (n,)
        Table row of each position's symbol (``tiers.index(symbol)``); ``int8``/``int16`` are read as given
        (no conversion pass: 26 bytes read per position with ``int8`` table and side, 48 with ``int64``).
    side : int array (n,)
        +1 long, -1 short (``int8`` is enough).
    qty : float array (n,)
        Size in base units, > 0.
    entry : float array (n,)
        Entry price, quote per base.
    fixed : float array (n,) or scalar
        Price-independent equity of the position's margin pool, settle asset: the isolated margin, or for
        cross the wallet plus the other symbols' cross uPnL minus their maintenance margin (see
        :func:`cross_fixed`).
    mark : float array (n,) or scalar
        Current mark price; where several prices liquidate, the nearest one is returned.
    partner : int array (n,), optional
        Index of the other cross leg of the same symbol (hedge mode), which shares the price; -1 for none.
    out : float64 array (n,), optional
        Contiguous array to write the prices to (reused across calls, it saves allocating and faulting in
        the pages of a new one); a new array when omitted.

    Returns
    -------
    ndarray of float64 (n,)
        Quote per base; NaN where none (``out`` when given).

    Raises
    ------
    InputError
        If a quantity is not > 0 or a table row does not exist.
    """
    qty_a = np.ascontiguousarray(np.asarray(qty, dtype=np.float64))
    n = qty_a.shape[0]
    if out is None:
        out = np.empty(n)
    elif (
        out.dtype != np.float64 or out.shape != (n,) or not out.flags.c_contiguous or not out.flags.writeable
    ):
        raise InputError("out", out.shape, f"a writeable contiguous float64 array of length {n}")
    partners = np.empty(0, np.int64) if partner is None else _i64("partner", partner, n)
    code = liq_prices_nb(
        tiers.tiers,
        tiers.tables,
        int(tiers.flags[dt.V_BASIS_ENTRY]),
        _small_int("table", table, n),
        _small_int("side", side, n),
        qty_a,
        _f64("entry", entry, n),
        _f64("fixed", fixed, n),
        _f64("mark", mark, n),
        partners,
        out,
    )
    raise_for_status(code, where="liquidation_prices")
    return out


def cross_fixed(
    tiers: TierSet,
    *,
    table: ArrayLike,
    side: ArrayLike,
    qty: ArrayLike,
    entry: ArrayLike,
    mark: ArrayLike,
    cross: ArrayLike,
    wallet: float,
) -> FloatArray:
    """Return each cross position's ``fixed`` for :func:`liquidation_prices` (one account's book).

    ``fixed_i = wallet + sum over cross positions of other symbols of (uPnL - maintenance)`` at their marks
    (Binance's ``WB - TMM1 + UPNL1``), settle asset; NaN for isolated positions (``cross`` false).
    """
    qty_a = np.ascontiguousarray(np.asarray(qty, dtype=np.float64))
    n = qty_a.shape[0]
    out = np.empty(n)
    code = cross_fixed_nb(
        tiers.tiers,
        tiers.tables,
        int(tiers.flags[dt.V_BASIS_ENTRY]),
        _i64("table", table, n),
        _i64("side", side, n),
        qty_a,
        _f64("entry", entry, n),
        _f64("mark", mark, n),
        np.ascontiguousarray(np.broadcast_to(np.asarray(cross, dtype=np.bool_), (n,))),
        float(wallet),
        out,
    )
    raise_for_status(code, where="cross_fixed")
    return out


# =========================================================================== replay
@dataclass(slots=True)
class FastResult(ModeSummary):
    """Outcome of one margin mode from the fast core: :class:`ModeResult`'s fields, series as float64.

    Scalars, liquidations and the closest call are exact types (converted once, in ``compile``); the series
    stay arrays so long replays cost nothing to report. :meth:`to_mode_result` converts everything.

    Attributes
    ----------
    times : ndarray of datetime64[ns] (n,)
        Bar open times.
    equity : ndarray (n,)
        Wallets + isolated margins + uPnL at each bar's mark close, settle asset.
    margin_ratio : ndarray (n,)
        Highest maintenance / equity of any margin pool at each close (0 when flat).
    liquidation_prices : dict of str to ndarray (n,)
        Per ``"SYMBOL side"`` position, the liquidation price at each close; NaN when flat or none.
    events : ndarray of EVENT_DT
        The kernel's event table (``pos`` indexes the mode's portfolio positions).
    """

    times: npt.NDArray[np.datetime64]
    equity: FloatArray
    margin_ratio: FloatArray
    liquidation_prices: dict[str, FloatArray] = field(default_factory=dict)
    stops: list[str] = field(default_factory=list)
    events: npt.NDArray[np.void] = field(default_factory=lambda: np.zeros(0, dt.EVENT_DT))

    def to_mode_result(self) -> ModeResult:
        """Return the same outcome as the exact replay's :class:`ModeResult` (series as Decimal)."""
        return ModeResult(
            mode=self.mode,
            start_equity=self.start_equity,
            final_equity=self.final_equity,
            fees=self.fees,
            funding=self.funding,
            max_drawdown=self.max_drawdown,
            liquidations=list(self.liquidations),
            closest_to_liquidation=self.closest_to_liquidation,
            equity=[d for d in decimal_series(self.equity) if d is not None],
            margin_ratio=[d for d in decimal_series(self.margin_ratio) if d is not None],
            liquidation_prices={k: decimal_series(v) for k, v in self.liquidation_prices.items()},
            stops=list(self.stops),
        )


@dataclass(slots=True)
class _Run:
    """One mode's outputs of a :func:`_run_modes` pass."""

    code: int
    equity: FloatArray
    ratio: FloatArray
    liq: FloatArray
    key_first: IntArray
    closest: FloatArray
    events: npt.NDArray[np.void]
    acc: FloatArray
    info: FloatArray


def _run_modes(plans: Sequence[ReplayPlan], n: int, extremes: bool) -> list[_Run]:
    """Replay every plan (one per mode, the same symbols and tiers) in one pass over the bars."""
    # room for auto-add and partial-liquidation events of long replays, so one pass almost always suffices
    # (an overflow reruns the whole kernel); zeroed pages are only touched when written
    first = plans[0]
    m, n_keys = len(plans), max(len(first.keys), 1)
    capacity = 64 + 4 * len(first.positions) + n // 32
    while True:
        cnt = np.stack([plan.cnt for plan in plans])
        acc = np.stack([plan.acc for plan in plans])
        equity, ratio = np.empty((m, n)), np.empty((m, n))
        liq = np.empty((m, n, n_keys))
        key_first = np.empty((m, n_keys), np.int64)
        closest = np.empty((m, 3))
        events = np.zeros((m, capacity), dt.EVENT_DT)
        info = np.zeros((m, dt.N_INFO))
        codes = np.zeros(m, np.int64)
        replay_nb(
            np.stack([plan.positions for plan in plans]),
            np.stack([plan.st for plan in plans]),
            np.stack([plan.sym_st for plan in plans]),
            acc,
            np.stack([plan.book for plan in plans]),
            cnt,
            first.tier_set.tiers,
            first.tier_set.tables,
            first.tier_set.flags,
            first.last,
            first.mark,
            first.funding,
            extremes,
            equity,
            ratio,
            liq,
            key_first,
            closest,
            events,
            info,
            codes,
        )
        if not (codes == dt.Status.EVENT_OVERFLOW).any():
            return [
                _Run(
                    code=int(codes[k]),
                    equity=equity[k],
                    ratio=ratio[k],
                    liq=liq[k],
                    key_first=key_first[k],
                    closest=closest[k],
                    events=events[k, : min(int(cnt[k, dt.C_NEV]), capacity)],
                    acc=acc[k],
                    info=info[k],
                )
                for k in range(m)
            ]
        capacity = int(cnt[:, dt.C_NEV].max()) + 16


def _shares_pass(a: ReplayPlan, b: ReplayPlan) -> bool:
    """Whether two modes' plans can run in one pass (the same symbols, tiers, policies and positions)."""
    x, y = a.tier_set, b.tier_set
    return (
        x.symbols == y.symbols
        and np.array_equal(x.tiers, y.tiers)
        and np.array_equal(x.tables, y.tables)
        and np.array_equal(x.flags, y.flags)
        and a.positions.shape == b.positions.shape
        and len(a.keys) == len(b.keys)
    )


def _describe(plan: ReplayPlan, bars: Bars, info: FloatArray) -> str:
    p, i = int(info[dt.I_POS]), int(info[dt.I_BAR])
    if 0 <= p < len(plan.positions):
        row = plan.positions[p]
        side = "long" if row["side"] == dt.LONG else "short"
        return f"positions[{p}] {plan.tier_set.symbols[row['sym']]} {side} at {bars.time_label(i)}"
    return f"bar {bars.time_label(i)}"


def _max_drawdown(start: float, equity: FloatArray) -> float:
    peaks = np.maximum.accumulate(np.concatenate(([start], equity)))[1:]
    positive = peaks > 0.0
    if not positive.any():
        return 0.0
    return max(0.0, float(np.max((peaks[positive] - equity[positive]) / peaks[positive])))


def replay_fast(
    portfolio: Portfolio, venue: Venue, bars: Bars, mode: str, *, extremes: bool = True
) -> ModeResult:
    """Replay ``portfolio`` in one margin mode on the fast core and return the exact replay's result type.

    The same as :func:`replay_fast_arrays` followed by :meth:`FastResult.to_mode_result` (every series
    converted to Decimal, about 1 µs per value); see there for the parameters.
    """
    return replay_fast_arrays(portfolio, venue, bars, mode, extremes=extremes).to_mode_result()


def replay_fast_arrays(
    portfolio: Portfolio, venue: Venue, bars: Bars, mode: str, *, extremes: bool = True
) -> FastResult:
    """Replay ``portfolio`` in one margin mode on the fast core; the same outcome as ``replay_exact``.

    Parameters
    ----------
    portfolio : Portfolio
        Positions and cross balances (the ``liq`` file format with its replay fields).
    venue : Venue
        Rule set (tiers, fees, policies); one settlement asset per replay.
    bars : Bars
        Aligned last-price and mark-price bars and funding.
    mode : {"cross", "isolated", "hybrid"}
        All cross, all isolated, or the modes written in the file.
    extremes : bool
        Check liquidations at each bar's adverse mark extreme (default) or at the mark close.

    Returns
    -------
    FastResult
        ``.to_mode_result()`` gives the exact replay's :class:`ModeResult`.

    Raises
    ------
    MarginLabError
        Whatever the exact replay raises for the same input (the kernel's status codes, mapped).
    """
    return replay_fast_modes(portfolio, venue, bars, (mode,), extremes=extremes)[mode]


def replay_fast_modes(
    portfolio: Portfolio, venue: Venue, bars: Bars, modes: Sequence[str], *, extremes: bool = True
) -> dict[str, FastResult]:
    """Replay ``portfolio`` in several margin modes in one pass over the bars; see :func:`replay_fast_arrays`.

    The bars are converted once and read once; each mode's result is exactly the one it gets alone. Errors
    are raised as a run of the modes one after the other would raise them: the first mode (in ``modes``
    order) that fails, whether it failed compiling or in the kernel.
    """
    plans: dict[str, ReplayPlan] = {}
    failed: dict[str, MarginLabError] = {}
    arrays: BarArrays | None = None
    for mode in dict.fromkeys(modes):
        try:
            model = portfolio_for_mode(portfolio, mode, venue)
            plan = compile_replay(model, portfolio_venue(model, venue), bars, arrays=arrays)
        except MarginLabError as exc:
            failed[mode] = exc
            continue
        arrays = plan.bar_arrays
        plans[mode] = plan
    runs: dict[str, _Run] = {}
    pending = list(plans)
    while pending:  # one pass per group of modes that share symbols and tiers (in practice: all of them)
        group = [m for m in pending if _shares_pass(plans[pending[0]], plans[m])]
        runs.update(zip(group, _run_modes([plans[m] for m in group], len(bars), extremes), strict=True))
        pending = [m for m in pending if m not in runs]
    results: dict[str, FastResult] = {}
    for mode in dict.fromkeys(modes):
        if mode in failed:
            raise failed[mode]
        results[mode] = _result(mode, plans[mode], runs[mode], bars)
    return results


def _result(mode: str, plan: ReplayPlan, run: _Run, bars: Bars) -> FastResult:
    """Return one mode's :class:`FastResult` (raising its kernel status as an error)."""
    n = len(bars)
    raise_for_status(run.code, run.info, where=_describe(plan, bars, run.info))
    symbols = plan.tier_set.symbols
    liquidations: list[Liquidation] = []
    stops: list[str] = []
    for row in run.events:
        kind = int(row["kind"])
        pos = plan.positions[int(row["pos"])]
        symbol, side = symbols[int(pos["sym"])], "long" if pos["side"] == dt.LONG else "short"
        time = bars.time_label(int(row["bar"]))
        if kind == dt.EventKind.LIQUIDATED:
            liquidations.append(
                Liquidation(
                    symbol=symbol,
                    side=side,
                    mode="isolated" if pos["mode"] == dt.ISOLATED else "cross",
                    time=time,
                    mark=to_decimal(row["mark"]),
                    price=to_decimal(row["price"]),
                    loss=to_decimal(row["loss"]),
                    bar=int(row["bar"]),
                )
            )
        elif kind in (dt.EventKind.STOP_LOSS, dt.EventKind.TAKE_PROFIT):
            stops.append(f"{time} {symbol} {side} closed at {to_decimal(row['price'])}")
        elif kind == dt.EventKind.STOP_REJECTED:
            stops.append(
                f"{time} {symbol} {side}: stop not filled (closing at {to_decimal(row['price'])} would lose "
                "more than the margin; the position would have been liquidated first)"
            )
    closest = None
    if run.closest[dt.CL_SYM] >= 0:
        closest = Closest(
            symbol=symbols[int(run.closest[dt.CL_SYM])],
            time=bars.time_label(int(run.closest[dt.CL_BAR])),
            distance=to_decimal(run.closest[dt.CL_DISTANCE]),
        )
    series: dict[str, FloatArray] = {}
    order = sorted((int(run.key_first[k]), k) for k in range(len(plan.keys)) if run.key_first[k] >= 0)
    for _, k in order:
        series[position_label(*plan.keys[k])] = run.liq[:, k]
    start = to_float(plan.start_equity)
    final = plan.start_equity if n == 0 else decimal_or_none(run.equity[-1]) or Decimal(0)
    return FastResult(
        mode=mode,
        start_equity=plan.start_equity,
        final_equity=final,
        fees=to_decimal(run.acc[dt.A_FEES]),
        funding=to_decimal(run.acc[dt.A_FUNDING]),
        max_drawdown=to_decimal(_max_drawdown(start, run.equity)),
        liquidations=liquidations,
        closest_to_liquidation=closest,
        times=bars.times,
        equity=run.equity,
        margin_ratio=run.ratio,
        liquidation_prices=series,
        stops=stops,
        events=run.events,
    )

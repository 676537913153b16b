"""Binance Multi-Assets mode: one cross-margin pool shared by USDT- and USDC-margined contracts.

In Multi-Assets mode every wallet asset counts as collateral for every cross position, whatever the
position's settlement asset. Amounts are brought to USD through per-asset rates derived from the asset's USD
index price and two buffers::

    bidRate = index * (1 - bid buffer)          # used to value what the account owns
    askRate = index * (1 + ask buffer)          # used to value what it owes (margins, debts)

    assetEquity          = wallet(asset) + uPnL of the cross positions settled in asset      (asset units)
    accountEquity        = sum over assets of min(assetEquity * bidRate, assetEquity * askRate)  (USD)
    accountIM            = sum over positions of IM(position) * askRate(settle)                    (USD)
    accountMM            = sum over positions of MM(position) * askRate(settle)                    (USD)
    uniAvailableForOrder = accountEquity - accountIM                                               (USD)
    available(asset)     = uniAvailableForOrder / askRate(asset)                           (asset units)
    accountMarginRatio   = accountMM / accountEquity              (every position is liquidated at 100 %)

Non-stable collateral (BNB, BTC, ETH, ...) is further valued at its *collateral value ratio* (haircut):
"BNB with a market value of $1000 will be valued at $950" at 95 %. The haircut applies to positive asset
equity only; a negative asset equity (a debt) is valued at ratio 1, as Bybit's UTA collateral page states
for its own tiers ("negative balances always use ratio 1"). With ``askRate >= bidRate`` the ``min`` above
values a positive equity at the bid and a debt at the ask.

Sources (checked 2026-11-25):

* How to calculate the margin ratio in the Multi-Assets mode (formulas and the worked example that
  ``tests/unit/domain/test_collateral.py`` reproduces):
  https://binance.com/support/announcement/how-to-calculate-margin-ratio-in-the-multi-assets-mode-c983a9268cfa4e70a4916c276bb3b7bc
* Multi-Assets mode information (buffers, collateral value ratios):
  https://www.binance.com/en-NG/futures/trading-rules/perpetual/multi-asset-info
* Multi-Assets mode FAQ (cross only; cannot be activated with open positions or orders):
  https://www.binance.com/en-IN/support/faq/29b45c485d664028b9ca1cdf90b24f6f
* Bybit UTA collateral value ratios (negative balances at ratio 1):
  https://testnet.bytick.com/en/help-center/article/Assets-Collateral-Value-Ratio-List-UTA

Not modelled: open-order initial margin, auto-exchange of negative balances, and quantity-tiered collateral
ratios (Bybit UTA).

How the engine uses it (``Account(venue, multi_assets=True)``, decisions of 2026-12-01)
---------------------------------------------------------------------------------------

* **The table.** Each venue that has the mode bundles a dated :class:`CollateralTable`
  (``rules/data/binance_multi_assets_2021-05-28.json``, named by ``multi_assets`` in ``binance.toml``):
  the collateral value ratios of the FAQ's table (BTC/ETH/BNB 95 %, XRP/ADA/DOT/SOL 90 %, USDT/USDC
  99.99 %, BUSD 100 %; page dated 2021-05-28), which assets are stablecoins, and which perpetual prices each
  coin. Binance shows the bid/ask buffers only live on the information page; no dated copy was available,
  so the table carries 0 and a file gives them per asset (``[collateral.USDT] bid_buffer = …``). Other
  venues have no table and refuse ``multi_assets`` naming the venue (Bybit's UTA pools coins too, with
  quantity-tiered ratios: not modelled).
* **Prices.** A stablecoin's USD index is 1 unless given (``index_prices``). A coin's index is the last mark
  the account knows of its table perpetual times that perpetual's settlement-asset index (BTC = BTCUSDT
  mark × USDTUSD): every ``mark`` update, fill, replay bar re-values the coin. Until such a mark is known
  the given ``index_prices`` value stands (and a coin without either is an error naming it). The perp's
  mark stands in for Binance's spot index: they differ by the basis.
* **The pool.** Every wallet asset backs every cross position, whatever its settlement asset; PnL, fees and
  funding settle in the position's asset, whose wallet may go negative (a debt valued at the ask rate,
  haircut 1). Available balance in an asset is ``uniAvailableForOrder / askRate``. Isolated positions are
  refused: Binance asks to switch every position to cross before enabling the mode (FAQ 29b45c48…), so
  leaving the mode is the only way to isolated margin (``marginlab modes`` says so).
* **Liquidation price.** :meth:`MultiAssetsMargin.liquidation_price` moves one symbol's price with every
  other position at its mark and every other asset at its index, and moves the coins that symbol prices
  with it (a BTC wallet loses value as a BTC long does). Account equity minus maintenance is linear between
  the tier breakpoints and the prices where an asset's equity changes sign, so the root is solved exactly on
  each interval (no approximation; tested against hand-solved figures and the single-asset formula).
* **Liquidation.** At a margin ratio of 100 % the whole account goes, as Binance states ("all positions will
  be liquidated"): every cross position at its bankruptcy price, its PnL at mark realized into its settlement
  wallet, then every wallet is seized (``CollateralSeized`` events per asset; ``Account.collateral_seized``).
  ``Liquidated.loss`` shares the pool's market value (index, no haircut) among the positions by USD
  notional. No tier step-down, no ADL, no insurance-fund booking in this mode (the seized collateral is
  reported per asset instead, so coins and stablecoins are never added together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from marginlab.domain.enums import MarginMode
from marginlab.domain.liquidation import solve_piecewise_linear
from marginlab.domain.position import Position
from marginlab.domain.precision import ZERO
from marginlab.errors import InputError

ONE = Decimal(1)

MaintenanceFn = Callable[[Position], Decimal]
"""Maintenance requirement of a position at its mark, in its settlement asset (``Account.maintenance_margin``
fits)."""


def tier_maintenance(position: Position) -> Decimal:
    """Return ``notional(mark) * mmr - maintenance_amount`` of the position's tier at mark.

    Parameters
    ----------
    position : Position
        The position; its instrument's tier table supplies the rate and the deduction.

    Returns
    -------
    Decimal
        Maintenance margin in the settlement asset, >= 0 for a table that follows the cum recurrence.
    """
    tier = position.tier()
    return position.notional() * tier.mmr - tier.maintenance_amount


def _finite(field_name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InputError(field_name, value, "a finite Decimal")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetRate:
    """USD conversion of one collateral asset.

    Parameters
    ----------
    asset : str
        Asset code (``"USDT"``).
    index_price : Decimal
        USD index price of one unit of the asset, > 0 (USDTUSD 0.99 in Binance's example).
    bid_buffer, ask_buffer : Decimal
        Fractions in ``[0, 1)`` taken off / added to the index (0.01 == 1 %).
    value_ratio : Decimal
        Collateral value ratio (haircut) in ``[0, 1]`` applied to positive asset equity; 1 for stablecoins in
        Binance's example, 0.95 for BNB/BTC/ETH in its 2021 table.
    """

    asset: str
    index_price: Decimal
    bid_buffer: Decimal = ZERO
    ask_buffer: Decimal = ZERO
    value_ratio: Decimal = ONE

    def __post_init__(self) -> None:
        if not self.asset:
            raise InputError("asset", self.asset, "a non-empty asset code")
        if _finite(f"{self.asset}.index_price", self.index_price) <= ZERO:
            raise InputError(f"{self.asset}.index_price", self.index_price, "a number > 0")
        for name in ("bid_buffer", "ask_buffer"):
            value = _finite(f"{self.asset}.{name}", getattr(self, name))
            if not ZERO <= value < ONE:
                raise InputError(f"{self.asset}.{name}", value, "a fraction in [0, 1)")
        if not ZERO <= _finite(f"{self.asset}.value_ratio", self.value_ratio) <= ONE:
            raise InputError(f"{self.asset}.value_ratio", self.value_ratio, "a fraction in [0, 1]")

    @property
    def bid_rate(self) -> Decimal:
        """Return ``index * (1 - bid buffer)``, USD per unit, used to value holdings."""
        return self.index_price * (ONE - self.bid_buffer)

    @property
    def ask_rate(self) -> Decimal:
        """Return ``index * (1 + ask buffer)``, USD per unit, used to value margins and debts."""
        return self.index_price * (ONE + self.ask_buffer)

    def value(self, amount: Decimal) -> Decimal:
        """Return the USD collateral value of ``amount`` units (signed).

        ``min(amount * bidRate, amount * askRate)``, times the value ratio when positive: a holding is
        worth ``amount * bidRate * ratio``, a debt costs ``amount * askRate`` (ratio 1).
        """
        worth = min(amount * self.bid_rate, amount * self.ask_rate)
        return worth * self.value_ratio if worth > ZERO else worth


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralAsset:
    """One row of a venue's Multi-Assets collateral table.

    Parameters
    ----------
    asset : str
        Asset code (``"BTC"``).
    value_ratio : Decimal
        Collateral value ratio (haircut) in ``[0, 1]``: 0.95 values $1,000 of BTC at $950.
    bid_buffer, ask_buffer : Decimal
        Index buffers in ``[0, 1)`` (``bidRate = index * (1 - bid buffer)``, ``askRate = index * (1 + ask
        buffer)``).
    stable : bool
        A stablecoin: its USD index defaults to 1 unless given.
    index_symbol : str or None
        The perpetual whose mark prices the coin (``"BTCUSDT"``): the coin's USD index is that mark times
        the USD index of the perpetual's settlement asset whenever the account knows the mark.
    """

    asset: str
    value_ratio: Decimal
    bid_buffer: Decimal = ZERO
    ask_buffer: Decimal = ZERO
    stable: bool = False
    index_symbol: str | None = None

    def rate(self, index_price: Decimal) -> AssetRate:
        """Return the asset's USD conversion at ``index_price``."""
        return AssetRate(
            asset=self.asset,
            index_price=index_price,
            bid_buffer=self.bid_buffer,
            ask_buffer=self.ask_buffer,
            value_ratio=self.value_ratio,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralTable:
    """A venue's dated table of Multi-Assets collateral (what may back cross positions, at which haircut).

    Parameters
    ----------
    title : str
        What the table is (``"Binance USDⓈ-M Multi-Assets mode collateral"``).
    published : str
        Date of the venue's table (ISO).
    checked : str
        Date the table was checked against its source (ISO).
    assets : Mapping[str, CollateralAsset]
        Rows keyed by asset code.
    sources : tuple of (title, url)
        The venue pages the rows come from.
    notes : tuple of str
        What the table leaves out or assumes.
    """

    title: str
    published: str
    checked: str
    assets: Mapping[str, CollateralAsset]
    sources: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "assets", MappingProxyType(dict(self.assets)))

    def __repr__(self) -> str:
        return f"<CollateralTable {self.title} {self.published}: {', '.join(self.assets)}>"

    def row(self, asset: str, field_name: str) -> CollateralAsset:
        """Return the row of ``asset``; InputError naming ``field_name`` and the accepted assets if absent."""
        try:
            return self.assets[asset]
        except KeyError:
            raise InputError(
                field_name, asset, f"an asset accepted as Multi-Assets collateral ({', '.join(self.assets)})"
            ) from None

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Decimal]]) -> CollateralTable:
        """Return a copy whose rows take ``{asset: {"value_ratio" | "bid_buffer" | "ask_buffer": value}}``."""
        assets = dict(self.assets)
        for asset, values in overrides.items():
            row = self.row(asset, f"collateral.{asset}")
            unknown = set(values) - {"value_ratio", "bid_buffer", "ask_buffer"}
            if unknown:
                raise InputError(
                    f"collateral.{asset}", sorted(unknown), "value_ratio, bid_buffer, ask_buffer"
                )
            changed = replace(
                row,
                value_ratio=values.get("value_ratio", row.value_ratio),
                bid_buffer=values.get("bid_buffer", row.bid_buffer),
                ask_buffer=values.get("ask_buffer", row.ask_buffer),
            )
            changed.rate(ONE)  # validates the fractions, naming the field
            assets[asset] = changed
        return replace(self, assets=assets)


@dataclass(frozen=True, slots=True, init=False)
class MultiAssetsMargin:
    """A Multi-Assets (shared collateral) cross account at one instant. Immutable.

    Parameters
    ----------
    rates : iterable of AssetRate
        One rate per asset that appears as a wallet or a settlement asset.
    wallets : Mapping[str, Decimal]
        Wallet balance per asset in asset units; may be negative (a debt, e.g. losses realized in USDC).
    positions : iterable of Position
        The cross positions; each settles in an asset of ``rates``.
    maintenance : callable
        Maintenance requirement of a position in its settlement asset; default: its tier's
        ``notional * mmr - cum`` at mark (pass ``account.maintenance_margin`` for a venue's own rule).

    Raises
    ------
    InputError
        Duplicate or missing rates, a non-finite wallet, or an isolated position (Multi-Assets mode is
        cross only).
    """

    rates: Mapping[str, AssetRate]
    wallets: Mapping[str, Decimal]
    positions: tuple[Position, ...]
    maintenance: MaintenanceFn

    def __init__(
        self,
        *,
        rates: Iterable[AssetRate],
        wallets: Mapping[str, Decimal],
        positions: Iterable[Position] = (),
        maintenance: MaintenanceFn = tier_maintenance,
    ) -> None:
        by_asset: dict[str, AssetRate] = {}
        for rate in rates:
            if rate.asset in by_asset:
                raise InputError(f"rates.{rate.asset}", rate, "one rate per asset")
            by_asset[rate.asset] = rate
        balances: dict[str, Decimal] = {}
        for asset, amount in wallets.items():
            if asset not in by_asset:
                raise InputError(f"wallets.{asset}", amount, f"an asset with a rate ({', '.join(by_asset)})")
            balances[asset] = _finite(f"wallets.{asset}", amount)
        held = tuple(positions)
        for position in held:
            if position.mode is not MarginMode.CROSS:
                raise InputError(f"positions.{position.symbol}.mode", position.mode, "cross (Multi-Assets)")
            if position.instrument.settle not in by_asset:
                raise InputError(
                    f"positions.{position.symbol}.settle",
                    position.instrument.settle,
                    f"an asset with a rate ({', '.join(by_asset)})",
                )
        object.__setattr__(self, "rates", MappingProxyType(by_asset))
        object.__setattr__(self, "wallets", MappingProxyType(balances))
        object.__setattr__(self, "positions", held)
        object.__setattr__(self, "maintenance", maintenance)

    def _rate(self, asset: str) -> AssetRate:
        try:
            return self.rates[asset]
        except KeyError:
            raise InputError("asset", asset, f"an asset with a rate ({', '.join(self.rates)})") from None

    def asset_equity(self, asset: str) -> Decimal:
        """Return wallet + unrealized PnL (at mark) of the positions settled in ``asset``, in asset units."""
        self._rate(asset)
        upnl = sum((p.unrealized_pnl() for p in self.positions if p.instrument.settle == asset), ZERO)
        return self.wallets.get(asset, ZERO) + upnl

    def asset_value(self, asset: str) -> Decimal:
        """Return the USD value of the asset's equity (bid rate and haircut if positive, ask rate if not)."""
        return self._rate(asset).value(self.asset_equity(asset))

    def account_equity(self) -> Decimal:
        """Return ``sum of min(assetEquity * bidRate, assetEquity * askRate)`` over the assets, in USD."""
        return sum((self.asset_value(asset) for asset in self.rates), ZERO)

    def initial_margin(self, asset: str) -> Decimal:
        """Return the initial margin (``notional(mark) / leverage``) of the positions settled in ``asset``."""
        self._rate(asset)
        return sum((p.initial_margin() for p in self.positions if p.instrument.settle == asset), ZERO)

    def maintenance_margin(self, asset: str) -> Decimal:
        """Return the maintenance margin of the positions settled in ``asset``, in asset units."""
        self._rate(asset)
        return sum((self.maintenance(p) for p in self.positions if p.instrument.settle == asset), ZERO)

    def account_initial_margin(self) -> Decimal:
        """Return ``sum of IM * askRate(settle)`` over the positions, in USD."""
        return sum((self.initial_margin(a) * self.rates[a].ask_rate for a in self.rates), ZERO)

    def account_maintenance_margin(self) -> Decimal:
        """Return ``sum of MM * askRate(settle)`` over the positions, in USD."""
        return sum((self.maintenance_margin(a) * self.rates[a].ask_rate for a in self.rates), ZERO)

    def uni_available_for_order(self) -> Decimal:
        """Return ``accountEquity - accountIM`` in USD (negative when the margins exceed the equity)."""
        return self.account_equity() - self.account_initial_margin()

    def available_for_order(self, asset: str) -> Decimal:
        """Return ``uniAvailableForOrder / askRate(asset)``: what new orders margined in ``asset`` may use."""
        return self.uni_available_for_order() / self._rate(asset).ask_rate

    def margin_ratio(self) -> Decimal | None:
        """Return ``accountMM / accountEquity`` (1 == 100 %, liquidation), or None if equity <= 0."""
        equity = self.account_equity()
        return self.account_maintenance_margin() / equity if equity > ZERO else None

    def is_liquidatable(self) -> bool:
        """Return whether the account equity is at or below the account maintenance margin."""
        return self.account_equity() <= self.account_maintenance_margin()

    def market_value(self) -> Decimal:
        """Return the USD value of every asset's equity at its index (no buffer, no haircut)."""
        return sum((self.asset_equity(a) * self.rates[a].index_price for a in self.rates), ZERO)

    # ------------------------------------------------------------------ the price of one symbol moving
    def repriced(
        self, symbol: str, price: Decimal, *, reference: Decimal, coins: Iterable[str] = ()
    ) -> MultiAssetsMargin:
        """Return the account with ``symbol``'s positions marked at ``price`` and ``coins`` moving with it.

        Each asset of ``coins`` (collateral priced by ``symbol``'s mark, e.g. BTC by BTCUSDT) has its index
        scaled by ``price / reference``, where ``reference`` is ``symbol``'s current mark.
        """
        moving = set(coins)
        rates = [
            replace(r, index_price=r.index_price * price / reference) if a in moving else r
            for a, r in self.rates.items()
        ]
        positions = [p.with_mark(price) if p.symbol == symbol else p for p in self.positions]
        return MultiAssetsMargin(
            rates=rates, wallets=self.wallets, positions=positions, maintenance=self.maintenance
        )

    def liquidation_price(
        self,
        symbol: str,
        *,
        reference: Decimal,
        coins: Iterable[str] = (),
        breakpoints: Iterable[Decimal] = (),
        maintenance: bool = True,
    ) -> Decimal | None:
        """Return the mark of ``symbol`` at which account equity meets the account maintenance margin.

        Every other position stays at its mark and every other asset at its index; ``coins`` move with the
        price (see :meth:`repriced`). Account equity minus maintenance is linear in the price between the
        tier ``breakpoints`` of ``symbol``'s legs and the prices where an asset's equity changes sign (a
        holding is valued at the bid rate times the haircut, a debt at the ask rate): the root is solved
        exactly on every such interval (:func:`~marginlab.domain.liquidation.solve_piecewise_linear`).
        ``maintenance=False`` gives the bankruptcy price (account equity = 0). None if no positive price.
        """
        moving = tuple(coins)
        legs = [p for p in self.positions if p.symbol == symbol]
        if not legs:
            return None
        kinks = set(breakpoints)
        for asset in self.rates:
            slope = sum((p.signed_qty for p in legs if p.instrument.settle == asset), ZERO)
            if slope != ZERO:
                kinks.add(reference - self.asset_equity(asset) / slope)

        def condition(price: Decimal) -> Decimal:
            there = self.repriced(symbol, price, reference=reference, coins=moving)
            equity = there.account_equity()
            return equity - there.account_maintenance_margin() if maintenance else equity

        return solve_piecewise_linear(condition, kinks, reference=reference)

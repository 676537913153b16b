"""The portfolio and what-if script file formats, validated with pydantic.

Numbers may be given as strings to stay exact; TOML/JSON floats are read as Decimal by
:func:`marginlab.io.files.read_document`. Unknown keys are errors (a typo must not be silently ignored).
Validation errors become one-line :class:`~marginlab.errors.InputError` messages naming the field path
(``positions[0].qty``) and the value.

Every number (:data:`Number`) is an int, a Decimal or a string of ASCII digits (``"0.1"``, ``"-2.5e3"``;
not ``"1_000"``, not another script's digits, not ``nan``/``inf``), and finite, of magnitude at most
1e24 (``LARGEST``) and, unless 0, at least 1e-18 (``FINEST``, the engine's finest place): ``"1e400"`` and
``"1e-999999"`` are refused here, naming the field, instead of overflowing a computation later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from marginlab.domain.enums import Liquidity, MarginMode, PositionMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.precision import FINEST, LARGEST, NUMBER_TEXT, ZERO
from marginlab.errors import SHOWN, InputError, shown

SYMBOL_LENGTH = 64
"""Longest symbol accepted (``XYZ-AAPL/USDC:USDC`` has 18 characters)."""


def _number(value: object) -> Decimal:
    """Return a file's number as an exact Decimal, or raise ValueError saying what it must be."""
    if isinstance(value, bool):
        raise ValueError("a number, not a boolean")
    if isinstance(value, float):
        raise ValueError("an exact number: a str ('0.1'), an int or a Decimal, not a binary float")
    if isinstance(value, str):
        if not NUMBER_TEXT.fullmatch(value.strip()):
            raise ValueError("a number in ASCII digits such as '0.1' or '2.5e3' (no '_', no nan or inf)")
        value = Decimal(value.strip())
    elif isinstance(value, int):
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise ValueError("a number (a str such as '0.1', or an int)")
    if not value.is_finite():
        raise ValueError("a finite number")
    if abs(value) > LARGEST:
        raise ValueError("a number of magnitude at most 1e24")
    if value and abs(value) < FINEST:
        raise ValueError("0 or a number of magnitude at least 1e-18")
    return value


Number = Annotated[Decimal, BeforeValidator(_number)]
Positive = Annotated[Number, Field(gt=0)]
NonNegative = Annotated[Number, Field(ge=0)]
Rate = Number
Leverage = Annotated[Number, Field(ge=1)]
Fee = Annotated[Number, Field(ge=0, lt=1)]
Symbol = Annotated[str, Field(min_length=1, max_length=SYMBOL_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentOverrides(_Strict):
    """Instrument fields a file may set for a symbol the bundled data lacks (or to override it)."""

    mmr: Annotated[Number, Field(ge=0, lt=1)] | None = None
    maintenance_amount: NonNegative | None = None
    taker_fee: Fee | None = None
    max_leverage: Leverage | None = None


class AutoAddSpec(_Strict):
    """Auto-add policy of an isolated position: top up when maintenance / equity reaches ``trigger``."""

    trigger: Annotated[Number, Field(gt=0, le=1)] = Decimal("0.8")
    target: Annotated[Number, Field(gt=0, lt=1)] = Decimal("0.5")

    @model_validator(mode="after")
    def _order(self) -> AutoAddSpec:
        if self.target >= self.trigger:
            raise ValueError("target must be below trigger")
        return self


class PositionSpec(InstrumentOverrides):
    """One position of a portfolio file (see the README for every key).

    Where isolated margin comes from, the one rule every command follows: an isolated position's
    ``margin`` (default ``qty * entry / leverage``) is its own wallet, **on top of** the portfolio's
    ``balances`` (the cross wallet) — whether the position has an ``entry`` or opens later in a replay.

    ``open_at``, ``stop_loss``, ``take_profit`` and ``auto_add_margin`` are used by replay only.
    """

    symbol: Symbol
    side: Side
    qty: Positive | None = None
    notional: Positive | None = None
    entry: Positive | None = None
    mark: Positive | None = None
    mode: MarginMode = MarginMode.CROSS
    leverage: Leverage | None = None
    margin: Positive | None = None
    open_at: datetime | None = None
    stop_loss: Positive | None = None
    take_profit: Positive | None = None
    auto_add_margin: AutoAddSpec | None = None

    @model_validator(mode="after")
    def _size_and_margin(self) -> PositionSpec:
        if (self.qty is None) == (self.notional is None):
            raise ValueError("give exactly one of qty or notional")
        if self.margin is not None and self.mode is MarginMode.CROSS:
            raise ValueError("margin applies to isolated positions only")
        if self.entry is not None and self.stop_loss is not None:
            check_stop(self.side, self.stop_loss, self.entry, "entry")
        if self.open_at is not None and self.open_at.tzinfo is None:
            object.__setattr__(self, "open_at", self.open_at.replace(tzinfo=UTC))
        return self

    def quantity(self, instrument: Instrument, price: Decimal) -> Decimal:
        """Return the size in base units: ``qty`` as given, or ``notional / price`` rounded down to the lot.

        The one rule every command applies (``liq``, ``modes``, ``compare``, ``risk``): a notional buys
        whole lots at ``price`` (quote per base), never more than the notional.

        Raises
        ------
        InputError
            If the notional buys less than one lot at ``price`` (names ``notional``).
        """
        if self.qty is not None:
            if self.qty < instrument.lot_size:
                raise InputError(
                    "qty", self.qty, f"at least one lot ({instrument.lot_size} {instrument.symbol})"
                )
            return self.qty
        assert self.notional is not None  # noqa: S101 - the validator requires one of qty and notional
        if self.notional / price > LARGEST:
            raise InputError(
                "notional", self.notional, f"a notional buying at most 1e24 {instrument.symbol} at {price}"
            )
        qty = instrument.round_qty_down(self.notional / price)
        if qty <= ZERO:
            raise InputError(
                "notional",
                self.notional,
                f"at least one lot ({instrument.lot_size} {instrument.symbol}) at {price}",
            )
        return qty


def check_stop(side: Side, stop_loss: Decimal, price: Decimal, what: str) -> None:
    """Refuse a stop-loss on the wrong side of the price a position opens at (it would fire at once).

    Raises
    ------
    ValueError
        For a long whose ``stop_loss`` is at or above ``price``, or a short whose is at or below it.
    """
    if side is Side.LONG and stop_loss >= price:
        raise ValueError(
            f"stop_loss {stop_loss} of a long must be below its {what} {price} (it would stop out at once)"
        )
    if side is Side.SHORT and stop_loss <= price:
        raise ValueError(
            f"stop_loss {stop_loss} of a short must be above its {what} {price} (it would stop out at once)"
        )


class CollateralSpec(_Strict):
    """Multi-Assets mode: one asset's collateral terms, overriding the venue's bundled table."""

    value_ratio: Annotated[Number, Field(ge=0, le=1)] | None = None
    bid_buffer: Annotated[Number, Field(ge=0, lt=1)] | None = None
    ask_buffer: Annotated[Number, Field(ge=0, lt=1)] | None = None

    def values(self) -> dict[str, Decimal]:
        """Return the terms given, by name."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class _MultiAssets(_Strict):
    """Multi-Assets mode keys shared by portfolios and scripts (see the README).

    ``multi_assets = true`` puts every balance (BTC, ETH, BNB, USDC, …) behind every cross position;
    ``index_prices`` gives assets' USD index (stablecoins default to 1; a coin defaults to the mark of its
    perpetual, BTCUSDT for BTC); ``collateral.ASSET`` overrides the bundled ``value_ratio``, ``bid_buffer``,
    ``ask_buffer``.
    """

    multi_assets: bool = False
    index_prices: dict[Symbol, Positive] = Field(default_factory=dict)
    collateral: dict[Symbol, CollateralSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _multi_assets_keys(self) -> _MultiAssets:
        if not self.multi_assets:
            for key in ("index_prices", "collateral"):
                if getattr(self, key):
                    raise ValueError(f"{key} applies in Multi-Assets mode only (multi_assets = true)")
        return self


class Portfolio(_MultiAssets):
    """A portfolio file: venue, position mode, cross balances and positions."""

    exchange: str = "binance"
    position_mode: PositionMode = PositionMode.ONE_WAY
    balances: dict[Symbol, NonNegative] = Field(default_factory=dict)
    positions: list[PositionSpec] = Field(default_factory=list)


class _Step(_Strict):
    """Every step may say what it expects: ``expect = "refused"`` marks a step the venue must refuse
    (a refusal then does not stop the run; the step going through does)."""

    op: str
    expect: Literal["ok", "refused"] = "ok"


class OpenStep(_Step):
    """Open a position at a fill price."""

    op: Literal["open"]
    symbol: Symbol
    side: Side
    qty: Positive | None = None
    notional: Positive | None = None
    price: Positive
    leverage: Leverage | None = None
    mode: MarginMode | None = None
    margin: Positive | None = None
    liquidity: Liquidity = Liquidity.TAKER

    @model_validator(mode="after")
    def _size(self) -> OpenStep:
        if (self.qty is None) == (self.notional is None):
            raise ValueError("give exactly one of qty or notional")
        return self


class ResizeStep(_Step):
    """Increase or reduce an open position."""

    op: Literal["increase", "reduce"]
    symbol: Symbol
    side: Side | None = None
    qty: Positive
    price: Positive
    liquidity: Liquidity = Liquidity.TAKER


class CloseStep(_Step):
    """Close a whole position."""

    op: Literal["close"]
    symbol: Symbol
    side: Side | None = None
    price: Positive
    liquidity: Liquidity = Liquidity.TAKER


class MarginStep(_Step):
    """Add or remove isolated margin."""

    op: Literal["add_margin", "remove_margin"]
    symbol: Symbol
    side: Side | None = None
    amount: Positive


class LeverageStep(_Step):
    """Change a symbol's leverage."""

    op: Literal["set_leverage"]
    symbol: Symbol
    leverage: Leverage


class ModeStep(_Step):
    """Change a symbol's margin mode."""

    op: Literal["set_mode"]
    symbol: Symbol
    mode: MarginMode


class MarkStep(_Step):
    """Move mark prices and run the liquidation check."""

    op: Literal["mark"]
    prices: dict[Symbol, Positive] = Field(min_length=1)


class FundingStep(_Step):
    """Settle funding at the given rates (fractions; positive: longs pay)."""

    op: Literal["funding"]
    rates: dict[Symbol, Rate] = Field(min_length=1)


Step = Annotated[
    OpenStep | ResizeStep | CloseStep | MarginStep | LeverageStep | ModeStep | MarkStep | FundingStep,
    Field(discriminator="op"),
]


class Script(_MultiAssets):
    """A what-if script: a starting account and the steps to drive it through."""

    exchange: str = "binance"
    position_mode: PositionMode = PositionMode.ONE_WAY
    balances: dict[Symbol, NonNegative] = Field(default_factory=dict)
    instruments: dict[Symbol, InstrumentOverrides] = Field(default_factory=dict)
    insurance_fund: NonNegative | None = None
    steps: list[Step] = Field(min_length=1)


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], doc: dict[str, Any], *, where: str = "") -> Model:
    """Validate ``doc`` as ``model``; raise InputError naming the first bad field and its value."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = (f"{where}: " if where else "") + _path(error["loc"])
        value = error.get("input")
        kind = error["type"]
        if kind == "missing":
            raise InputError(field, None, "", problem="required value is missing") from None
        if kind == "extra_forbidden":
            raise InputError(field, value, "", problem=f"unknown key (value {shown(value)})") from None
        if kind == "union_tag_invalid":
            tags = error.get("ctx", {}).get("expected_tags", "")
            raise InputError(
                f"{field}.op", value.get("op") if isinstance(value, dict) else value, f"one of {tags}"
            ) from None
        message = (
            error["msg"]
            .removeprefix("Value error, ")
            .removeprefix("Input should be ")
            .removeprefix("String should have ")
        )
        if isinstance(value, dict):
            raise InputError(field, None, "", problem=message) from None
        raise InputError(field, value, message) from None


_STEP_TAGS = frozenset(
    {"open", "increase", "reduce", "close", "add_margin", "remove_margin", "set_leverage", "set_mode"}
    | {"mark", "funding"}
)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 2 and loc[0] == "steps" and isinstance(loc[1], int) and part in _STEP_TAGS:
            continue  # the discriminator tag pydantic inserts for the tagged union of steps
        elif not part or not part.isprintable() or part != part.strip() or "." in part:
            out += f"[{shown(part)}]"  # a key that would not read as one: '', ' x', 'a.b', control chars
        else:
            name = part if len(part) <= SHOWN else part[:SHOWN] + "…"
            out += f".{name}" if out else name
    return out or "(document)"

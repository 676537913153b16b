"""The Python API boundary of ``Account`` (issue 7 point 4, issue 8 point 9).

Plain ints and strings are exact numbers; floats are refused with the reason; enum strings work where enums
are expected; every bad call raises a MarginLabError naming the argument and the value; the account has a
short repr; an imported position already past its liquidation is flagged.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.errors import InputError, MarginLabError
from marginlab.rules import get_venue

D = Decimal
VENUE = get_venue("binance")


def test_int_and_str_balances_are_exact() -> None:
    assert Account(VENUE, balances={"USDT": 10000}).wallet("USDT") == D(10000)
    assert Account(VENUE, balances={"USDT": "10000.5"}).wallet("USDT") == D("10000.5")


def test_large_amounts_with_more_than_18_places_are_rounded_not_refused() -> None:
    # 12 integer digits + 19 places: rounding to 18 places needs more than Decimal's default 28 digits
    wallet = Account(VENUE, balances={"USDT": "999999999999.1234567890123456789"}).wallet("USDT")
    assert wallet == D("999999999999.123456789012345679")
    huge = Account(VENUE, balances={"USDT": "100000000000000000000000.3333333333333333333"})
    assert huge.wallet("USDT") == D("100000000000000000000000.333333333333333333")  # 42 digits, exact


def test_a_float_is_refused_with_the_reason() -> None:
    with pytest.raises(
        InputError, match=r"balances.USDT: binary floats are not exact .*pass a str or Decimal"
    ):
        Account(VENUE, balances={"USDT": 10000.0})


def test_enum_strings_are_accepted() -> None:
    account = Account(VENUE, balances={"USDT": 10000}, position_mode="hedge")
    events = account.open("BTCUSDT", "long", "0.01", 100000, leverage=10, mode="isolated")
    opened = events[0]
    assert isinstance(opened, ev.PositionOpened)
    assert opened.side is Side.LONG
    assert opened.mode is MarginMode.ISOLATED
    assert account.position("BTCUSDT", "long").margin == D(100)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: a.open("BTCUSDT", "sideways", "0.01", 100000), "side"),
        (lambda a: a.open("BTCUSDT", "long", "0.01", 100000, mode="crossed"), "mode"),
        (lambda a: a.open("BTCUSDT", "long", 0.01, 100000), "qty"),
        (lambda a: a.open("BTCUSDT", "long", "abc", 100000), "qty"),
        (lambda a: a.open("BTCUSDT", "long", "0.01", "nan"), "price"),
        (lambda a: a.open("BTCUSDT", "long", "0.01", "1e999999"), "price"),
        (lambda a: a.open("BTCUSDT", "long", "0.0001", 100000), "qty"),
        (lambda a: a.open("BTCUSDT", "long", "0.01", 100000, leverage="0.5"), "leverage"),
        (lambda a: a.open(42, "long", "0.01", 100000), "symbol"),
        (lambda a: a.deposit("USDT", -5), "amount"),
        (lambda a: a.deposit("USDT", True), "amount"),
        (lambda a: a.update_marks({"BTCUSDT": 1.5}), "prices.BTCUSDT"),
        (lambda a: a.apply_funding({"BTCUSDT": "x"}), "rates.BTCUSDT"),
    ],
)
def test_bad_calls_raise_a_marginlab_error_naming_the_argument(call: object, field: str) -> None:
    account = Account(VENUE, balances={"USDT": 10000})
    before = (account.wallets, account.positions, len(account.ledger))
    with pytest.raises(MarginLabError) as info:
        call(account)  # type: ignore[operator]
    assert str(info.value).startswith(f"{field}:")
    assert (account.wallets, account.positions, len(account.ledger)) == before


def test_a_long_string_is_not_echoed_whole() -> None:
    with pytest.raises(InputError) as info:
        Account(VENUE, balances={"USDT": "9" * 100_000 + "x"})
    assert len(str(info.value)) < 300


def test_repr_is_short() -> None:
    account = Account(VENUE, balances={"USDT": 10000})
    account.open("BTCUSDT", "long", "0.01", 100000, leverage=10, mode="isolated")
    assert repr(account) == "<Account binance one-way: USDT 9899.5; 0 cross, 1 isolated>"


def test_prices_do_not_come_back_with_50_digits() -> None:
    account = Account(VENUE, balances={"USDT": 10000})
    account.open("BTCUSDT", "long", "0.05", 100000, leverage=10, mode="isolated")
    account.increase("BTCUSDT", "0.02", 100100)
    pos = account.position("BTCUSDT")
    assert pos.entry == D("100028.57142857")  # 8 decimals, like Binance's positionRisk
    liq = account.liquidation_price(pos)
    assert liq is not None
    assert len(liq.as_tuple().digits) <= 28


def test_an_import_past_its_liquidation_is_flagged() -> None:
    account = Account(VENUE, balances={"USDT": 10000})
    (imported,) = account.import_position(
        VENUE.instrument("BTCUSDT"), "long", "0.05", 100000, mark=80000, leverage=10, mode="isolated",
        margin=500,
    )  # fmt: skip
    assert isinstance(imported, ev.PositionImported)
    assert imported.liquidatable is True
    (healthy,) = Account(VENUE).import_position(
        VENUE.instrument("BTCUSDT"), "long", "0.05", 100000, leverage=10, mode="isolated"
    )
    assert isinstance(healthy, ev.PositionImported)
    assert healthy.liquidatable is False

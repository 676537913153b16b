"""The engine refuses marks and funding rates for symbols its venue does not list (issue 8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.account import Account
from marginlab.errors import InputError, MarginLabError
from marginlab.rules import get_venue


def account() -> Account:
    book = Account(get_venue("binance"), balances={"USDT": Decimal(10000)})
    book.open("BTCUSDT", "long", "0.05", "100000", leverage="10")
    return book


def test_a_mark_for_an_unknown_symbol_is_refused_by_name_and_changes_nothing() -> None:
    book = account()
    before = (book.wallet("USDT"), book.positions)
    with pytest.raises(InputError, match=r"^prices\.FOOUSDT: unknown symbol 'FOOUSDT': Binance"):
        book.update_marks({"BTCUSDT": "95000", "FOOUSDT": "1"})
    assert (book.wallet("USDT"), book.positions) == before  # BTCUSDT's mark did not move either
    assert book.positions[0].mark == Decimal(100000)


def test_funding_for_an_unknown_symbol_is_refused_by_name() -> None:
    book = account()
    with pytest.raises(InputError, match=r"^rates\.FOOUSDT: unknown symbol 'FOOUSDT'"):
        book.apply_funding({"FOOUSDT": "0.01"})


def test_a_listed_symbol_without_a_position_still_takes_a_mark() -> None:
    book = account()
    events = book.update_marks({"ETHUSDT": "3000"})
    assert [type(e).__name__ for e in events] == ["MarkUpdated"]


def test_a_huge_unknown_symbol_is_not_echoed_whole() -> None:
    with pytest.raises(MarginLabError) as caught:
        account().update_marks({"Z" * 1_000_000: "1"})
    assert len(str(caught.value)) < 300
    assert "ZZZZ…" in str(caught.value)


@pytest.mark.parametrize("text", ["1_000", "١٠٠", "nan", "inf", "1e5x"])
def test_the_engine_takes_numbers_in_ascii_digits_only(text: str) -> None:
    with pytest.raises(InputError, match=r"^prices\.BTCUSDT: expected a decimal number in ASCII digits"):
        account().update_marks({"BTCUSDT": text})

"""ADL ranking (BitMEX/Binance wording, exchange-rules.md §1.4) against hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.domain.adl import adl_queue, adl_rank, adl_score
from marginlab.domain.enums import MarginMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.position import Position
from marginlab.domain.tiers import TierTable
from marginlab.errors import InputError

D = Decimal
BTCUSDT = Instrument(
    symbol="BTCUSDT", base="BTC", settle="USDT", tiers=TierTable.flat(mmr=D("0.004"), max_leverage=D(125))
)


def pos(side: Side, qty: str, entry: str, mark: str) -> Position:
    return Position(
        instrument=BTCUSDT,
        side=side,
        qty=D(qty),
        entry=D(entry),
        mark=D(mark),
        leverage=D(10),
        mode=MarginMode.CROSS,
    )


def test_profitable_long() -> None:
    # MarkValue 110, AvgEntryValue 100, BankruptValue 90
    rank = adl_rank(pos(Side.LONG, "1", "100", "110"), D(90))
    assert rank.pnl_ratio == D("0.1")  # (110 - 100) / 100
    assert rank.effective_leverage == D("5.5")  # 110 / (110 - 90)
    assert rank.score == D("0.55")  # 0.1 * 5.5


def test_losing_long_divides_by_leverage() -> None:
    # PNL% = (110 - 120) / 120 = -1/12; leverage 110 / (110 - 100) = 11; score = -1/12 / 11 = -1/132
    rank = adl_rank(pos(Side.LONG, "1", "120", "110"), D(100))
    assert rank.effective_leverage == D(11)
    assert rank.score.quantize(D("1e-20")) == D("-0.00757575757575757576")
    assert rank.score < 0


def test_quantity_cancels_out() -> None:
    assert adl_score(pos(Side.LONG, "7.5", "100", "110"), D(90)) == D("0.55")


def test_isolated_long_at_ten_x() -> None:
    # 1 BTC @ 20,000 with 2,000 margin: bankruptcy 18,000; mark 22,000 -> 10 % * 22,000 / 4,000 = 0.55
    assert adl_score(pos(Side.LONG, "1", "20000", "22000"), D(18_000)) == D("0.55")


def test_profitable_short_has_positive_pnl() -> None:
    # MarkValue -90, AvgEntryValue -100, BankruptValue -99
    rank = adl_rank(pos(Side.SHORT, "1", "100", "90"), D(99))
    assert rank.pnl_ratio == D("0.1")  # (-90 + 100) / 100
    assert rank.effective_leverage == D(10)  # 90 / (-90 + 99)
    assert rank.score == D(1)


def test_losing_short() -> None:
    # PNL% = (-110 + 100) / 100 = -0.1; leverage 110 / (-110 + 121) = 10; score -0.01
    rank = adl_rank(pos(Side.SHORT, "1", "100", "110"), D(121))
    assert rank.pnl_ratio == D("-0.1")
    assert rank.effective_leverage == D(10)
    assert rank.score == D("-0.01")


def test_zero_pnl_scores_zero() -> None:
    assert adl_score(pos(Side.LONG, "1", "100", "100"), D(90)) == 0


def test_fully_collateralised_long_has_leverage_one() -> None:
    rank = adl_rank(pos(Side.LONG, "1", "100", "110"), D(0))
    assert rank.effective_leverage == 1
    assert rank.score == D("0.1")


def test_higher_leverage_and_more_profit_rank_first() -> None:
    high_leverage = pos(Side.LONG, "1", "100", "110")  # bankrupt 90: 0.55
    low_leverage = pos(Side.LONG, "2", "100", "110")  # bankrupt 60: 0.1 * 110 / 50 = 0.22
    more_profit = pos(Side.LONG, "1", "100", "120")  # bankrupt 100: 0.2 * 120 / 20 = 1.2
    losing = pos(Side.LONG, "1", "120", "110")  # bankrupt 100: -1/132
    short = pos(Side.SHORT, "1", "100", "90")  # ignored in the long queue
    queue = adl_queue(
        [
            (losing, D(100)),
            (low_leverage, D(60)),
            (short, D(99)),
            (high_leverage, D(90)),
            (more_profit, D(100)),
        ],
        Side.LONG,
    )
    assert [r.position for r in queue] == [more_profit, high_leverage, low_leverage, losing]
    assert [r.score for r in queue[:3]] == [D("1.2"), D("0.55"), D("0.22")]


def test_short_queue_is_separate_and_signed() -> None:
    winner = pos(Side.SHORT, "1", "100", "90")  # 1.0
    loser_high_lev = pos(Side.SHORT, "1", "100", "110")  # -0.1 / 10 = -0.01
    loser_low_lev = pos(Side.SHORT, "1", "80", "90")  # -0.125 / (90 / 90) = -0.125
    long = pos(Side.LONG, "1", "100", "200")
    queue = adl_queue(
        [(loser_low_lev, D(180)), (long, D(10)), (loser_high_lev, D(121)), (winner, D(99))], Side.SHORT
    )
    assert [r.position for r in queue] == [winner, loser_high_lev, loser_low_lev]
    assert [r.score for r in queue] == [D(1), D("-0.01"), D("-0.125")]


def test_equal_scores_keep_input_order() -> None:
    first = pos(Side.LONG, "1", "100", "110")
    second = pos(Side.LONG, "3", "100", "110")
    queue = adl_queue([(first, D(90)), (second, D(90))], Side.LONG)
    assert [r.position for r in queue] == [first, second]


def test_empty_side_gives_empty_queue() -> None:
    assert adl_queue([(pos(Side.LONG, "1", "100", "110"), D(90))], Side.SHORT) == []


@pytest.mark.parametrize(
    ("side", "bankruptcy"),
    [(Side.LONG, "110"), (Side.LONG, "111"), (Side.SHORT, "110"), (Side.SHORT, "100")],
)
def test_bankruptcy_on_the_wrong_side_of_mark_is_rejected(side: Side, bankruptcy: str) -> None:
    with pytest.raises(InputError) as caught:
        adl_score(pos(side, "1", "100", "110"), D(bankruptcy))
    assert caught.value.field == "positions.BTCUSDT.bankruptcy_price"
    assert caught.value.value == D(bankruptcy)


def test_non_positive_entry_is_rejected() -> None:
    with pytest.raises(InputError, match=r"positions\.BTCUSDT\.entry"):
        adl_score(pos(Side.LONG, "1", "0", "110"), D(90))

"""Golden tests of the Binance liquidation price against published and hand-computed figures.

Sources: shared/reference/exchange-rules.md §1.1 (formula, bracket rule, hedge rule), §1.5 (the Binance FAQ
worked example b3c689c1f50a44cabb3a84e663b81d93, also in freqtrade's ``test_liquidation_price_binance``).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from marginlab.domain import events as ev
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.domain.instrument import Instrument
from marginlab.domain.liquidation import equity_minus_requirement
from marginlab.domain.tiers import TierTable
from marginlab.rules import get_venue

D = Decimal
CENT = D("0.01")
VENUE = get_venue("binance")

# --- Binance FAQ example (§1.5) ---
WB = D("1535443.01")
BTC_QTY, BTC_ENTRY, BTC_MARK = D("109.488"), D("32481.98"), D("31967.27")
ETH_QTY, ETH_ENTRY, ETH_MARK = D("3683.979"), D("1456.84"), D("1335.18")


def faq_instruments() -> tuple[Instrument, Instrument]:
    """Return BTC (MMR 2.5 %, cum 16,300) and ETH (MMR 10 %, cum 135,365) as in the FAQ's old brackets."""
    btc = VENUE.custom_instrument(
        "BTCUSDT", tiers=TierTable.flat(mmr=D("0.025"), max_leverage=D(125), maintenance_amount=D(16300))
    )
    eth = VENUE.custom_instrument(
        "ETHUSDT", tiers=TierTable.flat(mmr=D("0.10"), max_leverage=D(125), maintenance_amount=D(135365))
    )
    return btc, eth


def faq_cross_account() -> Account:
    btc, eth = faq_instruments()
    account = Account(VENUE, balances={"USDT": WB})
    account.import_position(btc, Side.LONG, BTC_QTY, BTC_ENTRY, mark=BTC_MARK)
    account.import_position(eth, Side.LONG, ETH_QTY, ETH_ENTRY, mark=ETH_MARK)
    return account


def stepped(value: Decimal, instrument: Instrument) -> Decimal:
    """Return ``value`` as the account reports a solved price: to 28 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 28
        return +value


def cents(value: Decimal | None) -> Decimal:
    assert value is not None
    return value.quantize(CENT)


def test_faq_cross_intermediate_values() -> None:
    account = faq_cross_account()
    btc, eth = account.position("BTCUSDT"), account.position("ETHUSDT")
    # the FAQ prints MM to 5 and 3 decimals: 71,200.811444 and 356,512.508122 exactly
    assert account.maintenance_margin(btc) == D("71200.811444")
    assert account.maintenance_margin(btc).quantize(D("0.00001")) == D("71200.81144")
    assert account.maintenance_margin(eth) == D("356512.508122")
    assert account.maintenance_margin(eth).quantize(D("0.001")) == D("356512.508")
    assert cents(btc.unrealized_pnl()) == D("-56354.57")
    assert cents(eth.unrealized_pnl()) == D("-448192.89")
    assert account.cross_margin_balance("USDT").quantize(D("0.001")) == D("1030895.556")
    assert account.cross_maintenance_margin("USDT").quantize(D("0.001")) == D("427713.320")
    ratio = account.margin_ratio(btc)
    assert ratio is not None
    assert ratio.quantize(D("0.0001")) == D("0.4149")
    assert account.margin_ratio(eth) == ratio  # one cross pool


def test_faq_cross_liquidation_prices_to_the_cent() -> None:
    account = faq_cross_account()
    btc, eth = account.position("BTCUSDT"), account.position("ETHUSDT")
    assert cents(account.liquidation_price(btc)) == D("26316.89")
    assert cents(account.liquidation_price(eth)) == D("1153.26")
    # §1.1 by hand for BTC: (WB - TMM1 + UPNL1 + cum - Q*EP) / (Q*MMR - Q), TMM1/UPNL1 = ETH at its mark
    with localcontext() as ctx:
        ctx.prec = 50
        tmm1 = ETH_QTY * ETH_MARK * D("0.10") - D(135365)
        upnl1 = ETH_QTY * (ETH_MARK - ETH_ENTRY)
        by_hand = (WB - tmm1 + upnl1 + D(16300) - BTC_QTY * BTC_ENTRY) / (BTC_QTY * D("0.025") - BTC_QTY)
    lp = account.liquidation_price(btc)
    assert lp is not None
    assert lp == stepped(by_hand, btc.instrument)


def test_faq_cross_margin_ratio_is_one_at_each_liquidation_price() -> None:
    account = faq_cross_account()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        lp = account.liquidation_price(account.position(symbol))
        assert lp is not None
        moved = faq_cross_account()
        moved._sync_marks(symbol, lp)  # evaluate the pool at the LP without running the liquidation
        ratio = moved.margin_ratio(moved.position(symbol))
        assert ratio is not None
        assert abs(ratio - 1) < D("1e-20")


def test_faq_inputs_as_isolated_positions() -> None:
    """freqtrade's "isolated" variant: TMM = UPNL = 0, WB as the isolated wallet of each position."""
    btc, eth = faq_instruments()
    account = Account(VENUE)
    account.import_position(
        btc, Side.LONG, BTC_QTY, BTC_ENTRY, mark=BTC_MARK, mode=MarginMode.ISOLATED, margin=WB
    )
    account.import_position(
        eth, Side.LONG, ETH_QTY, ETH_ENTRY, mark=ETH_MARK, mode=MarginMode.ISOLATED, margin=WB
    )
    assert cents(account.liquidation_price(account.position("ETHUSDT"))) == D("1114.78")
    assert cents(account.liquidation_price(account.position("BTCUSDT"))) == D("18778.73")


def test_faq_bankruptcy_price_cross() -> None:
    """Bankruptcy = the same formula with MMR = cum = 0 (§0): WB + UPNL1 + Q*(BP - EP) = 0."""
    account = faq_cross_account()
    btc = account.position("BTCUSDT")
    upnl_eth = ETH_QTY * (ETH_MARK - ETH_ENTRY)
    with localcontext() as ctx:
        ctx.prec = 50
        by_hand = BTC_ENTRY - (WB + upnl_eth) / BTC_QTY
    bp = account.bankruptcy_price(btc)
    assert bp is not None
    assert bp == stepped(by_hand, btc.instrument)
    assert cents(bp) == D("22551.67")
    lp = account.liquidation_price(btc)
    assert lp is not None
    assert lp > bp  # a long liquidates before it is bankrupt


# --- bracket rule with the bundled 2026-09 BTCUSDT tiers ---
def test_bundled_btc_tiers_snapshot() -> None:
    tiers = VENUE.instrument("BTCUSDT").tiers
    assert tiers.follows_recurrence()
    assert [(t.cap, t.mmr, t.maintenance_amount) for t in tiers.tiers[2:4]] == [
        (D(3000000), D("0.0065"), D(1500)),
        (D(12000000), D("0.01"), D(12000)),
    ]


def test_tier_iteration_short_crosses_into_next_bracket() -> None:
    """Short 29 BTC @ 100,000 (2.9M, tier 3), isolated margin 145,000: at the LP the notional is > 3M.

    Binance's rule: use the MMR/cum of the tier at the liquidation price.
    Short: M - Q*(P - E) = Q*P*mmr - cum  =>  P = (M + Q*E + cum) / (Q*(1 + mmr)).
    """
    qty, entry, margin = D(29), D(100000), D(145000)
    account = Account(VENUE, balances={"USDT": D(1000000)})
    account.open("BTCUSDT", Side.SHORT, qty, entry, leverage=D(20), mode=MarginMode.ISOLATED)
    pos = account.position("BTCUSDT")
    assert pos.margin == margin
    assert pos.tier().mmr == D("0.0065")  # tier 3 at entry

    with localcontext() as ctx:
        ctx.prec = 50
        lp_tier4 = (margin + qty * entry + D(12000)) / (qty * D("1.01"))
        lp_tier3 = (margin + qty * entry + D(1500)) / (qty * D("1.0065"))
    lp = account.liquidation_price(pos)
    assert lp is not None
    assert lp == stepped(lp_tier4, pos.instrument)
    assert cents(lp) == D("104370.09")
    assert qty * lp > D(3000000)  # consistent: the tier-4 answer lies in tier 4
    # the entry tier's answer is different and wrong: it also lands in tier 4, where its MMR does not apply
    assert cents(lp_tier3) == D("104373.30")
    assert qty * lp_tier3 > D(3000000)
    assert abs(lp - lp_tier3) > D(3)
    leg = account.leg(pos)
    assert equity_minus_requirement([leg], margin, lp_tier3) < 0  # already past the real threshold


def test_tier_iteration_long_drops_into_lower_bracket() -> None:
    """Long 8.05 BTC @ 100,000 (805k, tier 3) at 75x: at the LP the notional is below 800k (tier 2).

    Long: M + Q*(P - E) = Q*P*mmr - cum  =>  P = (Q*E - M - cum) / (Q*(1 - mmr)).
    """
    qty, entry = D("8.05"), D(100000)
    account = Account(VENUE, balances={"USDT": D(100000)})
    account.open("BTCUSDT", Side.LONG, qty, entry, leverage=D(75), mode=MarginMode.ISOLATED)
    pos = account.position("BTCUSDT")
    margin = pos.margin
    assert margin.quantize(CENT) == D("10733.33")
    assert pos.tier().mmr == D("0.0065")
    with localcontext() as ctx:
        ctx.prec = 50
        lp_tier2 = (qty * entry - margin - D(300)) / (qty * D("0.995"))
        lp_tier3 = (qty * entry - margin - D(1500)) / (qty * D("0.9935"))
    lp = account.liquidation_price(pos)
    assert lp is not None
    assert lp == stepped(lp_tier2, pos.instrument)
    assert qty * lp <= D(800000)
    assert cents(lp) == D("99125.02")
    # the entry tier's formula gives 99,124.64, whose notional (797,953) is in tier 2: inconsistent, wrong
    assert cents(lp_tier3) == D("99124.64")
    assert qty * lp_tier3 <= D(800000)


# --- hedge mode, cross: one shared liquidation price ---
def test_hedge_cross_long_and_short_share_one_liquidation_price() -> None:
    """WB 10,000; long 1 @ 100,000 and short 0.5 @ 102,000, both tier 1 (0.4 %, cum 0) at the LP.

    §1.1 hedge form: LP = (WB + cumL + cumS - QL*EL + QS*ES) / (QL*mmrL + QS*mmrS - QL + QS)
                        = (10,000 - 100,000 + 51,000) / (0.004 + 0.002 - 1 + 0.5) = -39,000 / -0.494.
    """
    account = Account(VENUE, balances={"USDT": D(10000)}, position_mode=PositionMode.HEDGE)
    btc = VENUE.instrument("BTCUSDT")
    account.import_position(btc, Side.LONG, D(1), D(100000), mark=D(100000))
    account.import_position(btc, Side.SHORT, D("0.5"), D(102000), mark=D(100000))
    long_lp = account.liquidation_price(account.position("BTCUSDT", Side.LONG))
    short_lp = account.liquidation_price(account.position("BTCUSDT", Side.SHORT))
    assert long_lp == short_lp
    with localcontext() as ctx:
        ctx.prec = 50
        by_hand = D(-39000) / D("-0.494")
    assert long_lp is not None
    assert long_lp == stepped(by_hand, btc)
    assert cents(long_lp) == D("78947.37")


def test_hedge_isolated_sides_have_their_own_prices() -> None:
    account = Account(VENUE, balances={"USDT": D(10000)}, position_mode=PositionMode.HEDGE)
    btc = VENUE.instrument("BTCUSDT")
    account.import_position(btc, Side.LONG, D(1), D(100000), mode=MarginMode.ISOLATED, margin=D(5000))
    account.import_position(btc, Side.SHORT, D(1), D(100000), mode=MarginMode.ISOLATED, margin=D(5000))
    long_lp = account.liquidation_price(account.position("BTCUSDT", Side.LONG))
    short_lp = account.liquidation_price(account.position("BTCUSDT", Side.SHORT))
    with localcontext() as ctx:
        ctx.prec = 50
        assert long_lp == stepped((D(100000) - D(5000)) / D("0.996"), btc)
        assert short_lp == stepped((D(100000) + D(5000)) / D("1.004"), btc)


# --- the seed example: $10,000 account, $5,000 long BTC at 10x ---
ENTRY, QTY = D(100000), D("0.05")


def test_seed_isolated_liquidation_price() -> None:
    account = Account(VENUE, balances={"USDT": D(10000)})
    account.open("BTCUSDT", Side.LONG, QTY, ENTRY, leverage=D(10), mode=MarginMode.ISOLATED)
    pos = account.position("BTCUSDT")
    assert pos.margin == D(500)
    lp = account.liquidation_price(pos)
    with localcontext() as ctx:
        ctx.prec = 50
        assert lp == stepped(ENTRY * D("0.9") / D("0.996"), pos.instrument)
    assert lp is not None
    assert ((ENTRY - lp) / ENTRY).quantize(D("0.0001")) == D("0.0964")
    assert account.bankruptcy_price(pos) == D(90000)  # entry - margin / qty


def test_seed_cross_has_no_liquidation_price() -> None:
    account = Account(VENUE, balances={"USDT": D(10000)})
    account.open("BTCUSDT", Side.LONG, QTY, ENTRY, leverage=D(10), mode=MarginMode.CROSS)
    pos = account.position("BTCUSDT")
    assert account.liquidation_price(pos) is None  # (9,997.5 - 5,000) / (0.0002 - 0.05) < 0
    assert account.bankruptcy_price(pos) is None


def test_seed_isolated_loss_capped_at_margin_when_opened() -> None:
    account = Account(VENUE, balances={"USDT": D(10000)})
    account.open("BTCUSDT", Side.LONG, QTY, ENTRY, leverage=D(10), mode=MarginMode.ISOLATED)
    fee = QTY * ENTRY * D("0.0005")
    assert account.wallet("USDT") == D(9500) - fee
    assert account.update_marks({"BTCUSDT": D(90400)}) == [ev.MarkUpdated(symbol="BTCUSDT", mark=D(90400))]
    events = account.update_marks({"BTCUSDT": D(80000)})
    liquidated = [e for e in events if isinstance(e, ev.Liquidated)]
    assert len(liquidated) == 1
    event = liquidated[0]
    assert event.realized_pnl == D(-500)
    assert event.bankruptcy_price == D(90000)
    assert event.price == D(90000)  # Binance takes it over at the bankruptcy price
    assert event.insurance_fund_delta == D(-500)  # mark 80,000 is 10,000 beyond bankruptcy on 0.05 BTC
    assert account.positions == ()
    assert account.wallet("USDT") == D("9497.5")
    assert account.insurance_fund == D(-500)
    assert account.trading_pnl == D(-1000)  # against the market at mark; the fund paid half


def test_seed_isolated_loss_capped_at_margin_when_imported() -> None:
    account = Account(VENUE, balances={"USDT": D(10000)})
    account.import_position(
        VENUE.instrument("BTCUSDT"), Side.LONG, QTY, ENTRY, leverage=D(10), mode=MarginMode.ISOLATED
    )
    assert account.position("BTCUSDT").margin == D(500)
    events = account.update_marks({"BTCUSDT": D(90200)})  # between LP 90,361.45 and BP 90,000
    (event,) = [e for e in events if isinstance(e, ev.Liquidated)]
    assert event.realized_pnl == D(-500)
    assert event.insurance_fund_delta == D(10)  # equity 500 - 0.05 * 9,800 = 10 left goes to the fund
    assert event.liquidation_fee == D(10)  # 1.25 % of 4,510 = 56.375, capped at what is left
    assert account.wallet("USDT") == D(10000)
    assert account.insurance_fund == D(10)

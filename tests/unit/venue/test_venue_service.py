"""The venue's service layer on SQLite and PostgreSQL: accounts, bonus, orders, marks, funding, ledger."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, Side
from marginlab.rules import get_venue
from marginlab.venue.errors import VenueError
from marginlab.venue.models import Base
from marginlab.venue.orders import OrderRequest
from marginlab.venue.service import VenueService
from marginlab.venue.settings import BonusLossOrder


def market(symbol: str, side: str, qty: str, cid: str, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, type="MARKET", qty=D(qty), client_order_id=cid, **kw)  # type: ignore[arg-type]


def limit(side: str, qty: str, price: str, cid: str, tif: str = "GTC") -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        side=side,
        type="LIMIT",
        qty=D(qty),
        price=D(price),
        time_in_force=tif,
        client_order_id=cid,
    )


def code_of(excinfo: pytest.ExceptionInfo[VenueError]) -> int:
    return excinfo.value.code


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_the_open_orders_read_uses_an_index_not_the_accounts_history(engine: Engine) -> None:
    """Every order reads the account's open orders; a scan of all its past orders grew with the history."""
    from marginlab.venue.rawsql import RawSQL

    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan is checked on SQLite (PostgreSQL's planner picks by table statistics)")
    raw = engine.raw_connection()
    try:
        plan = raw.cursor().execute("EXPLAIN QUERY PLAN " + RawSQL(engine).reserved, (1, False)).fetchall()
    finally:
        raw.close()
    assert [row[-1] for row in plan] == [
        "SEARCH orders USING INDEX ix_orders_account_open (account_id=? AND status=? AND algo=?)"
    ]


def test_new_account_books_deposit_and_bonus(service: VenueService) -> None:
    new = service.create_account(deposit=D(10000), bonus=D(5500))
    view = service.account(new.account_id)
    assert (view.wallet_balance, view.bonus_left, view.own_balance) == (D(15500), D(5500), D(10000))
    assert view.max_withdraw == D(10000)  # the bonus backs positions but cannot be withdrawn
    kinds = [
        (r.income_type, r.amount)
        for r in service.income(new.account_id, symbol=None, income_type=None, start=None, end=None, limit=10)
    ]
    assert kinds == [("TRANSFER", D(10000)), ("WELCOME_BONUS", D(5500))]
    assert service.credentials(new.api_key) == (new.account_id, new.api_secret)
    assert service.credentials("nope") is None


def test_isolated_market_order_matches_the_engine(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(5500)).account_id
    service.set_margin_type(aid, "BTCUSDT", MarginMode.ISOLATED)
    assert service.set_leverage(aid, "BTCUSDT", 10)[0] == 10
    order = service.place_order(aid, market("BTCUSDT", "BUY", "0.05", "a1"))
    assert (order.status, order.avg_price, order.executed_qty) == ("FILLED", D("100010.0"), D("0.05"))
    view = service.account(aid)
    (pos,) = view.positions
    engine = Account(get_venue("binance"), balances={"USDT": D(15500)})
    engine.open("BTCUSDT", Side.LONG, D("0.05"), D("100010.0"), leverage=D(10), mode=MarginMode.ISOLATED)
    engine.update_marks({"BTCUSDT": D(100000)})
    assert pos.liquidation_price == engine.liquidation_price(engine.position("BTCUSDT"))
    assert pos.isolated_wallet == D("500.05")
    assert view.cross_wallet == D("15500") - D("500.05") - D("2.500250")
    assert service.ledger_total(aid) == view.wallet_balance


def test_binance_refusals_carry_binance_codes(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    with pytest.raises(VenueError) as already:
        service.set_margin_type(aid, "BTCUSDT", MarginMode.CROSS)
    assert code_of(already) == -4046 and already.value.msg == "No need to change margin type."
    with pytest.raises(VenueError) as too_high:
        service.set_leverage(aid, "BTCUSDT", 151)
    assert code_of(too_high) == -4028
    service.place_order(aid, limit("BUY", "0.01", "90000.0", "rest"))
    with pytest.raises(VenueError) as open_order:
        service.set_margin_type(aid, "BTCUSDT", MarginMode.ISOLATED)
    assert code_of(open_order) == -4047
    service.cancel_order(aid, "BTCUSDT", None, "rest", algo=False)
    service.set_leverage(aid, "BTCUSDT", 10)
    service.place_order(aid, market("BTCUSDT", "BUY", "0.5", "b1"))
    with pytest.raises(VenueError) as with_position:
        service.set_margin_type(aid, "BTCUSDT", MarginMode.ISOLATED)
    assert code_of(with_position) == -4048
    with pytest.raises(VenueError) as flat_only:
        service.set_position_mode(aid, hedge=True)
    assert code_of(flat_only) == -4068
    with pytest.raises(VenueError) as insufficient:
        service.place_order(aid, market("BTCUSDT", "BUY", "1", "b2"))
    assert code_of(insufficient) == -2019
    with pytest.raises(VenueError) as duplicate:
        service.place_order(aid, market("BTCUSDT", "BUY", "0.001", "b1"))
    assert code_of(duplicate) == -4116
    with pytest.raises(VenueError) as reduce_only:
        service.place_order(aid, market("BTCUSDT", "BUY", "0.1", "b3", reduce_only=True))
    assert code_of(reduce_only) == -2022
    with pytest.raises(VenueError) as precision:
        service.place_order(aid, market("BTCUSDT", "BUY", "0.0001", "b4"))
    assert code_of(precision) == -1111


def test_leverage_above_the_tier_of_the_open_notional_is_refused(service: VenueService) -> None:
    aid = service.create_account(deposit=D(2_000_000), bonus=D(0)).account_id
    service.set_leverage(aid, "BTCUSDT", 10)
    service.place_order(aid, market("BTCUSDT", "BUY", "40", "big"))  # 4,000,400 notional: beyond 125x tiers
    tier = get_venue("binance").instrument("BTCUSDT").tiers.tier_for(D(4_000_000))
    with pytest.raises(VenueError) as excinfo:
        service.set_leverage(aid, "BTCUSDT", int(tier.max_leverage) + 1)
    assert code_of(excinfo) == -2027


@pytest.mark.parametrize(
    ("rule", "bonus_after_loss"),
    [(BonusLossOrder.OWN_FIRST, D(500)), (BonusLossOrder.BONUS_FIRST, D(0))],
)
def test_bonus_rule(
    rule: BonusLossOrder, bonus_after_loss: D, make_service: Callable[..., VenueService]
) -> None:
    svc = make_service(bonus_loss_order=rule)
    aid = svc.create_account(deposit=D(1000), bonus=D(500)).account_id
    svc.set_margin_type(aid, "BTCUSDT", MarginMode.ISOLATED)
    svc.set_leverage(aid, "BTCUSDT", 10)
    svc.place_order(aid, market("BTCUSDT", "BUY", "0.05", "x"))
    svc.update_prices({"BTCUSDT": (D(85000), D(85000))})  # the isolated position is liquidated
    view = svc.account(aid)
    assert view.positions == () and view.liquidations == 1
    assert view.wallet_balance == D(1500) - D("2.500250") - D("500.05")
    assert view.bonus_left == bonus_after_loss
    assert view.own_balance == view.wallet_balance - bonus_after_loss
    assert svc.ledger_total(aid) == view.wallet_balance


def test_liquidation_that_exhausts_own_funds_and_bonus_leaves_zero(service: VenueService) -> None:
    aid = service.create_account(deposit=D(100), bonus=D(50)).account_id
    service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "c"))  # cross, 20x: 1000 notional
    # the liquidation price (about 85,060) is below 90,000: the sweep's pre-filter skips the account
    assert service.update_prices({"BTCUSDT": (D(90000), D(90000))}) == 0
    assert service.account(aid).liquidations == 0
    assert service.update_prices({"BTCUSDT": (D(85000), D(85000))}) == 1
    view = service.account(aid)
    assert view.positions == () and view.liquidations == 1
    assert (view.wallet_balance, view.bonus_left, view.own_balance) == (D(0), D(0), D(0))
    assert service.ledger_total(aid) == D(0)


def test_limit_order_reserves_margin_and_fills_when_last_crosses(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    order = service.place_order(aid, limit("BUY", "0.1", "99000.0", "l1"))
    assert order.status == "NEW" and order.reserved == D("495")  # 0.1 * 99000 / 20
    view = service.account(aid)
    assert view.available == D(10000) - D(495) and view.open_order_margin == D(495)
    service.update_prices({"BTCUSDT": (D(99500), D(99500))})
    assert service.get_order(aid, "BTCUSDT", order.id, None, algo=False).status == "NEW"
    service.update_prices({"BTCUSDT": (D(98950), D(98950))})
    filled = service.get_order(aid, "BTCUSDT", order.id, None, algo=False)
    assert (filled.status, filled.avg_price, filled.reserved) == ("FILLED", D("99000.0"), D(0))
    (trade,) = service.trades(aid, "BTCUSDT", 10)
    assert trade.maker and trade.commission == D("1.980")  # 9900 * 0.02 % maker
    (pos,) = service.account(aid).positions
    assert (pos.signed_qty, pos.entry) == (D("0.1"), D("99000.0"))


def test_time_in_force_variants(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    with pytest.raises(VenueError) as post_only:
        service.place_order(aid, limit("BUY", "0.01", "100100.0", "g1", "GTX"))
    assert code_of(post_only) == -5022
    assert service.place_order(aid, limit("BUY", "0.01", "99000.0", "i1", "IOC")).status == "EXPIRED"
    taker = service.place_order(aid, limit("BUY", "0.01", "100100.0", "f1", "FOK"))
    assert (taker.status, taker.avg_price) == ("FILLED", D("100010.0"))  # marketable: fills at the touch
    assert service.place_order(aid, limit("SELL", "0.02", "101000.0", "x1", "GTX")).status == "NEW"


def test_stop_market_on_mark_closes_the_position(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.place_order(aid, market("BTCUSDT", "BUY", "0.05", "o"))
    stop = OrderRequest(
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        client_order_id="s",
        qty=D("0.05"),
        reduce_only=True,
        stop_price=D(95000),
        working_type="MARK_PRICE",
        algo=True,
    )
    at_once = OrderRequest(
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        client_order_id="t",
        qty=D("0.05"),
        reduce_only=True,
        stop_price=D(100500),
        algo=True,
    )
    with pytest.raises(VenueError) as immediate:
        service.place_order(aid, at_once)  # last 100,000 is already below a sell stop at 100,500
    assert code_of(immediate) == -2021
    algo = service.place_order(aid, stop)
    service.update_prices({"BTCUSDT": (D(96000), D(94000))})  # last below, mark above the trigger
    assert service.account(aid).positions != ()
    service.update_prices({"BTCUSDT": (D(94000), D(94000))})
    assert service.account(aid).positions == ()
    done = service.get_algo_order(aid, "BTCUSDT", algo.id, None)
    assert (done.status, done.executed_qty, done.avg_price) == ("FINISHED", D("0.05"), D("93990.6"))
    assert service.ledger_total(aid) == service.account(aid).wallet_balance


def test_funding_is_booked_in_the_ledger(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.place_order(aid, market("BTCUSDT", "BUY", "0.05", "f"))
    assert service.settle_funding("BTCUSDT", D("0.0001")) == 1
    (row,) = service.income(aid, symbol="BTCUSDT", income_type="FUNDING_FEE", start=None, end=None, limit=10)
    assert row.amount == D("-0.5")  # 0.05 * 100,000 mark * 0.01 %, the long pays
    assert service.ledger_total(aid) == service.account(aid).wallet_balance


def test_hedge_mode_holds_both_sides(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.set_position_mode(aid, hedge=True)
    service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "l", position_side="LONG"))
    service.place_order(aid, market("BTCUSDT", "SELL", "0.02", "s", position_side="SHORT"))
    sides = sorted((p.position_side, p.signed_qty) for p in service.account(aid).positions)
    assert sides == [("LONG", D("0.01")), ("SHORT", D("-0.02"))]
    with pytest.raises(VenueError) as wrong_side:
        service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "b"))
    assert code_of(wrong_side) == -4061


def test_margin_changes_are_capped_and_recorded(service: VenueService) -> None:
    aid = service.create_account(deposit=D(1000), bonus=D(0)).account_id
    with pytest.raises(VenueError) as flat:
        service.modify_margin(aid, "BTCUSDT", 1, D(10), None)
    assert code_of(flat) == -4054
    service.set_margin_type(aid, "BTCUSDT", MarginMode.ISOLATED)
    service.set_leverage(aid, "BTCUSDT", 10)
    service.place_order(aid, market("BTCUSDT", "BUY", "0.05", "m"))
    service.modify_margin(aid, "BTCUSDT", 1, D(100), None)
    with pytest.raises(VenueError) as too_much:
        service.modify_margin(aid, "BTCUSDT", 2, D(200), None)
    assert code_of(too_much) == -4051
    with pytest.raises(VenueError) as no_cash:
        service.modify_margin(aid, "BTCUSDT", 1, D(5000), None)
    assert code_of(no_cash) == -4050
    history = service.margin_history(aid, "BTCUSDT", None, 10)
    assert [(h.type, h.amount) for h in history] == [(1, D(100))]


def test_the_account_cache_sees_writes_of_another_process(
    service: VenueService, make_service: Callable[..., VenueService]
) -> None:
    """Two services on one database stand for two processes (``serve`` and ``venue mark``, or two servers).

    Each keeps the accounts it touched in memory; the account's version column makes each notice the
    other's writes, so neither trades from a stale state.
    """
    other = make_service()
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.set_leverage(aid, "BTCUSDT", 10)
    service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "a1"))  # cached here at 0.01 long
    other.place_order(aid, market("BTCUSDT", "BUY", "0.02", "b1"))  # the other process adds 0.02
    service.place_order(aid, market("BTCUSDT", "SELL", "0.03", "a2"))  # closes 0.03: the whole position
    assert service.account(aid).positions == () and other.account(aid).positions == ()
    fresh = make_service()  # nothing cached: the database itself
    assert service.account(aid).wallet_balance == fresh.account(aid).wallet_balance
    assert service.ledger_total(aid) == fresh.account(aid).wallet_balance
    other.update_prices({"BTCUSDT": (D(100000), D(100000))})  # marks by another process
    service.place_order(aid, market("BTCUSDT", "BUY", "0.05", "a3"))
    other.set_margin_type(aid, "ETHUSDT", MarginMode.ISOLATED)
    assert service.symbol_configs(aid, "ETHUSDT")[0][1] is MarginMode.ISOLATED


def test_a_duplicate_client_order_id_rolls_back_the_whole_order(service: VenueService) -> None:
    """The duplicate is found by the order's INSERT, after the fill was computed and its writes queued
    (PostgreSQL: in psycopg's pipeline, raised at the commit): nothing of it may remain."""
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "c1"))
    before = service.account(aid)
    with pytest.raises(VenueError) as duplicate:
        service.place_order(aid, market("BTCUSDT", "BUY", "0.02", "c1"))  # would fill if it were new
    assert code_of(duplicate) == -4116
    after = service.account(aid)
    assert (after.wallet_balance, after.positions) == (before.wallet_balance, before.positions)
    assert [t.qty for t in service.trades(aid, "BTCUSDT", 10)] == [D("0.01")]
    assert service.ledger_total(aid) == after.wallet_balance
    fresh = VenueService(service.engine, service.settings, clock=service.clock)  # nothing cached
    assert fresh.account(aid).positions == before.positions
    service.place_order(aid, market("BTCUSDT", "SELL", "0.01", "c2"))  # the account still trades
    assert service.account(aid).positions == ()


def test_a_refused_operation_leaves_the_cached_account_unchanged(service: VenueService) -> None:
    aid = service.create_account(deposit=D(10000), bonus=D(0)).account_id
    service.place_order(aid, market("BTCUSDT", "BUY", "0.01", "a1"))
    before = service.account(aid)
    with pytest.raises(VenueError):  # the engine closes 0.01 then fails to open 5 BTC: all rolled back
        service.place_order(aid, market("BTCUSDT", "SELL", "5", "a2"))
    after = service.account(aid)
    assert (after.wallet_balance, after.positions) == (before.wallet_balance, before.positions)
    assert [(p.symbol, p.signed_qty) for p in after.positions] == [("BTCUSDT", D("0.01"))]

"""Resting orders of a bar venue (venues/sim/resting.py): each type, time in force, gaps, brackets, OCO,
the participation cap, reduce-only, the two phases of a bar and the venue's executor."""

from __future__ import annotations

import pytest

from basiskit.domain.order_state import IllegalTransition, OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce
from basiskit.errors import DuplicateOrderId, OrderRejected
from basiskit.venues.sim.resting import Bar, Executed, RestingBook, Trigger, bracket_problem

H = 3600 * 10**9
S = OrderStatus
BUY, SELL = Side.BUY, Side.SELL
LIMIT, STOP, TP = OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT


def bar(i: int, o: float, h: float, low: float, c: float, v: float = 1000.0, token: str = "BTC") -> Bar:
    return Bar(token, i * H, (i + 1) * H, o, h, low, c, v)


_n = [0]


def record(side: Side, otype: OrderType, price: float | None = None, qty: float = 1.0, ts: int = 0,
           **kw) -> OrderRecord:
    _n[0] += 1
    if otype is LIMIT:
        kw["limit_price"] = price
    elif otype is not OrderType.MARKET:
        kw["stop_price"] = price
    kw.setdefault("client_order_id", f"o{_n[0]}")
    r = OrderRecord(Order(Operation.PERP_TRADE, "binance.perp", qty, kw.pop("token", "BTC"), side=side,
                          order_type=otype, **kw), ts)
    r.submit(ts)
    return r


def place(book: RestingBook, *args, **kw) -> OrderRecord:
    r = record(*args, **kw)
    ups = book.add(r, kw.get("ts", 0))
    assert ups[-1].change.status is S.ACCEPTED, ups[-1].change.reason
    return r


def fills(updates) -> list[tuple[str, float, float, int]]:
    return [(u.record.client_order_id, u.change.quantity, u.change.price, u.change.ts) for u in updates
            if u.change.status in (S.FILLED, S.PARTIALLY_FILLED)]


# ---- limit orders --------------------------------------------------------------------------------

def test_a_resting_limit_fills_at_its_price_when_the_bar_trades_through_it():
    book = RestingBook()
    buy = place(book, BUY, LIMIT, 99.0, client_order_id="buy")
    sell = place(book, SELL, LIMIT, 103.0, client_order_id="sell")
    assert book.on_bar(bar(0, 100, 102, 99.5, 101), position=0.0) == []  # neither reached
    ups = book.on_bar(bar(1, 101, 103, 99.0, 102), position=0.0)  # touches both exactly: not through
    assert fills(ups) == []
    ups = book.on_bar(bar(2, 102, 103.5, 98.0, 99), position=0.0)
    assert fills(ups) == [("buy", 1.0, 99.0, 3 * H), ("sell", 1.0, 103.0, 3 * H)]  # intrabar: known at the close
    assert all(u.trigger.maker for u in ups if u.trigger)
    assert buy.status is S.FILLED and sell.status is S.FILLED and book.open_orders() == []


def test_a_limit_that_crosses_at_submission_fills_at_that_price_as_taker():
    book = RestingBook()
    place(book, BUY, LIMIT, 105.0, client_order_id="b")
    place(book, SELL, LIMIT, 95.0, client_order_id="s")
    ups = book.on_bar(bar(0, 100, 101, 99, 100), position=0.0)
    assert fills(ups) == [("b", 1.0, 100.0, 0), ("s", 1.0, 100.0, 0)]
    assert not any(u.trigger.maker for u in ups if u.trigger)


def test_a_resting_limit_gapped_through_fills_at_its_limit_not_the_better_open():
    book = RestingBook()
    r = place(book, BUY, LIMIT, 99.0)
    book.on_bar(bar(0, 100, 101, 99.5, 100.5), position=0.0)  # meets its submission price, rests
    ups = book.on_bar(bar(1, 97.0, 98, 96, 97.5), position=0.0)  # opens below the limit
    assert fills(ups) == [(r.client_order_id, 1.0, 99.0, H)] and ups[0].trigger.maker
    assert "before the open" in ups[0].change.reason


def test_an_order_added_inside_a_bar_starts_at_the_next_bar():
    book = RestingBook()
    r = place(book, SELL, STOP, 99.0, ts=H // 2)
    assert book.on_bar(bar(0, 100, 100, 90, 95), position=1.0) == []
    ups = book.on_bar(bar(1, 95, 96, 94, 95), position=1.0)  # its first price is 95: beyond the stop
    assert fills(ups) == [(r.client_order_id, 1.0, 95.0, H)]


# ---- stops and take-profits ----------------------------------------------------------------------

@pytest.mark.parametrize("side,price,b,expected", [
    (SELL, 97.0, (100, 101, 96, 98), (97.0, 1)),    # sell stop touched intrabar: at the stop, at the close
    (SELL, 97.0, (100, 101, 97.0, 98), (97.0, 1)),  # touching is enough for a stop
    (SELL, 97.0, (95, 96, 94, 95), (95.0, 0)),      # gap below: at the open
    (SELL, 97.0, (100, 101, 97.01, 98), None),
    (BUY, 103.0, (100, 104, 99, 101), (103.0, 1)),
    (BUY, 103.0, (105, 106, 104, 105), (105.0, 0)),
    (BUY, 103.0, (100, 102.99, 99, 101), None),
])
def test_stop_market(side, price, b, expected):
    book = RestingBook()
    r = place(book, side, STOP, price)
    ups = book.on_bar(bar(0, *b), position=1.0 if side is SELL else -1.0)
    if expected is None:
        assert fills(ups) == [] and r.status is S.ACCEPTED
    else:
        assert fills(ups) == [(r.client_order_id, 1.0, expected[0], expected[1] * H)]
        assert not ups[-1].trigger.maker


@pytest.mark.parametrize("side,price,b,expected", [
    (SELL, 103.0, (100, 103.0, 99, 101), (103.0, 1)),  # sell take-profit when the price rises to it
    (SELL, 103.0, (104, 105, 103.5, 104), (104.0, 0)),  # gap above: at the (better) open
    (SELL, 103.0, (100, 102, 90, 95), None),           # a fall never triggers a sell take-profit
    (BUY, 97.0, (100, 101, 96.5, 98), (97.0, 1)),
    (BUY, 97.0, (95, 96, 94, 95), (95.0, 0)),
    (BUY, 97.0, (100, 110, 97.5, 105), None),
])
def test_take_profit_market(side, price, b, expected):
    book = RestingBook()
    r = place(book, side, TP, price)
    ups = book.on_bar(bar(0, *b), position=1.0 if side is SELL else -1.0)
    if expected is None:
        assert fills(ups) == []
    else:
        assert fills(ups) == [(r.client_order_id, 1.0, expected[0], expected[1] * H)]


# ---- time in force -------------------------------------------------------------------------------

def test_ioc_fills_what_it_can_at_submission_and_the_rest_expires():
    book = RestingBook(participation=0.1)
    r = place(book, BUY, LIMIT, 101.0, qty=5.0, time_in_force=TimeInForce.IOC)
    ups = book.on_bar(bar(0, 100, 105, 90, 100, v=20.0), position=0.0)  # cap 2 of 5
    assert fills(ups) == [(r.client_order_id, 2.0, 100.0, 0)]
    assert r.status is S.EXPIRED and r.filled == 2.0 and "rest expires" in r.history[-1].reason
    r2 = place(book, BUY, LIMIT, 99.0, time_in_force=TimeInForce.IOC, ts=H)
    ups = book.on_bar(bar(1, 100, 101, 90, 95), position=0.0)  # reaches 99 later in the bar: too late for IOC
    assert fills(ups) == [] and r2.status is S.EXPIRED and r2.history[-1].ts == H


def test_ioc_at_an_open_waits_its_turn_behind_older_resting_orders():
    book = RestingBook(participation=0.1)
    old = place(book, BUY, LIMIT, 99.0, qty=2.0)
    book.on_bar(bar(0, 100, 101, 99.5, 100, v=20.0), position=0.0)  # rests
    ioc = place(book, BUY, LIMIT, 99.5, qty=2.0, time_in_force=TimeInForce.IOC, ts=H)
    ups = book.on_bar(bar(1, 98, 99, 97, 98, v=20.0), position=0.0)  # budget 2: the older order first
    assert fills(ups) == [(old.client_order_id, 2.0, 99.0, H)]
    assert ioc.status is S.EXPIRED and ioc.filled == 0.0


def test_fok_fills_all_at_once_or_nothing():
    book = RestingBook(participation=0.1)
    big = place(book, BUY, LIMIT, 101.0, qty=5.0, time_in_force=TimeInForce.FOK)
    small = place(book, BUY, LIMIT, 101.0, qty=1.5, time_in_force=TimeInForce.FOK)
    ups = book.on_bar(bar(0, 100, 105, 90, 100, v=20.0), position=0.0)
    assert fills(ups) == [(small.client_order_id, 1.5, 100.0, 0)]
    assert big.status is S.EXPIRED and big.filled == 0.0 and "FOK: only 2 of 5" in big.history[-1].reason
    assert small.status is S.FILLED


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_ioc_fok_stops_and_past_gtd_are_rejected(tif):
    book = RestingBook()
    r = record(SELL, STOP, 90.0, time_in_force=tif)
    assert book.add(r, 0)[0].change.status is S.REJECTED and "applies to limit orders" in r.history[-1].reason
    late = record(BUY, LIMIT, 90.0, ts=5, time_in_force=TimeInForce.GTD, expire_ns=5)
    assert book.add(late, 5)[0].change.status is S.REJECTED and book.open_orders() == []


def test_gtd_expires_at_its_time():
    book = RestingBook()
    early = place(book, BUY, LIMIT, 99.0, time_in_force=TimeInForce.GTD, expire_ns=H)  # exactly at bar 1's open
    inside = place(book, BUY, LIMIT, 99.0, time_in_force=TimeInForce.GTD, expire_ns=2 * H + H // 2)
    whole = place(book, BUY, LIMIT, 99.0, time_in_force=TimeInForce.GTD, expire_ns=2 * H)
    assert book.on_bar(bar(0, 100, 101, 99.5, 100), position=0.0) == []
    ups = book.on_bar(bar(1, 100, 101, 98, 100, v=1e9), position=0.0)
    assert early.status is S.EXPIRED and early.history[-1].ts == H and early.filled == 0.0
    assert fills(ups) == [(inside.client_order_id, 1.0, 99.0, 2 * H), (whole.client_order_id, 1.0, 99.0, 2 * H)]
    book2 = RestingBook()
    straddle = place(book2, SELL, LIMIT, 101.0, time_in_force=TimeInForce.GTD, expire_ns=H // 2)
    ups = book2.on_bar(bar(0, 100, 102, 99, 100), position=0.0)  # reached intrabar, maybe after the expiry
    assert fills(ups) == [] and straddle.status is S.EXPIRED and straddle.history[-1].ts == H // 2
    book3 = RestingBook()
    gapped = place(book3, SELL, LIMIT, 99.0, time_in_force=TimeInForce.GTD, expire_ns=H // 2)
    assert fills(book3.on_bar(bar(0, 100, 102, 99, 100), position=0.0)) == [(gapped.client_order_id, 1.0, 100.0, 0)]
    book4 = RestingBook()
    timer = place(book4, SELL, LIMIT, 101.0, time_in_force=TimeInForce.GTD, expire_ns=7)
    assert [u.change.status for u in book4.expire(6)] == []
    ups = book4.expire(10)
    assert [(u.record, u.change.status, u.change.ts) for u in ups] == [(timer, S.EXPIRED, 7)]


# ---- brackets ------------------------------------------------------------------------------------

def entry(book: RestingBook, price: float, tp: float | None = 105.0, sl: float | None = 95.0, side: Side = BUY,
          otype: OrderType = LIMIT, **kw) -> OrderRecord:
    return place(book, side, otype, price, take_profit=tp, stop_loss=sl, client_order_id="e", **kw)


def test_a_bracket_attaches_an_oco_pair_of_reduce_only_children_at_the_fill():
    book = RestingBook()
    entry(book, 101.0)
    ups = book.on_bar(bar(0, 100, 101, 99, 100), position=0.0)  # crosses at the open
    tp, sl = book.get("e-tp-1"), book.get("e-sl-1")
    assert [(u.record.client_order_id, u.change.status) for u in ups] == [
        ("e", S.FILLED), ("e-tp-1", S.SUBMITTED), ("e-tp-1", S.ACCEPTED), ("e-sl-1", S.SUBMITTED),
        ("e-sl-1", S.ACCEPTED)]
    for child, otype, price in ((tp, TP, 105.0), (sl, STOP, 95.0)):
        o = child.order
        assert (o.side, o.order_type, o.stop_price, o.amount, o.reduce_only, o.oco_group) == (
            SELL, otype, price, 1.0, True, "e-bracket-1")
    ups = book.on_bar(bar(1, 100, 106, 99, 104), position=1.0)
    assert fills(ups) == [("e-tp-1", 1.0, 105.0, 2 * H)] and sl.status is S.CANCELLED
    assert "OCO: e-tp-1 triggered" in sl.history[-1].reason


def test_both_legs_touched_in_one_bar_the_stop_loss_fires():
    book = RestingBook()
    entry(book, 101.0)
    book.on_bar(bar(0, 100, 101, 99, 100), position=0.0)
    ups = book.on_bar(bar(1, 100, 106, 94, 100), position=1.0)
    assert fills(ups) == [("e-sl-1", 1.0, 95.0, 2 * H)] and book.get("e-tp-1").status is S.CANCELLED
    short = RestingBook()  # a short's stop-loss is above: the highest buy first
    entry(short, 99.0, tp=95.0, sl=105.0, side=SELL)
    short.on_bar(bar(0, 100, 101, 99, 100), position=0.0)
    assert fills(short.on_bar(bar(1, 100, 106, 94, 100), position=-1.0)) == [("e-sl-1", 1.0, 105.0, 2 * H)]


def test_a_bar_opening_beyond_the_take_profit_fires_it_at_the_open_even_if_the_stop_is_touched_later():
    book = RestingBook()
    entry(book, 101.0)
    book.on_bar(bar(0, 100, 101, 99, 100), position=0.0)
    ups = book.on_bar(bar(1, 107, 108, 90, 91), position=1.0)
    assert fills(ups) == [("e-tp-1", 1.0, 107.0, H)] and book.get("e-sl-1").status is S.CANCELLED


def test_children_of_an_entry_filled_at_the_open_meet_the_whole_bar():
    book = RestingBook()
    entry(book, 101.0)
    ups = book.on_bar(bar(0, 100, 101, 94, 96), position=0.0)
    assert fills(ups) == [("e", 1.0, 100.0, 0), ("e-sl-1", 1.0, 95.0, H)]


def test_children_of_a_limit_entry_filled_intrabar_stop_loss_certain_take_profit_not():
    book = RestingBook()
    entry(book, 99.0)
    book.on_bar(bar(0, 100, 100.5, 99.5, 100), position=0.0)
    # falls through 99 (fill) and on to 94: the stop-loss came after the fill
    ups = book.on_bar(bar(1, 100, 101, 94, 96), position=0.0)
    assert fills(ups) == [("e", 1.0, 99.0, 2 * H), ("e-sl-1", 1.0, 95.0, 2 * H)]
    book = RestingBook()
    entry(book, 99.0)
    book.on_bar(bar(0, 100, 100.5, 99.5, 100), position=0.0)
    # high 106 may have come before the fill at 99: the take-profit waits for the next bar
    ups = book.on_bar(bar(1, 100, 106, 98, 104), position=0.0)
    assert fills(ups) == [("e", 1.0, 99.0, 2 * H)] and book.get("e-tp-1").status is S.ACCEPTED
    assert fills(book.on_bar(bar(2, 104, 105.5, 103, 105), position=1.0)) == [("e-tp-1", 1.0, 105.0, 3 * H)]


def test_children_of_a_stop_entry_filled_intrabar_take_profit_certain_stop_loss_assumed():
    book = RestingBook()
    entry(book, 101.0, otype=STOP)  # breakout buy
    book.on_bar(bar(0, 100, 100.5, 99.5, 100), position=0.0)
    ups = book.on_bar(bar(1, 100, 106, 99, 105), position=0.0)  # rose through 101 on to 106: TP certain
    assert fills(ups) == [("e", 1.0, 101.0, 2 * H), ("e-tp-1", 1.0, 105.0, 2 * H)]
    book = RestingBook()
    entry(book, 101.0, otype=STOP)
    book.on_bar(bar(0, 100, 100.5, 99.5, 100), position=0.0)
    ups = book.on_bar(bar(1, 100, 106, 94, 100), position=0.0)  # both: the stop-loss is assumed first
    assert fills(ups) == [("e", 1.0, 101.0, 2 * H), ("e-sl-1", 1.0, 95.0, 2 * H)]


def test_each_partial_entry_fill_gets_its_own_pair_for_its_quantity():
    book = RestingBook(participation=0.01)
    entry(book, 99.0, qty=3.0)
    book.on_bar(bar(0, 100, 100.5, 99.5, 100, v=100.0), position=0.0)
    ups = book.on_bar(bar(1, 100, 100, 98, 99, v=100.0), position=0.0)
    assert fills(ups) == [("e", 1.0, 99.0, 2 * H)]
    ups = book.on_bar(bar(2, 99, 99.5, 98, 99, v=200.0), position=1.0)
    assert fills(ups) == [("e", 2.0, 99.0, 3 * H)]
    assert [book.get(f"e-{k}-{n}").order.amount for n in (1, 2) for k in ("tp", "sl")] == [1.0, 1.0, 2.0, 2.0]
    assert book.get("e-sl-2").order.oco_group == "e-bracket-2"


def test_attach_bracket_for_a_market_entry_and_bracket_checks():
    book = RestingBook()
    market = record(BUY, OrderType.MARKET, take_profit=105.0, stop_loss=95.0, client_order_id="m")
    with pytest.raises(ValueError, match="market order"):
        book.add(market, 0)
    market.accept(0)
    market.fill(0, 1.0, 100.0)
    ups = book.attach_bracket(market, 0, 1.0)
    assert [u.record.client_order_id for u in ups if u.change.status is S.ACCEPTED] == ["m-tp-1", "m-sl-1"]
    assert fills(book.on_bar(bar(0, 100, 101, 94, 96), position=1.0)) == [("m-sl-1", 1.0, 95.0, H)]
    with pytest.raises(ValueError, match="brackets for 1.5 but 1 filled"):
        book.attach_bracket(market, 0, 0.5)
    with pytest.raises(ValueError, match="no take_profit"):
        book.attach_bracket(record(BUY, OrderType.MARKET), 0, 1.0)
    bad = Order(Operation.PERP_TRADE, "x", 1.0, "BTC", side=BUY, take_profit=95.0, stop_loss=105.0)
    assert "must be below" in bracket_problem(bad)
    r = record(SELL, LIMIT, 100.0, take_profit=105.0, stop_loss=95.0)
    assert book.add(r, 0)[0].change.status is S.REJECTED and "must be above" in r.history[-1].reason
    assert bracket_problem(Order(Operation.PERP_TRADE, "x", 1.0, "BTC", side=BUY, stop_loss=105.0)) is None


# ---- OCO -----------------------------------------------------------------------------------------

def test_an_oco_fill_cancels_the_others():
    book = RestingBook()
    lo = place(book, BUY, LIMIT, 95.0, oco_group="g")
    hi = place(book, BUY, STOP, 105.0, oco_group="g")
    other = place(book, BUY, LIMIT, 90.0)
    ups = book.on_bar(bar(0, 100, 101, 94, 96), position=0.0)
    assert fills(ups) == [(lo.client_order_id, 1.0, 95.0, H)]
    assert hi.status is S.CANCELLED and other.status is S.ACCEPTED


def test_oco_members_reached_in_one_bar_worst_price_first():
    book = RestingBook()
    lo = place(book, BUY, LIMIT, 95.0, oco_group="g")
    hi = place(book, BUY, STOP, 105.0, oco_group="g")
    ups = book.on_bar(bar(0, 100, 106, 94, 100), position=0.0)
    assert fills(ups) == [(hi.client_order_id, 1.0, 105.0, H)] and lo.status is S.CANCELLED
    book = RestingBook()  # mixed sides (a straddle): the earliest submitted
    up = place(book, BUY, STOP, 105.0, oco_group="s")
    down = place(book, SELL, STOP, 95.0, oco_group="s")
    assert fills(book.on_bar(bar(0, 100, 106, 94, 100), position=0.0)) == [(up.client_order_id, 1.0, 105.0, H)]
    assert down.status is S.CANCELLED


# ---- participation cap ---------------------------------------------------------------------------

def test_the_cap_is_shared_and_a_triggered_stop_fills_the_rest_at_the_next_opens():
    book = RestingBook(participation=0.1)
    a = place(book, SELL, STOP, 99.0, qty=3.0)
    b = place(book, SELL, LIMIT, 101.0, qty=1.0)
    ups = book.on_bar(bar(0, 100, 102, 98, 99, v=20.0), position=10.0)  # budget 2: a takes it all
    assert fills(ups) == [(a.client_order_id, 2.0, 99.0, H)] and b.filled == 0.0
    ups = book.on_bar(bar(1, 97, 102, 96, 99, v=5.0), position=8.0)  # budget 0.5
    assert fills(ups) == [(a.client_order_id, 0.5, 97.0, H)]  # the triggered rest, at the open
    ups = book.on_bar(bar(2, 98, 102, 96, 99, v=100.0), position=7.5)
    assert fills(ups) == [(a.client_order_id, 0.5, 98.0, 2 * H), (b.client_order_id, 1.0, 101.0, 3 * H)]
    assert a.status is S.FILLED and a.avg_price == pytest.approx((2 * 99 + 0.5 * 97 + 0.5 * 98) / 3)


def test_a_zero_volume_bar_fills_nothing():
    book = RestingBook(participation=0.5)
    r = place(book, BUY, LIMIT, 99.0)
    assert book.on_bar(bar(0, 100, 100, 98, 99, v=0.0), position=0.0) == [] and r.status is S.ACCEPTED
    with pytest.raises(ValueError, match="participation"):
        RestingBook(participation=1.5)


# ---- reduce-only ---------------------------------------------------------------------------------

def test_reduce_only_fills_at_most_the_position_and_is_cancelled_without_one():
    book = RestingBook()
    r = place(book, SELL, STOP, 99.0, qty=2.0, reduce_only=True)
    ups = book.on_bar(bar(0, 100, 100, 98, 99), position=1.5)
    assert fills(ups) == [(r.client_order_id, 1.5, 99.0, H)]
    assert r.status is S.CANCELLED and r.history[-1].reason == "reduce-only: the position is closed"
    wrong_side = place(book, BUY, LIMIT, 99.0, reduce_only=True, ts=H)
    ups = book.on_bar(bar(1, 100, 100, 98, 99), position=1.0)  # a buy reduces a short only
    assert wrong_side.status is S.CANCELLED and ups[0].change.ts == H and fills(ups) == []


def test_two_reduce_only_orders_never_flip_the_position():
    book = RestingBook()
    a = place(book, SELL, STOP, 99.0, qty=1.0, reduce_only=True)
    b = place(book, SELL, LIMIT, 100.5, qty=1.0, reduce_only=True)
    ups = book.on_bar(bar(0, 100, 101, 98, 99), position=1.0)  # both reached; submission order
    assert fills(ups) == [(a.client_order_id, 1.0, 99.0, H)] and b.status is S.CANCELLED


# ---- the venue's executor ------------------------------------------------------------------------

def test_the_executor_sets_the_executed_price_and_may_refuse():
    seen: list[Trigger] = []

    def venue(t: Trigger) -> Executed:
        seen.append(t)
        if t.client_order_id == "refused":
            raise OrderRejected("insufficient margin")
        return Executed(t.quantity, t.price * 0.999)  # slippage against a sell

    book = RestingBook()
    ok = place(book, SELL, STOP, 99.0, client_order_id="ok")
    no = place(book, SELL, STOP, 99.0, client_order_id="refused", oco_group="g")
    sib = place(book, SELL, LIMIT, 110.0, oco_group="g")
    book.on_bar(bar(0, 100, 100, 98, 99), position=0.0, execute=venue)
    assert ok.avg_price == pytest.approx(99 * 0.999) and [t.price for t in seen] == [99.0, 99.0]
    assert no.status is S.CANCELLED and "refused the fill: insufficient margin" in no.history[-1].reason
    assert sib.status is S.CANCELLED  # the stop had triggered
    bad = RestingBook()
    place(bad, SELL, STOP, 99.0)
    with pytest.raises(ValueError, match="executed 2"):
        bad.on_bar(bar(0, 100, 100, 98, 99), position=0.0, execute=lambda t: Executed(2.0, t.price))


# ---- the two phases of a bar ---------------------------------------------------------------------

def test_on_open_settles_gaps_before_a_decision_can_cancel():
    book = RestingBook()
    r = place(book, SELL, STOP, 99.0)
    ups = book.on_open("BTC", H, 95.0, position=1.0)
    assert fills(ups) == [(r.client_order_id, 1.0, 95.0, H)]
    with pytest.raises(IllegalTransition, match="filled -> cancelled"):
        book.cancel(r.client_order_id, H)
    assert fills(book.on_bar(bar(1, 95, 96, 90, 92), position=0.0)) == []  # not filled twice


def test_an_order_placed_at_the_open_after_on_open_meets_that_open_in_on_bar():
    book = RestingBook(participation=0.1)
    book.on_bar(bar(0, 100, 101, 99, 100, v=10.0), position=0.0)  # the book learns a volume: 10
    stop = place(book, SELL, STOP, 99.0, qty=5.0, ts=0)
    assert fills(book.on_open("BTC", H, 95.0, position=5.0)) == [(stop.client_order_id, 1.0, 95.0, H)]
    late = place(book, BUY, LIMIT, 96.0, qty=5.0, ts=H)  # decided after seeing 95
    ups = book.on_bar(bar(1, 95, 96, 94, 95, v=30.0), position=4.0)  # bar budget 3, 1 used at the open
    assert fills(ups) == [(late.client_order_id, 2.0, 95.0, H)]


def test_cancel_and_add_guards():
    book = RestingBook()
    r = place(book, BUY, LIMIT, 90.0)
    u = book.cancel(r.client_order_id, 5, "changed my mind")
    assert u.change == (5, S.CANCELLED, 0.0, None, "changed my mind") and book.open_orders() == []
    with pytest.raises(IllegalTransition):
        book.cancel(r.client_order_id, 6)
    with pytest.raises(KeyError):
        book.cancel("nope", 6)
    twin = record(BUY, LIMIT, 90.0, client_order_id=r.client_order_id)
    with pytest.raises(DuplicateOrderId):
        book.add(twin, 7)
    fresh = OrderRecord(Order(Operation.PERP_TRADE, "x", 1.0, "BTC", side=BUY, order_type=LIMIT, limit_price=1.0,
                              client_order_id="fresh"), 0)
    with pytest.raises(IllegalTransition, match="initialised -> accepted"):
        book.add(fresh, 0)


def test_tokens_are_separate():
    book = RestingBook()
    btc = place(book, BUY, LIMIT, 99.0, token="BTC")
    eth = place(book, BUY, LIMIT, 99.0, token="ETH")
    ups = book.on_bar(bar(0, 100, 100, 98, 99, token="ETH"), position=0.0)
    assert fills(ups) == [(eth.client_order_id, 1.0, 99.0, H)] and btc.status is S.ACCEPTED
    assert book.open_orders("BTC") == [btc] and book.open_orders("ETH") == []


@pytest.mark.parametrize("o,h,low,c", [(100, 99, 98, 99), (100, 101, 100.5, 101), (0, 1, 0, 1)])
def test_inconsistent_bars_are_refused(o, h, low, c):
    with pytest.raises(ValueError, match="inconsistent bar"):
        Bar("BTC", 0, H, o, h, low, c, 1.0)

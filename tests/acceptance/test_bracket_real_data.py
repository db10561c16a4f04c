"""A bracket's take-profit / stop-loss fires at the right bar on real data, checked against the raw candles.

A long (or short) entered at the open of an hour of the raw Binance BTCUSDT perp file with a bracket
(TP +3 %, SL -2 %; a short: TP -3 %, SL +2 %) is fed, bar by bar, to the resting book. Independently,
straight from the raw highs/lows read with the csv module: the first bar from the entry on that opens
beyond a leg (the leg fires at that open), or reaches a leg (at the leg's price), or reaches both (the
stated rule: the stop-loss). The leg, the bar and the trigger price must agree. Entry hours: the first
hour of each kind found by scanning the file (TP first, SL first, one bar touching both, a gap through
each leg at an open), plus every 97th hour of the file.
"""

from __future__ import annotations


import pytest

from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order, Side
from basiskit.venues.sim.resting import Bar, Executed, RestingBook, Trigger

from groundtruth import Candle, candles

H_NS = 3600 * 10**9
TP_PCT, SL_PCT = 0.03, 0.02


@pytest.fixture(scope="module")
def raw(source_dir) -> list[Candle]:
    return candles(source_dir, "cex/perp/binance_BTCUSDT_perp_1h_*.csv")


def legs(entry: float, long: bool) -> tuple[float, float]:
    return (entry * (1 + TP_PCT), entry * (1 - SL_PCT)) if long else (entry * (1 - TP_PCT), entry * (1 + SL_PCT))


def expected(raw: list[Candle], i: int, long: bool) -> tuple[str, int, float, str] | None:
    """(leg, bar index, trigger price, kind) from the raw candles, or None if nothing fires by the end."""
    tp, sl = legs(raw[i].open, long)
    for j in range(i, len(raw)):
        b = raw[j]
        beyond_tp = b.open >= tp if long else b.open <= tp
        beyond_sl = b.open <= sl if long else b.open >= sl
        if j > i and beyond_tp:
            return "tp", j, b.open, "tp-open"
        if j > i and beyond_sl:
            return "sl", j, b.open, "sl-open"
        hit_tp = b.high >= tp if long else b.low <= tp
        hit_sl = b.low <= sl if long else b.high >= sl
        if hit_tp and hit_sl:
            return "sl", j, sl, "both"
        if hit_sl:
            return "sl", j, sl, "sl"
        if hit_tp:
            return "tp", j, tp, "tp"
    return None


def simulate(raw: list[Candle], i: int, long: bool) -> tuple[str, int, float] | None:
    """Enter at the open of bar i through a market order, attach the bracket, feed the bars after it."""
    entry_price = raw[i].open
    tp, sl = legs(entry_price, long)
    t0 = raw[i].ts
    entry = OrderRecord(Order(Operation.PERP_TRADE, "binance.perp", 1.0, "BTC", side=Side.BUY if long else Side.SELL,
                              take_profit=tp, stop_loss=sl, client_order_id="entry"), t0)
    entry.submit(t0)
    entry.accept(t0)
    entry.fill(t0, 1.0, entry_price)
    book = RestingBook()
    book.attach_bracket(entry, t0, 1.0)
    position = [1.0 if long else -1.0]

    def venue(t: Trigger) -> Executed:
        position[0] += t.quantity if t.side is Side.BUY else -t.quantity
        return Executed(t.quantity, t.price)

    for j in range(i, len(raw)):
        b = raw[j]
        ups = book.on_bar(Bar("BTC", b.ts, b.ts + H_NS, b.open, b.high, b.low, b.close, b.volume),
                          position=position[0], execute=venue)
        done = [u for u in ups if u.change.status is OrderStatus.FILLED]
        if done:
            assert len(done) == 1 and position[0] == 0.0 and book.open_orders() == []
            leg = done[0].record.client_order_id
            return ("tp" if leg == "entry-tp-1" else "sl"), j, done[0].trigger.price
    return None


def first_of_each_kind(raw: list[Candle], long: bool) -> dict[str, int]:
    found: dict[str, int] = {}
    for i in range(len(raw) - 1):
        e = expected(raw, i, long)
        if e is not None and e[3] not in found:
            found[e[3]] = i
            if len(found) == 5:
                break
    return found


@pytest.mark.parametrize("long", [True, False], ids=["long", "short"])
def test_the_bracket_leg_bar_and_price_match_the_raw_candles(raw, long):
    kinds = first_of_each_kind(raw, long)
    assert set(kinds) == {"tp", "sl", "both", "tp-open", "sl-open"}, f"the file lacks a case: {kinds}"
    entries = sorted(set(kinds.values()) | set(range(0, len(raw) - 1, 97)))
    seen = {k: 0 for k in kinds}
    for i in entries:
        want = expected(raw, i, long)
        got = simulate(raw, i, long)
        if want is None:
            assert got is None, (i, got)
            continue
        seen[want[3]] += 1
        assert got is not None and got[0] == want[0] and got[1] == want[1], (i, want, got)
        assert got[2] == pytest.approx(want[2], rel=1e-12), (i, want, got)
    assert all(n >= 1 for n in seen.values()), seen


@pytest.mark.parametrize("long", [True, False], ids=["long", "short"])
def test_the_bar_touching_both_legs_fires_the_stop_loss(raw, long):
    i = first_of_each_kind(raw, long)["both"]
    leg, j, price = simulate(raw, i, long)
    tp, sl = legs(raw[i].open, long)
    b = raw[j]
    assert (b.high >= tp and b.low <= sl) if long else (b.low <= tp and b.high >= sl)  # the raw bar reaches both
    assert (leg, price) == ("sl", sl)
    for k in range(i, j):  # and no earlier bar reached either
        assert (tp > raw[k].high and raw[k].low > sl) if long else (tp < raw[k].low and raw[k].high < sl)


@pytest.mark.parametrize("long", [True, False], ids=["long", "short"])
@pytest.mark.parametrize("kind", ["tp-open", "sl-open"])
def test_a_gap_through_a_leg_fills_at_the_open(raw, long, kind):
    i = first_of_each_kind(raw, long)[kind]
    leg, j, price = simulate(raw, i, long)
    tp, sl = legs(raw[i].open, long)
    level = tp if kind == "tp-open" else sl
    assert leg == kind[:2] and price == raw[j].open
    prev = raw[j - 1]  # the whole bar before stayed on the near side of the level: the price jumped across it
    upward = (kind == "tp-open") == long
    assert (prev.high < level <= raw[j].open) if upward else (raw[j].open <= level < prev.low)

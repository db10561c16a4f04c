"""``TickLiveFeed``: book tickers received, each a step, folded as the tick backtest's ``TickFeed`` folds
the same events aligned in advance (``align_books``); the order rules of events taken together; a
late event never moves the clock back. Events built here from stated rules (prices in quote units)."""

from __future__ import annotations

import math

from basiskit.data.book_frame import align_books
from basiskit.data.live_feed import Received
from basiskit.data.tick_feed import SUFFIXES, TickFeed
from basiskit.data.tick_live_feed import TickLiveFeed
from basiskit.data.ticks import BookTickerSeries
from basiskit.domain.events import BookTicker

S, P = "ticks.x.spot.AUSDT", "ticks.y.perp.AUSDT"


def _events() -> list[BookTicker]:
    out = []
    for k in range(40):  # spot every 2 ms, perp every 3 ms: equal times at multiples of 6 ms
        out.append(BookTicker(k * 2_000_000, S, 1.0 + 0.001 * (k % 7), 10.0 + k, 1.002 + 0.001 * (k % 7), 5.0))
    for k in range(27):
        bid = 1.0 + 0.0015 * (k % 5)
        ask = bid - 0.001 if k == 9 else bid + 0.002  # update 9 is crossed: a step that leaves the book as it was
        out.append(BookTicker(k * 3_000_000, P, bid, 3.0, ask, 4.0 + k))
    return out


class _Arrivals:
    """A source that hands over ``batches`` one per poll, in arrival order."""

    def __init__(self, *batches: list) -> None:
        self.batches = list(batches)

    def poll(self, until_ns: int) -> list:
        return self.batches.pop(0) if self.batches else []

    def close(self) -> None:
        pass


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_received_events_fold_as_the_tick_backtests_feed():
    evs = _events()
    frame = align_books([BookTickerSeries.from_events(S, [e for e in evs if e.key == S]),
                         BookTickerSeries.from_events(P, [e for e in evs if e.key == P])])
    ref = TickFeed(frame)
    # received under the venues' stream keys, perp before spot at equal times (another connection)
    names = {S: "spot.v.AUSDT", P: "perp.v.AUSDT"}
    got = sorted(evs, key=lambda e: (e.timestamp, e.key != P))
    src = _Arrivals([Received(BookTicker(e.timestamp, names[e.key], e.bid, e.bid_size, e.ask, e.ask_size), 1)
                     for e in got])
    feed = TickLiveFeed(src, {"spot.v.AUSDT": S, "perp.v.AUSDT": P}, len(frame))
    feed.pump()
    assert feed.grid == frame.ts.tolist() and feed.late_events == 0
    for i in range(len(frame)):
        t_ref, t_live = ref.advance(i), feed.advance(i)
        assert t_live == t_ref
        for k in (S, P):
            for c in (k,) + tuple(k + s for s in SUFFIXES):
                assert _same(feed.state.px[c], ref.state.px[c]), (i, c)
            assert feed.state.stale[k] == ref.state.stale[k]
            w_live, w_ref = feed.state.window(k + ".bid", 3), ref.state.window(k + ".bid", 3)
            assert len(w_live) == len(w_ref) and all(map(_same, w_live, w_ref))


def test_a_late_event_is_stepped_at_the_last_time_and_counted():
    later = BookTicker(5_000_000, "spot.v.AUSDT", 1.0, 1.0, 1.1, 1.0)
    early = BookTicker(4_000_000, "spot.v.AUSDT", 1.0, 1.0, 1.2, 1.0)
    feed = TickLiveFeed(_Arrivals([later], [early]), {"spot.v.AUSDT": S}, 2)
    feed.pump()
    feed.pump()
    assert feed.grid == [5_000_000, 5_000_000] and feed.late_events == 1
    feed.advance(0)
    feed.advance(1)
    assert feed.state.t == 5_000_000 and feed.state.px[S + ".ask"] == 1.2  # the late book still counts


def test_a_resumed_feed_keeps_the_books_of_the_updates_already_stepped():
    old = BookTicker(1_000_000, "perp.v.AUSDT", 2.0, 1.0, 2.2, 1.0)   # stepped by the first attempt
    new = BookTicker(3_000_000, "spot.v.AUSDT", 1.0, 1.0, 1.1, 1.0)
    feed = TickLiveFeed(_Arrivals([old, new]), {"spot.v.AUSDT": S, "perp.v.AUSDT": P}, 1, after_ns=2_000_000)
    feed.pump()
    assert feed.grid == [3_000_000]
    feed.advance(0)
    assert feed.state.px[P] == 2.1 and not feed.state.stale[P] and feed.state.window(P + ".ask", 1) == [2.2]
    primed = TickLiveFeed(_Arrivals([new]), {"spot.v.AUSDT": S, "perp.v.AUSDT": P}, 1)
    primed.prime([BookTicker(1_000_000, P, 2.0, 1.0, 2.2, 1.0), BookTicker(1_500_000, P, 2.4, 1.0, 2.3, 1.0)])  # 2nd crossed
    primed.pump()
    primed.advance(0)
    assert primed.state.px[P + ".bid"] == 2.0 and primed.state.px[S + ".ask"] == 1.1

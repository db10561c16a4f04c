"""The tick clock and the book fill rule, on streams built by hand: each event a step, books as of the
step (never ahead), crossed books ignored, ties in stream order; fills at the opposite side of the book
standing `latency` after the decision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from basiskit.data.book_frame import align_books
from basiskit.data.tick_feed import TickFeed
from basiskit.data.ticks import BookTickerSeries
from basiskit.domain.events import BookTicker
from basiskit.venues.sim.book_fill import latency_fills

S = 1_000_000_000


def series(key, rows):
    return BookTickerSeries.from_events(key, [BookTicker(t * S, key, b, 1.0, a, 2.0) for t, b, a in rows])


def test_each_event_is_a_step_with_books_as_of_the_step():
    spot = series("A", [(1, 10.0, 11.0), (3, 10.5, 11.5), (3, 12.0, 11.0), (5, 10.2, 10.4)])  # (3, crossed)
    perp = series("B", [(2, 20.0, 21.0), (3, 20.5, 21.5)])
    f = align_books([spot, perp])
    assert f.ts.tolist() == [1 * S, 2 * S, 3 * S, 3 * S, 3 * S, 5 * S]
    assert f.src.tolist() == [0, 1, 0, 0, 1, 0]  # equal times: stream order, then file order
    assert f.invalid.tolist() == [False, False, False, True, False, False]
    assert f.bid["A"].tolist() == [10.0, 10.0, 10.5, 10.5, 10.5, 10.2]  # the crossed book changed nothing
    assert math.isnan(f.bid["B"][0]) and f.ask["B"].tolist()[1:] == [21.0, 21.0, 21.0, 21.5, 21.5]
    feed = TickFeed(f)
    tick = feed.advance(3)
    assert feed.state.px["A.bid"] == 10.5 and feed.state.px["A"] == pytest.approx(11.0)
    assert tick.events[0].bid == 12.0 and tick.events[0].key == "A"  # the event as it came
    assert feed.state.stale["B"] is False
    assert feed.state.window("A.ask", 3) == [11.0, 11.5, 11.5]  # steps 1..3


def test_out_of_order_rows_take_their_place_in_time():
    spot = series("A", [(1, 10.0, 11.0), (4, 10.4, 11.4), (2, 10.2, 11.2)])
    f = align_books([spot])
    assert f.ts.tolist() == [1 * S, 2 * S, 4 * S] and f.bid["A"].tolist() == [10.0, 10.2, 10.4]


def test_latency_fill_rule_first_step_at_or_after_the_due_time():
    spot = series("A", [(1, 10.0, 11.0), (2, 10.5, 11.5), (3, 13.0, 12.0), (4, 10.8, 11.8)])  # (3) crossed
    perp = series("B", [(1, 20.0, 21.0), (2, 20.5, 21.5)])
    f = align_books([spot, perp])  # steps: A1 B1 A2 B2 A3 A4
    buy = np.array([True, False, True, True, True])
    steps = np.array([0, 0, 0, 2, 5])
    limit = np.array([100.0, 0.0, 11.2, 100.0, 100.0])
    j, price, ok = latency_fills(f.ts, steps, 0, f.bid["A"], f.ask["A"], buy, limit)
    assert j.tolist() == [0, 0, 0, 2, 5] and price.tolist()[:2] == [11.0, 10.0]  # latency 0: the book decided on
    j, price, ok = latency_fills(f.ts, steps, S // 2, f.bid["A"], f.ask["A"], buy, limit)
    assert j.tolist() == [2, 2, 2, 4, 6]       # the first step at or after t + 0.5 s; 6: past the data
    assert price.tolist()[:4] == [11.5, 10.5, 11.5, 11.5]  # step 4 is the crossed book: the last valid one stands
    assert ok.tolist() == [True, True, False, True, False]  # 11.5 beyond the limit 11.2; past the data: no fill

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
from basiskit.venues.sim.book_fill import BookFill

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


def test_fill_rule_opposite_side_after_latency():
    s = series("A", [(1, 10.0, 11.0), (2, 10.5, 11.5), (3, 13.0, 12.0), (4, 10.8, 11.8)])
    fill = BookFill(s, end_ns=4 * S)
    assert fill.at(1 * S, True) == 11.0 and fill.at(1 * S, False) == 10.0  # latency 0: the book decided on
    assert fill.at(1 * S + S // 2, True) == 11.0                              # nothing new yet
    assert fill.at(2 * S, True) == 11.5                                       # an update at the due time counts
    assert fill.at(3 * S, False) == 10.5                                      # a crossed book is skipped
    assert fill.at(0, True) is None and fill.at(5 * S, True) is None          # no book yet / past the data
    price, row = fill.at_many(np.array([1 * S, 3 * S, 5 * S]), np.array([True, False, True]))
    assert price[:2].tolist() == [11.0, 10.5] and math.isnan(price[2]) and row.tolist() == [0, 1, -1]

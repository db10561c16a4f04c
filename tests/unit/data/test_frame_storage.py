"""The frame's compact storage reads as the lists it replaces: floats from array('d'), bools from Flags."""

from __future__ import annotations

import pickle
from array import array

import numpy as np

from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import Flags, MarketFrame


def test_flags_read_as_a_list_of_bools():
    values = [False, True, True, False, True]
    f = Flags(np.array(values).tobytes())
    assert len(f) == 5 and [f[i] for i in range(5)] == values and list(f) == values
    assert all(type(x) is bool for x in f) and type(f[1]) is bool and f[-1] is True
    assert list(f[1:3]) == [True, True] and isinstance(f[1:3], Flags)
    assert pickle.loads(pickle.dumps(f)) == f  # a process pool / Ray worker gets the same flags


def test_a_feed_on_arrays_and_flags_writes_what_it_writes_on_lists():
    grid = np.arange(6, dtype=np.int64) * 3_600_000_000_000
    prices = [100.0, 100.5, 101.25, 99.0, 99.0, 98.75]
    stale = [False, False, True, True, False, False]
    compact = MarketFrame(grid=grid, series={"p": array("d", prices)}, stale={"p": Flags(np.array(stale).tobytes())})
    lists = MarketFrame(grid=grid, series={"p": list(prices)}, stale={"p": list(stale)})
    seen = {}
    for name, frame in (("compact", compact), ("lists", lists)):
        feed = HistoricalFeed(frame)
        out = []
        for i in (0, 1, 2, 3, 4, 5, 3, 0):  # in order, then jumps back (every flag re-read)
            feed.advance(i)
            px, flag = feed.state.px["p"], feed.state.stale["p"]
            out.append((type(px), px, type(flag), flag))
        seen[name] = out
    assert seen["compact"] == seen["lists"]
    assert [p for _, p, _, _ in seen["lists"][:6]] == prices and [s for *_, s in seen["lists"][:6]] == stale

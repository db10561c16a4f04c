"""(Service layer, beside ``live_service``: it picks the data source -- ccxt streams, an emulator, the
catalog or the store's recording.) The market data of a paper session of a book-ticker (signal) mode: a ``data.tick_live_feed.TickLiveFeed``
on the venues' book-ticker streams or on a recorded period.

A signal mode reads two book-ticker series, ``spot_dataset`` and ``perp_dataset`` (e.g.
``ticks.mexc.spot.LUNCUSDT``, ``ticks.gateio.perp.LUNCUSDT``: ``ticks.<venue>.<spot|perp>.<BASE>USDT``).
Live, each is the ccxt.pro book-ticker stream of that instrument (``data.live.ccxt_feed``: spot
``<BASE>/USDT``, perp ``<BASE>/USDT:USDT``) on the dataset's own venue, or on ``book_venue`` (``--set
live.book_venue=binance``; on an exchange emulator it is ``binance``: the emulator serves recorded ticks
as its Binance instruments, ``basiskit emulator --ticks binance.spot:LUNC=ticks.mexc.spot.LUNCUSDT
--ticks binance.perp:LUNC=ticks.gateio.perp.LUNCUSDT``). A replay (``--replay START END``) plays the
period's recorded book tickers back: the catalog's tick files (``BASIS_DATA_MODE=csv``) or the book
tickers a session recorded in the store (``db``), as fast as possible (``speed`` 0) or on a clock
``speed`` times as fast as wall time. Each book ticker is a step (``TickLiveFeed``); a live session
runs ``steps`` of them.

Errors: ``LiveInputError`` (a dataset that names no instrument, an empty replay, nothing left to replay).
"""

from __future__ import annotations

import time

from basiskit.data.replay_source import EventListSource
from basiskit.data.tick_live_feed import TickLiveFeed
from basiskit.domain.events import BookTicker
from basiskit.engine.live.errors import LiveInputError


def leg_streams(config, book_venue: str | None):
    """``{stream key: dataset key}`` and the ccxt ``Stream`` s of the two legs (module docstring)."""
    from basiskit.data.live.ccxt_feed import Stream

    keys, streams = {}, []
    for ds in (config.spot_dataset, config.perp_dataset):
        parts = ds.split(".")
        if len(parts) != 4 or parts[0] != "ticks" or parts[2] not in ("spot", "perp") or not parts[3].endswith("USDT"):
            raise LiveInputError(f"dataset {ds!r}: a live book-ticker session needs ticks.<venue>.<spot|perp>.<BASE>USDT")
        st = Stream(book_venue or parts[1], parts[2], parts[3][:-4], book_ticker=True, bars=None)
        keys[st.key] = ds
        streams.append(st)
    return keys, streams


def recorded_book_tickers(config, catalog, store, data_mode: str, start_ns: int, end_ns: int) -> list[BookTicker]:
    """The period's book tickers of the two datasets, time ordered (spot before perp at equal times)."""
    if data_mode == "csv":
        from basiskit.engine.tick_backtest import load_streams

        out = []
        for s in load_streams(config, catalog, start_ns, end_ns):
            s = s.in_time_order()
            out += [BookTicker(int(s.ts[j]), s.key, float(s.bid[j]), float(s.bid_size[j]), float(s.ask[j]),
                               float(s.ask_size[j])) for j in range(len(s))]
        return out
    from basiskit.live_service import recorded_events

    want = (config.spot_dataset, config.perp_dataset)
    return [e for e in recorded_events(store, start_ns, end_ns) if type(e) is BookTicker and e.key in want]


def tick_feed(config, settings, catalog, store, data_mode: str, replay: tuple[int, int] | None, speed: float,
              emulator: str | None, resume_after: int | None):
    """(feed, now_ns, sleep) of a paper session of a signal mode (module docstring); ``replay``: (start,
    end) ns."""
    if replay is not None:
        events = recorded_book_tickers(config, catalog, store, data_mode, *replay)
        n = sum(1 for e in events if resume_after is None or e.timestamp > resume_after)
        if not n:
            raise LiveInputError("nothing to replay: no book tickers of "
                                 f"{config.spot_dataset} / {config.perp_dataset} in the period"
                                 + (" after the session's saved step" if resume_after is not None else ""))
        ident = {k: k for k in (config.spot_dataset, config.perp_dataset)}
        if speed == 0:  # a resumed replay: the events the first attempt stepped set the books, no step
            return TickLiveFeed(EventListSource(events), ident, n, after_ns=resume_after), time.time_ns, time.sleep
        from basiskit.engine.live.driver import ScaledClock

        clock = ScaledClock(events[0].timestamp - 1 if resume_after is None else resume_after, speed)
        feed = TickLiveFeed(EventListSource(events), ident, n, now_ns=clock.now_ns, paced=True, after_ns=resume_after)
        return feed, clock.now_ns, clock.sleep
    from basiskit.data.live.stream_source import StreamSource
    from basiskit.live_service import ccxt_client

    keys, streams = leg_streams(config, settings.book_venue or ("binance" if emulator else None))
    by_venue: dict[str, list] = {}
    for st in streams:
        by_venue.setdefault(st.venue, []).append(st)
    source = StreamSource({v: ccxt_client(v, emulator) for v in by_venue}, by_venue)
    feed = TickLiveFeed(source, keys, settings.steps, after_ns=resume_after)
    if resume_after is not None:  # the books the first attempt last saw (its recording: the last hour)
        feed.prime(recorded_book_tickers(config, catalog, store, "db", resume_after - 3_600_000_000_000, resume_after))
    return feed, time.time_ns, time.sleep

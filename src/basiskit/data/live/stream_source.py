"""The ccxt feed (``data.live.ccxt_feed.CcxtFeed``) as a ``MarketSource`` for the runner's ``LiveFeed``.

``CcxtFeed.events()`` is an async iterator on a ccxt.pro client's event loop; the kernel is
synchronous. :class:`StreamSource` runs one feed per venue on a loop thread of its own, puts every
event into a thread-safe queue as it arrives, and ``poll(until_ns)`` hands the events stamped by their
venue at or before ``until_ns`` (later ones wait for their step: nothing of the next step leaks into
this one); ``wait(timeout)`` blocks until something arrives (a tick session steps on each event). A feed that fails (``FeedUnavailable``) is re-raised from ``poll``; ``status()`` is the
feeds' per-stream state (stream / REST fallback, last receipt).

``clients``: venue -> a ccxt.pro client factory (called on the source's loop); ``streams``: venue ->
``[Stream]``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable

from basiskit.data.live.ccxt_feed import CcxtFeed, Stream
from basiskit.errors.exceptions import FeedUnavailable


class StreamSource:
    def __init__(self, clients: dict[str, Callable[[], object]], streams: dict[str, list[Stream]]) -> None:
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._held: list = []
        self._error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="market-streams", daemon=True)
        self._thread.start()
        self.feeds: list[CcxtFeed] = []
        self._clients: list = []
        self._tasks = []
        for venue, factory in clients.items():
            fut = asyncio.run_coroutine_threadsafe(self._start(factory, streams[venue]), self.loop)
            fut.result(30)
        self.closed = False

    async def _start(self, factory, streams: list[Stream]) -> None:
        client = factory()
        feed = CcxtFeed(client, streams)
        self._clients.append(client)
        self.feeds.append(feed)

        async def pump() -> None:
            try:
                async for ev in feed.events():
                    self._q.put(ev)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the runner's thread by poll
                self._q.put(exc)

        self._tasks.append(asyncio.ensure_future(pump()))

    def poll(self, until_ns: int) -> list:
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                raise item if isinstance(item, FeedUnavailable) else FeedUnavailable(f"market stream: {item}")
            self._held.append(item)
        if not self._held:
            return []
        out = [e for e in self._held if e.timestamp <= until_ns]
        if out:
            self._held = [e for e in self._held if e.timestamp > until_ns]
        return out

    def wait(self, timeout_s: float) -> None:
        """Block up to ``timeout_s`` until a stream has put something in (then ``poll`` takes it)."""
        try:
            item = self._q.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return
        if isinstance(item, BaseException):
            self._q.put(item)  # raised by the next poll, on the runner's thread
            return
        self._held.append(item)

    def status(self) -> dict:
        out: dict = {}
        for f in self.feeds:
            out.update(f.status())
        return out

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True

        async def stop() -> None:
            for t in self._tasks:
                t.cancel()
            for f in self.feeds:
                try:
                    await f.close()
                except Exception:  # noqa: BLE001 - a stream already gone
                    pass
            for c in self._clients:
                try:
                    await c.close()
                except Exception:  # noqa: BLE001
                    pass
        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        except Exception:  # noqa: BLE001 - closing after a failure
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def streams_for(keys: list[str], funding_keys: list[str], bars: str = "1h") -> dict[str, list[Stream]]:
    """The streams a run's series need: ``spot.<venue>.<BASE>USDT`` -> book ticker and bars;
    ``perp.<venue>.<BASE>USDT`` -> book ticker, bars, mark price and funding settlements (when the
    run has that venue's ``funding.`` series). Other keys (on-chain) have no ccxt stream: ValueError."""
    out: dict[str, list[Stream]] = {}
    for k in keys:
        kind, venue, sym = k.split(".", 2)
        if kind not in ("spot", "perp") or not sym.endswith("USDT"):
            raise ValueError(f"series {k!r} has no exchange stream (on-chain data needs its own feed)")
        base = sym[:-4]
        funding = f"funding.{venue}.{sym}" in funding_keys
        out.setdefault(venue, []).append(Stream(venue, kind, base, book_ticker=True, bars=bars,
                                                mark=kind == "perp", funding=kind == "perp" and funding))
    return out

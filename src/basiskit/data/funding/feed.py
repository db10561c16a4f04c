"""``FundingFeed``: the current funding rate of a perpetual, from history or from a venue.

A backtest (and the scanner's ``--at``) reads :class:`HistoricalFundingFeed`: the last settled rate at
or before the time asked (never a later one). Live, :class:`ClientFundingFeed` asks an exchange client
with the ccxt unified method ``fetch_funding_rate(symbol)`` (its answer's ``fundingRate``,
``fundingTimestamp`` / ``nextFundingTimestamp`` in ms and ``interval`` such as ``"8h"``); the client is
injected (a ``ccxt`` exchange object, or a fake in tests) -- this module opens no connection itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from basiskit.data.funding.table import FundingTable

MS_NS = 1_000_000


@dataclass(frozen=True)
class FundingQuote:
    """A funding rate as the feed knows it: ``rate`` per period (positive: longs pay shorts),
    ``interval_h`` the period (hours), ``time_ns`` the settlement it belongs to (ns, UTC),
    ``settled``: True for a settled rate, False for the venue's current (predicted) rate."""

    venue: str
    instrument: str
    rate: float
    interval_h: int
    time_ns: int
    settled: bool


class FundingFeed(Protocol):
    def quote(self, venue: str, instrument: str, at_ns: int) -> FundingQuote | None: ...


class HistoricalFundingFeed:
    """Settled rates of a :class:`FundingTable`; ``quote`` gives the last settlement at or before ``at_ns``
    (None before the first one)."""

    def __init__(self, table: FundingTable) -> None:
        self.table = table

    def quote(self, venue: str, instrument: str, at_ns: int) -> FundingQuote | None:
        t, r, iv = self.table.series(self.table.index(venue, instrument))
        j = int(np.searchsorted(t, at_ns, "right")) - 1
        if j < 0:
            return None
        return FundingQuote(venue, instrument, float(r[j]), int(iv[j]), int(t[j]), True)


class ClientFundingFeed:
    """Live rates from exchange clients: ``clients`` maps a venue to an object with ccxt's
    ``fetch_funding_rate(symbol) -> dict``; ``symbols`` maps ``(venue, instrument)`` to the client's
    symbol (e.g. ``("okx", "BTC-USDT-SWAP") -> "BTC/USDT:USDT"``).

    Raises (from ``quote``):
        KeyError: no client for the venue or no symbol for the instrument.
        ValueError: the answer lacks a rate or has an interval that is not ``<n>h``.
    """

    def __init__(self, clients: dict[str, Any], symbols: dict[tuple[str, str], str]) -> None:
        self.clients = clients
        self.symbols = symbols

    def quote(self, venue: str, instrument: str, at_ns: int | None = None) -> FundingQuote | None:
        client = self.clients[venue]
        symbol = self.symbols[(venue, instrument)]
        ans = client.fetch_funding_rate(symbol)
        rate = ans.get("fundingRate")
        if rate is None:
            raise ValueError(f"{venue} {symbol}: the answer has no fundingRate")
        interval = ans.get("interval") or "8h"
        if not (isinstance(interval, str) and interval.endswith("h") and interval[:-1].isdigit()):
            raise ValueError(f"{venue} {symbol}: funding interval {interval!r} is not '<n>h'")
        ts = ans.get("fundingTimestamp") or ans.get("nextFundingTimestamp") or 0
        return FundingQuote(venue, instrument, float(rate), int(interval[:-1]), int(ts) * MS_NS, False)

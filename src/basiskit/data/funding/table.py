"""``FundingTable``: the settled funding rates of many perpetual instruments in flat arrays.

Instrument ``k`` (``keys[k] = (venue, instrument)``, e.g. ``("okx", "BTC-USDT-SWAP")`` or
``("binance", "BTCUSDT")``) owns the rows ``offsets[k]:offsets[k+1]`` of ``times`` (int64 ns, UTC,
strictly increasing per instrument), ``rates`` (per settlement period; positive: longs pay shorts) and
``intervals`` (the period in hours, :mod:`.schedule`). ``base`` / ``quote`` name the underlying
(``BTC`` / ``USDT``; ``USD`` for OKX coin-margined swaps) so that the same perpetual can be matched
across venues.

Annualisation: a rate ``r`` per ``h``-hour period is an APR of ``r x 8760 / h`` (simple, 365-day year).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from basiskit.data.funding.schedule import HOUR_NS, off_schedule, segments

HOURS_PER_YEAR = 8760.0


def split_symbol(venue: str, instrument: str) -> tuple[str, str]:
    """``(base, quote)`` of a perpetual's symbol: ``BTC-USDT-SWAP`` (OKX) -> ``(BTC, USDT)``;
    ``BTCUSDT`` (Binance/Bybit linear) -> ``(BTC, USDT)``.

    Raises:
        ValueError: a symbol of neither form (names it).
    """
    if "-" in instrument:
        parts = instrument.split("-")
        if len(parts) >= 2:
            return parts[0], parts[1]
    for quote in ("USDT", "USDC", "USD"):
        if instrument.endswith(quote) and len(instrument) > len(quote):
            return instrument[: -len(quote)], quote
    raise ValueError(f"{venue}: cannot tell base and quote of instrument {instrument!r}")


@dataclass(frozen=True)
class FundingTable:
    keys: tuple[tuple[str, str], ...]
    offsets: np.ndarray            # int64, len(keys) + 1
    times: np.ndarray              # int64 ns
    rates: np.ndarray              # float64, per settlement period
    intervals: np.ndarray          # int64 hours
    base: tuple[str, ...] = field(default=())
    quote: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.base:
            pairs = [split_symbol(v, i) for v, i in self.keys]
            object.__setattr__(self, "base", tuple(b for b, _ in pairs))
            object.__setattr__(self, "quote", tuple(q for _, q in pairs))

    # -- construction -----------------------------------------------------------------------
    @staticmethod
    def concat(tables: list["FundingTable"]) -> "FundingTable":
        """One table of several (their instruments in order). Raises ValueError on a key given twice."""
        keys: list[tuple[str, str]] = []
        for t in tables:
            keys.extend(t.keys)
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})[0]
            raise ValueError(f"funding series {dup[0]}:{dup[1]} given twice")
        offs = [np.zeros(1, dtype=np.int64)]
        base = 0
        for t in tables:
            offs.append(t.offsets[1:] + base)
            base += int(t.offsets[-1])
        cat = lambda name, dt: np.concatenate([getattr(t, name) for t in tables]) if tables else np.zeros(0, dt)  # noqa: E731
        return FundingTable(tuple(keys), np.concatenate(offs), cat("times", np.int64), cat("rates", float),
                            cat("intervals", np.int64),
                            tuple(b for t in tables for b in t.base), tuple(q for t in tables for q in t.quote))

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    def index(self, venue: str, instrument: str) -> int:
        """Position of ``(venue, instrument)``. Raises KeyError naming it."""
        try:
            return self.keys.index((venue, instrument))
        except ValueError:
            raise KeyError(f"no funding series {venue}:{instrument}") from None

    def series(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times ns, rates per period, intervals h)`` of instrument ``k`` (views)."""
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        return self.times[a:b], self.rates[a:b], self.intervals[a:b]

    def settlements(self, venue: str, instrument: str, start_ns: int | None = None,
                    end_ns: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The settlements of one instrument with ``start_ns < t <= end_ns`` (either bound optional)."""
        t, r, iv = self.series(self.index(venue, instrument))
        lo = 0 if start_ns is None else int(np.searchsorted(t, start_ns, "right"))
        hi = t.size if end_ns is None else int(np.searchsorted(t, end_ns, "right"))
        return t[lo:hi], r[lo:hi], iv[lo:hi]

    def schedule(self, venue: str, instrument: str) -> list[tuple[int, int, int]]:
        """``(first ns, last ns, interval h)`` runs of the instrument's schedule (:func:`.schedule.segments`)."""
        t, _, iv = self.series(self.index(venue, instrument))
        return segments(t, iv)

    def off_schedule_count(self) -> int:
        """Settlements in the table that are not on their instrument's own grid (must be 0)."""
        return int(off_schedule(self.times, self.intervals).sum())

    def span(self) -> tuple[int, int]:
        """(first, last) settlement time over all instruments, ns."""
        return int(self.times.min()), int(self.times.max())

    def asof(self, at_ns: np.ndarray, max_age_periods: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """Last settled rate of every instrument at each time of ``at_ns``.

        Returns ``(rates, intervals)``, each of shape ``(len(at_ns), len(self))``: the rate per period and
        its interval (h) of the last settlement at or before each time; NaN / 0 before an instrument's first
        settlement or when that settlement is older than ``max_age_periods`` of its interval (a data gap or
        a delisted instrument: no current rate).
        """
        at = np.asarray(at_ns, dtype=np.int64)
        n = len(self)
        rates = np.full((at.size, n), np.nan)
        ivs = np.zeros((at.size, n), dtype=np.int64)
        for k in range(n):
            a, b = int(self.offsets[k]), int(self.offsets[k + 1])
            if a == b:
                continue
            t = self.times[a:b]
            j = np.searchsorted(t, at, "right") - 1
            ok = j >= 0
            jj = np.where(ok, j, 0) + a
            age_ok = ok & (at - self.times[jj] <= max_age_periods * self.intervals[jj] * HOUR_NS)
            rates[:, k] = np.where(age_ok, self.rates[jj], np.nan)
            ivs[:, k] = np.where(age_ok, self.intervals[jj], 0)
        return rates, ivs


def annualise(rates: np.ndarray, intervals_h: np.ndarray) -> np.ndarray:
    """APR (simple, 365-day year) of rates per ``intervals_h``-hour period: ``r x 8760 / h``; NaN where
    the interval is 0 (no rate)."""
    iv = np.asarray(intervals_h, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(iv > 0, np.asarray(rates) * HOURS_PER_YEAR / np.where(iv > 0, iv, 1.0), np.nan)

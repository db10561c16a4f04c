"""Book-ticker (top-of-book) datasets: the tick catalog.

A book ticker is one best bid / best ask update of one instrument on one venue (``domain.events.
BookTicker``). The catalog's hourly datasets (``data.sources``) live on a grid; tick datasets do not:
every row is an event at its own time. This module registers them (:data:`TICK_SPECS`), reads and
validates their CSV files and hands them out as columns (:class:`BookTickerSeries`) or as
``BookTicker`` events.

Source format (``ticks/*.csv``, see ``shared/data/README.md``): ``timestamp`` (ISO-8601 with offset,
microseconds), ``exchange``, ``symbol_base``, ``symbol_quote``, ``bid_price``, ``bid_qty``,
``ask_price``, ``ask_qty``, ``mid_price``, ``spread_bps``. Prices in quote units (USDT) per base unit,
sizes in base units; ``mid_price`` must equal (bid + ask) / 2 and ``spread_bps`` (ask - bid) / mid x
1e4 (relative tolerance :data:`DERIVED_RTOL`).

Validation has two levels:

* **bad rows** raise :class:`~basiskit.data.errors.DataError` naming the file and the 1-based line
  (header = line 1): a wrong field count, an unparseable or naive timestamp, another exchange or
  symbol than the dataset's, a non-finite number, a price <= 0, a negative size, a ``mid_price`` or
  ``spread_bps`` that disagrees with the bid and ask;
* **stream defects** are reported (:class:`TickReport`), never silently fixed: exact duplicate rows,
  conflicting duplicates (same timestamp, other values), rows out of time order, crossed books
  (bid > ask) and locked books (bid == ask). With ``strict=True`` the first defect raises instead.

What a consumer does with defects is its documented rule, not this module's: :meth:`BookTickerSeries.
in_time_order` stable-sorts by timestamp (a row out of order takes its place in time; duplicates stay,
each an event) and ``valid`` marks the rows with an uncrossed, positive book (the signal kernels and the
fill rule skip the others: ``strategies.signals``).

Bars as books (:func:`bars_as_book_tickers`): an hourly candle dataset of the catalog (e.g.
``spot.binance.BTCUSDT``) seen as a book-ticker stream by a stated rule -- one event per *traded* bar
(filled rows are dropped, never invented), at the bar's close time (open + step), bid = ask = close,
sizes = the bar's volume. It lets the signal strategies run on the long hourly history (zero spread).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from basiskit.data.errors import DataError
from basiskit.domain.events import BookTicker

COLUMNS = ("timestamp", "exchange", "symbol_base", "symbol_quote", "bid_price", "bid_qty", "ask_price", "ask_qty",
           "mid_price", "spread_bps")
DERIVED_RTOL = 1e-6
"""Relative tolerance of the ``mid_price`` / ``spread_bps`` consistency check (they are floats the recorder
computed from the same bid and ask: the real files agree to 1e-15)."""
MAX_LINES_LISTED = 20  # line numbers kept per defect class in a report
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class TickSpec:
    """One book-ticker dataset: ``dataset_id`` (``ticks.<venue>.<market>.<BASE><QUOTE>``, also its market
    series key), ``pattern`` (glob relative to the source dir, exactly one file), ``exchange`` (the value
    of the ``exchange`` column), ``venue`` (its config file, ``configs/venues/<venue>.yaml``), ``market``
    (``spot`` or ``perp``), ``base`` / ``quote`` tokens."""

    dataset_id: str
    pattern: str
    exchange: str
    venue: str
    market: str
    base: str
    quote: str


TICK_SPECS: dict[str, TickSpec] = {s.dataset_id: s for s in (
    TickSpec("ticks.mexc.spot.LUNCUSDT", "ticks/MEXC_SPOT_LUNC_USDT_*.csv", "MEXC_SPOT", "mexc", "spot", "LUNC", "USDT"),
    TickSpec("ticks.gateio.perp.LUNCUSDT", "ticks/GATEIO_FUTURES_LUNC_USDT_*.csv", "GATEIO_FUTURES", "gateio", "perp",
             "LUNC", "USDT"),
)}
"""Registered book-ticker datasets, keyed by dataset id."""


class TickReport(BaseModel):
    """What one tick file held: rows, range (ISO-8601 UTC), update gaps (seconds) and each stream
    defect with its count and the first :data:`MAX_LINES_LISTED` line numbers (1-based, header = 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset_id: str
    file: str
    rows: int
    start: str | None
    end: str | None
    median_gap_s: float | None
    max_gap_s: float | None
    duplicates: int = 0
    duplicate_lines: list[int] = []
    conflicting_duplicates: int = 0
    conflicting_lines: list[int] = []
    out_of_order: int = 0
    out_of_order_lines: list[int] = []
    crossed: int = 0
    crossed_lines: list[int] = []
    locked: int = 0
    locked_lines: list[int] = []

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.conflicting_duplicates or self.out_of_order or self.crossed or self.locked)


@dataclass(frozen=True)
class BookTickerSeries:
    """Columns of one book-ticker stream, in file order: ``ts`` int64 ns since the epoch (UTC), ``bid`` /
    ``ask`` float64 quote units per base unit, ``bid_size`` / ``ask_size`` float64 base units, ``line``
    int64 source line numbers (0 for rows not read from a file). ``key`` is the market series key."""

    key: str
    ts: np.ndarray
    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray
    line: np.ndarray
    file: str = ""

    def __len__(self) -> int:
        return int(self.ts.size)

    @property
    def valid(self) -> np.ndarray:
        """bool per row: a usable book (bid and ask finite and > 0, bid <= ask). Crossed books are not."""
        with np.errstate(invalid="ignore"):
            return (self.bid > 0) & (self.ask > 0) & (self.bid <= self.ask) & np.isfinite(self.bid) & np.isfinite(self.ask)

    def in_time_order(self) -> BookTickerSeries:
        """The rows stably sorted by timestamp (rows with equal timestamps keep their file order)."""
        if self.ts.size < 2 or bool(np.all(self.ts[1:] >= self.ts[:-1])):
            return self
        o = np.argsort(self.ts, kind="stable")
        return BookTickerSeries(self.key, self.ts[o], self.bid[o], self.bid_size[o], self.ask[o], self.ask_size[o],
                                self.line[o], self.file)

    def between(self, start_ns: int, end_ns: int) -> BookTickerSeries:
        """Rows with ``start_ns <= ts <= end_ns`` (the series must be in time order)."""
        a, b = np.searchsorted(self.ts, start_ns, "left"), np.searchsorted(self.ts, end_ns, "right")
        return BookTickerSeries(self.key, self.ts[a:b], self.bid[a:b], self.bid_size[a:b], self.ask[a:b],
                                self.ask_size[a:b], self.line[a:b], self.file)

    def events(self) -> Iterator[BookTicker]:
        """The rows as ``BookTicker`` events, in the series' order."""
        for t, b, bs, a, as_ in zip(self.ts.tolist(), self.bid.tolist(), self.bid_size.tolist(), self.ask.tolist(),
                                    self.ask_size.tolist()):
            yield BookTicker(t, self.key, b, bs, a, as_)

    @classmethod
    def from_events(cls, key: str, events: list[BookTicker]) -> BookTickerSeries:
        """Columns of ``events`` (all of ``key``), in the given order (tests build streams this way)."""
        f = lambda name: np.array([getattr(e, name) for e in events], dtype=np.float64)  # noqa: E731
        return cls(key, np.array([e.timestamp for e in events], dtype=np.int64), f("bid"), f("bid_size"), f("ask"),
                   f("ask_size"), np.zeros(len(events), dtype=np.int64))


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_ts(text: str) -> int:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError("no UTC offset")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def read_book_ticker_csv(path: Path, spec: TickSpec, rel: str | None = None,
                         strict: bool = False) -> tuple[BookTickerSeries, TickReport]:
    """Read and validate one book-ticker CSV (module docstring: bad rows raise, defects are reported).

    Args:
        path: the CSV file. rel: its name in messages (default: the path). strict: raise on the first
            stream defect (duplicate, row out of order, crossed or locked book) too.

    Returns: (the rows in file order, the report).

    Raises:
        DataError: missing file, bad header, a bad row (file and line named), or with ``strict`` a defect.
    """
    name = rel or str(path)
    if not path.is_file():
        raise DataError("book-ticker file not found", file=name, key=spec.dataset_id)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise DataError(f"header must be {','.join(COLUMNS)}, found {','.join(header or [])!r}", file=name, row=1)
        ts: list[int] = []
        vals: list[tuple[float, float, float, float]] = []
        lines: list[int] = []
        for k, row in enumerate(rows, start=2):
            if not row:
                continue
            ts.append(_check_row(row, spec, name, k, vals))
            lines.append(k)
    n = len(ts)
    v = np.array(vals, dtype=np.float64).reshape(n, 4)
    series = BookTickerSeries(spec.dataset_id, np.array(ts, dtype=np.int64), v[:, 0].copy(), v[:, 1].copy(),
                              v[:, 2].copy(), v[:, 3].copy(), np.array(lines, dtype=np.int64), name)
    report = inspect(series, spec.dataset_id, name)
    if strict and not report.clean:
        first = min(x for x in (report.duplicate_lines[:1] + report.conflicting_lines[:1] + report.out_of_order_lines[:1]
                                + report.crossed_lines[:1] + report.locked_lines[:1]))
        raise DataError(f"stream defects (strict): {report.duplicates} duplicates, {report.conflicting_duplicates} "
                        f"conflicting duplicates, {report.out_of_order} rows out of order, {report.crossed} crossed and "
                        f"{report.locked} locked books; the first at this line", file=name, row=first,
                        key=spec.dataset_id)
    return series, report


def _check_row(row: list[str], spec: TickSpec, name: str, line: int, out: list) -> int:
    if len(row) != len(COLUMNS):
        raise DataError(f"{len(row)} fields, expected {len(COLUMNS)}", file=name, row=line)
    try:
        t = _parse_ts(row[0])
    except ValueError as exc:
        raise DataError(f"timestamp {row[0]!r} is not an ISO-8601 time with a UTC offset ({exc})", file=name, row=line,
                        key="timestamp") from None
    for col, want in ((1, spec.exchange), (2, spec.base), (3, spec.quote)):
        if row[col] != want:
            raise DataError(f"{COLUMNS[col]} is {row[col]!r}, this dataset ({spec.dataset_id}) holds {want!r}",
                            file=name, row=line, key=COLUMNS[col])
    nums = []
    for col in range(4, 10):
        try:
            x = float(row[col])
        except ValueError:
            raise DataError(f"{COLUMNS[col]} {row[col]!r} is not a number", file=name, row=line,
                            key=COLUMNS[col]) from None
        if not math.isfinite(x):
            raise DataError(f"{COLUMNS[col]} is {row[col]!r}: not a finite number", file=name, row=line, key=COLUMNS[col])
        nums.append(x)
    bid, bq, ask, aq, mid, spread = nums
    for col, x in (("bid_price", bid), ("ask_price", ask)):
        if x <= 0:
            raise DataError(f"{col} {x!r} must be > 0", file=name, row=line, key=col)
    for col, x in (("bid_qty", bq), ("ask_qty", aq)):
        if x < 0:
            raise DataError(f"{col} {x!r} must be >= 0", file=name, row=line, key=col)
    m = (bid + ask) / 2
    if not math.isclose(mid, m, rel_tol=DERIVED_RTOL):
        raise DataError(f"mid_price {mid!r} is not (bid + ask) / 2 = {m!r}", file=name, row=line, key="mid_price")
    s = (ask - bid) / m * 1e4
    if not math.isclose(spread, s, rel_tol=DERIVED_RTOL, abs_tol=1e-9):
        raise DataError(f"spread_bps {spread!r} is not (ask - bid) / mid x 1e4 = {s!r}", file=name, row=line,
                        key="spread_bps")
    out.append((bid, bq, ask, aq))
    return t


def inspect(series: BookTickerSeries, dataset_id: str, file: str) -> TickReport:
    """The stream defects of ``series`` (rows in file order; module docstring). Exact duplicates and
    conflicting duplicates are judged on rows with the same timestamp; a row is out of order when its
    timestamp is before the latest one above it."""
    n = len(series)
    ts, line = series.ts, series.line
    lines = line if line.any() else np.arange(2, n + 2)
    order = np.argsort(ts, kind="stable")
    st = ts[order]
    same = np.flatnonzero(st[1:] == st[:-1]) + 1 if n > 1 else np.zeros(0, dtype=np.int64)
    cols = (series.bid, series.bid_size, series.ask, series.ask_size)
    exact = [int(k) for k in same if all(c[order[k]] == c[order[k - 1]] for c in cols)]
    exact_set = set(exact)
    conflict = [int(k) for k in same if int(k) not in exact_set]
    running = np.maximum.accumulate(ts) if n else ts
    ooo = np.flatnonzero(ts[1:] < running[:-1]) + 1 if n > 1 else np.zeros(0, dtype=np.int64)
    crossed = np.flatnonzero(series.bid > series.ask)
    locked = np.flatnonzero(series.bid == series.ask)
    gaps = np.diff(st) / 1e9 if n > 1 else np.zeros(0)

    def listed(idx) -> list[int]:
        return sorted(int(lines[i]) for i in idx)[:MAX_LINES_LISTED]

    return TickReport(
        dataset_id=dataset_id, file=file, rows=n,
        start=_iso(int(st[0])) if n else None, end=_iso(int(st[-1])) if n else None,
        median_gap_s=float(np.median(gaps)) if gaps.size else None, max_gap_s=float(gaps.max()) if gaps.size else None,
        duplicates=len(exact), duplicate_lines=listed([order[k] for k in exact]),
        conflicting_duplicates=len(conflict), conflicting_lines=listed([order[k] for k in conflict]),
        out_of_order=int(ooo.size), out_of_order_lines=listed(ooo),
        crossed=int(crossed.size), crossed_lines=listed(crossed), locked=int(locked.size), locked_lines=listed(locked))


class TickCatalog:
    """The book-ticker datasets of a source dir (the same ``shared/data`` root as the hourly catalog:
    ``TickCatalog(catalog.source_dir)``). Files are read and validated once per instance."""

    def __init__(self, source_dir: Path | str) -> None:
        self.source_dir = Path(source_dir)
        self._cache: dict[str, tuple[BookTickerSeries, TickReport]] = {}

    def dataset_ids(self) -> list[str]:
        return list(TICK_SPECS)

    def spec(self, dataset_id: str) -> TickSpec:
        """Raises DataError for an unknown id (the message lists the known ones)."""
        try:
            return TICK_SPECS[dataset_id]
        except KeyError:
            raise DataError(f"unknown book-ticker dataset; known: {', '.join(TICK_SPECS)}", key=dataset_id) from None

    def path(self, dataset_id: str) -> Path:
        """The dataset's one source file. Raises DataError: no file or several match its pattern."""
        spec = self.spec(dataset_id)
        files = sorted(p for p in self.source_dir.glob(spec.pattern) if p.is_file())
        if len(files) != 1:
            raise DataError(f"expected exactly one file matching {spec.pattern!r} in the source dir, found {len(files)}",
                            file=spec.pattern, key=dataset_id)
        return files[0]

    def read(self, dataset_id: str) -> tuple[BookTickerSeries, TickReport]:
        """(rows in file order, report). Raises DataError as :func:`read_book_ticker_csv`."""
        if dataset_id not in self._cache:
            p = self.path(dataset_id)
            self._cache[dataset_id] = read_book_ticker_csv(p, self.spec(dataset_id), p.relative_to(self.source_dir).as_posix())
        return self._cache[dataset_id]

    def report(self) -> list[TickReport]:
        return [self.read(d)[1] for d in TICK_SPECS if self._has(d)]

    def _has(self, dataset_id: str) -> bool:
        return any(p.is_file() for p in self.source_dir.glob(TICK_SPECS[dataset_id].pattern))


def load_book_tickers(source_dir: Path | str, dataset_id: str, start: int | None = None, end: int | None = None,
                      strict: bool = False) -> BookTickerSeries:
    """The book tickers of ``dataset_id`` (one of :data:`TICK_SPECS`) from the source dir, validated
    (module docstring), in time order (a stable sort: see :meth:`BookTickerSeries.in_time_order`;
    the defects are in :meth:`TickCatalog.read`'s report), cut to ``[start, end]`` (int ns, inclusive)
    when given.

    Raises:
        DataError: unknown dataset, missing file, a bad row (file and line named); with ``strict`` also
            any stream defect.
    """
    cat = TickCatalog(source_dir)
    if strict:
        p = cat.path(dataset_id)
        series, _ = read_book_ticker_csv(p, cat.spec(dataset_id), p.relative_to(cat.source_dir).as_posix(), strict=True)
    else:
        series, _ = cat.read(dataset_id)
    series = series.in_time_order()
    if start is not None or end is not None:
        series = series.between(start if start is not None else -2**62, end if end is not None else 2**62)
    return series


def bars_as_book_tickers(frame, dataset_id: str, step_seconds: int = 3600, column: str = "close") -> BookTickerSeries:
    """An hourly candle dataset (a catalog frame: ``Catalog.load(dataset_id)``, DatetimeIndex of bar opens,
    a ``filled`` column) as a zero-spread book-ticker stream (module docstring): one event per traded bar
    at its close time (open + ``step_seconds``), bid = ask = ``column``, sizes = ``volume``. The key is
    ``dataset_id``.

    Raises:
        DataError: the frame lacks ``column``, ``volume`` or ``filled``.
    """
    for col in (column, "volume", "filled"):
        if col not in frame.columns:
            raise DataError(f"candle frame has no column {col!r}", key=dataset_id)
    traded = frame[~frame["filled"].astype(bool)]
    ts = traded.index.as_unit("ns").asi8.astype(np.int64) + step_seconds * 1_000_000_000
    px = traded[column].to_numpy(dtype=np.float64)
    vol = traded["volume"].to_numpy(dtype=np.float64)
    return BookTickerSeries(dataset_id, ts, px.copy(), vol.copy(), px.copy(), vol.copy(), np.zeros(ts.size, dtype=np.int64))

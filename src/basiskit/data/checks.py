"""Value checks of the import: values that cannot be real never reach a backtest silently.

Each check is a pure, vectorised function of one dataset's parsed rows and returns a :class:`Finding`
(the failing rows, and what is wrong with the first of them) or None. What happens to the rows is the
:class:`~basiskit.config.data_policy.DataPolicy`'s choice (default: an error naming file, line, column, value).

Input ``rows``: a DataFrame with ``ts`` (``datetime64[us, UTC]``), the spec's float64 output columns,
``_line`` (1-based physical line) and ``_file`` (path relative to the source dir). The timestamp checks
see the rows in file order (duplicates included); the value checks see them sorted by time, unique.

Check classes and their bounds (log moves: ``ln(x / reference)``; +0.405 = +50 %, -0.405 = -33 %):

* ``timestamp_out_of_range``: a row outside the date range in its file name (``..._2024-01-01_2025-09-30.csv``:
  from the first date 00:00 to the end of the last date; one date: that day), plus the spec's
  ``name_end_slack_days`` (11 for the AAVE/oracle/peg files, whose collector wrote rows up to its
  processing date; 0 elsewhere; see ``sources.NAME_END_SLACK_DAYS``). File names without a date: not checked.
* ``timestamp_outlier``: a row more than :data:`OUTLIER_STEPS` steps from both of its neighbours in file
  order while those two are within that distance of each other, i.e. a row far out of order (at a file's
  first/last row: more than that out of order with its one neighbour, while that one and the next agree;
  an in-order edge row before a real gap passes). Real data: every row is at most 1 step from a neighbour.
* ``non_positive_price``: a price <= 0 (candle open/high/low/close, oracle and peg rates, AAVE indexes;
  volume may be 0).
* ``ohlc_inconsistent``: high < max(open, close), low > min(open, close) or high < low (exact; real data: none).
* ``funding_cap``: |funding rate| above the venue's documented cap for the symbol (clamp of the venue;
  ``perp.funding_cap`` in ``basiskit/configs/venues/<venue>.yaml``, with the rule and its sources).
  Real maxima per 8 h: Binance BTC 0.088 %, ETH 0.102 %; Bybit BTC 0.113 %, ETH 0.097 %; OKX BTC 0.119 %,
  ETH 0.075 % (caps 0.3 %, 0.3 %, 0.375 %, 0.375 %, 0.375 %, 0.75 %).
* ``index_decreasing``: a column of ``spec.monotone`` going backwards by more than its tolerance (AAVE
  indexes 1e-12, LST exchange rates 1e-3; ``sources.AAVE_INDEX_TOLERANCE`` / ``LST_RATE_TOLERANCE``).
  The failing rows are the fewer of: rows below the running maximum before them, rows above the running
  minimum after them (so one bad row is named, whether it is too low or too high).
* ``spike``, judged two ways:

  - against the series itself: a price more than :data:`SPIKE_LOG_MOVE` from the last good close before
    it (for oracle/peg series: the last good value) that reverts, i.e. within :data:`SPIKE_REVERT_BARS`
    bars an open (or, for open/high/low, the bar's own close) is back within half that bound of the
    reference. A window running past the series' end counts as reverting (nothing shows the move held).
  - against the same instrument on other venues (``spec.peer_group``: Binance/Bybit/OKX spot and perp
    candles) at the same timestamp: a price more than :data:`VENUE_LOG_DEVIATION` from the median of
    the peers' same column that also moved more than that from its own last close that agreed with the
    peers (so the venue that moved is named, not the ones that did not). Peers are compared before any
    forward fill, so filled hours never count.

Bounds against the real data (2024-01 .. 2025-09, measured on every row):

* largest one-hour move from the previous close that reverted: ETH low -17.7 % (log 0.195, OKX perp,
  2024-08-05 01:00), ETHFI/WETH pool high +32.9 % (log 0.284, 2025-02-03 22:00), BTC low 0.093; the
  largest one-hour oracle step 0.009 (WETH/USD, interpolated). :data:`SPIKE_LOG_MOVE` = ln 1.5 = 0.405 is
  1.4x the largest real one and catches a candle x10 (2.30), x0.1, 1e9, and any x2 or x0.5 error.
* largest deviation of a CEX candle from the median of its peers at the same hour: 0.015 (Binance BTC
  spot low, 2024-04-13 20:00; ETH: 0.014, Bybit perp low 2024-01-03 12:00); :data:`VENUE_LOG_DEVIATION`
  = ln 1.1 = 0.095 is 6.4x that.
  DEX pools (Uniswap WETH/USDT) deviate up to 0.11 from the CEX median in wicks and are not peers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from basiskit.data.errors import DataError
from basiskit.data.sources import OHLC, DatasetSpec

SPIKE_LOG_MOVE = math.log(1.5)
"""Self-series spike bound (log move 0.405: +50 % / -33 %): 1.4x the largest real reverting move."""
SPIKE_REVERT_BARS = 3
"""A spike must revert within this many bars: a corrupted stretch of up to 3 rows is still a spike."""
VENUE_LOG_DEVIATION = math.log(1.1)
"""Cross-venue bound (log 0.095, +10 % / -9 %): 6.4x the largest real deviation from the peers (0.015)."""
OUTLIER_STEPS = 24
"""A timestamp more than 24 steps (1 day of hourly rows, 8 days of funding) from both neighbours is an outlier."""
FUNDING_CAP_REL_TOL = 1e-9
"""Relative slack on the funding cap for decimal-to-float rounding (a rate at the cap passes)."""

LINE, FILE, TS = "_line", "_file", "ts"
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Finding:
    """Rows failing one check.

    Attributes:
        check: the check class (``DataPolicy`` field name).
        mask: bool array over the input rows, True = failing.
        pos: position of the first failing row (in input order).
        column: output column named for that row (or the time column for timestamp checks).
        detail: what is wrong with that row: value, reference, bound.
    """

    check: str
    mask: np.ndarray
    pos: int
    column: str
    detail: str

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def _finding(check: str, mask: np.ndarray, column_of, detail_of) -> Finding | None:
    if not mask.any():
        return None
    pos = int(np.flatnonzero(mask)[0])
    return Finding(check, mask, pos, column_of(pos), detail_of(pos))


def _num(x: float) -> str:
    return f"{x:.10g}"


def _pct(log_move: float) -> str:
    return f"{math.expm1(log_move) * 100:+.1f} %"


def _iso(ts) -> str:
    return pd.Timestamp(ts).isoformat()


def _us(ts: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds since the epoch."""
    return pd.DatetimeIndex(ts).as_unit("us").asi8


# ------------------------------------------------------------------------------------------- timestamps
def name_range(file: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``[first date 00:00, day after the last date 00:00)`` from the dates in a file name, or None."""
    days = []
    for text in _DATE.findall(PurePosixPath(file).name):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            continue
    if not days:
        return None
    return pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[-1] + timedelta(days=1), tz="UTC")


def out_of_range(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    codes, files = pd.factorize(rows[FILE])
    slack = pd.Timedelta(days=spec.name_end_slack_days)
    ranges = [name_range(f) for f in files]
    early = pd.Timedelta(seconds=spec.name_start_slack_s)
    lo = np.array([(r[0] - early).value // 1000 if r else np.iinfo(np.int64).min for r in ranges], dtype=np.int64)
    hi = np.array([(r[1] + slack).value // 1000 if r else np.iinfo(np.int64).max for r in ranges], dtype=np.int64)
    t = _us(rows[TS])
    mask = (t < lo[codes]) | (t >= hi[codes])

    def detail(pos: int) -> str:
        a, b = ranges[codes[pos]]
        extra = f" plus {spec.name_end_slack_days} days (documented collector lag)" if spec.name_end_slack_days else ""
        return (f"timestamp {_iso(rows[TS].iat[pos])} is outside the range its file name states "
                f"({a.date()} .. {(b - pd.Timedelta(days=1)).date()}{extra})")

    return _finding("timestamp_out_of_range", mask, lambda _: spec.time_column, detail)


def outlier(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    n = len(rows)
    if n < 3:
        return None
    t = _us(rows[TS]) // 1_000_000
    codes, _ = pd.factorize(rows[FILE])
    far = OUTLIER_STEPS * spec.step_seconds

    def gap(k: int) -> np.ndarray:
        """|t[i + k] - t[i]| where both rows exist and are in the same file, else NaN."""
        out = np.full(n, np.nan)
        if k > 0:
            same = codes[k:] == codes[:-k]
            out[:-k] = np.where(same, np.abs(t[k:] - t[:-k]), np.nan)
        else:
            same = codes[:k] == codes[-k:]
            out[-k:] = np.where(same, np.abs(t[-k:] - t[:k]), np.nan)
        return out

    prev, nxt = gap(-1), gap(1)
    with np.errstate(invalid="ignore"):
        prev_prev = np.r_[np.nan, prev[:-1]]   # |t[i-1] - t[i-2]|
        next_next = np.r_[nxt[1:], np.nan]     # |t[i+2] - t[i+1]|
        skip = np.full(n, np.nan)
        both = ~np.isnan(prev) & ~np.isnan(nxt)
        skip[1:-1] = np.abs(t[2:] - t[:-2])
        inner = both & (prev > far) & (nxt > far) & (skip <= far)
        # at a file's edge only a row out of order is suspect (an in-order one may precede a real gap)
        later_than_next = np.r_[t[:-1] - t[1:] > far, False]
        earlier_than_prev = np.r_[False, t[:-1] - t[1:] > far]
        first = np.isnan(prev) & ~np.isnan(nxt) & later_than_next & (next_next <= far)
        last = np.isnan(nxt) & ~np.isnan(prev) & earlier_than_prev & (prev_prev <= far)
    mask = inner | first | last

    def detail(pos: int) -> str:
        near = [d for d in (prev[pos], nxt[pos]) if not np.isnan(d)]
        return (f"timestamp {_iso(rows[TS].iat[pos])} is {min(near) / 86400:.1f} days from its neighbours in file "
                f"order (bound {OUTLIER_STEPS} steps = {far / 86400:g} days), which agree with each other")

    return _finding("timestamp_outlier", mask, lambda _: spec.time_column, detail)


# ------------------------------------------------------------------------------------------- values
def non_positive(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    cols = spec.price_columns
    if not cols:
        return None
    bad = rows[cols].to_numpy() <= 0
    mask = bad.any(axis=1)

    def column(pos: int) -> str:
        return cols[int(np.argmax(bad[pos]))]

    def detail(pos: int) -> str:
        c = column(pos)
        return f"{spec.source_column(c)} = {_num(rows[c].iat[pos])} at {_iso(rows[TS].iat[pos])} is not a positive price"

    return _finding("non_positive_price", mask, column, detail)


def ohlc_inconsistent(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    if spec.kind != "ohlcv":
        return None
    o, h, lo, c = (rows[k].to_numpy() for k in OHLC)
    high_bad = (h < np.maximum(o, c)) | (h < lo)
    low_bad = lo > np.minimum(o, c)
    mask = high_bad | low_bad

    def column(pos: int) -> str:
        return "high" if high_bad[pos] else "low"

    def detail(pos: int) -> str:
        vals = ", ".join(f"{k} {_num(rows[k].iat[pos])}" for k in OHLC)
        rule = ("high below open/close or below low" if high_bad[pos] else "low above open/close")
        return f"candle at {_iso(rows[TS].iat[pos])} ({vals}): {rule}"

    return _finding("ohlc_inconsistent", mask, column, detail)


@lru_cache(maxsize=None)
def _venue_funding_cap(venue: str):
    """(path of ``basiskit/configs/venues/<venue>.yaml``, its ``perp.funding_cap`` or None)."""
    from basiskit.config.loader import configs_dir, read_yaml, validate
    from basiskit.config.venues import VenueConfig

    path = configs_dir() / "venues" / f"{venue}.yaml"
    cfg = validate(VenueConfig, read_yaml(path), path.name)
    return path, (cfg.perp.funding_cap if cfg.perp else None)


def funding_cap_for(venue: str, symbol: str) -> tuple[float, str]:
    """(cap, where it is stated) for a venue's symbol, from ``basiskit/configs/venues/<venue>.yaml``.

    Raises:
        DataError: no documented cap for that venue/symbol (the file is named).
    """
    path, fc = _venue_funding_cap(venue)
    cap = fc.cap(symbol) if fc else None
    if cap is None:
        raise DataError(f"no documented funding cap for {symbol} on {venue}: add perp.funding_cap.symbols.{symbol} "
                        f"with its source to {path.name}", file=str(path), key=symbol)
    return cap, f"configs/venues/{path.name}: {fc.rule}"


def funding_cap(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    if spec.kind != "funding" or spec.venue is None or spec.symbol is None:
        return None
    cap, where = funding_cap_for(spec.venue, spec.symbol)
    rate = rows["funding_rate"].to_numpy()
    mask = np.abs(rate) > cap * (1 + FUNDING_CAP_REL_TOL)

    def detail(pos: int) -> str:
        r = rate[pos]
        return (f"funding rate {_num(r)} ({r * 100:+.4g} % per settlement) at {_iso(rows[TS].iat[pos])} is beyond "
                f"{spec.venue}'s cap ±{cap * 100:g} % for {spec.symbol} ({where})")

    return _finding("funding_cap", mask, lambda _: "funding_rate", detail)


def _backwards(x: np.ndarray, tol: float) -> tuple[np.ndarray, bool]:
    """(rows to remove so ``x`` is non-decreasing within ``tol``, True if they are the too-low kind)."""
    n = len(x)
    before = np.r_[-np.inf, np.maximum.accumulate(x)[:-1]] if n else x
    after = np.r_[np.minimum.accumulate(x[::-1])[::-1][1:], np.inf] if n else x
    too_low = x < before * (1 - tol)
    too_high = x > after * (1 + tol)
    return (too_low, True) if too_low.sum() <= too_high.sum() else (too_high, False)


def index_decreasing(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    if not spec.monotone or len(rows) < 2:
        return None
    masks, kinds = {}, {}
    for col, tol in spec.monotone:
        masks[col], kinds[col] = _backwards(rows[col].to_numpy(), tol)
    mask = np.logical_or.reduce(list(masks.values()))
    tols = dict(spec.monotone)

    def column(pos: int) -> str:
        return next(c for c in masks if masks[c][pos])

    def detail(pos: int) -> str:
        c = column(pos)
        x = rows[c].to_numpy()
        if kinds[c]:
            j = int(np.argmax(x[:pos]))
            rel = f"below {_num(x[j])} reached earlier at {_iso(rows[TS].iat[j])} (line {rows[LINE].iat[j]})"
        else:
            j = pos + 1 + int(np.argmin(x[pos + 1:]))
            rel = f"above {_num(x[j])} found later at {_iso(rows[TS].iat[j])} (line {rows[LINE].iat[j]})"
        return (f"{spec.source_column(c)} = {_num(x[pos])} at {_iso(rows[TS].iat[pos])} is {rel}: it must not "
                f"decrease (tolerance {tols[c]:g} relative)")

    return _finding("index_decreasing", mask, column, detail)


# ------------------------------------------------------------------------------------------- spikes
def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs of a 1-d float array."""
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    out = a[idx]
    return out


def _bfill(a: np.ndarray) -> np.ndarray:
    return _ffill(a[::-1])[::-1]


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """``out[i] = a[i - k]`` (NaN where out of range)."""
    out = np.full(len(a), np.nan)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    else:
        out[:] = a
    return out


def _reference(level: np.ndarray, entry: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Last good level before each row; rows with none use the next good entry after them."""
    before = _shift(_ffill(np.where(good, level, np.nan)), 1)
    after = _shift(_bfill(np.where(good, entry, np.nan)), -1)
    return np.where(np.isnan(before), after, before)


def _self_spikes(values: dict[str, np.ndarray], level: str, entry: str, same_bar: bool) -> dict[str, np.ndarray]:
    """Per column: rows that move beyond SPIKE_LOG_MOVE from the reference and revert (see module doc)."""
    n = len(values[level])
    lv, en = values[level], values[entry]
    half = SPIKE_LOG_MOVE / 2
    flag = np.zeros(n, dtype=bool)
    out: dict[str, np.ndarray] = {}
    for _ in range(2 * SPIKE_REVERT_BARS + 2):  # a run of bad rows is peeled one row per pass
        ref = _reference(lv, en, ~flag)
        with np.errstate(invalid="ignore", divide="ignore"):
            back = np.zeros(n, dtype=bool)
            for k in range(1, SPIKE_REVERT_BARS + 1):
                later = _shift(np.where(flag, np.nan, en), -k)
                back |= np.abs(np.log(later / ref)) <= half
            back |= np.arange(n) + SPIKE_REVERT_BARS >= n  # window runs past the end
            same = np.abs(np.log(lv / ref)) <= half
            out = {}
            for col, x in values.items():
                moved = np.abs(np.log(x / ref)) > SPIKE_LOG_MOVE
                reverts = back | (same if same_bar and col != level else False)
                out[col] = moved & reverts
        new = np.logical_or.reduce(list(out.values()))
        if np.array_equal(new, flag):
            break
        flag = new
    return out


def spike_self(rows: pd.DataFrame, spec: DatasetSpec) -> Finding | None:
    cols = spec.spike_columns
    if not cols or len(rows) < 2:
        return None
    if spec.kind == "ohlcv":
        vals = {c: rows[c].to_numpy() for c in OHLC}
        groups = [(_self_spikes(vals, "close", "open", True), "close")]
    else:  # each point series is its own level
        groups = [(_self_spikes({c: rows[c].to_numpy()}, c, c, False), c) for c in cols]
    per_col = {c: m for g, _ in groups for c, m in g.items()}
    mask = np.logical_or.reduce(list(per_col.values()))
    level_of = {c: lvl for g, lvl in groups for c in g}

    def column(pos: int) -> str:
        return next(c for c in per_col if per_col[c][pos])

    def detail(pos: int) -> str:
        c = column(pos)
        lvl = level_of[c]
        good = ~mask
        entry = "open" if spec.kind == "ohlcv" else lvl
        ref = _reference(rows[lvl].to_numpy(), rows[entry].to_numpy(), good)[pos]
        x = rows[c].iat[pos]
        return (f"{spec.source_column(c)} = {_num(x)} at {_iso(rows[TS].iat[pos])} moved {_pct(math.log(x / ref))} from "
                f"the reference {_num(ref)} (last good {'close' if spec.kind == 'ohlcv' else 'value'} before it) and "
                f"reverts within {SPIKE_REVERT_BARS} bars; bound ±{SPIKE_LOG_MOVE:.3f} log "
                f"({_pct(SPIKE_LOG_MOVE)} / {_pct(-SPIKE_LOG_MOVE)})")

    return _finding("spike", mask, column, detail)


def _nanmedian0(stack: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN (NaN where a column has no value); few rows, many columns."""
    srt = np.sort(stack, axis=0)  # NaN sort last
    k = (~np.isnan(stack)).sum(axis=0)
    lo = np.clip((k - 1) // 2, 0, None)
    hi = np.clip(k // 2, 0, None)
    cols = np.arange(stack.shape[1])
    with np.errstate(invalid="ignore"):
        out = (srt[lo, cols] + srt[np.minimum(hi, len(stack) - 1), cols]) / 2
    out[k == 0] = np.nan
    return out


def _align(peer: pd.DataFrame, t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``peer`` of the timestamps ``t_us``, found mask)."""
    pt = peer.index.as_unit("us").asi8
    pos = np.clip(np.searchsorted(pt, t_us), 0, max(len(pt) - 1, 0))
    found = (pt[pos] == t_us) if len(pt) else np.zeros(len(t_us), dtype=bool)
    return pos, found


def spike_venue(rows: pd.DataFrame, spec: DatasetSpec, peers: dict[str, pd.DataFrame]) -> Finding | None:
    """``peers``: dataset id -> frame indexed by timestamp with OHLC columns (not forward-filled)."""
    if spec.kind != "ohlcv" or not peers or rows.empty:
        return None
    t = _us(rows[TS])
    aligned = {d: _align(p, t) for d, p in peers.items()}
    dev, med = {}, {}
    for c in OHLC:
        stack = np.vstack([np.where(found, p[c].to_numpy()[pos], np.nan)
                           for p, (pos, found) in zip(peers.values(), aligned.values())])
        med[c] = _nanmedian0(stack)  # hours no peer has: NaN, never a finding
        with np.errstate(invalid="ignore"):
            dev[c] = np.abs(np.log(rows[c].to_numpy() / med[c]))
    with np.errstate(invalid="ignore"):
        apart = np.logical_or.reduce([dev[c] > VENUE_LOG_DEVIATION for c in OHLC])  # NaN (no peer) -> False
        ref = _reference(rows["close"].to_numpy(), rows["open"].to_numpy(), ~apart)
        per_col = {c: (dev[c] > VENUE_LOG_DEVIATION) & (np.abs(np.log(rows[c].to_numpy() / ref)) > VENUE_LOG_DEVIATION)
                   for c in OHLC}
    mask = np.logical_or.reduce(list(per_col.values()))

    def column(pos: int) -> str:
        return next(c for c in OHLC if per_col[c][pos])

    def detail(pos: int) -> str:
        c = column(pos)
        x = rows[c].iat[pos]
        names = ", ".join(d for d, (_, found) in aligned.items() if found[pos])
        return (f"{c} = {_num(x)} at {_iso(rows[TS].iat[pos])} is {_pct(math.log(x / med[c][pos]))} from the median "
                f"{_num(med[c][pos])} of the same instrument on {names} at that hour, and moved "
                f"{_pct(math.log(x / ref[pos]))} from its own last close that agreed with them ({_num(ref[pos])}); "
                f"bound ±{VENUE_LOG_DEVIATION:.3f} log ({_pct(VENUE_LOG_DEVIATION)} / {_pct(-VENUE_LOG_DEVIATION)})")

    return _finding("spike", mask, column, detail)

"""Valuing price candles that did not trade: a data gap priced from the same instrument elsewhere.

The catalog forward-fills short gaps of price candles (``filled=True``: open = high = low = close =
the previous close, volume 0) so that a series has a row every hour. A filled row is not a market:
nothing traded there (Binance's 15 missing days, or rows a repair policy dropped). Two rules keep
such rows from distorting a run:

* **No fill at a filled price.** The market frame flags every clock step whose bar is filled
  (``MarketFrame.stale``); the venues do not fill orders there (``TradeStatus.DEFERRED``).
* **Valuation from a reference.** For marking positions, margin and funding during the gap, each
  stretch of filled rows is replaced by the same instrument on another venue, scaled by its move since
  the gap began (the *reference rule*): with ``C0`` the close of the last real bar before the gap and
  ``R`` the reference's bars, a filled bar at ``t`` gets ``open/high/low/close = C0 x R.{open,high,low,close}(t)
  / R.open(t_first)``, where ``t_first`` is the gap's first bar. At ``t_first`` the estimate equals ``C0``
  (continuous with the last real price); afterwards it moves exactly as the reference moved. The first
  candidate (in the order given by :func:`reference_candidates`) that has real bars over the whole
  stretch is used; with none, the stretch keeps the flat forward-fill (and stays stale).

Shapes: frames are the catalog's OHLCV frames (DatetimeIndex, float64 open/high/low/close/volume,
bool ``filled``); prices in quote units (USDT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OHLC = ("open", "high", "low", "close")


@dataclass(frozen=True)
class GapValuation:
    """One stretch of filled bars and how it was valued (bar open times in ns, bars = rows in the stretch)."""

    dataset_id: str
    first_ns: int
    last_ns: int
    bars: int
    reference: str | None  # dataset whose move priced the stretch; None: flat forward-fill kept

    def as_dict(self) -> dict:
        iso = lambda ns: pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        return {"dataset": self.dataset_id, "first": iso(self.first_ns), "last": iso(self.last_ns), "bars": self.bars,
                "reference": self.reference}


def reference_candidates(dataset_id: str, available: set[str] | list[str]) -> list[str]:
    """Datasets that price the same instrument elsewhere, best first: the same kind on the other venues
    (``perp.bybit.BTCUSDT`` for ``perp.binance.BTCUSDT``), then the other kind (spot for a perp, perp for a
    spot). Only ``spot.*`` and ``perp.*`` datasets have references; others get ``[]``."""
    kind, _, rest = dataset_id.partition(".")
    venue, _, symbol = rest.partition(".")
    if kind not in ("spot", "perp") or not symbol:
        return []
    other = "perp" if kind == "spot" else "spot"
    same = sorted(d for d in available if d.startswith(f"{kind}.") and d.endswith(f".{symbol}") and d != dataset_id)
    cross = sorted(d for d in available if d.startswith(f"{other}.") and d.endswith(f".{symbol}"))
    return same + cross


def _stretches(filled: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row positions of each run of consecutive True values."""
    pos = np.flatnonzero(filled)
    if not len(pos):
        return []
    breaks = np.flatnonzero(np.diff(pos) > 1)
    starts = np.concatenate(([pos[0]], pos[breaks + 1]))
    ends = np.concatenate((pos[breaks], [pos[-1]]))
    return list(zip(starts.tolist(), ends.tolist()))


def value_gaps(dataset_id: str, df: pd.DataFrame, references: list[tuple[str, pd.DataFrame]]
               ) -> tuple[pd.DataFrame, list[GapValuation]]:
    """``df`` with every stretch of filled bars re-priced by the reference rule (module docstring).

    Args:
        dataset_id: id of ``df`` (for the report).
        df: OHLCV frame with a bool ``filled`` column.
        references: ``(dataset id, frame)`` candidates, best first.
    Returns:
        (a copy of ``df`` with re-priced OHLC in filled rows (``filled`` unchanged), one
        :class:`GapValuation` per stretch). ``df`` is returned as is when nothing is filled.
    """
    if "filled" not in df.columns:
        return df, []
    filled = df["filled"].to_numpy(dtype=bool)
    stretches = _stretches(filled)
    if not stretches:
        return df, []
    out = df.copy()
    cols = [out.columns.get_loc(c) for c in OHLC]
    report = []
    for a, b in stretches:
        times = df.index[a:b + 1]
        used = None
        if a > 0:  # a stretch at the very start has no last real price to anchor on
            c0 = float(df["close"].iat[a - 1])
            for ref_id, ref in references:
                r = ref.reindex(times)
                if r["open"].isna().any() or r["filled"].fillna(True).astype(bool).any():
                    continue
                scale = c0 / float(r["open"].iat[0])
                out.iloc[a:b + 1, cols] = r[list(OHLC)].to_numpy() * scale
                used = ref_id
                break
        report.append(GapValuation(dataset_id, int(times[0].value), int(times[-1].value), b - a + 1, used))
    return out, report

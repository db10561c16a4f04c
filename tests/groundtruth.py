"""Ground truth read straight from the raw CSVs with the csv module (independent of the catalog)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


def parse_ts(text: str) -> datetime:
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def one(source: Path, pattern: str) -> Path:
    files = sorted(source.glob(pattern))
    assert len(files) == 1, f"expected one file for {pattern}, found {files}"
    return files[0]


def value_at(rows: list[dict[str, str]], ts_col: str, when: datetime, col: str) -> float:
    for r in rows:
        if parse_ts(r[ts_col]) == when:
            return float(r[col])
    raise KeyError(f"no row at {when}")


@dataclass(frozen=True)
class Candle:
    """One raw OHLCV row: ``ts`` the bar's open time (ns since the epoch, UTC), prices in quote units,
    volume in base units."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def candles(source: Path, pattern: str) -> list[Candle]:
    """The raw candles of the one file matching ``pattern``, in file order."""
    return [Candle(int(parse_ts(r["timestamp"]).timestamp()) * 10**9, float(r["open"]), float(r["high"]),
                   float(r["low"]), float(r["close"]), float(r["volume"])) for r in read_rows(one(source, pattern))]

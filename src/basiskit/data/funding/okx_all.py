"""The OKX all-instruments funding files: every OKX perpetual swap's *settled* funding.

Source: ``cex/okx_funding_all_instruments/okx_funding_rates_YYYY-MM-DD.csv`` (one file a day; columns
``instrument, contract_type, funding_rate, real_funding_rate, funding_time, date``). ``real_funding_rate``
is the rate OKX settled (the data README: ``funding_rate`` is the rate published before settlement and
differs); this loader takes ``real_funding_rate`` only.

What the loader does with the data's defects (nothing is filled in):

* a duplicated ``(instrument, funding_time)`` row with the same ``real_funding_rate`` (about 58,400 in
  the real data, differing only in ``funding_rate``) is kept once and counted (``duplicates``);
* a duplicated row with a *different* ``real_funding_rate`` is an error (DATA-003 naming both files);
* a missing column, an empty or non-numeric rate, an unparseable time: an error naming the file and
  the line;
* a row whose time is not a whole UTC hour (a listing's first row, e.g. SLERF-USDT-SWAP at
  2024-11-21 16:16) lies on no funding schedule: it is not a settlement; it is listed in
  ``off_grid`` (instrument, time, file) and left out;
* missing days (44 in the real data) are left as gaps (``missing_settlements`` per instrument).

The parsed table is cached as Parquet next to the catalog (``<data dir>/funding/``), keyed by the
source files' names, sizes and modification times; a changed file re-reads everything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from basiskit.data.errors import DataError
from basiskit.data.funding.schedule import infer_intervals, missing_settlements, split_off_schedule
from basiskit.data.funding.table import FundingTable

FOLDER = "cex/okx_funding_all_instruments"
PATTERN = "okx_funding_rates_*.csv"
REQUIRED = ("instrument", "real_funding_rate", "funding_time")
CACHE_VERSION = 1


@dataclass
class OkxLoadReport:
    """What the load found: ``files`` read, ``rows`` read, ``duplicates`` dropped (same settled rate),
    ``off_grid`` rows left out (instrument, ISO time, file), ``missing_settlements`` per instrument."""

    files: int = 0
    rows: int = 0
    duplicates: int = 0
    off_grid: list[tuple[str, str, str]] = field(default_factory=list)
    missing_settlements: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"files": self.files, "rows": self.rows, "duplicates": self.duplicates,
                "off_grid": [list(x) for x in self.off_grid], "missing_settlements": self.missing_settlements}


def _files(source_dir: Path) -> list[Path]:
    folder = Path(source_dir) / FOLDER
    files = sorted(folder.glob(PATTERN))
    if not files:
        raise DataError(f"no OKX all-instruments funding files ({PATTERN})", file=str(folder))
    return files


def _signature(files: list[Path]) -> str:
    h = hashlib.sha256(str(CACHE_VERSION).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def _read_one(path: Path, file_id: int) -> pa.Table:
    try:
        tab = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=list(REQUIRED), column_types={"instrument": pa.string(), "real_funding_rate": pa.float64(),
                                                          "funding_time": pa.string()}))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        head = path.open(encoding="utf-8", errors="replace").readline().strip().split(",")
        missing = [c for c in REQUIRED if c not in head]
        if missing:
            raise DataError(f"missing column(s) {', '.join(missing)}", file=str(path), key=missing[0]) from None
        raise DataError(f"unreadable row: {exc}", file=str(path), key="real_funding_rate") from None
    rate = tab.column("real_funding_rate")
    if rate.null_count:
        bad = int(np.flatnonzero(pd.isna(rate.to_numpy(zero_copy_only=False)))[0])
        raise DataError("empty real_funding_rate", file=str(path), row=bad + 2, key="real_funding_rate")
    vals = rate.to_numpy()
    if not np.isfinite(vals).all():
        bad = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise DataError(f"real_funding_rate is {vals[bad]}", file=str(path), row=bad + 2, key="real_funding_rate")
    n = tab.num_rows
    return tab.append_column("file", pa.array(np.full(n, file_id, dtype=np.int32))).append_column(
        "line", pa.array(np.arange(2, n + 2, dtype=np.int32)))


def parse(source_dir: Path) -> tuple[FundingTable, OkxLoadReport]:
    """Read and check every daily file (no cache). Raises DataError as the module docstring says."""
    files = _files(source_dir)
    rel = [str(f.relative_to(source_dir)) if f.is_relative_to(source_dir) else str(f) for f in files]
    tab = pa.concat_tables([_read_one(f, i) for i, f in enumerate(files)])
    df = tab.to_pandas()
    try:
        t = pd.to_datetime(df["funding_time"], utc=True, format="ISO8601")
    except (ValueError, TypeError):
        bad = pd.to_datetime(df["funding_time"], utc=True, errors="coerce", format="ISO8601").isna().to_numpy()
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"unparseable funding_time {df['funding_time'].iat[i]!r}", file=rel[int(df['file'].iat[i])],
                        row=int(df["line"].iat[i]), key="funding_time") from None
    df["t"] = t.astype("int64").to_numpy()
    if t.dt.tz is not None and str(t.dt.unit) != "ns":
        df["t"] = t.dt.as_unit("ns").astype("int64").to_numpy()
    report = OkxLoadReport(files=len(files), rows=len(df))
    df = df.sort_values(["instrument", "t", "file", "line"], kind="stable")
    dup = df.duplicated(["instrument", "t"], keep="first").to_numpy()
    if dup.any():
        first = df.drop_duplicates(["instrument", "t"], keep="first").set_index(["instrument", "t"])["real_funding_rate"]
        d = df[dup]
        ref = first.reindex(pd.MultiIndex.from_arrays([d["instrument"], d["t"]])).to_numpy()
        conflict = np.abs(d["real_funding_rate"].to_numpy() - ref) > 1e-15
        if conflict.any():
            row = d.iloc[int(np.flatnonzero(conflict)[0])]
            raise DataError(f"{row['instrument']} at {row['funding_time']}: two different real_funding_rate values "
                            f"({ref[int(np.flatnonzero(conflict)[0])]!r} and {row['real_funding_rate']!r})",
                            file=rel[int(row["file"])], row=int(row["line"]), key=str(row["instrument"]))
        report.duplicates = int(dup.sum())
        df = df[~dup]
    grid = split_off_schedule(df["t"].to_numpy())
    if grid.any():
        for _, r in df[grid].iterrows():
            report.off_grid.append((str(r["instrument"]), str(r["funding_time"]), rel[int(r["file"])]))
        df = df[~grid]
    keys, offsets, intervals = [], [0], []
    times = df["t"].to_numpy(np.int64)
    rates = df["real_funding_rate"].to_numpy(float)
    inst = df["instrument"].to_numpy()
    cuts = np.flatnonzero(inst[1:] != inst[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(df)]))
    for a, b in zip(starts, ends):
        name = str(inst[a])
        iv = infer_intervals(times[a:b])
        keys.append(("okx", name))
        offsets.append(b)
        intervals.append(iv)
        gaps = missing_settlements(times[a:b], iv)
        if gaps:
            report.missing_settlements[name] = gaps
    table = FundingTable(tuple(keys), np.asarray(offsets, dtype=np.int64), times, rates,
                         np.concatenate(intervals) if intervals else np.zeros(0, np.int64))
    return table, report


def load(source_dir: Path, cache_dir: Path | None = None) -> tuple[FundingTable, OkxLoadReport]:
    """:func:`parse`, through a Parquet cache in ``cache_dir`` when given (re-parsed when a source file
    changed). Raises DataError as :func:`parse`."""
    if cache_dir is None:
        return parse(source_dir)
    files = _files(source_dir)
    sig = _signature(files)
    cache_dir = Path(cache_dir)
    data, meta = cache_dir / f"okx_all_{sig}.parquet", cache_dir / f"okx_all_{sig}.json"
    if data.exists() and meta.exists():
        m = json.loads(meta.read_text())
        t = pq.read_table(data)
        keys = tuple(("okx", k) for k in m["instruments"])
        table = FundingTable(keys, np.asarray(m["offsets"], dtype=np.int64), t.column("t").to_numpy(),
                             t.column("rate").to_numpy(), t.column("interval").to_numpy())
        r = m["report"]
        rep = OkxLoadReport(r["files"], r["rows"], r["duplicates"], [tuple(x) for x in r["off_grid"]], r["missing_settlements"])
        return table, rep
    table, rep = parse(source_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob("okx_all_*"):
        old.unlink(missing_ok=True)
    tmp = data.with_suffix(".tmp")
    pq.write_table(pa.table({"t": table.times, "rate": table.rates, "interval": table.intervals}), tmp)
    tmp.replace(data)
    meta.write_text(json.dumps({"instruments": [k for _, k in table.keys], "offsets": table.offsets.tolist(),
                                "report": rep.to_dict()}))
    return table, rep

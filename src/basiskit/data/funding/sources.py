"""One :class:`~.table.FundingTable` of every funding series the data has.

* the catalog's funding datasets ``funding.<venue>.<SYMBOL>`` (Binance and Bybit BTC/ETH, validated by
  the catalog import: duplicates, gaps and the venues' funding caps are checked there), except OKX's;
* every OKX perpetual swap from the all-instruments files (:mod:`.okx_all`, ``real_funding_rate``; the
  catalog's ``funding.okx.*`` datasets are these same rows for two instruments, so they are not taken
  twice).

Each series gets its settlement intervals from its own times (:func:`.schedule.infer_intervals`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from basiskit.data.errors import DataError
from basiskit.data.funding import okx_all
from basiskit.data.funding.okx_all import OkxLoadReport
from basiskit.data.funding.schedule import infer_intervals, split_off_schedule
from basiskit.data.funding.table import FundingTable


def catalog_table(catalog) -> FundingTable:
    """The catalog's non-OKX funding datasets as a table (keys ``(venue, SYMBOL)``).

    Raises:
        DataError: a series with a time off the whole hour (names the dataset and time).
    """
    keys, offs, times, rates, ivs = [], [0], [], [], []
    for dsid in catalog.dataset_ids():
        kind, _, rest = dsid.partition(".")
        venue, _, symbol = rest.partition(".")
        if kind != "funding" or venue == "okx":
            continue
        df = catalog.load(dsid)
        t = df.index.as_unit("ns").asi8.astype(np.int64) if hasattr(df.index, "as_unit") else df.index.asi8
        off = split_off_schedule(t)
        if off.any():
            raise DataError(f"settlement at {df.index[int(np.flatnonzero(off)[0])]} is not on a whole hour", key=dsid)
        keys.append((venue, symbol))
        times.append(t)
        rates.append(df["funding_rate"].to_numpy(float))
        ivs.append(infer_intervals(t))
        offs.append(offs[-1] + t.size)
    if not keys:
        return FundingTable((), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    return FundingTable(tuple(keys), np.asarray(offs, dtype=np.int64), np.concatenate(times), np.concatenate(rates),
                        np.concatenate(ivs))


def load_all(catalog, cache_dir: Path | None = None) -> tuple[FundingTable, OkxLoadReport]:
    """The catalog's series and every OKX instrument, one table; and the OKX load report."""
    okx, report = okx_all.load(Path(catalog.source_dir), cache_dir)
    return FundingTable.concat([catalog_table(catalog), okx]), report

"""The 1-minute perp bars (``cex/perp/*_perp_1m_*.csv``) as a frame source for the emulator's replay.

The catalog holds the hourly datasets; the minute files (a few hours of 2025-09-27..29 per venue, see
``shared/data/README.md``) are read here with the catalog's own reader and checks
(``data.catalog.read_table``, ``data.validate.check`` / ``finish`` on a 60-second ``DatasetSpec``):
a bad row raises ``DataError`` naming the file and line, duplicates and gaps are handled by the same
documented rules, and nothing is filled (``max_fill_steps=0``: a minute without a bar is a gap; a replay
grid time inside one is refused by ``data.market.build_frame`` with the dataset and the time). One
rule differs from the catalog's default policy, stated here: rows outside the dates in the file's name
are dropped (``data_policy.timestamp_out_of_range: drop``; the Binance file starts an hour before its
stated 2025-09-27), counted in ``MinuteBars.reports``.

``MinuteBars(catalog)`` answers ``load(dataset_id)`` with the minute frame for the datasets in
``MINUTE_FILES`` (under the hourly dataset's id, ``perp.binance.ETHUSDT``, so the simulators and the
funding marks read them unchanged) and with the catalog's frame for everything else (funding series).
"""

from __future__ import annotations

import pandas as pd

from basiskit.data.catalog import read_table
from basiskit.data.errors import DataError
from basiskit.data.sources import OHLCV, DatasetSpec
from basiskit.data.validate import check, finish

MINUTE_FILES = {
    "perp.binance.ETHUSDT": "cex/perp/binance_ETHUSDT_perp_1m_*.csv",
    "perp.bybit.ETHUSDT": "cex/perp/bybit_ETHUSDT_perp_1m_*.csv",
}
"""Dataset id (as the simulators key it) -> the minute file's glob under the data source directory."""

MINUTE_LAYOUT = {"binance": {"perp": ["ETH"]}, "bybit": {"perp": ["ETH"]}}
"""The accounts a minute replay serves (the instruments with minute files and funding series)."""


class MinuteBars:
    """A ``data.market.FrameSource``: minute bars where there are minute files, the catalog elsewhere."""

    def __init__(self, catalog) -> None:
        self.catalog = catalog
        self._cache: dict[str, pd.DataFrame] = {}
        self.reports: dict = {}  # dataset id -> data.validate FileReport of its minute file

    def dataset_ids(self) -> list[str]:
        return self.catalog.dataset_ids()

    def load(self, dataset_id: str) -> pd.DataFrame:
        if dataset_id not in MINUTE_FILES:
            return self.catalog.load(dataset_id)
        if dataset_id not in self._cache:
            self._cache[dataset_id] = self._read(dataset_id)
        return self._cache[dataset_id]

    def _read(self, dataset_id: str) -> pd.DataFrame:
        spec = DatasetSpec(dataset_id, MINUTE_FILES[dataset_id], "ohlcv", "timestamp", "iso", OHLCV, 60)
        files = sorted(p for p in self.catalog.source_dir.glob(spec.pattern) if p.is_file())
        if len(files) != 1:
            raise DataError(f"expected one minute-bar file matching {spec.pattern}, found {len(files)}",
                            key=dataset_id)
        rel = files[0].relative_to(self.catalog.source_dir).as_posix()
        raw = read_table(files[0], rel, list(spec.required_columns)).to_pandas()
        policy = self.catalog.policy.model_copy(update={"timestamp_out_of_range": "drop"})
        frame, report = finish(check(raw, spec, file=rel, policy=policy), max_fill_steps=0)
        self.reports[dataset_id] = report
        return frame

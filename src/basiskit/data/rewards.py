"""ether.fi restaking reward distributions (EIGEN, ETHFI) per eETH held.

Source: ``staking/restaking_rewards/etherfi_seasonal_rewards_*.csv`` (one row per distribution).
Rules, per ``reward_type``:

* ``EIGEN_via_KING`` (exact weekly EIGEN distributions): ``eigen_per_eeth_weekly`` EIGEN per eETH per
  week; a row covers ``period_start`` .. ``period_end`` inclusive, so it pays
  ``eigen_per_eeth_weekly x (period_end - period_start + 1 day) / 7 days`` EIGEN per eETH held over
  the whole period.
* ``ETHFI_via_KING`` (exact ETHFI top-ups): ``ethfi_per_eeth`` ETHFI per eETH held over the period.
* ``ETHFI_Seasonal_Airdrop`` and ``EIGEN_via_DEFILLAMA``: estimates (the data README says the seasonal
  values are ranges from public articles; the DefiLlama rows are APY approximations), loaded with
  ``estimated=True`` and ignored unless a mode asks for estimates. DefiLlama rows give
  ``daily_yield_final`` (ETH per eETH per day) instead of a token amount.

A holder earns ``per_eeth x (eETH held x time over the window) / window length``. The accrual window
is ``period_start`` .. the earlier of ``period_end + 1 day`` and ``payout_date`` (the weekly EIGEN rows
pay on their ``period_end`` date, so their window closes at that day's 00:00 snapshot), or the whole
period when that would be empty; the amount is credited at the later of ``payout_date`` and the
window end. eETH held = weETH units x weETH/ETH exchange rate.

Raises ``DataError`` naming the file and line for a missing file or column, an unparseable date or
number, a period that ends before it starts, or a payout before the period starts.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from basiskit.data.errors import DataError

PATTERN = "staking/restaking_rewards/etherfi_seasonal_rewards_*.csv"
DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class RewardDistribution:
    token: str              # EIGEN or ETHFI
    start_ns: int           # accrual window start: period start, 00:00 UTC
    end_ns: int             # accrual window end (exclusive), see the module docstring
    payout_ns: int          # credited at the first step at or after this time
    per_eeth: float         # token units per eETH held over the whole period (NaN for value rows)
    per_eeth_eth_value: float  # ETH value per eETH over the period (DefiLlama rows), else NaN
    estimated: bool
    line: int               # source line, for event logs


def _date_ns(text: str, file: str, line: int, col: str) -> int:
    try:
        d = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise DataError(f"unparseable date {text!r}", file=file, row=line, key=col) from None
    return int(d.timestamp()) * 10**9


def _num(row: dict, col: str, file: str, line: int) -> float:
    text = (row.get(col) or "").strip()
    try:
        v = float(text)
    except ValueError:
        raise DataError(f"expected a number in {col}, got {text!r}", file=file, row=line, key=col) from None
    if math.isnan(v) or v < 0:
        raise DataError(f"{col} must be a non-negative number, got {text!r}", file=file, row=line, key=col)
    return v


def load_restaking_rewards(source_dir: Path) -> list[RewardDistribution]:
    files = sorted(Path(source_dir).glob(PATTERN))
    if len(files) != 1:
        raise DataError(f"expected one file matching {PATTERN} in {source_dir}, found {len(files)}", file=PATTERN)
    path = files[0]
    rel = path.relative_to(source_dir).as_posix()
    out: list[RewardDistribution] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"period_start", "period_end", "payout_date", "reward_type"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"missing columns {sorted(missing)}", file=rel, row=1)
        for line, row in enumerate(reader, start=2):
            kind = row["reward_type"].strip()
            start = _date_ns(row["period_start"], rel, line, "period_start")
            end = _date_ns(row["period_end"], rel, line, "period_end") + DAY_NS
            payout = _date_ns(row["payout_date"], rel, line, "payout_date")
            if end <= start:
                raise DataError("period_end is before period_start", file=rel, row=line, key="period_end")
            if payout < start:
                raise DataError("payout_date is before period_start", file=rel, row=line, key="payout_date")
            weeks = (end - start) / (7 * DAY_NS)
            window_end = min(end, payout) if min(end, payout) > start else end
            payout = max(payout, window_end)
            nan = float("nan")
            if kind == "EIGEN_via_KING":
                d = RewardDistribution("EIGEN", start, window_end, payout, _num(row, "eigen_per_eeth_weekly", rel, line) * weeks,
                                       nan, False, line)
            elif kind == "ETHFI_via_KING":
                d = RewardDistribution("ETHFI", start, window_end, payout, _num(row, "ethfi_per_eeth", rel, line), nan, False, line)
            elif kind == "ETHFI_Seasonal_Airdrop":
                d = RewardDistribution("ETHFI", start, window_end, payout, _num(row, "ethfi_per_eeth", rel, line), nan, True, line)
            elif kind == "EIGEN_via_DEFILLAMA":
                days = (end - start) / DAY_NS
                d = RewardDistribution("EIGEN", start, window_end, payout, nan,
                                       _num(row, "daily_yield_final", rel, line) * days, True, line)
            else:
                raise DataError(f"unknown reward_type {kind!r}", file=rel, row=line, key="reward_type")
            out.append(d)
    return out

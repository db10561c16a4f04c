"""What the import does with a row that fails a value check: the data policy.

Each check class (see :mod:`basiskit.data.checks`) has one action. The default for every class is
``error``: the import stops with a coded :class:`~basiskit.data.errors.ImplausibleValue` naming the
file, line, column and value. A run may choose a repair instead (``--set data_policy.spike=drop_and_fill``
on ``basiskit backtest``, ``--policy spike=drop_and_fill`` on ``basiskit data import``); every repaired
row is then counted by class in the import report, the manifest and the run's ``summary.json``.

Actions (only those that make sense for a class are accepted; anything else is a named config error):

* ``error``: stop the import (default).
* ``drop``: remove the row. The hole it leaves is never filled, also in price candles: a backtest that
  needs that hour stops, naming the hole. Funding is never invented, so ``drop`` is the only repair of
  ``funding_cap``.
* ``drop_and_fill``: remove the row; price candles (kind ``ohlcv``) then fill the hole like any other
  short gap (previous close, volume 0, ``filled=True`` and ``repaired=True``), within the catalog's
  ``max_fill_hours``. Other kinds are never filled: there it is the same as ``drop``.
* ``clip`` (``ohlc_inconsistent`` only): keep open and close, widen high/low to cover them
  (``high = max(o, h, l, c)``, ``low = min(o, h, l, c)``); the row gets ``repaired=True``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Drop = Literal["error", "drop"]
DropFill = Literal["error", "drop", "drop_and_fill"]

CHECKS = ("timestamp_out_of_range", "timestamp_outlier", "non_positive_price", "ohlc_inconsistent",
          "funding_cap", "index_decreasing", "spike")
"""Check classes in the order the import applies them (a row removed by one is not judged by the next)."""


class DataPolicy(BaseModel):
    """One action per check class (frozen; unknown keys rejected, so a typo is a named config error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp_out_of_range: Drop = Field(default="error", description="row outside the date range in the file name")
    timestamp_outlier: Drop = Field(default="error", description="row far from both neighbours in file order")
    non_positive_price: DropFill = Field(default="error", description="price (OHLC, oracle, index) <= 0")
    ohlc_inconsistent: Literal["error", "clip", "drop", "drop_and_fill"] = Field(
        default="error", description="high < max(open, close), low > min(open, close) or high < low")
    funding_cap: Drop = Field(default="error", description="|funding rate| above the venue's documented cap")
    index_decreasing: Drop = Field(default="error", description="AAVE index or LST exchange rate going backwards")
    spike: DropFill = Field(default="error", description="a move beyond the stated bound that reverts, or that "
                                                         "the same instrument on other venues does not make")

    def action(self, check: str) -> str:
        return getattr(self, check)

    def changes(self) -> dict[str, str]:
        """The entries that differ from the default (all ``error``), in check order."""
        return {c: self.action(c) for c in CHECKS if self.action(c) != "error"}

    @property
    def is_default(self) -> bool:
        return not self.changes()

    def key(self) -> str:
        """Stable short name of the policy: ``default`` or ``p-<12 hex>`` (hash of :meth:`changes`)."""
        if self.is_default:
            return "default"
        digest = hashlib.sha256(json.dumps(self.changes(), sort_keys=True).encode()).hexdigest()
        return f"p-{digest[:12]}"


DEFAULT_POLICY = DataPolicy()


def parse_policy_items(items: list[str]) -> DataPolicy:
    """``["spike=drop_and_fill", ...]`` (the CLI's ``--policy``) to a DataPolicy.

    Raises:
        pydantic.ValidationError: unknown class or action (the caller names the option).
        ValueError: an item without ``=``.
    """
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--policy expects CLASS=ACTION, got {item!r} (classes: {', '.join(CHECKS)})")
        values[key.strip()] = value.strip()
    return DataPolicy.model_validate(values)

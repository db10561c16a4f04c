"""Time in a run: int64 nanoseconds since the Unix epoch, UTC, and the conversions to and from text.

Only the engine's clock decides what time it is in a run; these are pure conversions.
"""

from __future__ import annotations

import time

import pandas as pd

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 24 * 3600  # annualisation basis for APR/APY (365-day year)


def to_ns(value: str | pd.Timestamp) -> int:
    """Parse ``YYYY-MM-DD`` or an ISO timestamp (naive = UTC) to int ns.

    Raises:
        ValueError: unparseable value (message names it).
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot parse date {value!r}: expected YYYY-MM-DD") from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value)


def ns_to_iso(ns: int) -> str:
    """``2024-01-01T00:00:00Z`` (seconds resolution; the second the instant falls in, also before 1970).
    ``time.gmtime`` is ~6x faster than a pandas Timestamp, and every event and trade line is stamped."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ns) // NS_PER_SECOND))

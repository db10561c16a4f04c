"""Settings of a live or paper session (``--set live.<key>=...``; frozen, unknown keys rejected).

Environment (the spec's names): ``BASIS_EXECUTION_MODE`` = ``backtest`` | ``paper`` | ``live`` (the
default of ``basiskit live`` when neither ``--paper`` nor ``--live`` is given; ``backtest`` there is
an error), ``BASIS_DATA_MODE`` = ``csv`` | ``db`` (where a replay reads its market data: the catalog
built from the CSV files, or the market events recorded in the store's database).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EXECUTION_MODES = ("backtest", "paper", "live")
DATA_MODES = ("csv", "db")


class LiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    emergency_stop_loss_pct: float = Field(default=15.0, gt=0, le=100,
                                           description="loss (percent of starting equity plus net deposits) that "
                                                       "stops the session (circuit breaker)")
    stale_limit_s: float | None = Field(default=None, gt=0,
                                        description="seconds a market series may stay silent before new entries "
                                                    "pause (default: 1.5 clock steps)")
    heartbeat_s: float = Field(default=60.0, gt=0, description="seconds between heartbeat events")
    poll_s: float = Field(default=1.0, gt=0, description="longest wait between watchdog checks, seconds")
    settle_s: float = Field(default=2.0, ge=0, description="seconds after a clock time before its step runs")
    settle_wall_s: float | None = Field(default=None, ge=0,
                                        description="real seconds a step waits for the streams once its time has "
                                                    "come (default 0; 0.3 on an emulator's clock, which jumps)")
    steps: int = Field(default=168, gt=0, description="clock steps a session runs (live market data); a book-ticker "
                                                     "(signal) mode: book-ticker events")
    book_venue: str | None = Field(default=None, description="a book-ticker (signal) mode: the ccxt venue whose "
                                   "spot and perp book tickers stand for its datasets (default: each dataset's own "
                                   "venue, e.g. mexc / gateio; binance on an exchange emulator)")


def env_choice(name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    """``os.environ[name]`` checked against ``allowed`` (None/default when unset).

    Raises:
        ValueError: a value not in ``allowed`` (the message names the variable and the choices).
    """
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    if v not in allowed:
        raise ValueError(f"{name}={v!r} is not one of {', '.join(allowed)}")
    return v


Mode = Literal["paper", "live"]

"""``grid`` mode config (USDT share class). Defaults in ``basiskit/configs/modes/grid.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from basiskit.config.modes import ModeConfig


class GridConfig(ModeConfig):
    """A symmetric grid of limit orders on ``account`` (a CEX perp account, ``<venue>.perp``).

    Level k (k = -levels .. levels) sits at ``reference x (1 + spacing)^k`` (geometric: the same
    relative distance between neighbours). Below the current level the ladder holds buys of
    ``order_size`` base units, above it sells; a fill at level k re-arms the other side at k -/+ 1
    (see ``ladder.py``). On a perp a sell above a flat position opens a short: the grid is
    delta-neutral at its reference and long below it / short above it by ``order_size`` per level.
    """

    mode: Literal["grid"] = "grid"
    account: str = Field(default="binance.perp", description="the perp account the ladder rests on, <venue>.perp")
    token: str = Field(default="BTC", description="base token of the perp (BTC, ETH)")
    levels: int = Field(default=5, ge=1, le=200, description="orders per side of the reference")
    spacing: float = Field(default=0.01, gt=0, lt=0.5, description="relative distance between neighbouring levels "
                                                                   "(0.01 = 1 %, geometric)")
    order_size: float = Field(default=0.01, gt=0, description="base units per order (BTC, ETH)")
    reference_price: float | None = Field(default=None, gt=0, description="price of level 0, quote per base; None: "
                                          "the price when the ladder is first placed (then read back from the "
                                          "working orders after a restart)")
    margin_fraction: float = Field(default=1.0, gt=0, le=1, description="share of the wallet's USDT moved to the "
                                                                        "perp account as margin at the start")
    bars: Literal["1h", "1m"] = Field(default="1h", description="candle files pricing the perp: hourly, or the "
                                                                "1-minute files (short windows, see the data README)")
    funding: Literal["data", "none"] = Field(default="data", description="data: funding settlements from the "
                                             "funding files (a period they do not cover is an error); none: no "
                                             "funding at all (the 1-minute files lie after the ETH funding files end)")
    name: str = Field(default="grid", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$",
                      description="prefix of the ladder's client order ids (<name>-<level><b|s>-<unix s>)")

    @field_validator("account")
    @classmethod
    def _perp_account(cls, v: str) -> str:
        venue, _, kind = v.partition(".")
        if not venue or kind != "perp":
            raise ValueError(f"account must be a perp account <venue>.perp, got {v!r}")
        return v

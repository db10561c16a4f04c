"""Common fields of every mode config (frozen, unknown keys rejected)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from basiskit.domain.tokens import ShareClass


class ModeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str
    description: str = ""
    share_class: ShareClass = ShareClass.USDT
    step_seconds: int = Field(default=3600, gt=0, description="clock step, seconds")
    min_trade_usd: float = Field(default=10.0, ge=0, description="smallest trade or transfer worth sending, USD(T)")

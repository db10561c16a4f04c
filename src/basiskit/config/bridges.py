"""Bridge protocol parameters (config models): fees, delays and failure rates of moving a token between
venues, with the sources of the numbers. The protocols themselves: ``venues.transfers.bridges``.

Units: fees in token units or basis points of the amount; delays in seconds; failure rates are
probabilities per transfer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BridgeConfig(BaseModel):
    """One bridge protocol (frozen, unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fee_kind: Literal["fixed", "proportional"] = Field(description="fixed: fixed_fee per transfer; "
                                                                    "proportional: fee_bps of the amount + fixed_fee")
    fixed_fee: float = Field(default=0.0, ge=0, description="token units per transfer")
    fee_bps: float = Field(default=0.0, ge=0, le=10_000, description="basis points of the amount")
    withdrawal_delay_s: int = Field(default=0, ge=0, description="seconds the source takes to send")
    bridge_delay_s: int = Field(default=0, ge=0, description="seconds the network or bridge takes")
    deposit_delay_s: int = Field(default=0, ge=0, description="seconds the destination takes to credit")
    withdrawal_failure_rate: float = Field(default=0.0, ge=0, lt=1, description="probability a withdrawal fails")
    bridge_failure_rate: float = Field(default=0.0, ge=0, lt=1, description="probability the bridge stage fails")
    send_error_rate: float = Field(default=0.0, ge=0, lt=1, description="probability one send call errors "
                                                                        "(nothing sent; the manager retries)")
    tokens: tuple[str, ...] = Field(default=("USDT",), description="tokens the bridge carries")
    venues: tuple[str, ...] = Field(default=(), description="venues it connects (empty: any)")
    sources: tuple[str, ...] = Field(default=(), description="where the numbers come from")

    @model_validator(mode="after")
    def _shape(self) -> "BridgeConfig":
        if self.fee_kind == "fixed" and self.fee_bps:
            raise ValueError("fee_bps is only for fee_kind proportional")
        return self


class ManagedTransfersConfig(BaseModel):
    """Transfers between venues run by the transfer manager (``venues.transfers.manager``): its bridges,
    retry policy and the seed of the simulated failures (frozen, unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bridges: dict[str, BridgeConfig] = Field(min_length=1, description="bridge name -> protocol parameters")
    seed: int = Field(default=0, ge=0, description="seed of the simulated failures (a backtest is reproducible)")
    max_attempts: int = Field(default=5, ge=1, description="send errors before a transfer fails")
    backoff_s: float = Field(default=60.0, gt=0, description="retry delay after the first error, seconds (doubles)")
    max_backoff_s: float = Field(default=3600.0, gt=0, description="longest retry delay, seconds")
    reference_amount_usd: float = Field(default=10_000.0, gt=0, description="amount the quoted transfer fee of a "
                                                                             "route is computed for (proportional fees)")

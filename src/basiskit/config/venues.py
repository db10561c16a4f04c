"""Venue parameters (fees, funding interval, margin rates, gas units) as data, loaded from
``configs/venues/*.yaml``. Every number there cites its public source in the YAML file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpotParams(_Frozen):
    taker_fee_bps: float = Field(ge=0, description="taker fee, bps of traded notional (quote units)")
    slippage_bps: float = Field(ge=0, description="fill price = bar price x (1 +/- slippage), bps")


class PerpParams(_Frozen):
    taker_fee_bps: float = Field(ge=0, description="taker fee, bps of traded notional")
    slippage_bps: float = Field(ge=0)
    funding_interval_hours: float = Field(gt=0, description="hours between funding settlements")
    maintenance_margin_rate: float = Field(gt=0, lt=1, description="maintenance margin / position notional")
    liquidation_fee_rate: float = Field(ge=0, lt=1, description="liquidation clearance fee / notional")


class AaveParams(_Frozen):
    gas_units: dict[str, int] = Field(description="gas units per on-chain operation (supply, withdraw, ...)")


class VenueConfig(_Frozen):
    name: str
    kind: str = Field(pattern="^(cex|defi|wallet)$")
    spot: SpotParams | None = None
    perp: PerpParams | None = None
    aave: AaveParams | None = None
    transfer_fee_usdt: float = Field(default=0.0, ge=0, description="fee per outgoing transfer, USDT")
    sources: list[str] = Field(default_factory=list, description="public sources for the numbers above")

"""The ``funding_arbitrage`` mode config (frozen, unknown keys rejected).

Units: APRs are simple annual rates as fractions (0.05 = 5 %); fractions of notional or equity are
plain fractions; times in hours or days as named.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from basiskit.config.bridges import ManagedTransfersConfig
from basiskit.config.modes import ModeConfig


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    priority: int = Field(default=50, description="lower runs first when several rules fire (combined)")


class ProfitErosionConfig(_Rule):
    kind: Literal["profit_erosion"]
    fraction: float = Field(default=0.3, gt=0, lt=1, description="close when the spread APR falls below this "
                                                                    "fraction of the spread APR at entry")


class DivergenceFlipConfig(_Rule):
    kind: Literal["divergence_flip"]
    min_spread_apr: float = Field(default=0.0, description="the spread APR below which the pair has flipped")


class BetterOpportunityConfig(_Rule):
    kind: Literal["better_opportunity"]
    hysteresis_apr: float = Field(default=0.03, ge=0, description="extra APR another pair must beat the current "
                                                                    "one by, on top of the switching cost")


class TimeBasedConfig(_Rule):
    kind: Literal["time_based"]
    max_hold_days: float = Field(default=60.0, gt=0, description="close (and re-evaluate) after this long")


class CombinedConfig(_Rule):
    kind: Literal["combined"]
    rules: list["RuleConfig"] = Field(min_length=1, description="rules; the fired one of lowest priority wins "
                                                                 "(ties: list order)")


RuleConfig = Annotated[Union[ProfitErosionConfig, DivergenceFlipConfig, BetterOpportunityConfig, TimeBasedConfig,
                             CombinedConfig], Field(discriminator="kind")]
CombinedConfig.model_rebuild()


def _default_rules() -> CombinedConfig:
    return CombinedConfig(kind="combined", rules=[
        DivergenceFlipConfig(kind="divergence_flip", priority=10),
        ProfitErosionConfig(kind="profit_erosion", priority=20),
        BetterOpportunityConfig(kind="better_opportunity", priority=30),
        TimeBasedConfig(kind="time_based", priority=40),
    ])


class FundingArbConfig(ModeConfig):
    mode: Literal["funding_arbitrage"]
    asset: Literal["BTC", "ETH"] = Field(description="the perpetual's base token (USDT-margined linear perps)")
    perp_venues: list[str] = Field(min_length=2, description="perp venues the pairs are made of (configs/venues)")
    margin_fraction: float = Field(default=0.5, gt=0, le=1, description="USDT margin per leg / leg notional")
    deploy_fraction: float = Field(default=0.95, gt=0, le=1, description="share of equity posted as margin")
    lookback_settlements: int = Field(default=9, ge=1, le=200, description="settlements averaged into a venue's "
                                                                           "funding estimate")
    entry_min_net_apr: float = Field(default=0.03, description="open a pair only when its spread APR net of the "
                                                                "annualised costs is at least this")
    hold_days: float = Field(default=30.0, gt=0, description="expected holding period over which one-off costs "
                                                             "(four taker legs, transfers) are annualised")
    margin_ratio_floor: float = Field(default=0.25, gt=0, lt=1, description="margin balance / notional of a leg "
                                                                          "below which margin moves over from the "
                                                                          "other leg")
    cooldown_hours: float = Field(default=24.0, ge=0, description="a pair closed by a rule is not reopened for this long")
    rebalance: RuleConfig = Field(default_factory=_default_rules, description="the rebalance sub-strategy")
    transfers: ManagedTransfersConfig | None = Field(default=None, description="bridges and retry policy of the "
                                                     "transfer manager; without it transfers take the venue "
                                                     "configs' fixed fees and delays")
    static_pair: tuple[str, str] | None = Field(default=None, description="(long venue, short venue): hold this "
                                                                          "pair throughout, no rebalance rules (the "
                                                                          "static-pair comparison)")

    @field_validator("perp_venues")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"perp_venues must be distinct, got {v}")
        return v

    @model_validator(mode="after")
    def _pair(self) -> "FundingArbConfig":
        if self.margin_ratio_floor >= self.margin_fraction:
            raise ValueError(f"margin_ratio_floor ({self.margin_ratio_floor}) must be below margin_fraction "
                             f"({self.margin_fraction})")
        if self.static_pair is not None:
            lo, sh = self.static_pair
            if lo == sh or lo not in self.perp_venues or sh not in self.perp_venues:
                raise ValueError(f"static_pair {list(self.static_pair)} must be two different venues of {self.perp_venues}")
        return self

"""Config of the ML directional modes (``ml_btc_directional``, ``ml_usdt_directional``): pydantic, frozen,
unknown keys rejected. Units: hours, fractions (0.02 = 2 %), probabilities."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from basiskit.config.modes import ModeConfig


class ModelParams(BaseModel):
    """LightGBM training parameters (``model.*`` keys); the LightGBM docs define each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(default=150, ge=1, description="boosting rounds")
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=15, ge=2)
    min_data_in_leaf: int = Field(default=100, ge=1)
    feature_fraction: float = Field(default=0.8, gt=0, le=1, description="share of features per tree (seeded)")
    bagging_fraction: float = Field(default=0.8, gt=0, le=1, description="share of rows per tree (seeded)")
    lambda_l2: float = Field(default=1.0, ge=0)


class MlDirectionalConfig(ModeConfig):
    """Walk-forward LightGBM forecast of the perp's direction over ``horizon_hours``, traded with a
    bracket (take-profit / stop-loss resting on the venue) and a time stop."""

    asset: Literal["BTC"] = Field(default="BTC", description="the perpetual traded (BTCUSDT)")
    venue: Literal["binance", "bybit"] = Field(default="bybit", description="the perp venue: its bars and funding "
                                               "are the features, its perp is traded")
    seed: int = Field(default=7, description="seeds LightGBM's row/feature sampling and the shuffled-label baseline")
    horizon_hours: int = Field(default=8, ge=1, le=168, description="label: sign of the open-to-open change over it")
    train_days: int = Field(default=180, ge=7, description="training window before each fold's cut-off, days")
    min_train_samples: int = Field(default=1000, ge=50, description="a fold with fewer training rows is an error")
    purge_hours: int = Field(default=8, ge=0, description="training samples within this many hours before the "
                             "cut-off are dropped (their labels are not known by it); at least horizon_hours")
    embargo_hours: int = Field(default=24, ge=0, description="gap between the training cut-off and the fold's start")
    entry_edge: float = Field(default=0.05, ge=0, lt=0.5, description="trade when P(up) >= 0.5 + edge (long) or "
                              "<= 0.5 - edge (short)")
    allow_short: bool = Field(default=True, description="take shorts on a down forecast")
    position_fraction: float = Field(default=1.0, gt=0, le=3, description="perp notional / equity at entry")
    take_profit_pct: float = Field(default=0.02, gt=0, lt=1, description="take-profit distance from the entry price")
    stop_loss_pct: float = Field(default=0.01, gt=0, lt=1, description="stop-loss distance from the entry price")
    max_hold_hours: int = Field(default=8, ge=1, description="time stop: close at market after this many hours")
    model: ModelParams = Field(default_factory=ModelParams)

    @model_validator(mode="after")
    def _purge_covers_the_label(self) -> "MlDirectionalConfig":
        if self.purge_hours < self.horizon_hours:
            raise ValueError(f"purge_hours ({self.purge_hours}) must be at least horizon_hours ({self.horizon_hours}): "
                             "a training label must be known by the cut-off")
        if self.step_seconds != 3600:
            raise ValueError(f"step_seconds must be 3600 for the ML modes (hourly features and decisions), "
                             f"got {self.step_seconds}")
        return self

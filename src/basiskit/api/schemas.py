"""Request and response bodies of the API (pydantic 2; they are the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from basiskit.persistence.records import RunStatus

_EXAMPLE_MODE = "btc_basis"


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="registry code, e.g. RUN-001 (GET /api/v1/errors lists them)")
    message: str
    field: str | None = Field(None, description="request field at fault, e.g. capital or config.hedge_allocation")
    details: list[FieldError] | None = None
    severity: str | None = None
    resolution: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ErrorCodeOut(BaseModel):
    code: str
    component: str
    severity: str
    message: str
    resolution: str
    policy: str
    http_status: int


class ErrorCodeList(BaseModel):
    items: list[ErrorCodeOut]


class ModeInfo(BaseModel):
    mode: str
    description: str


class ModeList(BaseModel):
    items: list[ModeInfo]


class ModeConfigOut(BaseModel):
    mode: str
    description: str
    default_config: dict[str, Any]
    json_schema: dict[str, Any]
    share_classes: list[str] = Field(description="share classes the mode runs in (its default first)")


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="00:00 UTC of this day (must lie in the period)")
    amount: float = Field(gt=0, allow_inf_nan=False, description="share-class units (USDT)")


class _RunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capital: float = Field(100_000.0, gt=0, allow_inf_nan=False, description="initial capital, share-class units")
    share_class: str | None = Field(None, description="USDT (the modes' default) or ETH")
    config: dict[str, Any] = Field(default_factory=dict,
                                   description="mode-config overrides, e.g. {\"rebalance\": false}; unknown keys are errors")
    deposits: list[Flow] = Field(default_factory=list)
    withdrawals: list[Flow] = Field(default_factory=list)


class ValidateIn(_RunParams):
    start: dt.date | None = Field(None, description="first clock step (00:00 UTC); with end, coverage is checked too")
    end: dt.date | None = Field(None, description="last clock step (00:00 UTC)")


class ValidateOut(BaseModel):
    valid: bool
    mode: str
    config: dict[str, Any] = Field(description="the resolved config (defaults merged with the overrides)")
    steps: int | None = Field(None, description="clock steps of the period, when start and end were given")
    covered: bool | None = Field(None, description="the data covers the period (when start and end were given)")


class BacktestIn(_RunParams):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"mode": _EXAMPLE_MODE, "start": "2024-03-01", "end": "2024-03-15", "capital": 100000.0}]})
    mode: str = Field(description="strategy mode (GET /api/v1/strategies)")
    start: dt.date = Field(description="first clock step (00:00 UTC)")
    end: dt.date = Field(description="last clock step (00:00 UTC)")


class DatasetOut(BaseModel):
    dataset_id: str
    role: str
    optional: bool
    start: str | None
    end: str | None
    covered: bool | None
    problem: str | None = None


class RequirementsOut(BaseModel):
    mode: str
    venues: dict[str, Any] = Field(description="spot/perp/lending: account -> tokens; gas: whether gas is paid")
    datasets: list[DatasetOut]
    period: dict[str, str] | None
    covered: bool | None


class Progress(BaseModel):
    done: int
    total: int | None
    fraction: float | None


class RunMetrics(BaseModel):
    """Key numbers of a finished run's summary (GET .../summary has them all)."""

    share_class: str | None = Field(None, description="unit of the equity figures (USDT or ETH)")
    initial_equity: float | None = None
    final_equity: float | None = None
    net_deposits: float | None = None
    total_return: float | None = Field(None, description="compounded time-weighted return, fraction")
    apr: float | None = None
    apy: float | None = None
    sharpe: float | None = None
    max_drawdown: float | None = Field(None, description="negative fraction")
    min_health_factor: float | None = Field(None, description="lowest AAVE health factor (None without debt)")
    liquidations: int | None = None


class RunOut(BaseModel):
    id: str
    kind: str
    mode: str
    status: RunStatus
    origin: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_seconds: float | None
    progress: Progress
    request: dict[str, Any]
    error: ErrorBody | None
    out_dir: str | None
    links: dict[str, str]
    metrics: RunMetrics | None = Field(None, description="key metrics, once the run has finished")
    cancel_requested_at: dt.datetime | None = Field(
        None, description="when a DELETE asked the running run to stop (it ends `cancelled` at its next progress tick)")


class RunList(BaseModel):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class Submitted(BaseModel):
    id: str
    status: RunStatus
    links: dict[str, str]


class EquityPointOut(BaseModel):
    step: int
    timestamp: str
    clock_ns: int
    equity: float | None
    net_deposits: float | None
    net_delta: float | None


class EquityPage(BaseModel):
    items: list[EquityPointOut]
    total: int
    limit: int
    offset: int


class EquityCurveOut(BaseModel):
    """Columns of evenly spaced equity points (first and last step included)."""

    run_id: str
    share_class: str | None = Field(description="unit of equity and net_deposits")
    initial_equity: float | None
    steps: int = Field(description="clock steps of the whole run")
    step: list[int]
    timestamp: list[str] = Field(description="clock time, ISO 8601 UTC")
    equity: list[float | None]
    net_deposits: list[float | None]


class TradeOut(BaseModel):
    seq: int
    timestamp: str
    clock_ns: int
    venue: str
    operation: str
    instrument: str
    side: str | None
    amount: float
    price: float | None
    fee: float | None
    fee_currency: str
    gas: float | None
    status: str
    error_code: str | None
    to_venue: str | None
    reason: str


class TradePage(BaseModel):
    items: list[TradeOut]
    total: int
    limit: int
    offset: int


class EventOut(BaseModel):
    seq: int
    timestamp: str
    clock_ns: int
    component: str
    kind: str
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    total: int
    limit: int
    offset: int


class ComponentHealth(BaseModel):
    status: str
    last_update: str | None
    age_seconds: float | None
    error_rate: float
    samples: int
    processing_ms: dict[str, float | None]
    total: int
    errors: int
    last_error: str | None


class HealthOut(BaseModel):
    status: str = Field(description="healthy | degraded | unhealthy (the worst component's)")
    checked_at: str | None
    components: dict[str, ComponentHealth]

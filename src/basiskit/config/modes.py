"""Common fields of every mode config (frozen, unknown keys rejected)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from basiskit.config.data_policy import DataPolicy
from basiskit.domain.tokens import ShareClass


class ModeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str
    description: str = ""
    share_class: ShareClass = ShareClass.USDT
    step_seconds: int = Field(default=3600, gt=0, description="clock step, seconds")
    min_trade_usd: float = Field(default=10.0, ge=0, description="smallest trade or transfer worth sending, USD(T)")
    risk: "RiskConfig" = Field(default_factory=lambda: RiskConfig(), description="risk override thresholds")
    shock: "Shock | None" = Field(default=None, description="optional stress scenario applied to the data")
    data_policy: DataPolicy = Field(default_factory=DataPolicy,
                                    description="what the data import does with implausible rows, per check class "
                                                "(default: every class is an error; e.g. spike: drop_and_fill)")
    annualise_short_runs: bool = Field(
        default=False, description="give APR, APY, Sharpe, Sortino, volatility and Calmar also for runs shorter "
                                   "than 30 days (otherwise null, with the reason)")
    allow_partial_withdrawals: bool = Field(
        default=False, description="pay a withdrawal larger than what can be paid in part and report the rest "
                                   "(summary unpaid_withdrawals, non-zero exit code) instead of failing the run")
    venues: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-venue overrides of basiskit/configs/venues/<venue>.yaml, e.g. "
                                          "venues.binance.perp.taker_fee_bps=4 (unknown keys are errors)")


class RiskConfig(BaseModel):
    """Risk override thresholds (``risk.*`` keys). The override replaces the strategy's decision with
    ``exit_partial`` or ``exit_full`` and lets through only orders that reduce risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    override: bool = Field(default=False, description="enable the risk override")
    health_factor_override: float = Field(default=1.03, gt=0, description="AAVE health factor below which the book is cut (exit_partial)")
    health_factor_exit: float = Field(default=1.01, gt=0, description="AAVE health factor below which the book is closed (exit_full)")
    margin_ratio_override: float = Field(default=0.08, gt=0, description="perp margin ratio below which shorts are cut (exit_partial)")


class Shock(BaseModel):
    """A stress scenario applied to the market data of one run (``shock.*`` keys or ``--shock``).

    * ``eth_price``: every ETH/USD(T) price (AAVE WETH oracle, CEX spot and perp ETH marks and funding
      marks, Uniswap WETH/USDT) is multiplied by ``1 + change`` from the first step at or after ``at``
      on — a jump within one hour that persists. LST/ETH exchange rates do not move.
    * ``borrow_rate``: the ``token`` reserve's variable borrow rate is multiplied by ``multiplier`` for
      ``hours`` from ``at`` (the variable borrow index grows ``multiplier`` times as fast per step).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["eth_price", "borrow_rate"]
    at: str = Field(description="ISO time (UTC) the shock starts")
    change: float = Field(default=0.0, gt=-1, description="eth_price: relative price change, e.g. -0.3")
    multiplier: float = Field(default=1.0, ge=0, description="borrow_rate: rate multiplier, e.g. 4")
    token: str = Field(default="WETH", description="borrow_rate: AAVE reserve")
    hours: float = Field(default=168.0, gt=0, description="borrow_rate: duration, hours")


ModeConfig.model_rebuild()


def parse_shock(text: str) -> dict:
    """``--shock`` text to a ``shock`` config mapping.

    Forms: ``eth_price:-0.3@2024-06-10T00:00`` (relative change) and
    ``borrow_rate:4@2024-06-10T00:00`` or ``borrow_rate:4@2024-06-10T00:00/168h`` (multiplier, duration;
    reserve WETH unless ``borrow_rate:wstETH:4@...``).

    Raises:
        ValueError: naming the expected form.
    """
    form = "expected eth_price:CHANGE@TIME or borrow_rate[:TOKEN]:MULTIPLIER@TIME[/HOURSh]"
    head, sep, when = text.partition("@")
    parts = head.split(":")
    if not sep or len(parts) < 2:
        raise ValueError(f"--shock {text!r}: {form}")
    hours = None
    if "/" in when:
        when, _, dur = when.partition("/")
        hours = float(dur.rstrip("h"))
    try:
        if parts[0] == "eth_price" and len(parts) == 2:
            return {"kind": "eth_price", "change": float(parts[1]), "at": when}
        if parts[0] == "borrow_rate" and len(parts) in (2, 3):
            out = {"kind": "borrow_rate", "multiplier": float(parts[-1].lstrip("x")), "at": when,
                   "token": parts[1] if len(parts) == 3 else "WETH"}
            if hours is not None:
                out["hours"] = hours
            return out
    except ValueError:
        pass
    raise ValueError(f"--shock {text!r}: {form}")

"""Several strategies in one run: the portfolio file.

A portfolio file (YAML; examples in ``basiskit/configs/portfolios/``) lists the run's strategies::

    description: grid beside a BTC basis book
    strategies:
      - id: basis            # the strategy's id: its sub-accounts, result key, strategy_state row
        mode: btc_basis      # any registered mode (``basiskit modes``)
        allocation: 0.7      # share of the run's capital (the allocations sum to 1)
        config: {}           # overrides of the mode's YAML, as ``--set`` would give them
      - id: grid
        mode: grid
        allocation: 0.3
        config: {levels: 6, spacing: 0.01, order_size: 0.02}

Every strategy runs on its own sub-accounts (its own wallet and venue accounts: a venue's
sub-account per strategy, as desks run them) with ``allocation x capital`` of the share class; the
run steps all of them on one clock (``engine.portfolio``). So each strategy's attribution sums to its
own equity change and the run's combined equity is the sum of theirs.

Rules (each a ``ConfigError`` naming the file and the key): ids unique, lower-case ``[a-z][a-z0-9_]*``;
modes registered; allocations in (0, 1] summing to 1 (within 1e-9); every strategy on the same clock
step (``step_seconds``) and the USDT share class (checked when the run is prepared, with each mode's
config); unknown keys rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from basiskit.config.loader import ConfigError, read_yaml, validate

ALLOCATION_TOL = 1e-9


class StrategySlot(BaseModel):
    """One strategy of a portfolio."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="the strategy's id in the run")
    mode: str = Field(description="a registered mode")
    allocation: float = Field(gt=0, le=1, description="share of the run's capital, (0, 1]")
    config: dict[str, Any] = Field(default_factory=dict, description="overrides of the mode's YAML")


class PortfolioConfig(BaseModel):
    """The strategies of a multi-strategy run (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    strategies: list[StrategySlot] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> PortfolioConfig:
        from basiskit.strategies.registry import known_modes  # the registry imports every strategy

        ids = [s.id for s in self.strategies]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"strategy ids must be unique; repeated: {', '.join(dup)}")
        modes = known_modes()
        for k, s in enumerate(self.strategies):
            if s.mode not in modes:
                raise ValueError(f"strategies[{k}].mode: unknown mode {s.mode!r}; known modes: {', '.join(modes)}")
        total = sum(s.allocation for s in self.strategies)
        if abs(total - 1.0) > ALLOCATION_TOL:
            raise ValueError(f"the allocations sum to {total:.12g}, not 1 ("
                             + ", ".join(f"{s.id}={s.allocation:g}" for s in self.strategies) + ")")
        return self


def load_portfolio(path: Path | str) -> PortfolioConfig:
    """Read and validate a portfolio file.

    Raises:
        ConfigError: a missing file, bad YAML, an unknown key or a rule above broken (names the file and key).
    """
    path = Path(path)
    return validate(PortfolioConfig, read_yaml(path), path.name)


def portfolio_from_dict(data: dict[str, Any], origin: str = "portfolio") -> PortfolioConfig:
    """Validate a portfolio given as a mapping (the API, tests). Raises ConfigError like :func:`load_portfolio`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping with a 'strategies' list")
    return validate(PortfolioConfig, data, origin)

"""Mode registry: mode name -> (strategy class, config model, default config file).

Raises ``UnknownModeError`` (listing the known modes) for anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from basiskit.config.loader import ConfigError, configs_dir, deep_merge, read_yaml, validate
from basiskit.config.modes import ModeConfig
from basiskit.strategies.base import BaseStrategy
from basiskit.strategies.implementations.basis import Basis, BasisConfig
from basiskit.strategies.implementations.funding_arbitrage import FundingArbConfig, FundingArbitrage
from basiskit.strategies.implementations.grid import Grid, GridConfig
from basiskit.strategies.implementations.lst_book import LstBook, LstConfig
from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.strategy import MlDirectional
from basiskit.strategies.implementations.pure_lending import PureLending, PureLendingConfig
from basiskit.strategies.implementations.inventory_arbitrage import InventoryArbitrage, InventoryArbitrageConfig
from basiskit.strategies.implementations.reverse_delta_neutral import ReverseDeltaNeutral, ReverseDeltaNeutralConfig
from basiskit.strategies.implementations.volatility_harvesting import VolatilityHarvesting, VolatilityHarvestingConfig

MODES: dict[str, tuple[type[BaseStrategy], type[ModeConfig]]] = {
    "pure_lending": (PureLending, PureLendingConfig),
    "btc_basis": (Basis, BasisConfig),
    "eth_basis": (Basis, BasisConfig),
    "eth_staking_only": (LstBook, LstConfig),
    "eth_leveraged": (LstBook, LstConfig),
    "eth_leveraged_restaking": (LstBook, LstConfig),
    "usdt_market_neutral_no_leverage": (LstBook, LstConfig),
    "usdt_market_neutral": (LstBook, LstConfig),
    "funding_arbitrage": (FundingArbitrage, FundingArbConfig),
    "grid": (Grid, GridConfig),
    "ml_btc_directional": (MlDirectional, MlDirectionalConfig),
    "ml_usdt_directional": (MlDirectional, MlDirectionalConfig),
    "signal_reverse_delta_neutral": (ReverseDeltaNeutral, ReverseDeltaNeutralConfig),
    "signal_inventory_arbitrage": (InventoryArbitrage, InventoryArbitrageConfig),
    "signal_volatility_harvesting": (VolatilityHarvesting, VolatilityHarvestingConfig),
}


class UnknownModeError(ConfigError):
    """STRAT-003: the mode is not registered."""

    code = "STRAT-003"
    field = "mode"


def known_modes() -> list[str]:
    return sorted(MODES)


def mode_entry(mode: str) -> tuple[type[BaseStrategy], type[ModeConfig]]:
    try:
        return MODES[mode]
    except KeyError:
        raise UnknownModeError(f"unknown mode {mode!r}; known modes: {', '.join(known_modes())}") from None


def mode_config_path(mode: str) -> Path:
    return configs_dir() / "modes" / f"{mode}.yaml"


def load_mode_config(mode: str, overrides: dict[str, Any] | None = None) -> ModeConfig:
    """Default YAML for ``mode`` merged with ``overrides`` (from ``--set``), validated.

    Raises:
        UnknownModeError, ConfigError (names the file and the offending key).
    """
    _, model = mode_entry(mode)
    path = mode_config_path(mode)
    data = read_yaml(path)
    if data.get("mode", mode) != mode:
        raise ConfigError(f"{path}: mode is {data.get('mode')!r}, expected {mode!r}")
    data = deep_merge(data, overrides or {})
    origin = f"{path.name}" + (" with --set overrides" if overrides else "")
    return validate(model, data, origin)


def build_strategy(config: ModeConfig, components=None) -> BaseStrategy:
    """The factory: a strategy of ``config.mode`` (any registered mode, by name). ``components``
    (``categories.stateful.StrategyComponents``: store-backed state and position managers) are given
    to a stateful strategy; a stateless one refuses them.

    Raises:
        UnknownModeError: the mode is not registered.
        ConfigError: components for a strategy that is not stateful.
    """
    cls, _ = mode_entry(config.mode)
    strategy = cls(config)
    if components is not None:
        if not hasattr(strategy, "use_components"):
            raise ConfigError(f"mode {config.mode!r} ({cls.__name__}) is not a stateful strategy: it takes no components")
        strategy.use_components(components)
    return strategy

"""Mode registry: mode name -> (strategy class, config model, default config file).

Raises ``UnknownModeError`` (listing the known modes) for anything else.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from basiskit.config.loader import ConfigError, configs_dir, deep_merge, read_yaml, validate
from basiskit.config.modes import ModeConfig
from basiskit.strategies.base import BaseStrategy

_IMPL = "basiskit.strategies.implementations"

# mode -> (strategy class, config model) as "module:name" paths, imported on first use: a command
# that runs one mode does not import the others (the signal modes' compiled kernels, the ML stack).
MODES: dict[str, tuple[str, str]] = {
    "pure_lending": (f"{_IMPL}.pure_lending:PureLending", f"{_IMPL}.pure_lending:PureLendingConfig"),
    "btc_basis": (f"{_IMPL}.basis:Basis", f"{_IMPL}.basis:BasisConfig"),
    "eth_basis": (f"{_IMPL}.basis:Basis", f"{_IMPL}.basis:BasisConfig"),
    "eth_staking_only": (f"{_IMPL}.lst_book:LstBook", f"{_IMPL}.lst_book:LstConfig"),
    "eth_leveraged": (f"{_IMPL}.lst_book:LstBook", f"{_IMPL}.lst_book:LstConfig"),
    "eth_leveraged_restaking": (f"{_IMPL}.lst_book:LstBook", f"{_IMPL}.lst_book:LstConfig"),
    "usdt_market_neutral_no_leverage": (f"{_IMPL}.lst_book:LstBook", f"{_IMPL}.lst_book:LstConfig"),
    "usdt_market_neutral": (f"{_IMPL}.lst_book:LstBook", f"{_IMPL}.lst_book:LstConfig"),
    "funding_arbitrage": (f"{_IMPL}.funding_arbitrage:FundingArbitrage",
                          f"{_IMPL}.funding_arbitrage:FundingArbConfig"),
    "grid": (f"{_IMPL}.grid:Grid", f"{_IMPL}.grid:GridConfig"),
    "ml_btc_directional": (f"{_IMPL}.ml_directional.strategy:MlDirectional",
                           f"{_IMPL}.ml_directional.config:MlDirectionalConfig"),
    "ml_usdt_directional": (f"{_IMPL}.ml_directional.strategy:MlDirectional",
                            f"{_IMPL}.ml_directional.config:MlDirectionalConfig"),
    "signal_reverse_delta_neutral": (f"{_IMPL}.reverse_delta_neutral:ReverseDeltaNeutral",
                                     f"{_IMPL}.reverse_delta_neutral:ReverseDeltaNeutralConfig"),
    "signal_inventory_arbitrage": (f"{_IMPL}.inventory_arbitrage:InventoryArbitrage",
                                   f"{_IMPL}.inventory_arbitrage:InventoryArbitrageConfig"),
    "signal_volatility_harvesting": (f"{_IMPL}.volatility_harvesting:VolatilityHarvesting",
                                     f"{_IMPL}.volatility_harvesting:VolatilityHarvestingConfig"),
}


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


class UnknownModeError(ConfigError):
    """STRAT-003: the mode is not registered."""

    code = "STRAT-003"
    field = "mode"


def known_modes() -> list[str]:
    return sorted(MODES)


def mode_entry(mode: str) -> tuple[type[BaseStrategy], type[ModeConfig]]:
    """(strategy class, config model) of ``mode``, imported on first use.

    Raises:
        UnknownModeError: the mode is not registered (the message lists the known modes).
    """
    try:
        strategy, config = MODES[mode]
    except KeyError:
        raise UnknownModeError(f"unknown mode {mode!r}; known modes: {', '.join(known_modes())}") from None
    return _load(strategy), _load(config)


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

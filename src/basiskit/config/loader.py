"""YAML loading with errors that name the file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from basiskit.errors.exceptions import InvalidInput

M = TypeVar("M", bound=BaseModel)


class ConfigError(InvalidInput, ValueError):
    code = "CONFIG-001"
    """A configuration file or override is invalid; the message names the file and key."""


def configs_dir() -> Path:
    """``basiskit/configs``: the mode and venue YAML files shipped inside the package (so a wheel
    installed anywhere finds them). Raises ConfigError if the package was installed without them."""
    path = Path(__file__).resolve().parents[1] / "configs"
    if not path.is_dir():
        raise ConfigError("the package's configs directory (basiskit/configs) is missing: reinstall basiskit")
    return path


# libyaml's parser when PyYAML was built with it (the wheels are): the same documents, ~10x faster, and a
# backtest reads a dozen config files (mode, venues, twice)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at top level")
    return data


def format_validation_error(exc: ValidationError, origin: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return f"{origin}: " + "; ".join(parts)


def validate(model: type[M], data: dict[str, Any], origin: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from exc


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a.b=1", "rebalance=false"]`` -> nested dict; values parsed as YAML scalars.

    Raises:
        ConfigError: an item without ``=``.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else ""
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out

"""Validate a backtest request before anything runs or is written, naming the field at fault.

Field names are the API's: ``mode``, ``start``, ``end``, ``capital``, ``share_class``,
``config.<key>`` (a mode-config override), ``deposits[i].date`` / ``deposits[i].amount`` (and the same
for ``withdrawals``). The engine's own ``prepare`` runs last, so its rules stay the authority.

Raises (all ``InvalidInput``, HTTP 422):
    UnknownModeError (STRAT-003, field ``mode``), BacktestInputError (RUN-001), ConfigError (CONFIG-001).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import ValidationError

from basiskit.config.loader import ConfigError
from basiskit.config.modes import ModeConfig
from basiskit.engine.backtest import BacktestInputError, BacktestRequest, prepare
from basiskit.engine.clock import Clock
from basiskit.domain.time import NS_PER_SECOND, to_ns
from basiskit.strategies.registry import UnknownModeError, load_mode_config, mode_entry

DEFAULT_MAX_STEPS = 2_000_000  # ~3.8 years of minute steps; protects a shared server from runaway requests


@dataclass(frozen=True)
class ValidRequest:
    request: BacktestRequest
    config: ModeConfig
    clock: Clock
    steps: int


def _date(value: str, field: str) -> int:
    try:
        return to_ns(value)
    except (ValueError, OverflowError) as exc:  # OverflowError: outside the ns range (years 1677..2262)
        raise BacktestInputError(f"{field}: cannot use date {value!r}: {exc}", field=field) from exc


def _config_error(exc: ConfigError, share_class: str | None) -> ConfigError:
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        details = []
        for err in cause.errors():
            loc = [str(x) for x in err["loc"]]
            top = loc[0] if loc else ""
            field = "share_class" if top == "share_class" and share_class is not None else \
                "config" + ("." + ".".join(loc) if loc else "")
            details.append({"field": field, "message": "unknown key" if err["type"] == "extra_forbidden" else err["msg"]})
        exc.field = details[0]["field"]
        exc.details = details
    elif "share_class" in str(exc):
        exc.field = "share_class"
    return exc


def _flows(items, what: str, start: int, end: int) -> None:
    for i, (when, amount) in enumerate(items):
        name = f"{what}s[{i}]"
        t = _date(str(when), f"{name}.date")
        if t < start or t > end:
            raise BacktestInputError(f"{name}.date: {what} date {when} is outside the backtest period", field=f"{name}.date")
        if not (isinstance(amount, (int, float)) and math.isfinite(amount) and amount > 0):
            raise BacktestInputError(f"{name}.amount: {what} amount must be positive, got {amount} at {when}",
                                     field=f"{name}.amount")


def validate_config(mode: str, overrides: dict | None = None, share_class: str | None = None) -> ModeConfig:
    """The mode's default config merged with ``overrides`` (and ``share_class``), validated; errors
    name ``config.<key>`` (every error in ``details``) or ``share_class``."""
    try:
        mode_entry(mode)
    except UnknownModeError as exc:
        exc.field = "mode"
        raise
    merged = dict(overrides or {})
    if share_class is not None:
        merged["share_class"] = share_class
    try:
        return load_mode_config(mode, merged)
    except ConfigError as exc:
        raise _config_error(exc, share_class)


def validate_request(req: BacktestRequest, max_steps: int | None = DEFAULT_MAX_STEPS) -> ValidRequest:
    """Check ``req`` field by field (no data is read). ``max_steps``: largest clock grid accepted
    (None = no limit); exceeding it is an error on ``end``."""
    try:
        mode_entry(req.mode)
    except UnknownModeError as exc:
        exc.field = "mode"
        raise
    start, end = _date(req.start, "start"), _date(req.end, "end")
    if end <= start:
        raise BacktestInputError(f"end {req.end} must be after start {req.start}", field="end")
    cap = req.capital
    if not (isinstance(cap, (int, float)) and math.isfinite(cap) and cap > 0):
        raise BacktestInputError(f"capital must be a positive number, got {cap}", field="capital")
    config = validate_config(req.mode, req.overrides, req.share_class)
    steps = (end - start) // (config.step_seconds * NS_PER_SECOND) + 1
    if max_steps is not None and steps > max_steps:
        raise BacktestInputError(f"the period {req.start} .. {req.end} has {steps:,} steps of {config.step_seconds} s; "
                                 f"at most {max_steps:,} are allowed (shorten it or raise step_seconds)", field="end")
    _flows(req.deposits, "deposit", start, end)
    _flows(req.withdrawals, "withdrawal", start, end)
    try:
        config, clock = prepare(req)
    except ConfigError as exc:
        raise _config_error(exc, req.share_class)
    return ValidRequest(req, config, clock, steps)

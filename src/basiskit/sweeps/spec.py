"""What a sweep is: the base backtest request, the parameters and their ranges, the objective, the
sampler and its seed. Parsed from the CLI's ``--param`` texts (or the API's body), validated through the
config layer before any trial runs, and named: the study name (= the sweep id) is a hash of everything
that decides the trials' parameters and results, so the same command finds the same study again.

``--param`` forms (KEY is a mode-config key, dotted for nested ones):

* ``KEY=LOW:HIGH`` -- a continuous range (random and TPE samplers; int when LOW and HIGH are ints);
* ``KEY=LOW:HIGH:STEP`` -- a stepped range, LOW, LOW+STEP, ... <= HIGH (every sampler, grid included);
* ``KEY=a,b,c`` -- a list of values (YAML scalars: ``0.7``, ``true``, ``aave_usdt``).

A weight of a two-venue ``hedge_allocation`` (weights summing to 1) is swept with its complement:
``hedge_allocation.binance=0.2:0.8:0.2`` sets ``bybit`` to ``1 - binance`` (unless ``bybit`` is swept or
``--set`` too).

Raises (all ``SweepInputError``, SWEEP-001, the option in ``field``): bad syntax, LOW >= HIGH, STEP <= 0,
an empty or duplicated list, a key the mode's config does not have or a value it refuses (the
config layer's message), a duplicated key, an unknown objective, direction or sampler, a grid over a
continuous range, a bad trial count, batch or walk-forward spec.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from basiskit.config.loader import ConfigError, deep_merge
from basiskit.engine.backtest import BacktestRequest
from basiskit.errors.exceptions import SweepInputError

SAMPLERS = ("grid", "random", "tpe")
DIRECTIONS = ("max", "min")
# numeric summary keys a sweep can optimise (``summary.json``); ``apy``, ``sharpe``, ``calmar`` are the usual ones
OBJECTIVES = ("apy", "apr", "sharpe", "sortino", "calmar", "total_return", "final_equity", "volatility",
              "max_drawdown", "longest_drawdown_days", "avg_hedge_ratio", "avg_idle_capital_share",
              "avg_idle_margin_share", "turnover", "turnover_per_year", "costs", "costs_bps_per_year", "gross_pnl",
              "costs_share_of_gross_pnl", "trades", "min_health_factor", "max_ltv", "max_abs_net_delta", "liquidations",
              "risk_overrides")
DEFAULT_BATCH = 8  # TPE asks this many trials per round, whatever the number of workers (see basiskit.sweeps)
MAX_TRIALS = 100_000
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


def _bad(msg: str, field: str) -> SweepInputError:
    return SweepInputError(msg, field=field)


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: ``kind`` ``float`` / ``int`` (``low``..``high``, optional ``step``) or
    ``categorical`` (``choices``)."""

    key: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    choices: tuple = ()

    @property
    def field(self) -> str:
        return f"param.{self.key}"

    def text(self) -> str:
        """The canonical ``--param`` text (what the study name hashes)."""
        if self.kind == "categorical":
            return f"{self.key}=" + ",".join(json.dumps(c) for c in self.choices)
        return f"{self.key}={self.low}:{self.high}" + ("" if self.step is None else f":{self.step}")

    def grid_values(self) -> list:
        """Every value of a stepped range or list, in order. Raises SweepInputError for a continuous range."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.step is None:
            raise _bad(f"--param {self.key}: the grid sampler needs a STEP (KEY=LOW:HIGH:STEP) or a list of values",
                       self.field)
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        if self.kind == "int":
            return [int(self.low + i * self.step) for i in range(n)]
        return [round(self.low + i * self.step, 12) for i in range(n)]

    def extremes(self) -> list:
        """The values a trial can take at the edges (checked by the config layer before anything runs)."""
        if self.kind == "categorical":
            return list(self.choices)
        vals = self.grid_values() if self.step is not None else [self.low, self.high]
        return [vals[0], vals[-1]]

    def distribution(self):  # noqa: ANN201 - optuna is imported here only
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), step=int(self.step or 1))
        high = self.high if self.step is None else self.grid_values()[-1]
        return FloatDistribution(float(self.low), float(high), step=None if self.step is None else float(self.step))

    def normalise(self, value: Any) -> Any:
        """A sampled value as the trial uses it: ints as int, floats rounded to 12 decimals."""
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return round(float(value), 12)
        return value


def parse_param(text: str) -> ParamSpec:
    """One ``--param`` text (see the module docstring). Raises SweepInputError naming the key."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise _bad(f"--param {text!r}: expected KEY=LOW:HIGH[:STEP] or KEY=a,b,c", "param")
    if not _KEY.match(key):
        raise _bad(f"--param {text!r}: {key!r} is not a config key (letters, digits, _ and dots)", f"param.{key}")
    field = f"param.{key}"
    raw = raw.strip()
    if ":" in raw and "," not in raw:
        parts = [p.strip() for p in raw.split(":")]
        if len(parts) not in (2, 3) or not all(_NUM.match(p) for p in parts):
            raise _bad(f"--param {key}: expected LOW:HIGH or LOW:HIGH:STEP with numbers, got {raw!r}", field)
        is_int = all(_INT.match(p) for p in parts)
        conv = int if is_int else float
        low, high = conv(parts[0]), conv(parts[1])
        step = conv(parts[2]) if len(parts) == 3 else None
        if not all(math.isfinite(x) for x in (low, high, step if step is not None else 0)):
            raise _bad(f"--param {key}: bounds must be finite, got {raw!r}", field)
        if low >= high:
            raise _bad(f"--param {key}: LOW must be below HIGH, got {low} >= {high}", field)
        if step is not None and not step > 0:
            raise _bad(f"--param {key}: STEP must be positive, got {step}", field)
        if step is not None and step > high - low:
            raise _bad(f"--param {key}: STEP {step} is larger than the range {low}..{high}", field)
        return ParamSpec(key, "int" if is_int else "float", low, high, step)
    if raw == "":
        raise _bad(f"--param {key}: no values given", field)
    items = [i.strip() for i in raw.split(",")]
    if any(i == "" for i in items):
        raise _bad(f"--param {key}: empty value in the list {raw!r}", field)
    try:
        values = tuple(yaml.safe_load(i) for i in items)
    except yaml.YAMLError as exc:
        raise _bad(f"--param {key}: cannot read the list {raw!r}: {exc}", field) from None
    if any(isinstance(v, (dict, list)) or v is None for v in values):
        raise _bad(f"--param {key}: list values must be numbers, booleans or words, got {raw!r}", field)
    if len(set(json.dumps(v) for v in values)) != len(values):
        raise _bad(f"--param {key}: a value is listed twice in {raw!r}", field)
    return ParamSpec(key, "categorical", choices=values)


def _nested(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def _get(d: dict, key: str) -> Any:
    node: Any = d
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


@dataclass(frozen=True)
class SweepSpec:
    """A sweep. ``overrides``: fixed config overrides of every trial (``--set``); ``trials``: how many
    trials (None: the grid's size, or 20 for random/TPE); ``batch``: TPE's round size (constant, see
    :mod:`basiskit.sweeps`); ``walk_forward``: (train days, test days) or None. ``complements`` maps a
    swept two-venue weight key to the key set to ``1 - value`` (filled by :func:`validate_spec`)."""

    mode: str
    start: str
    end: str
    capital: float
    params: tuple[ParamSpec, ...]
    objective: str = "apy"
    direction: str = "max"
    sampler: str = "tpe"
    seed: int = 0
    trials: int | None = None
    batch: int = DEFAULT_BATCH
    share_class: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    walk_forward: tuple[int, int] | None = None
    complements: tuple[tuple[str, str], ...] = ()

    # -- derived -------------------------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        if self.sampler == "grid":
            size = math.prod(len(p.grid_values()) for p in self.params)
            return min(size, self.trials) if self.trials else size
        return self.trials or 20

    def identity(self) -> dict[str, Any]:
        """Everything that decides trial k's parameters and result (the trial count is left out: a rerun with
        more trials extends the same study; the workers, executor and batch of grid/random too)."""
        return {"mode": self.mode, "start": self.start, "end": self.end, "capital": float(self.capital),
                "share_class": self.share_class, "overrides": self.overrides,
                "params": [p.text() for p in self.params], "objective": self.objective, "direction": self.direction,
                "sampler": self.sampler, "seed": self.seed, "batch": self.batch if self.sampler == "tpe" else None,
                "walk_forward": list(self.walk_forward) if self.walk_forward else None}

    @property
    def sweep_id(self) -> str:
        """``sw-<mode>-<10 hex>``: the Optuna study name, the results folder and the trials' run id prefix."""
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()
        return f"sw-{self.mode}-{digest[:10]}"

    def as_dict(self) -> dict[str, Any]:
        return {**self.identity(), "trials": self.n_trials, "batch": self.batch,
                "complements": [list(c) for c in self.complements]}

    def trial_overrides(self, params: dict[str, Any]) -> dict[str, Any]:
        """The config overrides of a trial with ``params`` (key -> value), complements included."""
        out = dict(self.overrides)
        for key, value in params.items():
            out = deep_merge(out, _nested(key, value))
        for key, other in self.complements:
            if key in params:
                out = deep_merge(out, _nested(other, round(1.0 - float(params[key]), 12)))
        return out

    def request(self, params: dict[str, Any], start: str | None = None, end: str | None = None) -> BacktestRequest:
        return BacktestRequest(self.mode, start or self.start, end or self.end, float(self.capital),
                               share_class=self.share_class, overrides=self.trial_overrides(params))


def _complements(mode: str, params: tuple[ParamSpec, ...], fixed: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    from basiskit.strategies.registry import load_mode_config

    default = load_mode_config(mode).model_dump(mode="json")
    swept = {p.key for p in params}
    out = []
    for p in params:
        parent, _, venue = p.key.rpartition(".")
        weights = _get(default, parent) if parent.endswith("hedge_allocation") else None
        if not isinstance(weights, dict) or len(weights) != 2 or venue not in weights:
            continue
        other = f"{parent}.{next(v for v in weights if v != venue)}"
        if other not in swept and _get(fixed, other) is None:
            out.append((p.key, other))
    return tuple(out)


def validate_spec(spec: SweepSpec) -> SweepSpec:
    """``spec`` checked (see the module docstring) and with its complements filled in; every edge value
    of every parameter goes through the config layer with the fixed overrides (unknown key, bad value).
    Writes nothing, reads no data."""
    from basiskit.runs.validate import validate_config, validate_request

    if spec.sampler not in SAMPLERS:
        raise _bad(f"unknown sampler {spec.sampler!r}: use one of {', '.join(SAMPLERS)}", "sampler")
    if spec.direction not in DIRECTIONS:
        raise _bad(f"unknown direction {spec.direction!r}: use max or min", "direction")
    if spec.objective not in OBJECTIVES:
        raise _bad(f"unknown objective {spec.objective!r}: use one of {', '.join(OBJECTIVES)}", "objective")
    if not spec.params:
        raise _bad("give at least one --param KEY=LOW:HIGH[:STEP] or KEY=a,b,c", "param")
    keys = [p.key for p in spec.params]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup:
        raise _bad(f"--param {dup} is given twice", f"param.{dup}")
    if spec.trials is not None and not 1 <= spec.trials <= MAX_TRIALS:
        raise _bad(f"--trials must be between 1 and {MAX_TRIALS:,}, got {spec.trials}", "trials")
    if not 1 <= spec.batch <= 1000:
        raise _bad(f"--batch must be between 1 and 1000, got {spec.batch}", "batch")
    if spec.walk_forward is not None:
        train, test = spec.walk_forward
        if train < 1 or test < 1:
            raise _bad(f"--walk-forward TRAIN:TEST must be positive days, got {train}:{test}", "walk_forward")
    if spec.sampler == "grid":
        for p in spec.params:
            p.grid_values()  # raises for a continuous range
    validate_request(BacktestRequest(spec.mode, spec.start, spec.end, float(spec.capital), spec.share_class,
                                     dict(spec.overrides)), max_steps=None)
    spec = SweepSpec(**{**spec.__dict__, "complements": _complements(spec.mode, spec.params, spec.overrides)})
    for p in spec.params:
        for value in p.extremes():
            try:
                validate_config(spec.mode, spec.trial_overrides({p.key: value}), spec.share_class)
            except ConfigError as exc:
                raise _bad(f"--param {p.key}={value}: {exc}", p.field) from None
    return spec


def parse_walk_forward(text: str | None) -> tuple[int, int] | None:
    """``TRAIN:TEST`` in days (``90:30``) -> (90, 30); None for None. Raises SweepInputError."""
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 2 or not all(_INT.match(p.strip()) for p in parts):
        raise _bad(f"--walk-forward expects TRAIN:TEST in whole days (e.g. 90:30), got {text!r}", "walk_forward")
    train, test = (int(p) for p in parts)
    if train < 1 or test < 1:
        raise _bad(f"--walk-forward TRAIN:TEST must be positive days, got {text!r}", "walk_forward")
    return train, test

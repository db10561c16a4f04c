"""The error-code registry and the exception tree."""

from __future__ import annotations

import re

import pytest

import basiskit.errors.exceptions as exceptions_module
from basiskit.config.loader import ConfigError
from basiskit.data.errors import DataError
from basiskit.engine.backtest import AccountingError, BacktestInputError
from basiskit.errors import REGISTRY, Policy, Severity, lookup
from basiskit.errors.exceptions import (BasiskitError, InvalidInput, RetryWithBackoff, SkipDecision, StopRun,
                                        StoreUnavailable, VenueUnavailable)
from basiskit.errors.retry import with_backoff
from basiskit.runs.coverage import DataCoverageError
from basiskit.strategies.registry import UnknownModeError


def test_every_code_is_complete():
    for code, e in REGISTRY.items():
        assert re.fullmatch(r"[A-Z]+-\d{3}", code) and e.code == code
        assert isinstance(e.severity, Severity) and isinstance(e.policy, Policy)
        assert e.message and e.resolution and 400 <= e.http_status <= 599


@pytest.mark.parametrize("prefix", ["STRAT", "DATA", "VENUE", "EXEC", "RISK"])
def test_each_component_has_its_codes(prefix):
    codes = [c for c in REGISTRY if c.startswith(prefix + "-")]
    assert len(codes) >= 3
    assert {REGISTRY[c].component for c in codes} == {REGISTRY[codes[0]].component}


def test_strategy_codes_mean_what_the_issue_says():
    assert "decision" in lookup("STRAT-001").message and lookup("STRAT-001").policy is Policy.SKIP
    assert "order generation" in lookup("STRAT-002").message
    assert "unknown" in lookup("STRAT-003").message and lookup("STRAT-003").http_status == 422


def test_lookup_of_an_unknown_code_lists_the_component_codes():
    with pytest.raises(KeyError, match="STRAT-001, STRAT-002, STRAT-003"):
        lookup("STRAT-999")


@pytest.mark.parametrize("exc,branch,code", [
    (DataError("gap", file="x.csv", row=3, key="k"), StopRun, "DATA-003"),
    (ConfigError("bad key"), InvalidInput, "CONFIG-001"),
    (UnknownModeError("unknown mode 'x'"), InvalidInput, "STRAT-003"),
    (BacktestInputError("capital must be positive"), InvalidInput, "RUN-001"),
    (AccountingError("off by 1"), StopRun, "RUN-002"),
    (DataCoverageError("no data", key="aave.USDT", field="start"), InvalidInput, "DATA-002"),
    (VenueUnavailable("timeout"), RetryWithBackoff, "VENUE-001"),
])
def test_existing_exceptions_sit_in_the_tree_with_codes(exc, branch, code):
    assert isinstance(exc, branch) and isinstance(exc, BasiskitError)
    assert exc.code == code and exc.to_dict()["code"] == code
    assert exc.to_dict()["resolution"] == lookup(code).resolution


def test_old_constructors_and_bases_still_work():
    e = DataError("missing", file="a.csv", row=7, key="price")
    assert str(e) == "[file a.csv, line 7, key price] missing" and e.message == "missing" and e.row == 7
    assert isinstance(ConfigError("x"), ValueError) and isinstance(BacktestInputError("x"), ValueError)
    assert isinstance(AccountingError("x"), RuntimeError)
    assert UnknownModeError("x").field == "mode"
    assert BacktestInputError("x", field="capital").field == "capital" and BacktestInputError("x").field is None
    assert DataCoverageError("no data", key="aave.USDT", field="end").key == "aave.USDT"


def test_the_module_docstring_draws_every_class():
    doc = exceptions_module.__doc__
    names = [n for n, obj in vars(exceptions_module).items() if isinstance(obj, type) and issubclass(obj, BasiskitError)]
    assert len(names) >= 12
    for name in names:
        assert name in doc, name
    for branch in (StopRun, SkipDecision, RetryWithBackoff):
        assert branch.__name__ in doc


def test_with_backoff_retries_transient_errors_with_growing_delays():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise StoreUnavailable("db down")
        return "ok"

    assert with_backoff(flaky, attempts=5, base_delay=0.1, sleep=sleeps.append) == "ok"
    assert sleeps == [0.1, 0.2]


def test_with_backoff_gives_up_and_never_retries_other_errors():
    sleeps = []
    with pytest.raises(StoreUnavailable):
        with_backoff(lambda: (_ for _ in ()).throw(StoreUnavailable("down")), attempts=3, base_delay=1.0,
                     max_delay=1.5, sleep=sleeps.append)
    assert sleeps == [1.0, 1.5]
    calls = []

    def bad():
        calls.append(1)
        raise StopRun("no")

    with pytest.raises(StopRun):
        with_backoff(bad, sleep=sleeps.append)
    assert calls == [1]

"""CLI formatting at 80 columns: numbers that never print as -0.00, the run summary of an ETH run,
missing or undefined metrics, and the progress bar's total."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from basiskit.cli import main

NEG_ZERO = re.compile(r"-0\.0+(?![0-9])")


@pytest.mark.parametrize("x,decimals,expected", [
    (0.0, 2, "0.00"), (-0.0, 2, "0.00"), (-0.004, 2, "-0.004"), (0.0004, 2, "0.0004"), (-1234.567, 2, "-1,234.57"),
    (-0.0000034, 6, "-0.000003"), (0.0000000123, 6, "0.00000001"), (50.0, 6, "50.000000"), (-1.78e-15, 6, "-1.78e-15"),
    (None, 2, "n/a"), (float("nan"), 2, "n/a"), ("x", 2, "n/a"), (float("-inf"), 2, "-inf"),
])
def test_fmt_number(x, decimals, expected):
    assert main.fmt_number(x, decimals) == expected


def test_fmt_number_percent_never_minus_zero():
    assert main.fmt_number(-0.00000123, 2, 100.0, " %") == "-0.0001 %"
    assert main.fmt_number(0.1234, 2, 100.0, " %") == "12.34 %"


ETH_SUMMARY = {
    "mode": "eth_leveraged", "start": "2024-06-01T00:00:00Z", "end": "2024-06-15T00:00:00Z", "share_class": "ETH",
    "initial_equity": 50.0, "final_equity": 49.9785241, "net_deposits": 0.0, "total_return": -0.0000429,
    "apr": None, "apy": float("nan"), "sharpe": float("nan"), "sortino": None, "max_drawdown": -0.0029,
    "trades": 5, "liquidations": 0, "null_reasons": {"sharpe": "fewer than 2 days"},
    "attribution": {"funding": 0.0, "lending_interest": 0.0725, "staking": 0.3182, "borrow_cost": -0.2667,
                    "price_basis": -1.78e-15, "fees": -0.0000004, "flash_fees": -0.1414, "gas": -0.004006},
    "reconciliation": {"equity_change": -0.0214759}, "steps": 337, "steps_per_second": None,
}


@pytest.fixture
def captured(monkeypatch) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.setattr(main, "console", Console(file=buf, width=80, color_system=None, force_terminal=False))
    return buf


def test_eth_summary_fits_80_columns_and_shows_small_values(captured):
    main.print_summary(ETH_SUMMARY, Path("/tmp/results/run"))
    out = captured.getvalue()
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert not NEG_ZERO.search(out), out
    assert "eth_leveraged  2024-06-01T00:00:00Z → 2024-06-15T00:00:00Z  (share class ETH)" in out
    assert "49.978524" in out and "50.000000" in out  # 6 decimals for ETH amounts
    assert "-0.0000004" in out and "-0.004006" in out and "-1.78e-15" in out
    assert re.search(r"total return \(TWR\)\s+-0\.004 %", out), out  # -0.0043 % is not -0.00 %
    assert re.search(r"Sharpe\s+n/a \[1\]", out) and "[1] fewer than 2 days" in out, out  # the reason, once
    assert re.search(r"APR\s+n/a", out) and re.search(r"APY\s+n/a", out) and re.search(r"Sortino\s+n/a", out)
    assert "loop: 337 steps, n/a steps/s" in out


def test_summary_with_missing_keys_prints_na(captured):
    main.print_summary({"mode": "pure_lending", "share_class": "USDT"}, Path("out"))
    out = captured.getvalue()
    assert "final equity (USDT)" in out and "n/a" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_progress_knows_its_total_before_the_first_step():
    buf = io.StringIO()
    bar = main.RunProgress(Console(file=buf, width=80, force_terminal=True), "btc_basis", 8785)
    task = bar.progress.tasks[bar.step_task]
    assert task.total == 8785 and task.completed == 0 and not bar.progress.tasks[bar.import_task].visible
    bar.importing("spot.bybit.ETHUSDT", 3, 31)
    imp = bar.progress.tasks[bar.import_task]
    assert imp.visible and imp.total == 31 and imp.completed == 2 and "spot.bybit.ETHUSDT" in imp.description
    bar.step(100, 8785)
    assert bar.progress.tasks[bar.import_task].finished and task.completed == 100
    Console(file=buf, width=80, force_terminal=True).print(bar.progress.make_tasks_table(bar.progress.tasks))
    drawn = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())
    assert "100/8,785 steps" in drawn and "31/31 datasets" in drawn
    assert max(len(line) for line in drawn.splitlines()) <= 80
    assert not math.isnan(task.percentage)

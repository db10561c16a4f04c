"""Deposits and withdrawals that say what is true: a withdrawal that cannot be paid is an error naming
it, unless partial payment is asked for; then the unpaid rest is reported and the CLI exits non-zero."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.kernel import WithdrawalError


def test_a_withdrawal_above_the_equity_is_an_error_naming_it(catalog):
    req = BacktestRequest("btc_basis", "2024-02-01", "2024-04-01", 100_000.0,
                          withdrawals=(("2024-03-01", 250_000.0),))
    with pytest.raises(WithdrawalError) as err:
        run_backtest(req, catalog)
    msg = str(err.value)
    assert err.value.code == "RUN-013"
    assert "250,000" in msg and "2024-03-01T00:00:00Z" in msg and "equity then is" in msg
    equity = float(msg.split("equity then is ")[1].split(" USDT")[0].replace(",", ""))
    assert 100_000 < equity < 110_000  # the book's equity on that date, named in the message


def test_partial_payment_reports_the_unpaid_rest(catalog):
    req = BacktestRequest("btc_basis", "2024-02-01", "2024-04-01", 100_000.0,
                          overrides={"allow_partial_withdrawals": True}, withdrawals=(("2024-03-01", 250_000.0),))
    out = run_backtest(req, catalog)
    s = out.summary
    paid = -s["net_deposits"]
    assert s["unpaid_withdrawals"] == pytest.approx(250_000.0 - paid, rel=1e-12)
    assert 95_000 < paid < 110_000 and s["final_equity"] < 1_000  # everything that could be paid, was


def test_the_cli_exits_non_zero_when_a_withdrawal_is_left_unpaid(source_dir, tmp_path):
    env = {"BASISKIT_DATA_SOURCE": str(source_dir), "BASISKIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "basiskit.cli.main", "backtest", "btc_basis", "--start", "2024-02-01", "--end",
           "2024-04-01", "--withdraw", "2024-03-01:250000", "--no-record", "--out", str(tmp_path / "out")]
    refused = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "RUN-013" in refused.stderr and not (tmp_path / "out" / "summary.json").exists()
    partial = subprocess.run(cmd + ["--set", "allow_partial_withdrawals=true"], capture_output=True, text=True, env=env)
    assert partial.returncode == 3, partial.stderr
    assert "unpaid" in partial.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["unpaid_withdrawals"] > 100_000

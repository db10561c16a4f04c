"""A backtest submitted through the API produces the same summary.json (and the same equity and trade
files) as the same run from the CLI; both are recorded in the same store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basiskit.cli.main import app as cli

from liveserver import wait_for

# fields that differ between any two runs of the same request: identity and wall-clock speed
VOLATILE = {"run_id", "loop_seconds", "steps_per_second"}

CASES = [
    (["pure_lending", "--start", "2024-03-01", "--end", "2024-03-15", "--capital", "50000"],
     {"mode": "pure_lending", "start": "2024-03-01", "end": "2024-03-15", "capital": 50000}),
    (["btc_basis", "--start", "2024-03-01", "--end", "2024-04-01", "--capital", "250000", "--set", "rebalance=false",
      "--set", "hedge_allocation.binance=0.7", "--set", "hedge_allocation.bybit=0.3",
      "--deposit", "2024-03-10:20000", "--withdraw", "2024-03-20:30000"],
     {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-04-01", "capital": 250000,
      "config": {"rebalance": False, "hedge_allocation": {"binance": 0.7, "bybit": 0.3}},
      "deposits": [{"date": "2024-03-10", "amount": 20000}], "withdrawals": [{"date": "2024-03-20", "amount": 30000}]}),
]


def _events(path: Path) -> list[dict]:
    with path.open() as fh:
        return [{k: v for k, v in row.items() if k != "run_id"} for row in csv.DictReader(fh)]


@pytest.mark.parametrize("argv,body", CASES, ids=["pure_lending", "btc_basis_flows"])
def test_api_and_cli_produce_the_same_summary(api, catalog, tmp_path, monkeypatch, argv, body):
    monkeypatch.setenv("BASISKIT_DATABASE_URL", api.settings.database_url)
    cli_out = tmp_path / "cli"
    res = CliRunner().invoke(cli, ["backtest", *argv, "--out", str(cli_out), "--data-dir", str(catalog.data_dir)])
    assert res.exit_code == 0, res.output
    run_id = api.client.post("/api/v1/backtests", json=body).json()["id"]
    run = wait_for(api.client, run_id, {"finished", "failed"})
    assert run["status"] == "finished", run
    api_out = Path(run["out_dir"])

    cli_summary = json.loads((cli_out / "summary.json").read_text())
    api_summary = json.loads((api_out / "summary.json").read_text())
    assert api.client.get(f"/api/v1/backtests/{run_id}/summary").json() == api_summary
    assert set(cli_summary) == set(api_summary)
    assert {k: v for k, v in api_summary.items() if k not in VOLATILE} == \
           {k: v for k, v in cli_summary.items() if k not in VOLATILE}
    assert api_summary["trades"] > 0 or body["mode"] == "pure_lending"
    for name in ("equity.csv", "trades.csv"):
        assert (api_out / name).read_bytes() == (cli_out / name).read_bytes(), name
    assert _events(api_out / "events.csv") == _events(cli_out / "events.csv")

    runs = api.client.get("/api/v1/backtests").json()["items"]
    assert sorted(r["origin"] for r in runs) == ["api", "cli"]
    cli_run = next(r for r in runs if r["origin"] == "cli")
    assert cli_run["status"] == "finished"
    assert cli_run["request"] == api.client.get(f"/api/v1/backtests/{run_id}").json()["request"]
    assert api.client.get(f"/api/v1/backtests/{cli_run['id']}/summary").json()["final_equity"] == \
        cli_summary["final_equity"]

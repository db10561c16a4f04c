"""Reports on real runs: the files behind the charts reconcile with the run's own equity, the
benchmarks with the raw data (read with the csv module), and report.html is self-contained."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from basiskit import service
from basiskit.cli.main import app
from basiskit.engine.backtest import BacktestRequest
from basiskit.errors.exceptions import RunFilesMissing
from basiskit.reports import build_charts, load_run, write_pngs, write_report
from basiskit.reports.benchmarks import Benchmarks, benchmark_curves, with_flows
from basiskit.reports.downsample import BUCKETS
from groundtruth import one, parse_ts, read_rows, value_at

UTC = timezone.utc


@pytest.fixture(scope="module")
def basis_run(catalog, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "basis"
    req = BacktestRequest("btc_basis", "2024-03-01", "2024-06-01", 100_000.0,
                          deposits=(("2024-04-01", 20_000.0),), withdrawals=(("2024-05-01", 10_000.0),))
    service.backtest(req, out, catalog=catalog)
    return out


@pytest.fixture(scope="module")
def eth_run(catalog, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "eth"
    service.backtest(BacktestRequest("eth_leveraged", "2024-06-01", "2024-08-01", 50.0), out, catalog=catalog)
    return out


@pytest.mark.parametrize("fixture", ["basis_run", "eth_run"])
def test_attribution_over_time_reconciles_with_equity_at_every_snapshot(fixture, request):
    out = request.getfixturevalue(fixture)
    run = load_run(out)
    a, eq = run.attribution, run.equity
    assert a is not None and len(a) >= 30  # one row a clock day
    at = eq.loc[a.index]
    change = at["equity"] - float(run.summary["initial_equity"]) - at["net_deposits"]
    tol = 0.01 if run.unit == "USDT" else 1e-6
    assert np.allclose(a.sum(axis=1).to_numpy(), change.to_numpy(), atol=tol, rtol=0)
    final = run.summary["attribution"]
    for src, v in final.items():
        assert math.isclose(a[src].iloc[-1], v, rel_tol=1e-9, abs_tol=1e-9), src


@pytest.mark.parametrize("fixture", ["basis_run", "eth_run"])
def test_positions_by_venue_sum_to_equity(fixture, request):
    run = load_run(request.getfixturevalue(fixture))
    v = run.venues
    total = v.groupby("timestamp")["value"].sum()
    eq = run.equity.loc[total.index, "equity"]
    tol = 1e-6 * float(run.summary["initial_equity"])
    assert np.allclose(total.to_numpy(), eq.to_numpy(), atol=tol, rtol=0)
    assert total.index[-1] == run.equity.index[-1]  # the last step is always snapshotted


def test_funding_by_venue_matches_the_summary_and_the_funding_events(basis_run):
    run = load_run(basis_run)
    last = run.venues[run.venues["timestamp"] == run.venues["timestamp"].max()].set_index("venue")
    by_venue = run.summary["attribution_by_venue"]
    paid = {}
    for line in (basis_run / "events.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e["kind"] == "funding":
            paid[e["component"]] = paid.get(e["component"], 0.0) + e["payment_usd"]
    perps = [n for n in last.index if n.endswith(".perp")]
    assert perps
    for name in perps:
        assert math.isclose(last.loc[name, "funding_usd"], by_venue[name]["funding"], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(last.loc[name, "funding_usd"], paid[name], rel_tol=1e-9, abs_tol=1e-6)
    # perp notional = size x mark; a short hedge is negative
    assert (last.loc[perps, "perp_notional_usd"] < 0).all()


def test_eth_run_has_aave_collateral_debt_and_liquidation_ltv(eth_run):
    run = load_run(eth_run)
    aave = run.venues[run.venues["venue"] == "aave_v3"]
    assert (aave["debt_usd"] > 0).all() and (aave["collateral_usd"] > aave["debt_usd"]).all()
    assert np.allclose(aave["value_usd"], aave["collateral_usd"] - aave["debt_usd"], rtol=0, atol=1e-6)
    fig = build_charts(run, Benchmarks())["ltv_health"]
    ltv, liq = fig["data"][0], fig["data"][1]
    # E-mode LST/WETH liquidation threshold 95 % (AAVE v3 Ethereum, basiskit/configs/venues/aave_v3_ethereum.yaml)
    assert np.nanmax(np.abs(np.asarray(liq["y"]) - 95.0)) < 1e-6
    assert np.allclose(np.asarray(ltv["y"]), run.equity["ltv"].to_numpy() * 100)


def _aave_index_ratio(source: Path, token: str, start: datetime, end: datetime) -> float:
    rows = read_rows(one(source, f"aave_v3/rates/aave_v3_aave-v3-ethereum_{token}_rates_????-??-??_????-??-??.csv"))
    return value_at(rows, "targetDate", end, "liquidityIndex") / value_at(rows, "targetDate", start, "liquidityIndex")


@pytest.mark.parametrize("fixture,shown,hidden", [
    ("basis_run", {"AAVE v3 USDT supply", "Ethena sUSDe"}, {"Hold BTC", "Hold ETH"}),
    ("eth_run", {"AAVE v3 WETH supply"}, {"Hold ETH", "Hold BTC"}),
])
def test_equity_chart_hides_the_holds_until_clicked_in_both_share_classes(fixture, shown, hidden, catalog, request):
    run = load_run(request.getfixturevalue(fixture))
    bench = benchmark_curves(catalog, run.equity.index, run.equity["net_deposits"].to_numpy(),
                             float(run.summary["initial_equity"]), run.unit)
    assert set(bench.curves) == shown | hidden
    traces = {t["name"].removesuffix(" (click to show)"): t for t in build_charts(run, bench)["equity"]["data"]}
    assert traces[f"strategy equity ({run.unit})"].get("visible") in (None, True)
    for name in shown:
        assert traces[name].get("visible") in (None, True), name
    for name in hidden:
        assert traces[name]["visible"] == "legendonly" and traces[name]["name"].endswith("(click to show)"), name


def test_aave_usdt_benchmark_earns_the_liquidity_index_ratio(catalog, source_dir):
    times = pd.date_range("2024-03-01", "2024-06-01", freq="1h", tz="UTC")
    b = benchmark_curves(catalog, times, np.zeros(len(times)), 100_000.0, "USDT")
    ratio = _aave_index_ratio(source_dir, "USDT", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    assert math.isclose(b.curves["AAVE v3 USDT supply"].iloc[-1], 100_000.0 * ratio, rel_tol=1e-12)


def test_benchmarks_follow_the_run_flows_and_hold_prices(catalog, source_dir):
    times = pd.date_range("2024-03-01", "2024-06-01", freq="1h", tz="UTC")
    k = times.get_loc(pd.Timestamp("2024-04-01", tz="UTC"))
    dep = np.zeros(len(times))
    dep[k:] = 20_000.0
    b = benchmark_curves(catalog, times, dep, 100_000.0, "USDT")
    rows = read_rows(one(source_dir, "cex/spot/binance_BTCUSDT_spot_1h_*.csv"))
    p = {d: value_at(rows, "timestamp", datetime.fromisoformat(d).replace(tzinfo=UTC), "close")
         for d in ("2024-03-01", "2024-04-01", "2024-06-01")}
    # 100k bought at the first close, 20k more at the deposit's close, valued at the last close
    want = (100_000.0 / p["2024-03-01"] + 20_000.0 / p["2024-04-01"]) * p["2024-06-01"]
    assert math.isclose(b.curves["Hold BTC"].iloc[-1], want, rel_tol=1e-12)
    ratio_1 = _aave_index_ratio(source_dir, "USDT", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    ratio_2 = _aave_index_ratio(source_dir, "USDT", datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    assert math.isclose(b.curves["AAVE v3 USDT supply"].iloc[-1], (100_000.0 * ratio_1 + 20_000.0) * ratio_2, rel_tol=1e-12)


def test_susde_benchmark_compounds_each_days_apy_and_reports_the_missing_day(catalog, source_dir):
    rows = read_rows(one(source_dir, "benchmarks/ethena_susde_apr_daily_*.csv"))
    apy = {parse_ts(r["date"]): float(r["apy_decimal"]) for r in rows}
    times = pd.date_range("2024-04-28", "2024-05-05", freq="1h", tz="UTC")
    b = benchmark_curves(catalog, times, np.zeros(len(times)), 1.0, "USDT")
    want = 1.0
    for d in pd.date_range("2024-04-28", "2024-05-04", freq="1D", tz="UTC"):
        rate = apy.get(d.to_pydatetime(), apy.get((d - pd.Timedelta(days=1)).to_pydatetime()))
        want *= (1.0 + rate) ** (24 / 8760)
    assert datetime(2024, 5, 2, tzinfo=UTC) not in apy  # the defect the note is about
    assert math.isclose(b.curves["Ethena sUSDe"].iloc[-1], want, rel_tol=1e-12)
    assert any("2024-05-02" in n for n in b.notes)
    # after the data ends the curve stops (no extrapolation) and says so
    late = pd.date_range("2025-09-10", "2025-09-25", freq="1h", tz="UTC")
    b2 = benchmark_curves(catalog, late, np.zeros(len(late)), 1.0, "USDT")
    s = b2.curves["Ethena sUSDe"]
    assert s.loc["2025-09-20":].isna().all() and s.loc[:"2025-09-18"].notna().all()
    assert any("ends before the run" in n for n in b2.notes)


def test_with_flows_on_built_data():
    # growth doubles at step 1; 100 invested at step 0 and 100 deposited at step 1 (after the doubling)
    g = np.array([1.0, 2.0, 2.0])
    assert np.allclose(with_flows(g, np.array([0.0, 100.0, 100.0]), 100.0), [100.0, 300.0, 300.0])
    # a withdrawal of half at step 2 halves the holding
    assert np.allclose(with_flows(g, np.array([0.0, 0.0, -100.0]), 100.0), [100.0, 200.0, 100.0])


def test_report_html_is_self_contained_and_draws_the_run(basis_run):
    html = (basis_run / "report.html").read_text()
    for chart in ("equity", "attribution", "attribution_totals", "funding", "margin", "delta", "positions"):
        assert f'id="chart-{chart}"' in html, chart
    assert 'id="chart-ltv_health"' not in html  # no AAVE debt in a basis trade: listed as not applicable
    assert "ltv_health" in html.split('class="notes"')[1]
    # nothing is fetched: no src/href to another document, no CDN
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html, re.I)
    # outside the inlined plotly.js library (whose option defaults name its CDN for map data it never
    # loads for these charts -- the browser test watches the actual requests) no address at all
    lib_end = html.index("</script>")
    assert html.index("<script") < lib_end < html.index('id="chart-equity"')
    assert not re.search(r"https?://", html[lib_end:])
    run = load_run(basis_run)
    fig = build_charts(run, Benchmarks())["equity"]
    assert np.allclose(np.asarray(fig["data"][0]["y"]), run.equity["equity"].to_numpy())
    dd = np.asarray(fig["data"][-1]["y"]) / 100
    # equity.csv keeps 10 significant digits (1e-4 USDT on 100k): the drawdown agrees to that precision
    assert math.isclose(dd.min(), run.summary["max_drawdown"], rel_tol=1e-9, abs_tol=1e-8)


def _page_chart(html: str, name: str) -> tuple[list, dict]:
    """The data and layout the page hands to plotly.js for chart ``name``, typed arrays decoded."""
    m = re.search(r'basiskitPlot\("chart-%s",(.*?)\);</script>' % re.escape(name), html)
    assert m, name
    data, layout, _template = json.loads(f"[{m.group(1)}]")

    def decode(o):
        if isinstance(o, dict) and set(o) == {"dtype", "bdata"}:
            assert o["dtype"] == "f8"
            return np.frombuffer(base64.b64decode(o["bdata"]), dtype="<f8")
        if isinstance(o, dict):
            return {k: decode(v) for k, v in o.items()}
        return [decode(v) for v in o] if isinstance(o, list) else o
    return decode(data), decode(layout)


def test_report_page_carries_the_files_data_exactly(basis_run):
    """The chart data in report.html is the run's files' data, bit for bit (base64 float64)."""
    html = (basis_run / "report.html").read_text()
    run = load_run(basis_run)
    data, layout = _page_chart(html, "equity")
    traces = {t["name"]: t for t in data}
    eq = traces["strategy equity (USDT)"]
    assert np.array_equal(eq["y"], run.equity["equity"].to_numpy())
    assert np.array_equal(eq["x"], run.equity.index.as_unit("ns").asi8 / 1e6)
    assert traces["Hold BTC (click to show)"]["visible"] == "legendonly"
    assert layout["height"] == 560 and "template" not in layout  # the page adds plotly_white by name
    data, _ = _page_chart(html, "margin")
    assert [t["name"] for t in data] == ["binance", "bybit"]
    assert np.array_equal(data[0]["y"], run.equity["margin_ratio_binance"].to_numpy() * 100, equal_nan=True)
    data, _ = _page_chart(html, "funding")
    v = run.venues[run.venues["venue"] == "binance.perp"]
    assert np.array_equal(data[0]["y"], v["funding_usd"].to_numpy())


@pytest.mark.parametrize("fixture", ["basis_run", "eth_run"])
def test_charts_are_valid_plotly_figures_on_make_subplots_grids(fixture, catalog, request):
    """The charts are plain dicts; plotly's own validation accepts each one (a misspelt property would
    raise), and the two-row / secondary-axis grids are make_subplots' to the last float."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from basiskit.reports import figures

    run = load_run(request.getfixturevalue(fixture))
    bench = benchmark_curves(catalog, run.equity.index, run.equity["net_deposits"].to_numpy(),
                             float(run.summary["initial_equity"]), run.unit)
    for name, chart in build_charts(run, bench).items():
        if chart is not None:
            fig = go.Figure(chart)  # validates every property
            assert len(fig.data) == len(chart["data"]) and fig.layout.template.layout.paper_bgcolor == "white", name
    axes = ("xaxis", "yaxis", "xaxis2", "yaxis2")

    def plotly_grid(**kw):
        layout = make_subplots(**kw).to_plotly_json()["layout"]
        return {k: layout[k] for k in axes if k in layout}, layout.get("annotations", [])

    for kw, ours in (
        (dict(row_heights=[0.72, 0.28], vertical_spacing=0.04), figures.grid_rows([0.72, 0.28], 0.04)),
        (dict(vertical_spacing=0.08, subplot_titles=("a", "b")), figures.grid_rows(None, 0.08, ("a", "b"))),
        (dict(vertical_spacing=0.08, row_heights=[0.55, 0.45], subplot_titles=("a", "b")),
         figures.grid_rows([0.55, 0.45], 0.08, ("a", "b"))),
    ):
        want_axes, want_titles = plotly_grid(rows=2, cols=1, shared_xaxes=True, **kw)
        assert {k: ours[k] for k in axes} == want_axes
        assert ours.get("annotations", []) == want_titles
    want_axes, _ = plotly_grid(rows=1, cols=1, specs=[[{"secondary_y": True}]])
    assert figures.grid_secondary_y() == want_axes


def test_missing_or_broken_files_are_named(basis_run, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in ("summary.json", "trades.csv"):
        (broken / f).write_bytes((basis_run / f).read_bytes())
    with pytest.raises(RunFilesMissing, match="equity.csv: file missing"):
        write_report(broken, benchmarks=False)
    (broken / "equity.csv").write_text("timestamp,equity\n2024-03-01T00:00:00Z,1\n")
    with pytest.raises(RunFilesMissing, match=r"equity.csv: column\(s\) net_deposits, net_delta missing"):
        load_run(broken)
    (broken / "summary.json").write_text("{not json")
    with pytest.raises(RunFilesMissing, match="summary.json: not valid JSON"):
        load_run(broken)
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "home")])
    assert res.exit_code == 2 and "RUN-004" in res.output and "nowhere" in res.output


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_png_export_writes_the_main_charts(eth_run, catalog, tmp_path):
    paths = write_pngs(eth_run, catalog=catalog, dest=tmp_path / "png", width=900)
    names = [p.stem for p in paths]
    assert names[:3] == ["equity", "attribution", "attribution_totals"] and "ltv_health" in names
    for p in paths:
        w, h = _png_size(p)
        assert w == 900 and h >= 300
        assert p.stat().st_size > 10_000  # a drawn chart, not an empty canvas


@pytest.fixture(scope="module")
def long_runs(catalog, tmp_path_factory) -> dict[str, Path]:
    """Runs of more points than a chart draws whole (basiskit.reports.downsample.MAX_POINTS = 5,000):
    a basis trade with flows and an AAVE loop, on a 10-minute clock."""
    root = tmp_path_factory.mktemp("long")
    reqs = {"basis": BacktestRequest("btc_basis", "2024-03-01", "2024-05-01", 100_000.0,
                                     overrides={"step_seconds": 600}, deposits=(("2024-04-01", 20_000.0),)),
            "aave": BacktestRequest("eth_leveraged", "2024-06-01", "2024-08-01", 50.0, overrides={"step_seconds": 600})}
    for name, req in reqs.items():
        service.backtest(req, root / name, catalog=catalog)
    return {name: root / name for name in reqs}


def _twr_drawdown(eq: pd.DataFrame, initial: float) -> np.ndarray:
    """Drawdown of the time-weighted index from equity.csv, by its definition (deposits are not return)."""
    e = eq["equity"].to_numpy()
    flows = np.diff(eq["net_deposits"].to_numpy(), prepend=0.0)
    prev = np.concatenate(([initial], e[:-1]))
    idx = np.cumprod((e - flows) / prev)
    return idx / np.maximum.accumulate(np.maximum(idx, 1.0)) - 1.0


def _assert_points_of(trace: dict, times_ms: np.ndarray, values: np.ndarray) -> None:
    """Every drawn point is the file's own point at that time, bit for bit."""
    at = np.searchsorted(times_ms, trace["x"])
    assert np.array_equal(times_ms[at], trace["x"])
    assert np.array_equal(trace["y"], values[at], equal_nan=True)


def test_long_run_charts_are_downsampled_with_their_extremes_and_say_so(long_runs):
    path = long_runs["basis"]
    html = (path / "report.html").read_text()
    run = load_run(path)
    n = len(run.equity)
    assert n > 8_000
    times_ms = run.equity.index.as_unit("ns").asi8 / 1e6
    data, layout = _page_chart(html, "equity")
    traces = {t["name"]: t for t in data}
    eq, dd = traces["strategy equity (USDT)"], traces["drawdown (TWR, %)"]
    assert len(eq["y"]) <= 4 * BUCKETS < n and len(dd["y"]) <= 4 * BUCKETS
    note = layout["title"]["subtitle"]["text"]
    assert f"downsampled: at most {max(len(eq['y']), len(dd['y'])):,} of {n:,} points" in note
    _assert_points_of(eq, times_ms, run.equity["equity"].to_numpy())
    assert eq["y"].max() == run.equity["equity"].max() and eq["y"].min() == run.equity["equity"].min()
    want = _twr_drawdown(run.equity, float(run.summary["initial_equity"])) * 100
    assert math.isclose(dd["y"].min(), want.min(), rel_tol=1e-12, abs_tol=1e-12)
    assert dd["x"][dd["y"].argmin()] == times_ms[want.argmin()]
    assert math.isclose(dd["y"].min() / 100, run.summary["max_drawdown"], rel_tol=1e-9, abs_tol=1e-8)
    margin, margin_layout = _page_chart(html, "margin")
    assert "downsampled" in margin_layout["title"]["subtitle"]["text"]
    for t in margin:
        col = run.equity[f"margin_ratio_{t['name']}"].to_numpy() * 100
        _assert_points_of(t, times_ms, col)
        assert np.nanmin(t["y"]) == np.nanmin(col) and np.nanmax(t["y"]) == np.nanmax(col)
    # daily charts are drawn whole
    _, funding_layout = _page_chart(html, "funding")
    assert "subtitle" not in funding_layout["title"]


def test_long_aave_run_draws_the_lowest_health_factor_exactly(long_runs):
    path = long_runs["aave"]
    html = (path / "report.html").read_text()
    run = load_run(path)
    times_ms = run.equity.index.as_unit("ns").asi8 / 1e6
    data, layout = _page_chart(html, "ltv_health")
    traces = {t["name"]: t for t in data}
    hf, ltv = run.equity["health_factor"].to_numpy(), run.equity["ltv"].to_numpy()
    assert len(traces["health factor"]["y"]) <= 4 * BUCKETS < len(hf)
    assert "downsampled" in layout["title"]["subtitle"]["text"]
    _assert_points_of(traces["health factor"], times_ms, hf)
    assert np.nanmin(traces["health factor"]["y"]) == np.nanmin(hf)
    assert math.isclose(np.nanmin(hf), run.summary["min_health_factor"], rel_tol=1e-9)
    assert np.nanmax(traces["LTV"]["y"]) == np.nanmax(ltv * 100)


def test_equity_parquet_is_the_csv_at_full_precision(basis_run, eth_run):
    for path in (basis_run, eth_run):
        csv = pd.read_csv(path / "equity.csv")
        pq = pd.read_parquet(path / "equity.parquet")
        assert list(pq.columns) == list(csv.columns) and len(pq) == len(csv)
        want = pd.to_datetime(csv["timestamp"], utc=True, format="ISO8601")
        assert (pq["timestamp"].to_numpy() == want.to_numpy()).all()
        for col in csv.columns[1:]:
            a, b = pq[col].to_numpy(dtype=float), csv[col].to_numpy(dtype=float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), col  # an empty field is null
            ok = ~np.isnan(b)
            # the CSV keeps 10 significant digits of the Parquet's float64
            assert np.allclose(a[ok], b[ok], rtol=6e-10, atol=0), col
            assert np.array_equal(np.char.mod("%.10g", a[ok]), np.char.mod("%.10g", b[ok])), col


@pytest.mark.parametrize("fixture", ["basis_run", "eth_run"])
def test_the_equity_the_report_is_handed_is_the_file_as_read(fixture, request, tmp_path):
    """The run's writer hands the report equity.csv as the file reads back (it parses only the rows it
    formatted): the same times and the same floats, bit for bit, as reading the file."""
    from basiskit.reports.rundata import equity_frame
    from basiskit.results.export import write_outcome_equity

    out = request.getfixturevalue(fixture)
    summary = json.loads((out / "summary.json").read_text())
    req = BacktestRequest(summary["mode"], summary["start"][:10], summary["end"][:10], summary["initial_equity"],
                          share_class=summary["share_class"], deposits=tuple(map(tuple, summary["deposits"])),
                          withdrawals=tuple(map(tuple, summary["withdrawals"])))
    from basiskit.engine.backtest import run_backtest

    outcome = run_backtest(req, request.getfixturevalue("catalog"))
    table = write_outcome_equity(tmp_path / "equity.csv", outcome)
    assert (tmp_path / "equity.csv").read_bytes() == (out / "equity.csv").read_bytes()
    handed, read = equity_frame(table), load_run(out).equity
    assert list(handed.columns) == list(read.columns)
    assert np.array_equal(handed.index.as_unit("ns").asi8, read.index.as_unit("ns").asi8)
    for col in read.columns:
        assert np.array_equal(handed[col].to_numpy(), read[col].to_numpy(dtype=float), equal_nan=True), col

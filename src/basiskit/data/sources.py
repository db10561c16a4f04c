"""Declarative registry of the datasets the catalog imports.

Each dataset is one frozen :class:`DatasetSpec`: where its source file(s) are (a glob relative to
the source dir), how to read the timestamp, which source columns map to which output columns, and
the expected sampling step, and what the value checks (:mod:`basiskit.data.checks`) need to know about
it (price columns, peers on other venues, columns that must not decrease, the funding venue). All output
value columns are float64; price series (kind ``"ohlcv"``) additionally get boolean ``filled`` and
``repaired`` columns. No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["ohlcv", "funding", "aave", "oracle", "gas", "rate"]
TimeFormat = Literal["iso", "unix_s"]

HOUR = 3600
DAY = 86_400
FUNDING_PERIOD = 8 * HOUR

OKX_POLICY = "okx_real_funding_rate"
"""Documented policy: OKX funding comes from ``real_funding_rate`` (the settled rate) in the
all-instruments daily files; the per-symbol OKX files (only ``funding_rate``, 210 conflicting duplicated
timestamps) are still validated, but only reported on."""

OHLCV = (("open", "open"), ("high", "high"), ("low", "low"), ("close", "close"), ("volume", "volume"))
OHLC = ("open", "high", "low", "close")

NAME_END_SLACK_DAYS = 11
"""Dataset-specific rule for ``timestamp_out_of_range``: the AAVE rate, AAVE oracle and staking peg files
are named for a range ending 2025-09-18 but their collector kept writing rows up to its processing date,
2025-09-29 (the oracle files' ``# Processed: 2025-09-29`` line, the peg files' ``processed_date`` column):
their last rows (2025-09-29 00:00, peg 2025-09-27 18:00) lie 10 days past the name's end day. For these
files only, rows may run up to 11 days past the end date in the name; every other file gets 0."""

LST_RATE_TOLERANCE = 1e-3
"""``index_decreasing`` tolerance of LST exchange rates (wstETH/ETH, weETH/ETH): a step back of more
than 0.1 % is an error. The real series' largest step back is 5e-14 (float noise, weETH 2025-01-21 04:00);
a slashing loss that large would be an event a person must look at, not noise."""

AAVE_INDEX_TOLERANCE = 1e-12
"""``index_decreasing`` tolerance of AAVE liquidity/variable-borrow indexes (ray / 1e27 as float64): an
index never decreases on chain; 1e-12 only absorbs float rounding. Real data: no step back at all."""


NAME_START_SLACK_1M = HOUR
"""Dataset-specific rule for ``timestamp_out_of_range`` of the one-minute perp files: their names give the
collector's local (UTC+1) dates: ``binance_ETHUSDT_perp_1m_2025-09-27_2025-09-29.csv`` starts at
2025-09-26T23:00Z, which is 2025-09-27 00:00 at UTC+1. Rows may start up to one hour before the name's first
day; the end stays as named."""


@dataclass(frozen=True)
class DatasetSpec:
    """How to build one dataset from raw CSV.

    Attributes:
        dataset_id: catalog id, e.g. ``"spot.binance.BTCUSDT"``.
        pattern: glob relative to the source dir. Must match exactly one file unless ``multi_file``.
        kind: ``ohlcv`` (forward-fillable price candles), ``funding``, ``aave``, ``oracle``, ``gas`` or
            ``rate`` (an annual yield series, e.g. a benchmark's APY).
        time_column: source column holding the timestamp (UTC).
        time_format: ``"iso"`` (ISO-8601 strings; naive means UTC) or ``"unix_s"`` (unix seconds).
        columns: ``(source column, output column)`` pairs; every output column is float64.
        step_seconds: expected spacing of rows; timestamps must be multiples of it since the epoch.
        multi_file: the glob matches many files that are concatenated (e.g. OKX daily files).
        row_filter: ``(column, value)``: keep only rows where ``column == value``.
        policy: name of a documented data policy that applies to this dataset (reported).
        tolerate_conflicts: conflicting duplicated timestamps are counted (first row kept) instead of
            raising. Only for audit specs whose data is superseded by ``policy``.
        audit: a file that is validated and reported but whose data is not stored.
        venue, symbol: for funding series, the venue config and symbol whose documented funding cap
            applies (``funding_cap`` check).
        peer_group: price candles of the same instrument on other venues share a group (e.g.
            ``"BTCUSDT"``: Binance and Bybit, spot and perp); the ``spike`` check also judges a candle
            against its peers at the same timestamp.
        monotone: ``(output column, relative tolerance)`` pairs that must not decrease
            (``index_decreasing`` check).
        name_end_slack_days: days past the end date in the file name that rows may still have (see
            :data:`NAME_END_SLACK_DAYS`); 0 for all but the documented exceptions.
        name_start_slack_s: seconds before the start date in the file name that rows may have (see
            :data:`NAME_START_SLACK_1M`); 0 for all but the documented exceptions.
    """

    dataset_id: str
    pattern: str
    kind: Kind
    time_column: str
    time_format: TimeFormat
    columns: tuple[tuple[str, str], ...]
    step_seconds: int
    multi_file: bool = False
    row_filter: tuple[str, str] | None = None
    policy: str | None = None
    tolerate_conflicts: bool = False
    audit: DatasetSpec | None = None
    venue: str | None = None
    symbol: str | None = None
    peer_group: str | None = None
    monotone: tuple[tuple[str, float], ...] = ()
    name_end_slack_days: int = 0
    name_start_slack_s: int = 0

    @property
    def fillable(self) -> bool:
        """Whether short gaps may be forward-filled (price candles only)."""
        return self.kind == "ohlcv"

    @property
    def source_columns(self) -> list[str]:
        """Source value columns, in output order."""
        return [src for src, _ in self.columns]

    @property
    def value_columns(self) -> list[str]:
        """Output float64 value columns."""
        return [out for _, out in self.columns]

    @property
    def output_columns(self) -> list[str]:
        """All output columns (value columns, plus ``filled`` and ``repaired`` for fillable kinds)."""
        return self.value_columns + (["filled", "repaired"] if self.fillable else [])

    @property
    def price_columns(self) -> list[str]:
        """Output columns that must be > 0 (``non_positive_price``): OHLC of candles, every value of an
        oracle/peg series, the two AAVE indexes. Volumes may be 0; rates may be 0 or negative."""
        if self.kind == "ohlcv":
            return list(OHLC)
        if self.kind == "oracle":
            return self.value_columns
        if self.kind == "aave":
            return [c for c in self.value_columns if c.endswith("_index")]
        return []

    @property
    def spike_columns(self) -> list[str]:
        """Output columns judged by the ``spike`` check: candle OHLC and oracle/peg prices."""
        return list(OHLC) if self.kind == "ohlcv" else self.value_columns if self.kind == "oracle" else []

    def source_column(self, out_col: str) -> str:
        """Source column name of an output column (for messages naming the CSV column)."""
        return next((src for src, out in self.columns if out == out_col), out_col)

    @property
    def required_columns(self) -> list[str]:
        """Source columns that must exist in every file."""
        extra = [self.row_filter[0]] if self.row_filter else []
        return [self.time_column, *self.source_columns, *extra]


def _ohlcv(dataset_id: str, pattern: str, time_format: TimeFormat = "iso", peer_group: str | None = None,
           step: int = HOUR, name_start_slack_s: int = 0) -> DatasetSpec:
    return DatasetSpec(dataset_id, pattern, "ohlcv", "timestamp", time_format, OHLCV, step, peer_group=peer_group,
                       name_start_slack_s=name_start_slack_s)


def _funding(venue: str, sym: str) -> DatasetSpec:
    return DatasetSpec(
        f"funding.{venue}.{sym}",
        f"cex/funding/{venue}_{sym}_funding_rates_*.csv",
        "funding", "funding_timestamp", "iso", (("funding_rate", "funding_rate"),), FUNDING_PERIOD,
        venue=venue, symbol=sym,
    )


def _okx_funding(sym: str, instrument: str) -> DatasetSpec:
    audit = replace(_funding("okx", sym), policy=OKX_POLICY, tolerate_conflicts=True)
    return DatasetSpec(
        f"funding.okx.{sym}",
        "cex/okx_funding_all_instruments/okx_funding_rates_*.csv",
        "funding", "funding_time", "iso", (("real_funding_rate", "funding_rate"),), FUNDING_PERIOD,
        multi_file=True, row_filter=("instrument", instrument), policy=OKX_POLICY, audit=audit,
        venue="okx", symbol=sym,
    )


def _aave(sym: str) -> DatasetSpec:
    return DatasetSpec(
        f"aave.{sym}",
        # dated name only: excludes the interpolated ``*_hourly.csv`` files
        f"aave_v3/rates/aave_v3_aave-v3-ethereum_{sym}_rates_????-??-??_????-??-??.csv",
        "aave", "targetDate", "iso",
        (
            ("liquidityIndex", "liquidity_index"),
            ("variableBorrowIndex", "variable_borrow_index"),
            ("currentLiquidityRate", "liquidity_rate"),  # annual APR
            ("currentVariableBorrowRate", "variable_borrow_rate"),  # annual APR
        ),
        DAY,
        monotone=(("liquidity_index", AAVE_INDEX_TOLERANCE), ("variable_borrow_index", AAVE_INDEX_TOLERANCE)),
        name_end_slack_days=NAME_END_SLACK_DAYS,
    )


def _oracle(asset: str, quote: str, time_format: TimeFormat = "iso", step: int = HOUR) -> DatasetSpec:
    col = "oracle_price_usd" if quote == "USD" else "oracle_price_eth"
    lst_rate = quote == "ETH"  # wstETH/ETH, weETH/ETH: protocol exchange rates
    return DatasetSpec(
        f"oracle.{asset}.{quote}", f"aave_v3/oracle/{asset}_{quote}_oracle_*.csv",
        "oracle", "timestamp", time_format, ((col, "price"),), step,
        monotone=(("price", LST_RATE_TOLERANCE),) if lst_rate else (), name_end_slack_days=NAME_END_SLACK_DAYS,
    )


def _build() -> dict[str, DatasetSpec]:
    specs = [
        _ohlcv("spot.binance.BTCUSDT", "cex/spot/binance_BTCUSDT_spot_1h_*.csv", peer_group="BTCUSDT"),
        _ohlcv("spot.bybit.BTCUSDT", "cex/spot/bybit_BTCUSDT_spot_1h_*.csv", peer_group="BTCUSDT"),
        _ohlcv("spot.bybit.ETHUSDT", "cex/spot/bybit_ETHUSDT_spot_1h_*.csv", peer_group="ETHUSDT"),
        *[
            _ohlcv(f"perp.{v}.{s}", f"cex/perp/{v}_{s}_perp_1h_*.csv", peer_group=s)
            for v, s in [
                ("binance", "BTCUSDT"), ("bybit", "BTCUSDT"), ("binance", "ETHUSDT"),
                ("bybit", "ETHUSDT"), ("okx", "ETHUSDT"),
            ]
        ],
        *[_funding(v, s) for v in ("binance", "bybit") for s in ("BTCUSDT", "ETHUSDT")],
        _okx_funding("BTCUSDT", "BTC-USDT-SWAP"),
        _okx_funding("ETHUSDT", "ETH-USDT-SWAP"),
        *[_aave(s) for s in ("USDT", "WETH", "wstETH", "weETH")],
        _oracle("WETH", "USD"),
        _oracle("USDT", "USD", time_format="unix_s", step=DAY),
        _oracle("wstETH", "ETH"),
        _oracle("wstETH", "USD"),
        _oracle("weETH", "ETH"),
        _oracle("weETH", "USD"),
        *[
            DatasetSpec(f"peg.{lst}", f"staking/peg/{lst}_peg_*.csv", "oracle", "timestamp", "iso",
                        (("market_rate", "market_rate"), ("protocol_rate", "protocol_rate")), HOUR,
                        monotone=(("protocol_rate", LST_RATE_TOLERANCE),), name_end_slack_days=NAME_END_SLACK_DAYS)
            for lst in ("weETH", "wstETH")
        ],
        DatasetSpec(
            "gas.ethereum", "ethereum/gas/ethereum_gas_prices_1h_*.csv", "gas", "timestamp", "iso",
            (("gas_price_gwei", "gas_price_gwei"), ("base_fee_gwei", "base_fee_gwei")), HOUR,
        ),
        *[
            _ohlcv(f"dex.uniswapv3.{p}", f"dex/uniswapv3_{p}_1h_*.csv", time_format="unix_s")
            for p in ("WETHUSDT", "EIGENWETH", "ETHFIWETH")
        ],
        # one-minute perp candles (short windows, 2025-09-26..29): ``Requirements.perp_bars = "1m"``
        *[
            _ohlcv(f"perp.{v}.ETHUSDT.1m", f"cex/perp/{v}_ETHUSDT_perp_1m_*.csv", peer_group="ETHUSDT.1m", step=60,
                   name_start_slack_s=NAME_START_SLACK_1M)
            for v in ("binance", "bybit", "okx")
        ],
        # Ethena sUSDe daily APY (DefiLlama export): the reports' passive market-neutral benchmark
        DatasetSpec("benchmark.ethena.sUSDe", "benchmarks/ethena_susde_apr_daily_*.csv", "rate", "date", "iso",
                    (("apy_decimal", "apy"),), DAY),
    ]
    return {s.dataset_id: s for s in specs}


SPECS: dict[str, DatasetSpec] = _build()
"""All registered datasets, keyed by dataset id (insertion order = import order)."""


def peers_of(dataset_id: str, specs: dict[str, DatasetSpec] | None = None) -> list[str]:
    """Other datasets of the same ``peer_group`` (the same instrument on other venues), registry order."""
    specs = SPECS if specs is None else specs
    group = specs[dataset_id].peer_group
    return [] if group is None else [d for d, s in specs.items() if s.peer_group == group and d != dataset_id]

"""Turn a strategy's ``Requirements`` into market series specs and venue simulators.

Dataset ids follow the catalog: ``spot.<venue>.<BASE>USDT``, ``perp.<venue>.<BASE>USDT``,
``funding.<venue>.<BASE>USDT``, ``aave.<TOKEN>``, ``gas.ethereum``, ``dex.uniswapv3.WETHUSDT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from basiskit.config.loader import configs_dir, read_yaml, validate
from basiskit.config.venues import VenueConfig
from basiskit.data.errors import DataError
from basiskit.data.market import MarketFrame, SeriesSpec
from basiskit.strategies.base import Requirements
from basiskit.venues.ledger import Attribution, Ledger
from basiskit.venues.sim.aave_v3 import AaveV3
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.wallet import Wallet

WALLET = "wallet"


def load_venue_config(venue: str) -> VenueConfig:
    path = configs_dir() / "venues" / f"{venue}.yaml"
    return validate(VenueConfig, read_yaml(path), path.name)


def _split(account: str) -> tuple[str, str]:
    venue, _, kind = account.partition(".")
    return venue, kind


def series_specs(req: Requirements, available: set[str]) -> list[SeriesSpec]:
    """Raises DataError when a required dataset is not in the catalog (names the venue and dataset)."""
    specs: list[SeriesSpec] = []

    def need(dataset: str, why: str) -> None:
        if dataset not in available:
            raise DataError(f"{why}: the catalog has no dataset {dataset!r} (give that venue weight 0 or "
                            f"choose another venue)", key=dataset)

    for account, tokens in req.spot.items():
        venue, _ = _split(account)
        for tok in tokens:
            ds = f"spot.{venue}.{tok}USDT"
            need(ds, f"spot account {account} needs {tok}USDT prices")
            specs.append(SeriesSpec(ds, ds, "open", "bar_open"))
    for account, tokens in req.perp.items():
        venue, _ = _split(account)
        for tok in tokens:
            ds, fds = f"perp.{venue}.{tok}USDT", f"funding.{venue}.{tok}USDT"
            need(ds, f"perp account {account} needs {tok}USDT perp prices")
            need(fds, f"perp account {account} needs {tok}USDT funding rates")
            specs.append(SeriesSpec(ds, ds, "open", "bar_open"))
            specs.append(SeriesSpec(fds, fds, "funding_rate", "funding", mark_key=f"{ds}|open"))
    for account, tokens in req.lending.items():
        for tok in tokens:
            ds = f"aave.{tok}"
            need(ds, f"{account} needs the {tok} reserve indexes")
            specs.append(SeriesSpec(f"{ds}.liquidity_index", ds, "liquidity_index", "aave_index"))
    if req.gas:
        need("gas.ethereum", "on-chain operations need gas prices")
        need("dex.uniswapv3.WETHUSDT", "gas is converted to USDT at the Uniswap v3 WETH/USDT price")
        # gas is needed only at steps with on-chain operations: missing steps are NaN and an operation
        # there fails with a DataError (GasModel), instead of refusing the whole period
        specs.append(SeriesSpec("gas.gwei", "gas.ethereum", "gas_price_gwei", "asof", max_staleness_s=3600, optional=True))
        specs.append(SeriesSpec("eth.usdt", "dex.uniswapv3.WETHUSDT", "open", "bar_open", optional=True))
    return specs


@dataclass
class Venues:
    accounts: dict          # account name -> venue simulator (wallet first)
    spot: list
    perp: list
    transfer_fees: dict[str, float]


def build_venues(req: Requirements, frame: MarketFrame, ledger: Ledger, attr: Attribution) -> Venues:
    accounts: dict = {WALLET: Wallet(WALLET, frame, ledger, attr)}
    fees = {WALLET: load_venue_config("wallet").transfer_fee_usdt}
    spot, perp = [], []
    for account, tokens in req.spot.items():
        venue, _ = _split(account)
        cfg = load_venue_config(venue)
        if cfg.spot is None:
            raise DataError(f"venue {venue} has no spot parameters in configs/venues/{venue}.yaml", key=venue)
        v = CexSpot(account, cfg.spot, frame, ledger, attr, {t: f"spot.{venue}.{t}USDT" for t in tokens})
        accounts[account] = v
        fees[account] = cfg.transfer_fee_usdt
        spot.append(v)
    for account, tokens in req.perp.items():
        venue, _ = _split(account)
        cfg = load_venue_config(venue)
        if cfg.perp is None:
            raise DataError(f"venue {venue} has no perp parameters in configs/venues/{venue}.yaml", key=venue)
        v = CexPerp(account, cfg.perp, frame, ledger, attr,
                    {t: (f"perp.{venue}.{t}USDT", f"funding.{venue}.{t}USDT") for t in tokens})
        accounts[account] = v
        fees[account] = cfg.transfer_fee_usdt
        perp.append(v)
    if req.lending:
        gas = GasModel(frame)
        for account, tokens in req.lending.items():
            cfg = load_venue_config(account)
            accounts[account] = AaveV3(account, cfg.aave, frame, ledger, attr, gas,
                                       {t: f"aave.{t}.liquidity_index" for t in tokens})
    return Venues(accounts, spot, perp, fees)

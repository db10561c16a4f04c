"""Turn a strategy's ``Requirements`` into market series specs and venue simulators.

Dataset ids follow the catalog: ``spot.<venue>.<BASE>USDT``, ``perp.<venue>.<BASE>USDT``,
``funding.<venue>.<BASE>USDT``, ``aave.<TOKEN>``, ``oracle.<TOKEN>.<QUOTE>``, ``peg.<LST>``,
``gas.ethereum``, ``dex.uniswapv3.<POOL>``. Venue configs are ``basiskit/configs/venues/<file>.yaml`` where the
file is the account's venue name, except ``aave_v3`` -> ``aave_v3_ethereum``.

Account order matters: the wallet comes first (it must accrue before accounts that pay into it).
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from basiskit.config.loader import ConfigError, configs_dir, deep_merge, read_yaml, validate
from basiskit.config.venues import VenueConfig
from basiskit.data.errors import DataError
from basiskit.data.gap_reference import reference_candidates
from basiskit.data.market import SeriesSpec
from basiskit.data.market_state import MarketState
from basiskit.strategies.base import Requirements
from basiskit.domain.portfolio import Ledger, Portfolio
from basiskit.venues.sim.aave_v3 import AaveV3
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.dex import Dex, pool_key
from basiskit.venues.sim.onchain_prices import ETH_USD_KEY, LSTS, REWARD_TOKENS, OnchainPrices, lst_key, reward_key
from basiskit.venues.sim.rewards import RestakingRewards
from basiskit.venues.sim.staking import Staking
from basiskit.venues.sim.managed_transfer import ManagedTransfers
from basiskit.venues.sim.transfer import TRANSIT, TransferCosts, Transfers
from basiskit.venues.sim.wallet import Wallet

WALLET = "wallet"
CONFIG_FILES = {"aave_v3": "aave_v3_ethereum"}


def load_venue_config(venue: str, overrides: dict | None = None) -> VenueConfig:
    """``basiskit/configs/venues/<venue>.yaml`` with a run's ``venues.<venue>.*`` overrides merged in.

    Raises:
        ConfigError: a missing file, or a bad or unknown key (named with the file and the key path).
    """
    path = configs_dir() / "venues" / f"{CONFIG_FILES.get(venue, venue)}.yaml"
    data = read_yaml(path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate(VenueConfig, data, path.name + (" with venues." + venue + " overrides" if overrides else ""))


def _onchain(req: Requirements) -> tuple[list[str], list[str]]:
    """(LSTs, reward tokens) to price."""
    lsts = [t for t in LSTS if t in req.onchain_tokens]
    rewards = [t for t in REWARD_TOKENS if t in req.onchain_tokens]
    return lsts, rewards


def _split(account: str) -> tuple[str, str]:
    venue, _, kind = account.partition(".")
    return venue, kind


def perp_dataset(venue: str, token: str, bars: str = "1h") -> str:
    """The candle dataset of ``token``'s USDT perp on ``venue``: ``perp.binance.BTCUSDT`` (hourly) or
    ``perp.binance.ETHUSDT.1m`` (one-minute files, ``Requirements.perp_bars``).

    Raises:
        ConfigError: a bar interval other than ``1h`` and ``1m``.
    """
    if bars not in ("1h", "1m"):
        raise ConfigError(f"perp_bars must be 1h or 1m, got {bars!r}")
    return f"perp.{venue}.{token}USDT" + ("" if bars == "1h" else f".{bars}")


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
            # intrabar extremes when the strategy sends resting orders: they fill against each bar's range
            # (venues.sim.bar_orders); without them a spot account refuses resting orders
            specs.append(SeriesSpec(ds, ds, "open", "bar_open", extremes=req.resting_orders,
                                    references=tuple(reference_candidates(ds, available))))
    for account, tokens in req.perp.items():
        venue, _ = _split(account)
        for tok in tokens:
            ds, fds = perp_dataset(venue, tok, req.perp_bars), f"funding.{venue}.{tok}USDT"
            need(ds, f"perp account {account} needs {tok}USDT perp prices")
            if req.perp_funding:
                need(fds, f"perp account {account} needs {tok}USDT funding rates")
            # intrabar extremes: liquidation is checked against each bar's adverse extreme (venues.sim.cex_perp),
            # resting orders fill against each bar's range (venues.sim.bar_orders)
            specs.append(SeriesSpec(ds, ds, "open", "bar_open", extremes=True,
                                    references=tuple(reference_candidates(ds, available))))
            if req.perp_funding:
                specs.append(SeriesSpec(fds, fds, "funding_rate", "funding", mark_key=f"{ds}|open",
                                        optional=req.funding_holes))
    for account, tokens in req.lending.items():
        for tok in tokens:
            ds = f"aave.{tok}"
            need(ds, f"{account} needs the {tok} reserve indexes")
            specs.append(SeriesSpec(f"{ds}.liquidity_index", ds, "liquidity_index", "aave_index"))
    for account, tokens in req.borrowing.items():
        for tok in tokens:
            ds = f"aave.{tok}"
            need(ds, f"{account} needs the {tok} reserve indexes")
            specs.append(SeriesSpec(f"{ds}.variable_borrow_index", ds, "variable_borrow_index", "aave_index"))
    if req.onchain_tokens:
        lsts, rewards = _onchain(req)
        # ETH/USD: the Uniswap v3 WETH/USDT hourly price, not the AAVE WETH/USD oracle file, which is a linear
        # interpolation of daily points (up to 17 % off the market within a day; see onchain_prices)
        need("dex.uniswapv3.WETHUSDT", "on-chain holdings are valued at the Uniswap v3 WETH/USDT price")
        # extremes: an AAVE health factor that depends on ETH/USD is checked intrabar (venues.sim.aave_v3)
        specs.append(SeriesSpec(ETH_USD_KEY, "dex.uniswapv3.WETHUSDT", "open", "bar_open", extremes=bool(req.borrowing)))
        for t in lsts:
            need(f"oracle.{t}.ETH", f"{t} is valued at its AAVE exchange-rate oracle")
            specs.append(SeriesSpec(lst_key(t), f"oracle.{t}.ETH", "price", "asof", max_staleness_s=3600))
        for t in rewards:
            ds = f"dex.uniswapv3.{t}WETH"
            need(ds, f"{t} rewards are valued at the Uniswap {t}/WETH price")
            specs.append(SeriesSpec(reward_key(t), ds, "open", "bar_open", optional=True))
    if req.dex_pools:
        pools = load_venue_config("dex").dex.pools
        for name in req.dex_pools:
            pp = pools[name]
            need(pp.dataset, f"pool {name} needs its prices")
            kind = "asof" if pp.dataset.startswith("peg.") else "bar_open"
            specs.append(SeriesSpec(pool_key(name), pp.dataset, pp.column, kind, max_staleness_s=3600 if kind == "asof" else None,
                                    optional=True))
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
    accounts: dict          # account name -> venue simulator (wallet first, transit last)
    spot: list
    perp: list
    transfer_costs: TransferCosts
    onchain: list           # accounts with ``eth_exposure()`` (wallet, AAVE, staking)
    aave: list
    prices: OnchainPrices | None
    rewards: RestakingRewards | None = None
    transfers: Transfers | None = None
    gas: GasModel | None = None


def reward_windows(distributions: list | None, include_estimates: bool) -> list:
    """The distribution rows a run credits (estimates only when asked for), in the one order the feed
    and the rewards account share."""
    return [d for d in (distributions or []) if include_estimates or not d.estimated]


def build_venues(req: Requirements, state: MarketState, portfolio: Portfolio, reward_rows: list | None = None,
                 venue_overrides: dict | None = None, transfer_store=None) -> Venues:
    """The run's venue accounts, reading ``state`` and the portfolio's ledger. ``reward_rows``: the
    credited reward schedule (``reward_windows``); ``venue_overrides``: venue name -> mapping merged into
    that venue's YAML (a run's ``venues.*`` config); ``transfer_store``: where managed transfers
    (``req.managed_transfers``) write every state change (``venues.transfers.manager.TransferStore``).

    Raises:
        ConfigError: an override names a venue the run does not use, or a bad key.
    """
    overrides = dict(venue_overrides or {})
    used: set[str] = set()
    ledger, attr = portfolio.ledger, portfolio.attribution

    def cfg_of(venue: str) -> VenueConfig:
        used.add(venue)
        return load_venue_config(venue, overrides.get(venue))

    prices = OnchainPrices(state, *_onchain(req)) if req.onchain_tokens else None
    wallet = Wallet(WALLET, state, ledger, attr, prices=prices)
    accounts: dict = {WALLET: wallet}
    networks = {WALLET: cfg_of(WALLET).transfers}
    spot, perp, onchain, aave = [], [], [wallet] if prices else [], []
    for account, tokens in req.spot.items():
        venue, _ = _split(account)
        cfg = cfg_of(venue)
        if cfg.spot is None:
            raise DataError(f"venue {venue} has no spot parameters in basiskit/configs/venues/{venue}.yaml", key=venue)
        v = CexSpot(account, cfg.spot, state, ledger, attr, {t: f"spot.{venue}.{t}USDT" for t in tokens})
        accounts[account] = v
        networks[venue] = cfg.transfers
        spot.append(v)
    for account, tokens in req.perp.items():
        venue, _ = _split(account)
        cfg = cfg_of(venue)
        if cfg.perp is None:
            raise DataError(f"venue {venue} has no perp parameters in basiskit/configs/venues/{venue}.yaml", key=venue)
        v = CexPerp(account, cfg.perp, state, ledger, attr,
                    {t: (perp_dataset(venue, t, req.perp_bars), f"funding.{venue}.{t}USDT") for t in tokens})
        accounts[account] = v
        networks[venue] = cfg.transfers
        perp.append(v)
    gas = None
    if req.gas:
        gas = GasModel(state, pay_in=req.gas_token, valuation=prices)
    for account in sorted(set(req.lending) | set(req.borrowing)):
        cfg = cfg_of(account)
        v = AaveV3(account, cfg.aave, state, ledger, attr, gas,
                   {t: f"aave.{t}.liquidity_index" for t in req.lending.get(account, [])},
                   {t: f"aave.{t}.variable_borrow_index" for t in req.borrowing.get(account, [])},
                   prices=prices, emode=account in req.emode)
        accounts[account] = v
        aave.append(v)
        if prices:
            onchain.append(v)
    for account in req.staking:
        cfg = cfg_of(account)
        v = Staking(account, cfg.staking, state, ledger, attr, gas, prices)
        accounts[account] = v
        onchain.append(v)
    if req.dex_pools:
        cfg = cfg_of("dex")
        accounts["dex"] = Dex("dex", cfg.dex, state, ledger, attr, gas, prices, list(req.dex_pools))
    rewards = None
    if req.restaking_rewards:
        held = _eeth_held(ledger, prices, aave)
        rewards = RestakingRewards("restaking", reward_rows or [], state, ledger, attr, prices, held,
                                   eeth_held_over=_eeth_held_over(ledger, aave))
        accounts["restaking"] = rewards
    unknown = sorted(set(overrides) - used)
    if unknown:
        raise ConfigError(f"venues.{unknown[0]}: this run uses no venue {unknown[0]!r} (it uses {', '.join(sorted(used))})")
    costs = TransferCosts(networks)
    if req.managed_transfers is not None:
        transfers = ManagedTransfers(accounts, state, attr, req.managed_transfers, transfer_store)
        costs = transfers.costs
    else:
        transfers = Transfers(accounts, costs, state, attr)
    accounts[TRANSIT] = transfers
    return Venues(accounts, spot, perp, costs, onchain, aave, prices, rewards, transfers, gas)


def _eeth_held_over(ledger: Ledger, aave: list):
    """eETH held at each step of a quiet stretch (``engine.quiet``), as ``_eeth_held`` computes it:
    ``(lo, hi, feed, prices) -> array``, prices a ``PriceProjection``."""
    def held(lo: int, hi: int, feed, prices):
        q = ledger.get(WALLET, "weETH")
        for v in aave:
            if "weETH" in v.scaled:
                q = q + v.scaled["weETH"] * feed.values(v.index_keys["weETH"], lo, hi)
        q = np.full(hi - lo, q) if not isinstance(q, np.ndarray) else q
        return np.where(q != 0, q * prices.eth("weETH"), 0.0)
    return held


def _eeth_held(ledger: Ledger, prices: OnchainPrices, aave: list):
    """eETH held now: weETH in the wallet and supplied on AAVE, x the weETH/ETH rate."""
    def held() -> float:
        q = ledger.get(WALLET, "weETH")
        for v in aave:
            if "weETH" in v.scaled:
                q += v.supplied("weETH")
        return q * prices.eth("weETH") if q else 0.0
    return held

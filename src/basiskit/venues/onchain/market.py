"""A local AAVE v3 market deployed with web3.py from the ``@aave/core-v3`` artifacts.

``deploy_market(node, toolchain, params, as_of)`` deploys, from the deployer (anvil's first unlocked
account), in the order AAVE's own deploy scripts follow:

1. ``PoolAddressesProvider``; ``ACLManager`` (the deployer is ACL admin and pool admin);
2. the Pool's libraries (SupplyLogic, BorrowLogic, LiquidationLogic, EModeLogic, BridgeLogic,
   PoolLogic, FlashLoanLogic linked to BorrowLogic, ConfiguratorLogic) and the ``Pool`` /
   ``PoolConfigurator`` implementations linked to them, set in the provider (which puts each behind
   its proxy and initialises it);
3. the reserves' tokens: mintable ERC20s (``MintableERC20``) WETH, wstETH, weETH (18 decimals) and
   USDT (6 decimals); for each a ``PriceFeed`` (our Chainlink-style answer, 8 decimals, USD) behind
   ``AaveOracle`` (base currency USD, unit 1e8);
4. ``AToken`` / ``VariableDebtToken`` / ``StableDebtToken`` implementations and one
   ``MockReserveInterestRateStrategy`` per reserve (rates set by the keeper from the data);
   ``PoolConfigurator.initReserves``; then each reserve's LTV, liquidation threshold and bonus,
   reserve factor, borrowing and flash loans from ``configs/venues/aave_v3_ethereum.yaml``
   (``AaveParams``), the ETH-correlated E-mode category (id 1) with the period in force at ``as_of``,
   and the flash-loan premium (``flash_loan_fee_bps``);
5. ``AaveProtocolDataProvider``, our ``MarketKeeper`` and ``Settlement`` (``contracts/``), and
   liquidity: the deployer supplies ``liquidity`` units of each reserve so that loans can be taken.

Units: AAVE's percentages are bps (1e4 = 100 %; a bonus of 5 % is 10500), rates and indexes are rays
(1e27), prices are USD with 8 decimals, amounts are token wei (10**decimals per unit).

Rates and the clock (``Market.advance``): the chain follows the backtest clock step by step; at each
step the keeper sets, for every reserve the run follows, the liquidity rate and variable borrow rate
that take the reserve's on-chain index from its value now to the data's index at the next step
(``liquidity_rate_for`` inverts AAVE's linear interest, ``borrow_rate_for`` its 3-term compounded
interest, ``MathUtils``), pokes the reserve so it takes them, and the clock moves on. Each step
re-anchors on the chain's own index, so the chain's index equals ``RAY x data index / data index at
the start`` to within AAVE's ray rounding (a few ray units per step: ~1e-26 relative).
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from web3 import Web3

from basiskit.config.venues import AaveParams
from basiskit.venues.onchain.artifacts import Artifacts, link
from basiskit.venues.onchain.node import AnvilNode
from basiskit.venues.onchain.solidity import compile_contracts
from basiskit.venues.onchain.toolchain import Toolchain

RAY = 10**27
SECONDS_PER_YEAR = 365 * 24 * 3600  # AAVE v3 MathUtils.SECONDS_PER_YEAR
DECIMALS = {"WETH": 18, "wstETH": 18, "weETH": 18, "USDT": 6}
EMODE_ID = 1
LIBRARIES = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic")
ZERO = "0x0000000000000000000000000000000000000000"
USD_UNIT = 10**8
KEEPER_GAS = 5_000_000  # gas limit of the keeper's and deployer's transactions (no estimate round trip)
POLL_S = 0.002  # receipt polling interval (s): anvil mines at once; web3's default 0.1 s would dominate


def bps(x: float) -> int:
    """A fraction as AAVE bps (0.805 -> 8050), rounded to the nearest bp."""
    return int(round(x * 10_000))


def ray_mul(a: int, b: int) -> int:
    return (a * b + RAY // 2) // RAY


def linear_interest(rate: int, dt: int) -> int:
    """AAVE v3 ``MathUtils.calculateLinearInterest`` (ray)."""
    return RAY + rate * dt // SECONDS_PER_YEAR


def compounded_interest(rate: int, dt: int) -> int:
    """AAVE v3 ``MathUtils.calculateCompoundedInterest``: the binomial expansion to the third term (ray)."""
    if dt == 0:
        return RAY
    m1, m2 = dt - 1, (dt - 2 if dt > 2 else 0)
    p2 = ray_mul(rate, rate) // (SECONDS_PER_YEAR * SECONDS_PER_YEAR)
    p3 = ray_mul(p2, rate) // SECONDS_PER_YEAR
    return RAY + rate * dt // SECONDS_PER_YEAR + dt * m1 * p2 // 2 + dt * m1 * m2 * p3 // 6


def _solve(f, target: int, hi: int = 100 * RAY) -> int:
    """The smallest non-negative integer rate r with f(r) >= target (f non-decreasing), by bisection."""
    lo = 0
    if f(lo) >= target:
        return 0
    while lo < hi:
        mid = (lo + hi) // 2
        if f(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def liquidity_rate_for(index_now: int, target: int, dt: int) -> int:
    """Liquidity rate (ray, annual) that takes a liquidity index from ``index_now`` to ``target`` (rays)
    in ``dt`` seconds with AAVE's linear interest; 0 when the target is not above the index."""
    if dt <= 0 or target <= index_now:
        return 0
    r = _solve(lambda x: ray_mul(linear_interest(x, dt), index_now), target)
    below = max(r - 1, 0)  # of r-1 and r, the one that lands nearer the target
    if abs(ray_mul(linear_interest(below, dt), index_now) - target) < abs(ray_mul(linear_interest(r, dt), index_now) - target):
        return below
    return r


def borrow_rate_for(index_now: int, target: int, dt: int) -> int:
    """Variable borrow rate (ray, annual) that takes a variable borrow index from ``index_now`` to
    ``target`` in ``dt`` seconds with AAVE's compounded interest."""
    if dt <= 0 or target <= index_now:
        return 0
    r = _solve(lambda x: ray_mul(compounded_interest(x, dt), index_now), target)
    below = max(r - 1, 0)
    if abs(ray_mul(compounded_interest(below, dt), index_now) - target) < abs(ray_mul(compounded_interest(r, dt), index_now) - target):
        return below
    return r


@dataclass
class Market:
    """A deployed local market. ``contracts``: name -> web3 contract (pool, configurator, oracle,
    data_provider, keeper, settlement, acl, provider); ``tokens``: symbol -> MintableERC20;
    ``atokens`` / ``vtokens``: symbol -> aToken / variable debt token; ``feeds`` / ``strategies``:
    symbol -> PriceFeed / MockReserveInterestRateStrategy; ``deployer``: the admin account;
    ``deploy_seconds``: wall time of the deploy; ``abis``: contract name -> ABI (for the adapter)."""

    node: AnvilNode
    deployer: str
    contracts: dict
    tokens: dict
    atokens: dict
    vtokens: dict
    feeds: dict
    strategies: dict
    abis: dict
    bytecodes: dict = field(default_factory=dict)
    deploy_seconds: float = 0.0
    emode: tuple = ()
    txs: int = 0
    _anchor: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the keeper's transactions, one at a time

    @property
    def w3(self) -> Web3:
        return self.node.w3

    @property
    def pool(self):
        return self.contracts["pool"]

    def wei(self, token: str, units: float) -> int:
        """Token units -> wei (rounded to the nearest wei)."""
        return int(round(units * 10 ** DECIMALS[token]))

    def units(self, token: str, wei: int) -> float:
        return wei / 10 ** DECIMALS[token]

    def transact(self, fn, sender: str | None = None) -> dict:
        """Send ``fn`` (a contract function call) from an unlocked account; the receipt (raises
        ``RuntimeError`` on a revert)."""
        with self._lock:
            h = fn.transact({"from": sender or self.deployer, "gas": KEEPER_GAS})  # a gas limit: no estimate call
            rec = self.w3.eth.wait_for_transaction_receipt(h, poll_latency=POLL_S)
            self.txs += 1
        if rec["status"] != 1:
            raise RuntimeError(f"transaction reverted: {fn.fn_name}")
        return rec

    # -- the chain's reserve state ---------------------------------------------------------------
    def reserve(self, token: str) -> dict:
        """The reserve's stored state (``Pool.getReserveData``): liquidity_index, variable_borrow_index
        (rays, as of ``last_update``), current_liquidity_rate, current_variable_borrow_rate (rays)."""
        d = self.pool.functions.getReserveData(self.tokens[token].address).call()
        # ReserveData: configuration, liquidityIndex, currentLiquidityRate, variableBorrowIndex,
        # currentVariableBorrowRate, currentStableBorrowRate, lastUpdateTimestamp, id, aToken, ...
        return {"liquidity_index": d[1], "current_liquidity_rate": d[2], "variable_borrow_index": d[3],
                "current_variable_borrow_rate": d[4], "last_update": d[6]}

    def indexes_at(self, token: str, ts: int) -> tuple[int, int]:
        """(liquidity index, variable borrow index) of ``token`` at time ``ts`` as AAVE's next update will
        set them (``ReserveLogic._updateIndexes``), from the stored state: a variable borrow index moves
        only while the reserve has variable debt (``getNormalizedDebt`` would show it moving anyway)."""
        r = self.reserve(token)
        dt = ts - r["last_update"]
        li = ray_mul(linear_interest(r["current_liquidity_rate"], dt), r["liquidity_index"])
        bi = r["variable_borrow_index"]
        if self.vtokens[token].functions.scaledTotalSupply().call():  # no debt: the index does not move
            bi = ray_mul(compounded_interest(r["current_variable_borrow_rate"], dt), bi)
        return li, bi

    def anchor(self, liquidity: dict[str, float], borrow: dict[str, float]) -> None:
        """Tie the chain's indexes to the data: the data index values (any scale) that stand for the
        chain's present index of each reserve (``liquidity`` / ``borrow``: token -> data index now)."""
        now = self.node.now()
        self._anchor = {}
        for tok, v in liquidity.items():
            self._anchor[("l", tok)] = (self.indexes_at(tok, now)[0], v)
        for tok, v in borrow.items():
            self._anchor[("b", tok)] = (self.indexes_at(tok, now)[1], v)

    def target(self, kind: str, token: str, data_index: float) -> int:
        """The chain index (ray) that stands for ``data_index`` of ``token`` (kind "l" or "b")."""
        base_chain, base_data = self._anchor[(kind, token)]
        return int(round(base_chain * (data_index / base_data)))

    def advance(self, ts_now: int, ts_next: int, prices_usd: dict[str, float], liquidity_next: dict[str, float],
                borrow_next: dict[str, float], borrow_now: dict[str, float] | None = None) -> None:
        """At ``ts_now`` (the chain's time; it is stamped there first): set the oracle answers to
        ``prices_usd`` (token -> USD) and the rates that take each anchored index to the data's value at
        ``ts_next`` (``liquidity_next`` / ``borrow_next``: token -> data index at ``ts_next``); one keeper
        transaction. The chain's clock stays at ``ts_now`` (``node.set_time(ts_next)`` moves it).

        ``borrow_now`` (token -> data borrow index at ``ts_now``): a reserve without variable debt on chain
        is re-anchored there -- AAVE moves a variable borrow index only while someone owes (ReserveLogic
        ``_updateIndexes``), the data's index moves all the time; from the first borrow on, the chain's
        index grows as the data's."""
        if self.node.now() != ts_now:
            self.node.set_time(ts_now)
        dt = ts_next - ts_now
        feeds, answers = [], []
        for tok, px in prices_usd.items():
            feeds.append(self.feeds[tok].address)
            answers.append(int(round(px * USD_UNIT)))
        strategies, lrates, brates, assets, pokes = [], [], [], [], []
        for tok, v in (borrow_now or {}).items():
            if self.vtokens[tok].functions.scaledTotalSupply().call() == 0:
                self._anchor[("b", tok)] = (self.indexes_at(tok, ts_now)[1], v)
        for tok in sorted(set(liquidity_next) | set(borrow_next)):
            li, bi = self.indexes_at(tok, ts_now)
            lr = liquidity_rate_for(li, self.target("l", tok, liquidity_next[tok]), dt) if tok in liquidity_next else 0
            br = borrow_rate_for(bi, self.target("b", tok, borrow_next[tok]), dt) if tok in borrow_next else 0
            strategies.append(self.strategies[tok].address)
            lrates.append(lr)
            brates.append(br)
            assets.append(self.tokens[tok].address)
            pokes.append(10 ** (DECIMALS[tok] - 3))
        self.transact(self.contracts["keeper"].functions.step(feeds, answers, strategies, lrates, brates, assets, pokes))

    def set_prices(self, prices_usd: dict[str, float]) -> None:
        """Set oracle answers now (token -> USD), keeping every reserve's rates."""
        feeds = [self.feeds[t].address for t in prices_usd]
        answers = [int(round(p * USD_UNIT)) for p in prices_usd.values()]
        self.transact(self.contracts["keeper"].functions.step(feeds, answers, [], [], [], [], []))

    def set_quote(self, token_in: str, token_out: str, out_wei: int, in_wei: int) -> None:
        """The Settlement's rate for ``token_in`` -> ``token_out`` (addresses): ``out_wei`` per ``in_wei``."""
        self.transact(self.contracts["settlement"].functions.setQuote(token_in, token_out, out_wei, in_wei))

    def liquidate(self, user: str, collateral: str, debt: str, debt_units: float) -> tuple[float, float]:
        """``Pool.liquidationCall`` by the deployer (as liquidator: debt tokens minted for it) repaying
        ``debt_units`` of ``user``'s ``debt`` against its ``collateral``, taking the underlying. Returns
        (debt repaid, collateral seized) in token units, from the liquidator's balances; ``RuntimeError``
        when the pool refuses (e.g. the health factor is not below 1 on chain)."""
        liq = self.deployer
        d, c = self.tokens[debt], self.tokens[collateral]
        amount = self.wei(debt, debt_units)
        self.transact(d.functions.mint(liq, amount))
        self.transact(d.functions.approve(self.pool.address, amount))
        d0, c0 = d.functions.balanceOf(liq).call(), c.functions.balanceOf(liq).call()
        self.transact(self.pool.functions.liquidationCall(c.address, d.address, user, amount, False))
        return (self.units(debt, d0 - d.functions.balanceOf(liq).call()),
                self.units(collateral, c.functions.balanceOf(liq).call() - c0))

    def price(self, token: str) -> int:
        """The AAVE oracle's price of ``token`` (USD, 8 decimals)."""
        return self.contracts["oracle"].functions.getAssetPrice(self.tokens[token].address).call()


def emode_period(params: AaveParams, category: str, as_of: str):
    """The E-mode period of ``category`` in force at ``as_of`` (ISO date); ``ValueError`` when none is."""
    periods = params.emode_categories[category]
    t = datetime.fromisoformat(as_of).replace(tzinfo=timezone.utc)
    starts = [datetime.fromisoformat(p.start).replace(tzinfo=timezone.utc) for p in periods]
    k = bisect.bisect_right(starts, t) - 1
    if k < 0:
        raise ValueError(f"no {category} E-mode period in force at {as_of} (first starts {periods[0].start})")
    return periods[k]


def deploy_market(node: AnvilNode, tc: Toolchain, params: AaveParams, as_of: str,
                  liquidity: dict[str, float] | None = None, initial_prices: dict[str, float] | None = None) -> Market:
    """Deploy the market (module docstring). ``as_of``: ISO date whose E-mode period is configured;
    ``liquidity``: token -> units the deployer supplies (default 10^6 of each); ``initial_prices``:
    token -> USD (default WETH/LSTs 3000, USDT 1; the keeper sets the data's prices before use)."""
    t0 = time.perf_counter()
    w3 = node.w3
    deployer = w3.eth.accounts[0]
    art = Artifacts(tc.aave)
    own = compile_contracts(tc)
    abis: dict[str, list] = {}
    n_tx = 0

    def deploy(name: str, *args, libs: dict | None = None, source: dict | None = None):
        nonlocal n_tx
        a = source[name] if source is not None else art.get(name)
        code = a["bytecode"] if source is not None else link(a["bytecode"], a["links"], libs or {})
        h = w3.eth.contract(abi=a["abi"], bytecode=code).constructor(*args).transact({"from": deployer})
        rec = w3.eth.wait_for_transaction_receipt(h, poll_latency=POLL_S)
        n_tx += 1
        if rec["status"] != 1 or not rec["contractAddress"]:
            raise RuntimeError(f"deploying {name} reverted")
        abis[name] = a["abi"]
        return w3.eth.contract(address=rec["contractAddress"], abi=a["abi"])

    def send(fn):
        nonlocal n_tx
        rec = w3.eth.wait_for_transaction_receipt(fn.transact({"from": deployer}), poll_latency=POLL_S)
        n_tx += 1
        if rec["status"] != 1:
            raise RuntimeError(f"{fn.fn_name} reverted during the deploy")
        return rec

    def at(name: str, address: str):
        abis[name] = art.get(name)["abi"]
        return w3.eth.contract(address=address, abi=abis[name])

    provider = deploy("PoolAddressesProvider", "basiskit-local", deployer)
    send(provider.functions.setACLAdmin(deployer))
    acl = deploy("ACLManager", provider.address)
    send(provider.functions.setACLManager(acl.address))
    send(acl.functions.addPoolAdmin(deployer))

    libs: dict[str, str] = {}
    for name in LIBRARIES:
        libs[name] = deploy(name).address
    libs["FlashLoanLogic"] = deploy("FlashLoanLogic", libs=libs).address
    libs["ConfiguratorLogic"] = deploy("ConfiguratorLogic").address
    pool_impl = deploy("Pool", provider.address, libs=libs)
    send(provider.functions.setPoolImpl(pool_impl.address))
    pool = at("Pool", provider.functions.getPool().call())
    conf_impl = deploy("PoolConfigurator", libs=libs)
    send(provider.functions.setPoolConfiguratorImpl(conf_impl.address))
    configurator = at("PoolConfigurator", provider.functions.getPoolConfigurator().call())

    keeper = deploy("MarketKeeper", pool.address, source=own)
    settlement = deploy("Settlement", source=own)
    prices = {"WETH": 3000.0, "wstETH": 3000.0, "weETH": 3000.0, "USDT": 1.0, **(initial_prices or {})}
    tokens, feeds = {}, {}
    for sym, dec in DECIMALS.items():
        tokens[sym] = deploy("MintableERC20", sym, sym, dec)
        feeds[sym] = deploy("PriceFeed", int(round(prices[sym] * USD_UNIT)), keeper.address, source=own)
    syms = list(DECIMALS)
    oracle = deploy("AaveOracle", provider.address, [tokens[s].address for s in syms], [feeds[s].address for s in syms],
                    ZERO, ZERO, USD_UNIT)
    send(provider.functions.setPriceOracle(oracle.address))
    data_provider = deploy("AaveProtocolDataProvider", provider.address)
    send(provider.functions.setPoolDataProvider(data_provider.address))

    a_impl = deploy("AToken", pool.address)
    v_impl = deploy("VariableDebtToken", pool.address)
    s_impl = deploy("StableDebtToken", pool.address)
    strategies = {}
    for sym in syms:
        # optimal usage 80 %, zero slopes: the keeper sets the rates themselves (setLiquidityRate, ...)
        strategies[sym] = deploy("MockReserveInterestRateStrategy", provider.address, 8 * RAY // 10, 0, 0, 0, 0, 0)
    inputs = [(a_impl.address, s_impl.address, v_impl.address, DECIMALS[s], strategies[s].address, tokens[s].address,
               deployer, ZERO, f"Aave local {s}", f"a{s}", f"Aave local variable debt {s}", f"variableDebt{s}",
               f"Aave local stable debt {s}", f"stableDebt{s}", b"") for s in syms]
    send(configurator.functions.initReserves(inputs))

    emode_cat = None
    for sym in syms:
        r = params.reserves[sym]
        send(configurator.functions.configureReserveAsCollateral(tokens[sym].address, bps(r.ltv), bps(r.liquidation_threshold),
                                                                 10_000 + bps(r.liquidation_bonus)))
        send(configurator.functions.setReserveBorrowing(tokens[sym].address, True))
        send(configurator.functions.setReserveFlashLoaning(tokens[sym].address, True))
        send(configurator.functions.setReserveFactor(tokens[sym].address, bps(r.reserve_factor)))
        if r.emode_category:
            emode_cat = r.emode_category
    emode = ()
    if emode_cat:
        p = emode_period(params, emode_cat, as_of)
        emode = (EMODE_ID, emode_cat, p)
        send(configurator.functions.setEModeCategory(EMODE_ID, bps(p.ltv), bps(p.liquidation_threshold),
                                                     10_000 + bps(p.liquidation_bonus), ZERO, emode_cat))
        for sym in syms:
            if params.reserves[sym].emode_category == emode_cat:
                send(configurator.functions.setAssetEModeCategory(tokens[sym].address, EMODE_ID))
    send(configurator.functions.updateFlashloanPremiumTotal(int(round(params.flash_loan_fee_bps))))

    atokens, vtokens = {}, {}
    for sym in syms:
        a_addr, _, v_addr = data_provider.functions.getReserveTokensAddresses(tokens[sym].address).call()
        atokens[sym] = at("AToken", a_addr)
        vtokens[sym] = at("VariableDebtToken", v_addr)
    for sym in syms:
        amount = int(round((liquidity or {}).get(sym, 1e6) * 10 ** DECIMALS[sym]))
        send(tokens[sym].functions.mint(deployer, amount))
        send(tokens[sym].functions.approve(pool.address, amount))
        send(pool.functions.supply(tokens[sym].address, amount, deployer, 0))
    abis.update({k: v["abi"] for k, v in own.items()})
    return Market(node, deployer, {"provider": provider, "acl": acl, "pool": pool, "configurator": configurator,
                                   "oracle": oracle, "data_provider": data_provider, "keeper": keeper,
                                   "settlement": settlement},
                  tokens, atokens, vtokens, feeds, strategies, abis, {k: v["bytecode"] for k, v in own.items()},
                  time.perf_counter() - t0, emode, n_tx)

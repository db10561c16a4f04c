"""The same operations on the simulator and on the local chain, step by step over the real data.

``Twin`` holds the simulated world of eth_leveraged (the engine's own venues, built as a run builds
them: ``engine.assembly.build_venues``, on the catalog's hourly series) and an on-chain account on the
deployed market. ``step()`` advances both: the simulator by the feed, the chain by its clock, the AAVE
oracle set to the simulator's prices of the step and each reserve's rates set so that its index reaches
the data's index at the next step (``Market.advance``). ``group(legs)`` runs an atomic group on the
simulator (``ExecutionManager``, no gas: gas is compared on its own) and, from its filled trades, the
same group as one transaction on chain. Nothing here computes an expected value: the test compares
what the two sides report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import build_frame
from basiskit.data.rewards import load_restaking_rewards
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.time import to_ns
from basiskit.engine.assembly import build_venues, reward_windows, series_specs
from basiskit.engine.clock import Clock
from basiskit.engine.execution import ExecutionManager
from basiskit.strategies.registry import build_strategy, load_mode_config
from basiskit.venues.onchain.aave_account import Leg

WALLET, AAVE = "wallet", "aave_v3"


def build_sim(catalog, source_dir, mode: str, start: str, end: str, step_s: int = 3600):
    req = build_strategy(load_mode_config(mode)).requirements()
    clock = Clock(to_ns(start), to_ns(end), step_s)
    frame = build_frame(catalog, clock.grid(), series_specs(req, set(catalog.dataset_ids())))
    rows = reward_windows(load_restaking_rewards(source_dir), req.include_estimated_rewards)
    feed = HistoricalFeed(frame, rows)
    portfolio = Portfolio()
    venues = build_venues(req, feed.state, portfolio, rows, {})
    return feed, portfolio, venues


@dataclass
class Twin:
    feed: object
    portfolio: Portfolio
    venues: object
    market: object
    chain: object          # OnchainAave
    i: int = -1
    gas_paid_wei: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = self.venues.accounts[AAVE]
        self.execution = ExecutionManager(self.venues.accounts, self.venues.transfers, self.portfolio, self.feed.state,
                                          None, WALLET, self.sim.params.tx_base_gas)
        self._gid = 0

    @property
    def t_s(self) -> int:
        return self.feed.state.t // 10**9

    def _grid_s(self, k: int) -> int:
        return int(self.feed.grid[k]) // 10**9

    def tracked(self):
        """(liquidity index keys, borrow index keys) of the simulator's reserves: token -> feed key."""
        return self.sim.index_keys, self.sim.borrow_keys

    def prices_usd(self) -> dict[str, float]:
        p = self.venues.prices
        out = {tok: p.usd(tok) for tok in ("WETH", "weETH", "wstETH") if _has(p, tok)}
        out["USDT"] = 1.0
        return out

    def step(self) -> None:
        """Both sides to the next step of the grid."""
        self.i += 1
        tick = self.feed.advance(self.i)
        if self.venues.prices is not None:
            self.venues.prices.on_tick()
        for v in self.venues.accounts.values():
            for ev in v.on_market(tick):
                self.portfolio.apply(ev)
        t = self._grid_s(self.i)
        self.market.node.set_time(t)
        lk, bk = self.tracked()
        if self.i == 0:
            self.market.anchor({tok: self.feed.state.px[k] for tok, k in lk.items()},
                               {tok: self.feed.state.px[k] for tok, k in bk.items()})
        nxt = self.i + 1
        if nxt < len(self.feed.grid):
            t_next = self._grid_s(nxt)
            self.market.advance(t, t_next, self.prices_usd(),
                                {tok: float(self.feed.values(k, nxt, nxt + 1)[0]) for tok, k in lk.items()},
                                {tok: float(self.feed.values(k, nxt, nxt + 1)[0]) for tok, k in bk.items()},
                                {tok: self.feed.state.px[k] for tok, k in bk.items()})
        else:
            self.market.set_prices(self.prices_usd())

    def group(self, legs: list[tuple]) -> tuple[list, object]:
        """Run ``legs`` ((operation, venue, amount, token[, side, quote])) as an atomic group on the
        simulator, then the same group on chain from the simulator's fills. Returns (sim trades, TxResult)."""
        self._gid += 1
        orders = []
        for k, leg in enumerate(legs):
            op, venue, amt, tok = leg[:4]
            side = leg[4] if len(leg) > 4 else None
            quote = leg[5] if len(leg) > 5 else "USDT"
            orders.append(Order(op, venue, amt, tok, side, quote=quote, execution_mode=ExecutionMode.ATOMIC,
                                atomic_group_id=f"g{self._gid}", sequence_in_group=k))
        trades = self.execution.execute(orders, lambda ev: None)
        chain_legs = legs_from_trades(trades) if all(tr.ok for tr in trades) else legs_from_orders(orders, self.venues.accounts)
        return trades, self.chain.run_group(chain_legs)

    def single(self, op: Operation, amount: float, token: str):
        """One AAVE operation on both sides (its own transaction on chain)."""
        tr = self.execution.execute([Order(op, AAVE, amount, token)], lambda ev: None)[0]
        fn = {Operation.SUPPLY: self.chain.supply, Operation.WITHDRAW: self.chain.withdraw,
              Operation.BORROW: self.chain.borrow, Operation.REPAY: self.chain.repay}[op]
        return tr, fn(token, tr.executed_amount if tr.ok else amount)

    # -- the two sides' readings ------------------------------------------------------------------
    def sim_readings(self) -> dict[str, float]:
        coll, power, weighted, debt = self.sim._totals()
        lk, bk = self.tracked()
        out = {f"a{tok}": self.sim.supplied(tok) for tok in lk}
        out.update({f"debt{tok}": self.sim.borrowed(tok) for tok in bk})
        out.update({"health_factor": weighted / debt if debt else float("inf"), "ltv": debt / coll if coll else 0.0,
                    "available_borrows_usd": max(power - debt, 0.0), "collateral_usd": coll, "debt_usd": debt})
        return out

    def chain_readings(self) -> dict[str, float]:
        lk, bk = self.tracked()
        d = self.chain.account_data()
        out = {f"a{tok}": self.chain.supplied(tok) for tok in lk}
        out.update({f"debt{tok}": self.chain.borrowed(tok) for tok in bk})
        out.update({"health_factor": d["health_factor"], "ltv": d["debt_usd"] / d["collateral_usd"] if d["collateral_usd"] else 0.0,
                    "available_borrows_usd": d["available_borrows_usd"], "collateral_usd": d["collateral_usd"],
                    "debt_usd": d["debt_usd"]})
        return out


def _has(prices, tok: str) -> bool:
    try:
        prices.usd(tok)
        return True
    except (KeyError, AttributeError):
        return False


def legs_from_trades(trades) -> list[Leg]:
    """The on-chain legs of a group the simulator filled: AAVE legs at their executed amounts, a stake or
    a swap as a conversion at the simulator's fill (the wallet deltas of its trade)."""
    out: list[Leg] = []
    for tr in trades:
        o = tr.order
        op = o.operation
        if op is Operation.FLASH_BORROW:
            out.append(Leg("flash_borrow", o.token, tr.executed_amount))
        elif op is Operation.FLASH_REPAY:
            continue  # the pool pulls loan + premium at the end of the transaction
        elif op in (Operation.SUPPLY, Operation.WITHDRAW, Operation.BORROW, Operation.REPAY):
            out.append(Leg(op.value, o.token, tr.executed_amount))
        elif op in (Operation.STAKE, Operation.SWAP):
            wallet = {tok: d for acc, tok, d in tr.deltas if acc == WALLET}
            (tin, ain), = [(t, -d) for t, d in wallet.items() if d < 0]
            (tout, aout), = [(t, d) for t, d in wallet.items() if d > 0]
            out.append(Leg("convert", tin, ain, tout, aout))
        else:
            raise ValueError(f"no on-chain leg for {op}")
    return out


def legs_from_orders(orders, accounts) -> list[Leg]:
    """The on-chain legs of a group the simulator refused, at the orders' amounts, a stake at the staking
    account's rate of the step (``a (1 - stake fee) / rate``): sent anyway, to show the chain refuses it too."""
    out: list[Leg] = []
    for o in orders:
        if o.operation is Operation.STAKE:
            st = accounts[o.venue]
            out.append(Leg("convert", o.token, o.amount, st.params.lst,
                           o.amount * (1 - st.params.stake_fee_bps * 1e-4) / st.rate()))
        elif o.operation is Operation.FLASH_BORROW:
            out.append(Leg("flash_borrow", o.token, o.amount))
        elif o.operation in (Operation.SUPPLY, Operation.WITHDRAW, Operation.BORROW, Operation.REPAY):
            out.append(Leg(o.operation.value, o.token, o.amount))
    return out

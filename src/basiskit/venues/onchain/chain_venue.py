"""The AAVE v3 account of a run on the local chain, behind the venue protocol (``venues.protocol``).

``ChainAave`` is the run's ``aave_v3`` account whose balances live on chain: every supply, withdraw,
borrow and repay is a transaction of the account (``OnchainAave``), and an atomic group (the flash-loan
loop) is collected leg by leg and sent as ONE transaction at its ``flash_repay`` leg (the last leg of
every loop group of ``lst_book``), or at the end of a group without a flash loan (``open_flash``, which
the execution manager calls after a group's last leg). A revert refuses that leg with the chain's
reason (AAVE's error mapped to basiskit's code: ``aave_account.error_code``), so the execution manager
rolls every account back and reports the group FAILED -- the chain has nothing to roll back.

The account's model: an ``AaveV3`` simulator of the same reserves (``model``) answers the reads the
strategy and the risk monitor make (health factor, LTV, supplied, borrowed, E-mode parameters...), is
asked first for each order (its checks and the trade's ledger deltas: the wallet's side), and after
every transaction and every step takes the chain's balances (``sync``: aToken and variable debt read
from the contracts, kept as the model's scaled balances at the data's index of the step). Its
``on_market`` books the step's accrual (lending interest, borrow cost, revaluation) on those balances;
the chain's own accrual differs from it only by AAVE's wei / ray rounding (``market.py``).

Stake and DEX legs inside a group run on their own accounts (simulators); ``ConversionLegs`` wraps such
an account so that its fills inside a group are added to the transaction as conversion legs (settled at
the fill's amounts by the market's ``Settlement``).

The wallet: its tokens outside AAVE are the run's ledger (the wallet account, fed by simulated
swaps, transfers, rewards). Before each transaction (and at the first leg of a group) the account's
ERC20 balances of the market's tokens are set to the ledger's (``align_wallet``: the shortfall minted,
the excess sent to a sink address), so that a transaction pulls exactly what the run holds.

Gas: the run books the gas model's gas (configured units x the data's gas price), as a backtest does,
so that a run's books compare with a backtest; the chain's receipts (gas used, effective price, fee in
wei) are kept in ``receipts``. Liquidation: when the model's check
liquidates the account at a step, the market's keeper liquidates it on chain the same way
(``Market.liquidate``: ``Pool.liquidationCall`` repaying the model's debt_repaid of its debt token
against its collateral token, at the oracle prices of the step) and the account's balances are read
back; an intrabar liquidation (set at an ETH/USD price inside the bar: positions with USDT on one side)
cannot be replayed at the oracle of the step and raises ``RuntimeError``.

``clock(tick)``: called first in each ``on_market``; moves the chain to the tick's time and sets the
oracle and the reserve rates (``Market.advance``, see ``ChainClock``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.onchain.aave_account import Leg, OnchainAave, TxResult, error_code
from basiskit.venues.protocol import AccountSnapshot

_AAVE_OPS = (Operation.SUPPLY, Operation.WITHDRAW, Operation.BORROW, Operation.REPAY)
SINK = "0x000000000000000000000000000000000000dEaD"  # where excess wallet tokens go (align_wallet)


class PendingGroup:
    """The legs of the atomic group being collected (shared by ``ChainAave`` and ``ConversionLegs``)."""

    def __init__(self) -> None:
        self.legs: list[Leg] = []


class ChainClock:
    """Moves the chain with a run's clock: at step ``i`` (grid ``times_s``, unix seconds) the chain is set
    to ``times_s[i]``, the oracle to ``prices_usd()`` and each reserve's rates so that its index reaches
    the data's at step ``i + 1`` (``liquidity`` / ``borrow``: token -> the index series of the run,
    any scale). The first step anchors the chain's indexes to the data's."""

    def __init__(self, market, times_s: Sequence[int], liquidity: dict, borrow: dict, prices_usd: Callable[[], dict]) -> None:
        self.market = market
        self.times = [int(t) for t in times_s]
        self.liquidity = liquidity
        self.borrow = borrow
        self.prices_usd = prices_usd

    def __call__(self, step: int) -> None:
        m = self.market
        t = self.times[step]
        m.node.set_time(t)
        if step == 0 or not m._anchor:
            m.anchor({k: float(v[step]) for k, v in self.liquidity.items()}, {k: float(v[step]) for k, v in self.borrow.items()})
        if step + 1 < len(self.times):
            m.advance(t, self.times[step + 1], self.prices_usd(),
                      {k: float(v[step + 1]) for k, v in self.liquidity.items()},
                      {k: float(v[step + 1]) for k, v in self.borrow.items()},
                      {k: float(v[step]) for k, v in self.borrow.items()})
        else:
            m.set_prices(self.prices_usd())


class ChainAave:
    """Venue protocol on chain (module docstring). ``model``: the run's ``AaveV3``; ``chain``: the
    account's ``OnchainAave`` (set up); ``clock``: ``ChainClock``; ``pending``: the shared group."""

    def __init__(self, model, chain: OnchainAave, clock: ChainClock, pending: PendingGroup,
                 local_rollback: bool = True) -> None:
        self.model = model
        self.name = model.name
        self.chain = chain
        self.clock = clock
        self.pending = pending
        self.local_rollback = local_rollback
        self.receipts: list[TxResult] = []
        self.sent_in_group = False
        self._mined_ok = 0  # transactions of the account that went through

    def __getattr__(self, item):  # the model's reads: health_factor, ltv, supplied, params, ...
        return getattr(self.model, item)

    # -- per step -----------------------------------------------------------------------------------
    def quiet_now(self) -> bool:
        return False  # every step is stepped: the chain moves with each

    def project(self, lo, hi, feed, prices=None):
        return None

    def on_market(self, tick) -> list:
        self.clock(tick.step)
        events = self.model.on_market(tick)
        for e in events:
            if getattr(e, "kind", "") == "liquidation":
                d = e.data
                if d.get("trigger") == "intrabar":
                    raise RuntimeError(f"{self.name}: an intrabar liquidation at {tick.timestamp} cannot be replayed "
                                       "at the step's oracle prices on chain")
                self.clock.market.liquidate(self.chain.address, d["collateral_token"], d["debt_token"], d["debt_repaid"])
        self.sync()
        return events

    def sync(self) -> None:
        """The model's scaled balances from the chain's aToken and variable debt balances now."""
        m = self.model
        for tok in m.scaled:
            m.scaled[tok] = self.chain.supplied(tok) / m._idx(tok)
        for tok in m.scaled_debt:
            m.scaled_debt[tok] = self.chain.borrowed(tok) / m._bidx(tok)
        m._read_step = -1

    # -- orders ---------------------------------------------------------------------------------------
    def _refuse(self, order: Order, res: TxResult) -> Trade:
        return Trade(order, self.model.state.t, TradeStatus.REJECTED, error_code=error_code(res.error),
                     error=f"reverted on chain: {res.error}", gas_units=res.gas_used)

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._one(o) for o in orders]

    def align_wallet(self) -> None:
        """The account's ERC20 balances of the market's tokens := the run's wallet ledger (module docstring)."""
        m = self.clock.market
        ledger = self.model.ledger
        for tok, contract in m.tokens.items():
            want = max(m.wei(tok, ledger.get(self.model.wallet, tok)), 0)
            have = contract.functions.balanceOf(self.chain.address).call()
            if want > have:
                m.transact(contract.functions.mint(self.chain.address, want - have))
            elif have > want:
                res = self.chain.send(contract.functions.transfer(SINK, have - want))
                if not res.ok:
                    raise RuntimeError(f"{self.name}: aligning the wallet's {tok} failed: {res.error}")

    def _one(self, o: Order) -> Trade:
        model = self.model
        atomic = o.execution_mode is ExecutionMode.ATOMIC
        if (not atomic and o.operation in _AAVE_OPS) or (atomic and not self.pending.legs):
            self.align_wallet()
        if atomic and self.sent_in_group:
            return Trade(o, model.state.t, TradeStatus.REJECTED, error_code="EXEC-003",
                         error="a leg after the group's transaction was sent")
        cp = model.checkpoint()
        tr = model.submit((o,))[0]
        if not tr.ok:
            return tr
        op = o.operation
        if atomic:
            if op is Operation.FLASH_BORROW:
                self.pending.legs.append(Leg("flash_borrow", o.token, tr.executed_amount))
            elif op in _AAVE_OPS:
                self.pending.legs.append(Leg(op.value, o.token, tr.executed_amount))
            elif op is Operation.FLASH_REPAY:
                res = self._send_group()
                if not res.ok:
                    model.restore(cp)
                    return self._refuse(o, res)
                return tr  # the run books the gas model's units; the receipt is in ``receipts``
            return tr
        if op not in _AAVE_OPS:
            return tr
        fn = {Operation.SUPPLY: self.chain.supply, Operation.WITHDRAW: self.chain.withdraw,
              Operation.BORROW: self.chain.borrow, Operation.REPAY: self.chain.repay}[op]
        res = fn(o.token, tr.executed_amount)
        self.receipts.append(res)
        self._mined_ok += res.ok
        if not res.ok:
            model.restore(cp)
            return self._refuse(o, res)
        self.sync()
        return tr

    def _send_group(self) -> TxResult:
        res = self.chain.run_group(self.pending.legs)
        self.receipts.append(res)
        self.pending.legs = []
        self.sent_in_group = res.ok
        self._mined_ok += res.ok
        if res.ok:
            self.sync()
        return res

    def open_flash(self) -> dict[str, float]:
        """Called by the execution manager after a group's last leg: a group without a flash loan is sent
        here (a revert shows as an unpaid loan of 0, failing the group)."""
        owed = self.model.open_flash()
        if not owed and self.pending.legs:
            res = self._send_group()
            if not res.ok:
                owed = {f"reverted on chain: {res.error}": 0.0}
        self.sent_in_group = False
        return owed

    def poll(self, now_ns: int) -> list:
        return []

    def account(self) -> AccountSnapshot:
        return self.model.account()

    def value_usd(self) -> float:
        return self.model.value_usd()

    def withdrawable(self, token: str) -> float:
        return 0.0

    def checkpoint(self):
        """The model's state, the group's legs so far and, on the local chain (``local_rollback``), an
        ``evm_snapshot``."""
        snap = self.clock.market.node.snapshot() if self.local_rollback else None
        return self.model.checkpoint(), len(self.pending.legs), snap, self._mined_ok

    def restore(self, cp) -> None:
        """Back to ``cp``. A transaction that went through since cannot be undone on a real chain; on the
        local chain it is (``evm_revert`` to the checkpoint's snapshot); a reverted one is never undone:
        its gas stays paid."""
        model_cp, n_legs, snap, mined = cp
        if self._mined_ok != mined:
            if snap is None:
                raise RuntimeError(f"{self.name}: a transaction went through since the checkpoint; it cannot be rolled back")
            self.clock.market.node.revert(snap)
            self.chain.nonces.reset()
            self._mined_ok = mined
        self.model.restore(model_cp)
        del self.pending.legs[n_legs:]
        self.sent_in_group = False


class ConversionLegs:
    """Wraps a staking or DEX account: its fills inside an atomic group become conversion legs of the
    group's transaction (the wallet's token out and token in of the fill)."""

    def __init__(self, venue, pending: PendingGroup, wallet: str = "wallet") -> None:
        self.venue = venue
        self.name = venue.name
        self.pending = pending
        self.wallet = wallet

    def __getattr__(self, item):
        return getattr(self.venue, item)

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        out = self.venue.submit(orders)
        for o, tr in zip(orders, out):
            if tr.ok and o.execution_mode is ExecutionMode.ATOMIC:
                w = {tok: d for acc, tok, d in tr.deltas if acc == self.wallet and d}
                paid = [(t, -d) for t, d in w.items() if d < 0]
                got = [(t, d) for t, d in w.items() if d > 0]
                if len(paid) != 1 or len(got) != 1:
                    raise ValueError(f"{self.name}: a group leg must turn one wallet token into another, got {w}")
                self.pending.legs.append(Leg("convert", paid[0][0], paid[0][1], got[0][0], got[0][1]))
        return out

    def checkpoint(self):
        return self.venue.checkpoint()

    def restore(self, cp) -> None:
        self.venue.restore(cp)

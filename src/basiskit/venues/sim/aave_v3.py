"""Simulated AAVE v3 account (Ethereum core market): supply, withdraw, variable borrow, repay, flash
loans, health factor and liquidation.

Balances (AAVE v3 docs, "aTokens" and "Variable debt tokens"):

* supply of ``a`` units at step i stores the scaled balance ``a / liquidityIndex(t_i)``; the aToken
  balance at step j is ``scaled x liquidityIndex(t_j)``;
* variable debt: a borrow of ``a`` stores ``a / variableBorrowIndex(t_i)``; the debt at step j is
  ``scaled x variableBorrowIndex(t_j)``.

Indexes come from the catalog's daily snapshots, interpolated geometrically (``data.aave_index``), read
from the run's ``MarketState`` at each step; the venue keeps the previous step's values to accrue.

Prices: an LST at its AAVE LST/ETH oracle (an exchange-rate feed, not a market price, so a DEX depeg
does not move the health factor) x ETH/USD; WETH at ETH/USD; USDT at 1 USD(T). ETH/USD is the
on-chain market price of ``onchain_prices`` (the data's AAVE WETH/USD oracle file is a daily
interpolation); health factors of LST-collateral/WETH-debt positions do not depend on it.

Risk (AAVE v3 docs, "Health factor" and "Liquidations"), with ``c_k`` collateral and ``d_k`` debt in USD:

* borrowing power ``= sum c_k LTV_k``; a borrow (or a withdrawal) that would leave
  ``sum d_k > sum c_k LTV_k`` is rejected ("max LTV");
* health factor ``HF = sum c_k LT_k / sum d_k`` (infinite without debt); a withdrawal that leaves
  HF < 1 is rejected;
* in E-mode (``emode`` on), reserves of the account's category use the category's LTV, LT and bonus in
  force at the step (``basiskit/configs/venues/aave_v3_ethereum.yaml`` with dates and sources);
* liquidation when HF < 1 at a step: a liquidator repays up to 50 % of the debt (100 % when
  HF < 0.95, the close-factor threshold) and seizes collateral worth the repaid debt x (1 + bonus);
  the account loses ``repaid x bonus`` (booked ``liquidation``); one liquidation call per step.
* intrabar: when the health factor depends on ETH/USD (USDT on one side, ETH-priced tokens on the
  other, e.g. a USDT reserve next to an LST/WETH loop) the ETH/USD bar that closed since the previous
  step is checked at its high and low (``MarketFrame.highs/lows``); if either takes HF below 1 the
  account is liquidated at the ETH/USD price where HF = 1 on the way from the bar's open, the
  liquidator's amounts being set at that price (the loss is booked at the step's prices, as every
  value change). An LST/WETH position's HF does not depend on ETH/USD and is not checked intrabar.

Flash loans: ``FLASH_BORROW`` credits the wallet and records ``amount x (1 + fee)`` owed;
``FLASH_REPAY`` pays it back. Both must be legs of an atomic group; the execution manager fails a
group that ends with a loan unpaid. The premium is booked ``flash_fees``.

Gas: each standalone operation pays its configured gas units from the wallet; inside an atomic group
the leg only reports its units and the group pays once (``engine.execution``).

Attribution: ``lending_interest`` (aToken growth), ``borrow_cost`` (debt growth), ``staking`` and
``price_basis`` (LST rate and ETH price on collateral and debt), ``flash_fees``, ``gas``, ``liquidation``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

from basiskit.config.venues import AaveParams
from basiskit.data.market_state import MarketState
from basiskit.domain.events import AccountChange, MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.portfolio import BORROW_COST, FLASH_FEES, LENDING_INTEREST, LIQUIDATION, Attribution, Ledger
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.onchain_prices import ETH_USD_KEY, USDT, OnchainPrices

CLOSE_FACTOR = 0.5
CLOSE_FACTOR_HF_THRESHOLD = 0.95  # AAVE v3: below this HF the whole debt can be liquidated
INF = float("inf")


def _period_bounds(starts: list[int], t: int) -> tuple[int, int]:
    """[from, until) of the period of sorted ``starts`` (ns) that holds ``t`` (open-ended at both ends)."""
    k = bisect.bisect_right(starts, t)
    return (starts[k - 1] if k else -2**63), (starts[k] if k < len(starts) else 2**63)


def _iso_ns(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) * 10**9


class AaveV3:
    def __init__(self, name: str, params: AaveParams, state: MarketState, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, liquidity_index_keys: dict[str, str], borrow_index_keys: dict[str, str] | None = None,
                 prices: OnchainPrices | None = None, emode: bool = False, wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.wallet = wallet
        self.prices = prices
        self.index_keys = dict(liquidity_index_keys)
        self.borrow_keys = dict(borrow_index_keys or {})
        self.scaled: dict[str, float] = {tok: 0.0 for tok in self.index_keys}
        self.scaled_debt: dict[str, float] = {tok: 0.0 for tok in self.borrow_keys}
        self.flash_owed: dict[str, tuple[float, float]] = {}  # token -> (principal, principal + premium)
        self._prev_index: dict[str, float] | None = None  # the previous step's indexes (None before the first)
        self._prev_borrow_index: dict[str, float] = {}
        self._fee = params.flash_loan_fee_bps * 1e-4
        self._rp_from, self._rp_until = 1, 0  # times between which the cached risk parameters hold (none yet)
        self._rp: dict[str, tuple[float, float, float]] = {}
        self._emode_starts: list[int] = []
        # the step's readings from one pass over the reserves (``_readings``), cached like the totals
        self._read_step = -1
        self._read = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.emode = emode
        self._emode_cat = None
        if emode:
            cats = {params.reserves[t].emode_category for t in (*self.index_keys, *self.borrow_keys) if t in params.reserves}
            cats.discard(None)
            if len(cats) != 1:
                raise ValueError(f"{name}: E-mode needs reserves of one category, got {sorted(map(str, cats))}")
            self._emode_cat = cats.pop()
            periods = params.emode_categories[self._emode_cat]
            self._emode_starts = [_iso_ns(p.start) for p in periods]
            self._emode_periods = periods
        self._bucket = attribution.bucket(name)

    # -- prices and risk ---------------------------------------------------------------------------
    def _idx(self, token: str) -> float:
        return self.state.px[self.index_keys[token]]

    def _bidx(self, token: str) -> float:
        return self.state.px[self.borrow_keys[token]]

    def usd(self, token: str) -> float:
        return 1.0 if token == USDT else self.prices.usd(token)

    def _risk_params(self, token: str) -> tuple[float, float, float]:
        """(LTV, liquidation threshold, liquidation bonus) of ``token`` now (cached while the E-mode
        period in force does not change)."""
        t = self.state.t
        if not self._rp_from <= t < self._rp_until:
            self._rp = {}
            self._rp_from, self._rp_until = _period_bounds(self._emode_starts, t)
        rp = self._rp.get(token)
        if rp is None:
            r = self.params.reserves[token]
            rp = (r.ltv, r.liquidation_threshold, r.liquidation_bonus)
            if self.emode and r.emode_category == self._emode_cat:
                k = bisect.bisect_right(self._emode_starts, t) - 1
                if k >= 0:
                    p = self._emode_periods[k]
                    rp = (p.ltv, p.liquidation_threshold, p.liquidation_bonus)
            self._rp[token] = rp
        return rp

    def supplied(self, token: str) -> float:
        """aToken balance (token units) now."""
        return self.scaled[token] * self._idx(token)

    def borrowed(self, token: str) -> float:
        """Variable debt (token units) now."""
        s = self.scaled_debt.get(token, 0.0)
        return s * self._bidx(token) if s else 0.0

    def _totals(self, d_coll: dict[str, float] | None = None, d_debt: dict[str, float] | None = None):
        """(collateral USD, borrowing power USD, LT-weighted collateral USD, debt USD) after hypothetical
        changes; without them from the step's readings (cached for the step until the account changes)."""
        if d_coll is None and d_debt is None:
            r = self._read if self._read_step == self.state.step else self._readings()
            return r[0], r[1], r[2], r[3]
        return self._compute_totals(d_coll, d_debt)

    def _readings(self) -> tuple:
        """One pass over the reserves at this step: (collateral USD, borrowing power USD, LT-weighted
        collateral USD, debt USD, value USD without flash loans, net ETH exposure in ETH units, and the
        health-factor terms A, B, C, D of ``_hf_terms``); each figure summed in the order of the
        separate definitions (supplies, then debts), so it is the same float. Cached for the step."""
        coll = power = weighted = debt = value = eth = a = b = c = d = 0.0
        px = self.state.px
        p = self.prices
        t = self.state.t
        if not self._rp_from <= t < self._rp_until:  # another E-mode period: the parameters are read again
            self._rp = {}
            self._rp_from, self._rp_until = _period_bounds(self._emode_starts, t)
        rp = self._rp
        for tok, s in self.scaled.items():
            if s:
                q = s * px[self.index_keys[tok]]
                params = rp.get(tok)
                if params is None:
                    params = self._risk_params(tok)
                ltv, lt = params[0], params[1]
                if tok == USDT:
                    value += q
                    if q > 0:
                        coll += q
                        power += q * ltv
                        weighted += q * lt
                    b += q * lt
                else:
                    usd = p.usd(tok)
                    v = q * usd
                    value += v
                    if q > 0:
                        coll += v
                        power += v * ltv
                        weighted += v * lt
                    e = p.eth(tok)
                    eth += q * e
                    a += q * lt * e
        for tok, s in self.scaled_debt.items():
            if s:
                q = s * px[self.borrow_keys[tok]]
                if tok == USDT:
                    value -= q
                    if q > 0:
                        debt += q
                    d += q
                else:
                    v = q * p.usd(tok)
                    value -= v
                    if q > 0:
                        debt += v
                    e = p.eth(tok)
                    eth -= q * e
                    c += q * e
        self._read = r = (coll, power, weighted, debt, value, eth, a, b, c, d)
        self._read_step = self.state.step
        return r

    def _compute_totals(self, d_coll: dict[str, float] | None, d_debt: dict[str, float] | None):
        coll = power = weighted = debt = 0.0
        px = self.state.px
        for tok, s in self.scaled.items():
            q = s * px[self.index_keys[tok]] + (d_coll or {}).get(tok, 0.0)
            if q > 0:
                v = q * self.usd(tok)
                ltv, lt, _ = self._risk_params(tok)
                coll += v
                power += v * ltv
                weighted += v * lt
        for tok, s in self.scaled_debt.items():
            q = s * px[self.borrow_keys[tok]] + (d_debt or {}).get(tok, 0.0)
            if q > 0:
                debt += q * self.usd(tok)
        return coll, power, weighted, debt

    def collateral_and_debt_usd(self) -> tuple[float, float]:
        """(supplied collateral USD, variable debt USD) now."""
        coll, _, _, debt = self._totals()
        return coll, debt

    def health_factor(self) -> float:
        """AAVE health factor now (inf without debt)."""
        _, _, weighted, debt = self._totals()
        return weighted / debt if debt > 0 else INF

    def ltv(self) -> float:
        """Current loan-to-value: debt / collateral value (0 without debt)."""
        coll, _, _, debt = self._totals()
        return debt / coll if coll > 0 else (INF if debt > 0 else 0.0)

    def risk_readings(self) -> tuple[float, float]:
        """(health factor, LTV) now, from one pass over the reserves."""
        coll, _, weighted, debt = self._totals()
        if debt <= 0:
            return INF, 0.0
        return weighted / debt, (debt / coll if coll > 0 else INF)

    def max_ltv(self, token: str) -> float:
        return self._risk_params(token)[0]

    def liquidation_threshold(self, token: str) -> float:
        return self._risk_params(token)[1]

    def flash_fee_rate(self) -> float:
        return self._fee

    def open_flash(self) -> dict[str, float]:
        """Flash loans not yet repaid: token -> amount owed."""
        return {t: owed for t, (_, owed) in self.flash_owed.items()}

    def eth_exposure(self) -> float:
        """Net ETH held through this account (collateral - debt, ETH units, non-USDT reserves)."""
        if self.prices is None:
            return 0.0
        return (self._read if self._read_step == self.state.step else self._readings())[5]

    # -- per step -------------------------------------------------------------------------------------
    def on_market(self, tick: MarketTick) -> list:
        px = self.state.px
        prev, prev_b = self._prev_index, self._prev_borrow_index
        if prev is None:
            self._prev_index = {tok: px[k] for tok, k in self.index_keys.items()}
            self._prev_borrow_index = {tok: px[k] for tok, k in self.borrow_keys.items()}
            return []
        attr = self.attr
        bucket = self._bucket
        debt = False
        for tok, s in self.scaled.items():
            now = px[self.index_keys[tok]]
            if s:
                before = prev[tok]
                interest = s * (now - before)
                if interest:
                    v = interest * self.usd(tok)
                    attr.total[LENDING_INTEREST] += v
                    bucket[LENDING_INTEREST] += v
                if tok != USDT:
                    self.prices.revalue(attr, self.name, tok, s * before)
            prev[tok] = now
        for tok, s in self.scaled_debt.items():
            now = px[self.borrow_keys[tok]]
            if s:
                debt = True
                before = prev_b[tok]
                growth = s * (now - before)
                if growth:
                    v = -growth * self.usd(tok)
                    attr.total[BORROW_COST] += v
                    bucket[BORROW_COST] += v
                if tok != USDT:
                    self.prices.revalue(attr, self.name, tok, -(s * before))
            prev_b[tok] = now
        if debt:
            if self.prices is not None:
                ev = self._check_intrabar()
                if ev is not None:
                    return [ev]
            hf = self.health_factor()
            if hf < 1.0:
                return [self._liquidate(hf)]
        return []

    # -- quiet stretches (engine.quiet) ----------------------------------------------------------------
    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (accruing since a previous step, no flash loan
        open)."""
        return self._prev_index is not None and not self.flash_owed

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """The account over the quiet steps ``[lo, hi)`` (``engine.quiet``): accrual and revaluation
        (``bookings``), value, ETH exposure, health factor and LTV at each step as :meth:`on_market`,
        :meth:`_readings` and :meth:`risk_readings` give them, with the same arithmetic; ``blocked`` at
        the first step a liquidation check fails or another E-mode period begins. ``prices``: the
        stretch's ``PriceProjection`` (None: only a USDT account projects)."""
        if not self.quiet_now():
            return None
        n = hi - lo
        grid = feed.grid
        t = self.state.t
        if not self._rp_from <= t < self._rp_until:
            self._rp = {}
            self._rp_from, self._rp_until = _period_bounds(self._emode_starts, t)
        if not grid[lo] < self._rp_until:
            return None
        # risk parameters change with the next E-mode period: that step is stepped
        blocked = bisect.bisect_left(grid, self._rp_until, lo, hi) - lo
        idx = {tok: feed.values(k, lo, hi) for tok, k in self.index_keys.items()}
        bidx = {tok: feed.values(k, lo, hi) for tok, k in self.borrow_keys.items()}
        usd = (lambda t: 1.0) if prices is None else prices.usd
        eth_of = None if prices is None else prices.eth
        if prices is None and any(t != USDT for t, s in (*self.scaled.items(), *self.scaled_debt.items()) if s):
            return None
        bookings: list = []
        zeros = np.zeros(n)
        coll = power = weighted = debt = value = eth = a = b = c = d = zeros
        has_debt = False
        for tok, s in self.scaled.items():
            if not s:
                continue
            now = idx[tok]
            before = np.concatenate(([self._prev_index[tok]], now[:-1]))
            u = usd(tok)
            bookings.append((LENDING_INTEREST, s * (now - before) * u))
            if tok != USDT:
                bookings += prices.revalue(tok, s * before)
            q = s * now
            ltv, lt, _ = self._risk_params(tok)
            pos = q > 0
            if tok == USDT:
                value = value + q
                coll = coll + np.where(pos, q, 0.0)
                power = power + np.where(pos, q * ltv, 0.0)
                weighted = weighted + np.where(pos, q * lt, 0.0)
                b = b + q * lt
            else:
                v = q * u
                value = value + v
                coll = coll + np.where(pos, v, 0.0)
                power = power + np.where(pos, v * ltv, 0.0)
                weighted = weighted + np.where(pos, v * lt, 0.0)
                e = eth_of(tok)
                eth = eth + q * e
                a = a + q * lt * e
        supplied = {tok: s * idx[tok] for tok, s in self.scaled.items()}
        for tok, s in self.scaled_debt.items():
            if not s:
                continue
            has_debt = True
            now = bidx[tok]
            before = np.concatenate(([self._prev_borrow_index[tok]], now[:-1]))
            u = usd(tok)
            bookings.append((BORROW_COST, -(s * (now - before)) * u))
            if tok != USDT:
                bookings += prices.revalue(tok, -(s * before))
            q = s * now
            pos = q > 0
            if tok == USDT:
                value = value - q
                debt = debt + np.where(pos, q, 0.0)
                d = d + q
            else:
                v = q * u
                value = value - v
                debt = debt + np.where(pos, v, 0.0)
                e = eth_of(tok)
                eth = eth - q * e
                c = c + q * e
        borrowed = {tok: (s * bidx[tok] if s else zeros) for tok, s in self.scaled_debt.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            hf = np.where(debt > 0, weighted / debt, INF)
            ltv_now = np.where(debt > 0, np.where(coll > 0, debt / coll, INF), 0.0)
            if has_debt:
                bad = hf < 1.0
                if prices is not None:
                    hi_, lo_ = feed.extremes(ETH_USD_KEY, lo, hi)
                    if ((a != 0) | (c != 0)).any() and ((b != 0) | (d != 0)).any():
                        depends = ((a != 0) | (c != 0)) & ((b != 0) | (d != 0)) & (hi_ == hi_)
                        for x in (hi_, lo_):
                            den = c * x + d
                            bad |= depends & (den > 0) & ((a * x + b) / den < 1.0)
                hit = np.flatnonzero(bad)
                if hit.size:
                    blocked = min(blocked, int(hit[0]))

        def commit(k: int) -> None:
            for tok in self.index_keys:
                self._prev_index[tok] = float(idx[tok][k - 1])
            for tok in self.borrow_keys:
                self._prev_borrow_index[tok] = float(bidx[tok][k - 1])
            self._read_step = -1

        return Projection(value, commit, self._bucket, bookings=bookings, blocked=blocked,
                          eth_units=eth if prices is not None else None, health_factor=hf, ltv=ltv_now,
                          supplied=supplied, borrowed=borrowed)

    def _hf_terms(self) -> tuple[float, float, float, float]:
        """(A, B, C, D) with HF(P) = (A P + B) / (C P + D) at ETH/USD price P: A, C the LT-weighted
        collateral and the debt of ETH-priced tokens in ETH, B, D those of USDT (from ``_readings``)."""
        r = self._read if self._read_step == self.state.step else self._readings()
        return r[6], r[7], r[8], r[9]

    def _check_intrabar(self) -> AccountChange | None:
        hi = self.state.hi.get(ETH_USD_KEY, float("nan"))
        if hi != hi:  # NaN: no ETH/USD bar closed since the previous step
            return None
        ta, tb, tc, td = self._hf_terms()
        if not ((ta or tc) and (tb or td)):  # HF does not depend on ETH/USD
            return None
        p0 = self.prices.eth_usd_prev
        for x in (hi, self.state.lo[ETH_USD_KEY]):
            den = tc * x + td
            if den > 0 and (ta * x + tb) / den < 1.0:
                p_star = (td - tb) / (ta - tc) if ta != tc else x  # where HF = 1 between the open and x
                if not min(p0, x) <= p_star <= max(p0, x):
                    p_star = x
                return self._liquidate(1.0 - 1e-12, eth_usd=p_star)
        return None

    def _liquidate(self, hf: float, eth_usd: float | None = None) -> AccountChange:
        """One liquidation call (AAVE v3 LiquidationLogic): largest debt against largest collateral. With
        ``eth_usd`` the liquidator's amounts are set at that ETH/USD price (intrabar); the loss is booked at
        the step's prices."""
        debt_tok = max(self.scaled_debt, key=lambda t: self.borrowed(t) * self.usd(t))
        coll_tok = max(self.scaled, key=lambda t: self.supplied(t) * self.usd(t))
        close = 1.0 if hf < CLOSE_FACTOR_HF_THRESHOLD else CLOSE_FACTOR
        bonus = self._risk_params(coll_tok)[2]
        debt_units = self.borrowed(debt_tok)
        coll_units = self.supplied(coll_tok)
        deal = (lambda t: 1.0 if t == USDT else self.prices.eth(t) * eth_usd) if eth_usd is not None else self.usd
        p_debt, p_coll = deal(debt_tok), deal(coll_tok)
        repaid = close * debt_units
        seized = repaid * p_debt * (1 + bonus) / p_coll
        if seized > coll_units:  # not enough collateral: seize it all, repay what it covers
            seized = coll_units
            repaid = seized * p_coll / ((1 + bonus) * p_debt)
        self.scaled_debt[debt_tok] -= repaid / self._bidx(debt_tok)
        self.scaled[coll_tok] -= seized / self._idx(coll_tok)
        self._read_step = -1
        loss = seized * self.usd(coll_tok) - repaid * self.usd(debt_tok)  # at the step's valuation prices
        return AccountChange(self.state.t, self.name, "liquidation", pnl=((LIQUIDATION, self.name, -loss),), data={
            "health_factor": hf, "close_factor": close, "debt_token": debt_tok, "debt_repaid": repaid,
            "collateral_token": coll_tok, "collateral_seized": seized, "liquidation_bonus": bonus,
            "loss_usd": loss, "health_factor_after": self.health_factor(),
            **({"trigger": "intrabar", "eth_usd_at_liquidation": eth_usd} if eth_usd is not None else {})})

    # -- orders ---------------------------------------------------------------------------------------
    def gas_units(self, operation: Operation) -> int:
        """Gas units of ``operation`` as a whole transaction (config)."""
        return self.params.gas_units.get(operation.value, 0)

    def gas_cost(self, operation: Operation) -> float:
        return self.gas.cost_usd(self.params.gas_units[operation.value])

    def withdrawable(self, token: str) -> float:
        return 0.0  # funds leave AAVE only through a withdraw or borrow order

    def _reject(self, order: Order, code: str, msg: str) -> Trade:
        return Trade(order, self.state.t, TradeStatus.REJECTED, error_code=code, error=msg)

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        out = []
        for o in orders:
            out.append(self._execute(o))
            self._read_step = -1  # the reserves may have changed
        return out

    def poll(self, now_ns: int) -> list:
        return []

    def _execute(self, order: Order) -> Trade:
        op, tok, a = order.operation, order.token, order.amount
        w = self.wallet
        if op in (Operation.SUPPLY, Operation.WITHDRAW) and tok not in self.index_keys:
            return self._reject(order, "VENUE-003", f"{self.name} has no {tok} supply in this run")
        if op in (Operation.BORROW, Operation.REPAY) and tok not in self.borrow_keys:
            return self._reject(order, "VENUE-003", f"{self.name} has no {tok} borrowing in this run")
        if op in (Operation.FLASH_BORROW, Operation.FLASH_REPAY) and order.execution_mode is not ExecutionMode.ATOMIC:
            return self._reject(order, "EXEC-003", "a flash loan must be a leg of an atomic group")
        cash = self.ledger.get(w, tok)
        pnl: tuple = ()
        if op is Operation.SUPPLY:
            if not within(a, cash):
                return self._reject(order, "VENUE-002", f"insufficient {tok} in {w}: supply {fmt_amounts(a, cash)}")
            a = min(a, cash)
            self.scaled[tok] += a / self._idx(tok)
            deltas = ((w, tok, -a),)
        elif op is Operation.WITHDRAW:
            bal = self.supplied(tok)
            if not within(a, bal):
                return self._reject(order, "VENUE-002", f"withdraw {tok} exceeds the aToken balance: {fmt_amounts(a, bal)}")
            a = min(a, bal)
            _, power, weighted, debt = self._totals(d_coll={tok: -a})
            if debt > 0 and weighted < debt * (1 - 1e-12):
                return self._reject(order, "VENUE-005",
                                    f"withdraw {a:.6f} {tok} would leave health factor {weighted / debt:.4f} < 1")
            self.scaled[tok] -= a / self._idx(tok)
            deltas = ((w, tok, a),)
        elif op is Operation.BORROW:
            coll, power, _, debt = self._totals(d_debt={tok: a})
            if debt > power * (1 + 1e-12):
                return self._reject(order, "VENUE-004",
                                    f"borrow {a:.6f} {tok} would exceed max LTV: debt {debt:,.2f} USD > borrowing "
                                    f"power {power:,.2f} USD (LTV {debt / coll if coll else INF:.4f})")
            self.scaled_debt[tok] += a / self._bidx(tok)
            deltas = ((w, tok, a),)
        elif op is Operation.REPAY:
            debt = self.borrowed(tok)
            a = min(a, debt)
            if not within(a, cash):
                return self._reject(order, "VENUE-002", f"insufficient {tok} in {w} to repay: {fmt_amounts(a, cash)}")
            a = min(a, cash)
            self.scaled_debt[tok] -= a / self._bidx(tok)
            if self.scaled_debt[tok] * self._bidx(tok) < 1e-12:
                self.scaled_debt[tok] = 0.0
            deltas = ((w, tok, -a),)
        elif op is Operation.FLASH_BORROW:
            if tok in self.flash_owed:
                return self._reject(order, "EXEC-003", f"a {tok} flash loan is already open")
            self.flash_owed[tok] = (a, a * (1 + self._fee))
            deltas = ((w, tok, a),)
        elif op is Operation.FLASH_REPAY:
            if tok not in self.flash_owed:
                return self._reject(order, "EXEC-003", f"no {tok} flash loan to repay")
            principal, owed = self.flash_owed[tok]
            if owed > cash * (1 + 1e-12) + 1e-9:
                return self._reject(order, "VENUE-002", f"flash loan repayment needs {owed:.6f} {tok}, wallet has {cash:.6f}")
            del self.flash_owed[tok]
            pnl = ((FLASH_FEES, self.name, -(owed - principal) * self.usd(tok)),)
            a = owed
            deltas = ((w, tok, -owed),)
        else:
            return self._reject(order, "VENUE-003", f"{self.name} cannot {op.value}")
        units = self.params.gas_units.get(op.value, 0)
        gas_usd = 0.0
        if order.execution_mode is not ExecutionMode.ATOMIC:
            gas_usd, gas_deltas, gas_pnl = self.gas.charge(w, self.name, units)
            deltas, pnl = deltas + gas_deltas, pnl + gas_pnl
        return Trade(order, self.state.t, TradeStatus.FILLED, executed_amount=a, price=1.0, fee=0.0, fee_currency=tok,
                     gas_usd=gas_usd, gas_units=units, deltas=deltas, pnl=pnl)

    def value_usd(self) -> float:
        v = (self._read if self._read_step == self.state.step else self._readings())[4]
        if self.flash_owed:
            for tok, (_, owed) in self.flash_owed.items():
                v -= owed * self.usd(tok)
        return v

    def account(self) -> AccountSnapshot:
        bal = {f"a{t}": self.supplied(t) for t, s in self.scaled.items() if s}
        bal.update({f"debt{t}": -self.borrowed(t) for t, s in self.scaled_debt.items() if s})
        return AccountSnapshot(self.name, bal, {}, self.value_usd())

    def checkpoint(self):
        prev = None if self._prev_index is None else dict(self._prev_index)  # updated in place by on_market
        return dict(self.scaled), dict(self.scaled_debt), dict(self.flash_owed), prev, dict(self._prev_borrow_index)

    def restore(self, cp) -> None:
        self.scaled, self.scaled_debt, self.flash_owed = dict(cp[0]), dict(cp[1]), dict(cp[2])
        self._read_step = -1
        self._prev_index = None if cp[3] is None else dict(cp[3])
        self._prev_borrow_index = dict(cp[4])

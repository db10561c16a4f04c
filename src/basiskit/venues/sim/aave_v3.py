"""Simulated AAVE v3 account (Ethereum core market): supply, withdraw, variable borrow, repay, flash
loans, health factor and liquidation.

Balances (AAVE v3 docs, "aTokens" and "Variable debt tokens"):

* supply of ``a`` units at step i stores the scaled balance ``a / liquidityIndex(t_i)``; the aToken
  balance at step j is ``scaled x liquidityIndex(t_j)``;
* variable debt: a borrow of ``a`` stores ``a / variableBorrowIndex(t_i)``; the debt at step j is
  ``scaled x variableBorrowIndex(t_j)``.

Indexes come from the catalog's daily snapshots, interpolated geometrically (``data.aave_index``).

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
from datetime import datetime, timezone

from basiskit.config.venues import AaveParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import BORROW_COST, FLASH_FEES, LENDING_INTEREST, LIQUIDATION, Attribution, Ledger
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.onchain_prices import ETH_USD_KEY, USDT, OnchainPrices

CLOSE_FACTOR = 0.5
CLOSE_FACTOR_HF_THRESHOLD = 0.95  # AAVE v3: below this HF the whole debt can be liquidated
INF = float("inf")


def _iso_ns(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) * 10**9


class AaveV3:
    def __init__(self, name: str, params: AaveParams, frame: MarketFrame, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, liquidity_index_keys: dict[str, str], borrow_index_keys: dict[str, str] | None = None,
                 prices: OnchainPrices | None = None, emode: bool = False, wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.wallet = wallet
        self.prices = prices
        self.grid_list = frame.grid.tolist()
        self.index = {tok: frame.series[k] for tok, k in liquidity_index_keys.items()}
        self.borrow_index = {tok: frame.series[k] for tok, k in (borrow_index_keys or {}).items()}
        self.scaled: dict[str, float] = {tok: 0.0 for tok in self.index}
        self.scaled_debt: dict[str, float] = {tok: 0.0 for tok in self.borrow_index}
        self.flash_owed: dict[str, tuple[float, float]] = {}  # token -> (principal, principal + premium)
        self._last_i = -1
        self._fee = params.flash_loan_fee_bps * 1e-4
        self._eth_hi = frame.highs.get(ETH_USD_KEY) if prices is not None else None
        self._eth_lo = frame.lows.get(ETH_USD_KEY) if prices is not None else None
        self.emode = emode
        self._emode_cat = None
        if emode:
            cats = {params.reserves[t].emode_category for t in (*self.index, *self.borrow_index) if t in params.reserves}
            cats.discard(None)
            if len(cats) != 1:
                raise ValueError(f"{name}: E-mode needs reserves of one category, got {sorted(map(str, cats))}")
            self._emode_cat = cats.pop()
            periods = params.emode_categories[self._emode_cat]
            self._emode_starts = [_iso_ns(p.start) for p in periods]
            self._emode_periods = periods
        attribution.bucket(name)

    # -- prices and risk ---------------------------------------------------------------------------
    def usd(self, token: str, i: int) -> float:
        return 1.0 if token == USDT else self.prices.usd(token, i)

    def _risk_params(self, token: str, i: int) -> tuple[float, float, float]:
        """(LTV, liquidation threshold, liquidation bonus) of ``token`` at step ``i``."""
        r = self.params.reserves[token]
        if self.emode and r.emode_category == self._emode_cat:
            k = bisect.bisect_right(self._emode_starts, self.grid_list[i]) - 1
            if k >= 0:
                p = self._emode_periods[k]
                return p.ltv, p.liquidation_threshold, p.liquidation_bonus
        return r.ltv, r.liquidation_threshold, r.liquidation_bonus

    def supplied(self, token: str, i: int) -> float:
        """aToken balance (token units) at step i."""
        return self.scaled[token] * self.index[token][i]

    def borrowed(self, token: str, i: int) -> float:
        """Variable debt (token units) at step i."""
        s = self.scaled_debt.get(token, 0.0)
        return s * self.borrow_index[token][i] if s else 0.0

    def _totals(self, i: int, d_coll: dict[str, float] | None = None, d_debt: dict[str, float] | None = None):
        """(collateral USD, borrowing power USD, LT-weighted collateral USD, debt USD) after hypothetical changes."""
        coll = power = weighted = debt = 0.0
        for tok, s in self.scaled.items():
            q = s * self.index[tok][i] + (d_coll or {}).get(tok, 0.0)
            if q > 0:
                v = q * self.usd(tok, i)
                ltv, lt, _ = self._risk_params(tok, i)
                coll += v
                power += v * ltv
                weighted += v * lt
        for tok, s in self.scaled_debt.items():
            q = s * self.borrow_index[tok][i] + (d_debt or {}).get(tok, 0.0)
            if q > 0:
                debt += q * self.usd(tok, i)
        return coll, power, weighted, debt

    def collateral_and_debt_usd(self, i: int) -> tuple[float, float]:
        """(supplied collateral USD, variable debt USD) at step i."""
        coll, _, _, debt = self._totals(i)
        return coll, debt

    def health_factor(self, i: int) -> float:
        """AAVE health factor at step i (inf without debt)."""
        _, _, weighted, debt = self._totals(i)
        return weighted / debt if debt > 0 else INF

    def ltv(self, i: int) -> float:
        """Current loan-to-value: debt / collateral value (0 without debt)."""
        coll, _, _, debt = self._totals(i)
        return debt / coll if coll > 0 else (INF if debt > 0 else 0.0)

    def risk_readings(self, i: int) -> tuple[float, float]:
        """(health factor, LTV) at step i from one pass over the reserves."""
        coll, _, weighted, debt = self._totals(i)
        if debt <= 0:
            return INF, 0.0
        return weighted / debt, (debt / coll if coll > 0 else INF)

    def max_ltv(self, token: str, i: int) -> float:
        return self._risk_params(token, i)[0]

    def liquidation_threshold(self, token: str, i: int) -> float:
        return self._risk_params(token, i)[1]

    def flash_fee_rate(self) -> float:
        return self._fee

    def open_flash(self) -> dict[str, float]:
        """Flash loans not yet repaid: token -> amount owed."""
        return {t: owed for t, (_, owed) in self.flash_owed.items()}

    def eth_exposure(self, i: int) -> float:
        """Net ETH held through this account (collateral - debt, ETH units, non-USDT reserves)."""
        p = self.prices
        if p is None:
            return 0.0
        x = 0.0
        for tok, s in self.scaled.items():
            if s and tok != USDT:
                x += s * self.index[tok][i] * p.eth(tok, i)
        for tok, s in self.scaled_debt.items():
            if s and tok != USDT:
                x -= s * self.borrow_index[tok][i] * p.eth(tok, i)
        return x

    # -- per step -------------------------------------------------------------------------------------
    def accrue(self, i: int) -> list[Event]:
        a = self._last_i
        self._last_i = i
        if a < 0 or a == i:
            return []
        attr = self.attr
        for tok, s in self.scaled.items():
            if s:
                idx = self.index[tok]
                q_prev = s * idx[a]
                interest = s * (idx[i] - idx[a])
                if interest:
                    attr.add(LENDING_INTEREST, self.name, interest * self.usd(tok, i))
                if tok != USDT:
                    self.prices.revalue(attr, self.name, tok, q_prev, a, i)
        for tok, s in self.scaled_debt.items():
            if s:
                idx = self.borrow_index[tok]
                d_prev = s * idx[a]
                growth = s * (idx[i] - idx[a])
                if growth:
                    attr.add(BORROW_COST, self.name, -growth * self.usd(tok, i))
                if tok != USDT:
                    self.prices.revalue(attr, self.name, tok, -d_prev, a, i)
        if self.scaled_debt and any(self.scaled_debt.values()):
            if self._eth_hi is not None:
                ev = self._check_intrabar(i, a)
                if ev is not None:
                    return [ev]
            hf = self.health_factor(i)
            if hf < 1.0:
                return [self._liquidate(i, hf)]
        return []

    def _hf_terms(self, i: int) -> tuple[float, float, float, float]:
        """(A, B, C, D) with HF(P) = (A P + B) / (C P + D) at ETH/USD price P: A, C the LT-weighted
        collateral and the debt of ETH-priced tokens in ETH, B, D those of USDT."""
        a = b = c = d = 0.0
        p = self.prices
        for tok, s in self.scaled.items():
            if s:
                q = s * self.index[tok][i] * self._risk_params(tok, i)[1]
                if tok == USDT:
                    b += q
                else:
                    a += q * p.eth(tok, i)
        for tok, s in self.scaled_debt.items():
            if s:
                q = s * self.borrow_index[tok][i]
                if tok == USDT:
                    d += q
                else:
                    c += q * p.eth(tok, i)
        return a, b, c, d

    def _check_intrabar(self, i: int, a: int) -> Event | None:
        hi = self._eth_hi[i]
        if hi != hi:  # NaN: no ETH/USD bar closed since the previous step
            return None
        ta, tb, tc, td = self._hf_terms(i)
        if not ((ta or tc) and (tb or td)):  # HF does not depend on ETH/USD
            return None
        p0 = self.prices.eth_usd[a]
        for x in (hi, self._eth_lo[i]):
            den = tc * x + td
            if den > 0 and (ta * x + tb) / den < 1.0:
                p_star = (td - tb) / (ta - tc) if ta != tc else x  # where HF = 1 between the open and x
                if not min(p0, x) <= p_star <= max(p0, x):
                    p_star = x
                return self._liquidate(i, 1.0 - 1e-12, eth_usd=p_star)
        return None

    def _liquidate(self, i: int, hf: float, eth_usd: float | None = None) -> Event:
        """One liquidation call (AAVE v3 LiquidationLogic): largest debt against largest collateral. With
        ``eth_usd`` the liquidator's amounts are set at that ETH/USD price (intrabar); the loss is booked at
        the step's prices."""
        debt_tok = max(self.scaled_debt, key=lambda t: self.borrowed(t, i) * self.usd(t, i))
        coll_tok = max(self.scaled, key=lambda t: self.supplied(t, i) * self.usd(t, i))
        close = 1.0 if hf < CLOSE_FACTOR_HF_THRESHOLD else CLOSE_FACTOR
        bonus = self._risk_params(coll_tok, i)[2]
        debt_units = self.borrowed(debt_tok, i)
        coll_units = self.supplied(coll_tok, i)
        deal = (lambda t: 1.0 if t == USDT else self.prices.eth(t, i) * eth_usd) if eth_usd is not None else (
            lambda t: self.usd(t, i))
        p_debt, p_coll = deal(debt_tok), deal(coll_tok)
        repaid = close * debt_units
        seized = repaid * p_debt * (1 + bonus) / p_coll
        if seized > coll_units:  # not enough collateral: seize it all, repay what it covers
            seized = coll_units
            repaid = seized * p_coll / ((1 + bonus) * p_debt)
        self.scaled_debt[debt_tok] -= repaid / self.borrow_index[debt_tok][i]
        self.scaled[coll_tok] -= seized / self.index[coll_tok][i]
        loss = seized * self.usd(coll_tok, i) - repaid * self.usd(debt_tok, i)  # at the step's valuation prices
        self.attr.add(LIQUIDATION, self.name, -loss)
        return Event(self.grid_list[i], self.name, "liquidation", {
            "health_factor": hf, "close_factor": close, "debt_token": debt_tok, "debt_repaid": repaid,
            "collateral_token": coll_tok, "collateral_seized": seized, "liquidation_bonus": bonus,
            "loss_usd": loss, "health_factor_after": self.health_factor(i),
            **({"trigger": "intrabar", "eth_usd_at_liquidation": eth_usd} if eth_usd is not None else {})})

    # -- orders ---------------------------------------------------------------------------------------
    def gas_units(self, operation: Operation) -> int:
        """Gas units of ``operation`` as a whole transaction (config)."""
        return self.params.gas_units.get(operation.value, 0)

    def gas_cost(self, operation: Operation, i: int) -> float:
        return self.gas.cost_usd(self.params.gas_units[operation.value], i)

    def withdrawable(self, token: str, i: int) -> float:
        return 0.0  # funds leave AAVE only through a withdraw or borrow order

    def _reject(self, order: Order, i: int, code: str, msg: str) -> Trade:
        return Trade(order, self.grid_list[i], TradeStatus.REJECTED, error_code=code, error=msg)

    def execute(self, order: Order, i: int) -> Trade:
        op, tok, a = order.operation, order.token, order.amount
        w = self.wallet
        if op in (Operation.SUPPLY, Operation.WITHDRAW) and tok not in self.index:
            return self._reject(order, i, "VENUE-001", f"{self.name} has no {tok} supply in this run")
        if op in (Operation.BORROW, Operation.REPAY) and tok not in self.borrow_index:
            return self._reject(order, i, "VENUE-001", f"{self.name} has no {tok} borrowing in this run")
        if op in (Operation.FLASH_BORROW, Operation.FLASH_REPAY) and order.execution_mode is not ExecutionMode.ATOMIC:
            return self._reject(order, i, "EXEC-003", "a flash loan must be a leg of an atomic group")
        cash = self.ledger.get(w, tok)
        deltas: dict[tuple[str, str], float] = {}
        if op is Operation.SUPPLY:
            if not within(a, cash):
                return self._reject(order, i, "VENUE-002", f"insufficient {tok} in {w}: supply {fmt_amounts(a, cash)}")
            a = min(a, cash)
            self.scaled[tok] += a / self.index[tok][i]
            self.ledger.add(w, tok, -a)
            deltas = {(self.name, f"a{tok}"): a, (w, tok): -a}
        elif op is Operation.WITHDRAW:
            bal = self.supplied(tok, i)
            if not within(a, bal):
                return self._reject(order, i, "VENUE-002", f"withdraw {tok} exceeds the aToken balance: {fmt_amounts(a, bal)}")
            a = min(a, bal)
            _, power, weighted, debt = self._totals(i, d_coll={tok: -a})
            if debt > 0 and weighted < debt * (1 - 1e-12):
                return self._reject(order, i, "VENUE-005",
                                    f"withdraw {a:.6f} {tok} would leave health factor {weighted / debt:.4f} < 1")
            self.scaled[tok] -= a / self.index[tok][i]
            self.ledger.add(w, tok, a)
            deltas = {(self.name, f"a{tok}"): -a, (w, tok): a}
        elif op is Operation.BORROW:
            coll, power, _, debt = self._totals(i, d_debt={tok: a})
            if debt > power * (1 + 1e-12):
                return self._reject(order, i, "VENUE-004",
                                    f"borrow {a:.6f} {tok} would exceed max LTV: debt {debt:,.2f} USD > borrowing "
                                    f"power {power:,.2f} USD (LTV {debt / coll if coll else INF:.4f})")
            self.scaled_debt[tok] += a / self.borrow_index[tok][i]
            self.ledger.add(w, tok, a)
            deltas = {(self.name, f"debt{tok}"): a, (w, tok): a}
        elif op is Operation.REPAY:
            debt = self.borrowed(tok, i)
            a = min(a, debt)
            if not within(a, cash):
                return self._reject(order, i, "VENUE-002", f"insufficient {tok} in {w} to repay: {fmt_amounts(a, cash)}")
            a = min(a, cash)
            self.scaled_debt[tok] -= a / self.borrow_index[tok][i]
            if self.scaled_debt[tok] * self.borrow_index[tok][i] < 1e-12:
                self.scaled_debt[tok] = 0.0
            self.ledger.add(w, tok, -a)
            deltas = {(self.name, f"debt{tok}"): -a, (w, tok): -a}
        elif op is Operation.FLASH_BORROW:
            if tok in self.flash_owed:
                return self._reject(order, i, "EXEC-003", f"a {tok} flash loan is already open")
            self.flash_owed[tok] = (a, a * (1 + self._fee))
            self.ledger.add(w, tok, a)
            deltas = {(w, tok): a}
        elif op is Operation.FLASH_REPAY:
            if tok not in self.flash_owed:
                return self._reject(order, i, "EXEC-003", f"no {tok} flash loan to repay")
            principal, owed = self.flash_owed[tok]
            if owed > cash * (1 + 1e-12) + 1e-9:
                return self._reject(order, i, "VENUE-002", f"flash loan repayment needs {owed:.6f} {tok}, wallet has {cash:.6f}")
            del self.flash_owed[tok]
            self.ledger.add(w, tok, -owed)
            self.attr.add(FLASH_FEES, self.name, -(owed - principal) * self.usd(tok, i))
            a = owed
            deltas = {(w, tok): -owed}
        else:
            return self._reject(order, i, "VENUE-001", f"{self.name} cannot {op.value}")
        units = self.params.gas_units.get(op.value, 0)
        gas_usd = 0.0
        if order.execution_mode is not ExecutionMode.ATOMIC:
            gas_usd = self.gas.pay(self.ledger, self.attr, w, self.name, units, i)
            deltas[(w, self.gas.pay_in)] = deltas.get((w, self.gas.pay_in), 0.0) - (gas_usd if self.gas.pay_in == USDT else
                                                                                     self.gas.cost_eth(units, i))
        return Trade(order, self.grid_list[i], TradeStatus.FILLED, executed_amount=a, price=1.0, fee=0.0, fee_currency=tok,
                     gas_usd=gas_usd, gas_units=units, position_deltas=deltas)

    def value_usd(self, i: int) -> float:
        v = 0.0
        for tok, s in self.scaled.items():
            if s:
                v += s * self.index[tok][i] * self.usd(tok, i)
        for tok, s in self.scaled_debt.items():
            if s:
                v -= s * self.borrow_index[tok][i] * self.usd(tok, i)
        for tok, (_, owed) in self.flash_owed.items():
            v -= owed * self.usd(tok, i)
        return v

    def state(self):
        return dict(self.scaled), dict(self.scaled_debt), dict(self.flash_owed), self._last_i

    def restore(self, state) -> None:
        self.scaled, self.scaled_debt, self.flash_owed, self._last_i = dict(state[0]), dict(state[1]), dict(state[2]), state[3]

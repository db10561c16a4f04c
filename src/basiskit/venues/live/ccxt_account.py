"""A live venue account (``binance.spot``, ``bybit.perp``, ...) through ccxt: the ``Venue`` protocol.

``CcxtAccount(name, cfg, session, ledger, attribution, tokens)`` is one account of one venue; the
venue's quirks are data (``LiveVenueConfig`` from ``venues/live/<venue>/venue.yaml``), the code is the
same for every venue. Like the simulators it never writes a balance: it reports what the venue did as
account events (``Trade``, ``FundingSettled``, ``OrderStatusChanged``, ``AccountChange``) that the
portfolio applies, and it writes only its own revaluation into its attribution bucket.

    on_market(tick)   reads the venue's prices (spot: the mid of the book ticker; perp: the mark
                      price), books the revaluation (``price_basis`` = holdings x price change) and
                      returns the funding settlements the venue booked since the last call
                      (``FundingSettled``; amount from the venue, rate and mark from its record where the
                      venue gives them, else rate = -amount / (size x mark))
    submit(orders)    one ``Trade`` per order. Market orders: sent with the order's client order id
                      (``newClientOrderId`` / ``orderLinkId`` / ``clOrdId``: ``client_order_id_param``),
                      waited for (``fill_timeout_s``), their fills read from the venue (price, amount,
                      fee) -> FILLED trade; a refusal -> REJECTED (``VENUE-002``, the venue's reason;
                      ``VENUE-003`` for an instrument or operation the account does not have; nothing
                      sent). Limit / stop / take-profit orders rest at the venue: submit returns their
                      ``OrderStatusChanged(accepted)`` (as a simulator's book does) or a REJECTED trade;
                      their fills come from ``poll``. A ``TRANSFER`` to another account of the same venue is an
                      internal transfer (filled at once); between the two sub-accounts of a unified venue account
                      (``unified_account``: spot and perp on one balance) it is bookkeeping only, no venue call
                      (``is_bookkeeping``); to another venue it is a withdrawal to the
                      configured address (``addresses``): the amount leaves now, what the network carries
                      (the amount less the venue's fee, booked ``fees``) goes to the ``transit`` account
                      (as the simulator's transfers do); ``poll`` reports the withdrawal's status changes
                      (``AccountChange(kind="withdrawal_status")``) and, once ``completed`` (on chain),
                      ``transfer_arrived`` moving it from ``transit`` to the destination account (that
                      venue may credit the deposit some confirmations later); a failed or cancelled
                      withdrawal comes back (``withdrawal_returned``).
    cancel(cid)       cancels a resting order by client order id
    poll(now_ns)      fills of resting orders (a ``Trade`` then ``OrderStatusChanged``), their
                      cancellations, withdrawal status changes
    account()         the venue's own balances and positions (a REST read: reconciliation). On a unified venue
                      the one balance is read (the perp's ``wallet_balance`` quirk): spot tokens are the spot
                      sub-account's, and a sub-account's quote is the venue's balance less what the ledger books
                      for its sibling (``venues.live.unified``): it equals the ledger's exactly when the SUM of the
                      two sub-accounts equals the venue's one balance
    value_usd()       USD(T) value at the last prices read: spot: sum balance x price; perp: wallet
                      balance + sum size x (mark - entry)
    withdrawable(tok) the venue's free balance (spot) or ``min(wallet, margin balance - 2 x maintenance)``
                      as the simulator bounds it (perp: the venue's ``free``)
    checkpoint/restore  the adapter's own marks and positions (an atomic group's rollback; a live venue
                      cannot undo a fill, so atomic groups of live orders are refused by the execution
                      manager's rules for resting orders)

A submission that times out or loses the connection is *not* resent blindly: the adapter asks the venue
for the client order id first and adopts what it finds (no duplicate orders), raising
``VenueUnavailable`` when the venue cannot be reached at all.

Units: amounts in token units, prices in quote (USDT) per base unit, times in ns (UTC; the venue's ms
times x 1e6). A contract market whose contract is not one base unit (ccxt's ``contractSize``: OKX swaps,
0.01 BTC) is traded in contracts at the venue: amounts sent are divided by it, fills and positions read
are multiplied by it. Errors: ``ConfigError`` (credentials refused), ``VenueUnavailable`` (network, after
retries); a venue's refusal is a rejected trade, never an exception.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from basiskit.domain.events import AccountChange, FundingSettled, MarketTick, OrderStatusChanged
from basiskit.domain.orders import Operation, Order, OrderType, Side
from basiskit.domain.portfolio import FEES, PRICE_BASIS, SLIPPAGE, Attribution, Ledger, Position
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.errors.exceptions import VenueUnavailable
from basiskit.venues.live.config import LiveVenueConfig
from basiskit.venues.live.session import CcxtSession, VenueRejected
from basiskit.venues.protocol import AccountSnapshot

NS_MS = 1_000_000
TRANSIT = "transit"  # the account of amounts on their way between venues (as venues.sim.transfer's)
_CLOSED = ("closed", "canceled", "cancelled", "expired", "rejected")


class CcxtAccount:
    """One live account (module docstring).

    Args:
        name: ``<venue>.spot`` or ``<venue>.perp``.
        cfg: the venue's quirks.
        session: the venue's ``CcxtSession`` (shared by its accounts).
        ledger, attribution: the run portfolio's (read only / own bucket), as for the simulators.
        tokens: base tokens traded on this account (USDT quoted).
        quote: the quote and collateral token.
    """

    def __init__(self, name: str, cfg: LiveVenueConfig, session: CcxtSession, ledger: Ledger,
                 attribution: Attribution, tokens: Sequence[str], quote: str = "USDT") -> None:
        self.name = name
        self.venue, self.kind = name.split(".")
        if self.kind not in cfg.accounts:
            raise ValueError(f"{name}: the venue config has no {self.kind!r} account ({sorted(cfg.accounts)})")
        self.cfg = cfg
        self.quirks = cfg.accounts[self.kind]
        self.session = session
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.tokens = list(tokens)
        self.perp = self.kind == "perp"
        self.shared = cfg.shared(self.kind)  # a sub-account of the venue's one unified account
        self.siblings = [f"{self.venue}.{k}" for k in cfg.accounts if k != self.kind and cfg.shared(k)]
        # a unified account is read once, through the perp's quirks (its wallet balance rows hold every coin)
        self._bal_quirks = cfg.accounts["perp"] if self.shared else self.quirks
        self.symbols = {tok: self.quirks.market.format(base=tok) for tok in self.tokens}
        self.positions: dict[str, Position] = {tok: Position() for tok in self.tokens} if self.perp else {}
        self._mark: dict[str, float] = {}
        self._bucket = attribution.bucket(name)
        self._now = 0
        self._funding_seen: set[str] = set()
        self._funding_since: int | None = None
        self._resting: dict[str, tuple[Order, str, float]] = {}  # cid -> (order, exchange id, amount)
        self._booked: dict[str, set[str]] = {}  # cid -> venue trade ids already reported
        self._withdrawals: dict[str, tuple[Order, str, float]] = {}  # id -> (order, last status, amount sent)
        self._loaded = False

    def __repr__(self) -> str:
        return f"CcxtAccount({self.name}, {self.cfg.ccxt_id}, tokens={self.tokens})"

    # -- market -----------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self._loaded:
            self.session.call("load_markets")
            self._loaded = True

    def _contract(self, sym: str) -> float:
        """Base units per contract of ``sym`` (1 for spot and for venues quoting swaps in base units)."""
        m = (getattr(self.session.client, "markets", None) or {}).get(sym) or {}
        return float(m.get("contractSize") or 1.0) if m.get("contract") else 1.0

    def _contracts(self, sym: str, amount: float) -> float:
        """``amount`` base units in contracts of ``sym``, rounded to 12 decimals so that a float quotient
        (0.01 / 0.1 = 0.09999999999999999) is not truncated a lot short by ccxt's amount precision."""
        ct = self._contract(sym)
        return amount if ct == 1.0 else round(amount / ct, 12)

    def lot(self, token: str):
        """The market's lot size as a ``domain.lots.LotSize`` from ccxt's markets (``precision.amount``: the
        amount step -- a step under ccxt's TICK_SIZE precision mode, a number of decimals otherwise;
        ``limits.amount.min``; ``limits.cost.min``), or None for a token this account does not trade or a
        market without an amount precision. Amounts in base units (a swap's contracts times its size)."""
        from basiskit.domain.lots import LotSize

        sym = self.symbols.get(token)
        if sym is None:
            return None
        self._load()
        client = self.session.client
        m = client.markets.get(sym) if client.markets else None
        prec = (m or {}).get("precision", {}).get("amount")
        if prec is None:
            return None
        import ccxt

        step = float(prec) if client.precisionMode == ccxt.TICK_SIZE else 10.0 ** -int(prec)
        limits = m.get("limits") or {}
        ct = self._contract(sym)  # a swap traded in contracts (OKX): its step and minimum in base units
        return LotSize(step * ct, float((limits.get("amount") or {}).get("min") or 0.0) * ct,
                       float((limits.get("cost") or {}).get("min") or 0.0))

    def _read_prices(self) -> dict[str, float]:
        self._load()
        syms = [self.symbols[t] for t in self.tokens]
        out = {}
        if self.perp:
            for tok in self.tokens:
                fr = self.session.call(self.cfg.mark_price_method, self.symbols[tok])
                out[tok] = float(fr["markPrice"])
        else:
            ba = self.session.call(self.cfg.spot_price_method, syms)
            for tok in self.tokens:
                row = ba[self.symbols[tok]]
                out[tok] = (float(row["bid"]) + float(row["ask"])) / 2.0
        return out

    def on_market(self, tick: MarketTick) -> list:
        """Prices, revaluation and funding settlements (module docstring)."""
        self._now = tick.timestamp
        prices = self._read_prices()
        events: list = self._funding() if self.perp else []
        for tok, p in prices.items():
            last = self._mark.get(tok)
            self._mark[tok] = p
            if last is None or p == last:
                continue
            qty = self.positions[tok].size if self.perp else self.ledger.get(self.name, tok)
            if qty:
                pnl = qty * (p - last)
                self.attr.total[PRICE_BASIS] += pnl
                self._bucket[PRICE_BASIS] += pnl
        return events

    def _funding(self) -> list:
        """Funding the venue booked since the last call (its ids seen once)."""
        rows = []
        for tok in self.tokens:
            rows += [(tok, r) for r in self.session.call("fetch_funding_history", self.symbols[tok],
                                                         self._funding_since)]
        out = []
        fq = self.cfg.funding
        for tok, r in sorted(rows, key=lambda x: (x[1]["timestamp"], str(x[1]["id"]))):
            rid = f"{tok}:{r['id']}:{r['timestamp']}"
            if rid in self._funding_seen:
                continue
            self._funding_seen.add(rid)
            amount = fq.amount_sign * float(r["amount"])
            size = self.positions[tok].size
            info = r.get("info") or {}
            mark = float(info[fq.mark_field]) if fq.mark_field and info.get(fq.mark_field) else self._mark.get(tok, math.nan)
            if fq.rate_field and info.get(fq.rate_field) not in (None, ""):
                rate = float(info[fq.rate_field])
            else:
                rate = -amount / (size * mark) if size and mark == mark else 0.0
            out.append(FundingSettled(int(r["timestamp"]) * NS_MS, self.name, tok, rate, mark, size, amount, self.quote))
            self._funding_since = int(r["timestamp"])
        return out

    # -- orders -----------------------------------------------------------------------------------
    def submit(self, orders: Sequence[Order]) -> list:
        return [self._execute(o) for o in orders]

    def _reject(self, order: Order, code: str, why: str) -> Trade:
        return Trade(order, self._now, TradeStatus.REJECTED, error_code=code, error=why)

    def _execute(self, order: Order) -> Trade | OrderStatusChanged:
        if order.operation is Operation.TRANSFER:
            return self._transfer(order)
        want = Operation.PERP_TRADE if self.perp else Operation.SPOT_TRADE
        if order.operation is not want or order.token not in self.symbols or order.quote != self.quote:
            return self._reject(order, "VENUE-003", f"{self.name} cannot {order.operation.value} {order.token}")
        if not order.client_order_id:
            return self._reject(order, "VENUE-002", "a live order needs a client order id (the engine assigns one)")
        self._load()
        sym = self.symbols[order.token]
        typ = {OrderType.MARKET: "market", OrderType.LIMIT: "limit"}.get(order.order_type, "market")
        params: dict[str, Any] = {self.cfg.client_order_id_param: order.client_order_id}
        if order.order_type is OrderType.STOP:
            params["triggerPrice"] = order.stop_price
            # a stop buy waits for the price to rise to it, a stop sell for it to fall
            params.update(self.quirks.stop_direction_params.get(order.side.value, {}))
        elif order.order_type is OrderType.TAKE_PROFIT:
            params["takeProfitPrice"] = order.stop_price
        if order.reduce_only:
            params["reduceOnly"] = True
        if order.order_type is OrderType.MARKET and order.side is Side.BUY:
            params.update(self.quirks.market_buy_params)
        try:
            placed = self._send(order, sym, typ, params)
        except VenueRejected as e:
            return self._reject(order, "VENUE-002", e.args[0])
        if order.resting:
            self._resting[order.client_order_id] = (order, str(placed["id"]), order.amount)
            return OrderStatusChanged(self._now, self.name, order.client_order_id, "accepted",
                                      f"resting at {self.name} as order {placed['id']}")
        return self._settle(order, sym, placed)

    def _send(self, order: Order, sym: str, typ: str, params: dict) -> dict:
        """Create the order; after a lost answer, look the client id up before sending again."""
        cid = order.client_order_id
        price = order.limit_price if order.order_type is OrderType.LIMIT else None
        for attempt in range(self.session.attempts):
            try:
                return self.session.call("create_order", sym, typ, order.side.value,
                                         self._contracts(sym, order.amount), price, params, retry=False)
            except VenueUnavailable:
                found = self._by_client_id(sym, cid)
                if found is not None:
                    return found
                time.sleep(min(5.0, 0.2 * 2 ** attempt))
        raise VenueUnavailable(f"{self.name}: could not submit {cid} (the venue does not answer)")

    def _by_client_id(self, sym: str, cid: str) -> dict | None:
        params = {**self.cfg.fetch_order_params, self.cfg.client_id_lookup_param: cid}
        for method in self.cfg.client_lookup:
            try:
                if method.endswith("orders"):  # a listing filtered by the client id
                    rows = self.session.call(method, sym, None, None, dict(params))
                    found = [o for o in rows if o.get("clientOrderId") == cid]
                    if found:
                        return found[0]
                else:
                    return self.session.call(method, None, sym, dict(params))
            except VenueRejected:
                continue
        return None

    def _settle(self, order: Order, sym: str, placed: dict) -> Trade:
        """Wait for a market order to end and book its fills."""
        oid = str(placed["id"])
        status = placed.get("status")
        deadline = time.monotonic() + self.cfg.fill_timeout_s
        o = placed
        while status not in _CLOSED:
            o = self._fetch_order(oid, sym)
            status = o.get("status")
            if status in _CLOSED or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        fills = self._fills(sym, oid, o)
        if not fills:
            return self._reject(order, "VENUE-002", f"{self.name}: order {oid} ended {status} without a fill")
        return self._trade(order, fills, o.get("lastTradeTimestamp") or o.get("timestamp"))

    def _fetch_order(self, oid: str, sym: str, params: dict | None = None) -> dict:
        """One order by exchange id (or by the client id in ``params``), through the venue's
        ``order_lookup`` methods in turn. Raises VenueRejected when none finds it."""
        err: VenueRejected | None = None
        for method in self.cfg.order_lookup:
            try:
                return self.session.call(method, oid, sym, {**self.cfg.fetch_order_params, **(params or {})})
            except VenueRejected as e:
                err = e
        raise err  # type: ignore[misc]

    def _fills(self, sym: str, oid: str, o: dict) -> list[dict]:
        trades = [t for t in (o.get("trades") or []) if t.get("amount")]
        if trades and math.isclose(sum(float(t["amount"]) for t in trades), float(o.get("filled") or 0.0),
                                   rel_tol=1e-12):
            return trades
        since = o.get("timestamp")
        params = {self.cfg.trades_order_param: oid} if self.cfg.trades_order_param else {}
        rows = self.session.call("fetch_my_trades", sym, since, None, params)
        return [t for t in rows if str(t.get("order")) == oid]

    def _trade(self, order: Order, fills: list[dict], order_ms: int | None = None) -> Trade:
        tok = order.token
        ct = self._contract(self.symbols[tok])
        if ct != 1.0:  # contracts -> base units
            fills = [{**f, "amount": float(f["amount"]) * ct} for f in fills]
        q = sum(float(f["amount"]) for f in fills)
        notional = sum(float(f["amount"]) * float(f["price"]) for f in fills)
        fee_quote = fee_base = 0.0
        for f in fills:
            fee = f.get("fee") or {}
            cost = float(fee.get("cost") or 0.0)
            if fee.get("currency") == tok:
                fee_base += cost
            else:
                fee_quote += cost
        px = notional / q
        ref = self._mark.get(tok, px)
        ts = max(int(f.get("timestamp") or order_ms or 0) for f in fills) * NS_MS
        fee_usd = fee_quote + fee_base * px
        buy = order.side is Side.BUY
        d = q if buy else -q
        if self.perp:
            realised = 0.0
            for f in fills:
                a = float(f["amount"])
                realised += self.positions[tok].apply_fill(a if buy else -a, float(f["price"]))
            deltas = ((self.name, self.quote, realised - fee_quote),)
        else:
            deltas = ((self.name, tok, d - fee_base), (self.name, self.quote, -d * px - fee_quote))
        pnl = ((SLIPPAGE, self.name, d * (ref - px)), (FEES, self.name, -fee_usd))
        return Trade(order, ts, TradeStatus.FILLED, executed_amount=q, price=px, fee=fee_quote + fee_base,
                     fee_currency=self.quote if not fee_base else tok, deltas=deltas, pnl=pnl)

    def cancel(self, client_order_id: str) -> list:
        """Cancel a resting order; returns its ``OrderStatusChanged`` (or a rejection's reason)."""
        order, oid, _ = self._resting[client_order_id]
        trig = self.cfg.trigger_params if self.perp and order.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT) else {}
        try:
            self.session.call("cancel_order", oid, self.symbols[order.token], dict(trig))
        except VenueRejected as e:
            return [OrderStatusChanged(self._now, self.name, client_order_id, "rejected", e.args[0])]
        del self._resting[client_order_id]
        return [OrderStatusChanged(self._now, self.name, client_order_id, "cancelled", "cancelled on request")]

    # -- transfers --------------------------------------------------------------------------------
    def is_bookkeeping(self, order: Order) -> bool:
        """Whether ``order`` is a transfer between two sub-accounts of the venue's one unified account
        (nothing moves at the venue)."""
        return order.operation is Operation.TRANSFER and self.shared and (order.to_venue or "") in self.siblings

    def _transfer(self, order: Order) -> Trade:
        dest = order.to_venue or ""
        venue, _, kind = dest.partition(".")
        if self.is_bookkeeping(order):  # one venue balance: the split between the sub-accounts is the session's
            if not order.amount > 0:
                return self._reject(order, "VENUE-002", f"transfer amount must be positive, got {order.amount}")
            return Trade(order, self._now, TradeStatus.FILLED, executed_amount=order.amount,
                         deltas=((self.name, order.token, -order.amount), (dest, order.token, order.amount)))
        if venue == self.venue and kind in self.cfg.accounts:
            try:
                self.session.call("transfer", order.token, order.amount, self.quirks.transfer_account,
                                  self.cfg.accounts[kind].transfer_account, retry=False)
            except VenueRejected as e:
                return self._reject(order, "VENUE-002", e.args[0])
            return Trade(order, self._now, TradeStatus.FILLED, executed_amount=order.amount,
                         deltas=((self.name, order.token, -order.amount), (dest, order.token, order.amount)))
        address = self.cfg.addresses.get(dest, {}).get(order.token)
        if not address:
            return self._reject(order, "VENUE-003", f"no {order.token} deposit address configured for {dest!r} "
                                f"(venues.{self.venue}.addresses.{dest}.{order.token})")
        src = self.cfg.withdraw_from
        if src is not None and src != self.kind and src in self.cfg.accounts and not (self.shared and self.cfg.shared(src)):
            try:  # the venue withdraws from its spot wallet: the amount goes there first
                self.session.call("transfer", order.token, order.amount, self.quirks.transfer_account,
                                  self.cfg.accounts[src].transfer_account, retry=False)
            except VenueRejected as e:
                return self._reject(order, "VENUE-002", e.args[0])
        try:
            w = self.session.call("withdraw", order.token, order.amount, address,
                                  params={"network": self.cfg.withdraw_network}, retry=False)
        except VenueRejected as e:
            return self._reject(order, "VENUE-002", e.args[0])
        wid = str(w["id"])
        rec = next((x for x in self.session.call("fetch_withdrawals", order.token) if str(x["id"]) == wid), w)
        fee = float(((rec.get("fee") or {}).get("cost")) or 0.0)
        sent = float(rec.get("amount") or order.amount - fee)  # what the network carries (the fee stays behind)
        self._withdrawals[wid] = (order, "pending", sent)
        return Trade(order, self._now, TradeStatus.FILLED, executed_amount=order.amount, fee=fee,
                     fee_currency=order.token,
                     deltas=((self.name, order.token, -order.amount), (TRANSIT, order.token, sent)),
                     pnl=((FEES, self.name, -fee * self._usd(order.token)),) if fee else ())

    def _usd(self, token: str) -> float:
        """USD(T) per unit of ``token`` (1 for the quote, else the last price read)."""
        return 1.0 if token == self.quote else self._mark.get(token, 0.0)

    # -- later events -----------------------------------------------------------------------------
    def poll(self, now_ns: int) -> list:
        """Fills and cancellations of resting orders, withdrawal statuses (module docstring)."""
        events: list = []
        for cid, (order, oid, _) in list(self._resting.items()):
            sym = self.symbols[order.token]
            trig = self.cfg.trigger_params if self.perp and order.order_type in (OrderType.STOP,
                                                                                 OrderType.TAKE_PROFIT) else {}
            o = self._fetch_order(oid, sym, trig)
            filled = float(o.get("filled") or 0.0)
            fill_oid = str((o.get("info") or {}).get("actualOrderId") or oid)
            booked = self._booked.setdefault(cid, set())
            if filled > 0.0:
                new = [f for f in self._fills(sym, fill_oid, {"timestamp": o.get("timestamp")})
                       if str(f.get("id")) not in booked]
                if new:
                    booked.update(str(f.get("id")) for f in new)
                    tr = self._trade(order, new)
                    events.append(tr)
                    events.append(OrderStatusChanged(tr.timestamp, self.name, cid,
                                                     "filled" if o.get("status") == "closed" else "partially_filled",
                                                     quantity=tr.executed_amount, price=tr.price))
            if o.get("status") in _CLOSED:
                if o.get("status") != "closed":
                    events.append(OrderStatusChanged(now_ns, self.name, cid, "cancelled", str(o.get("status"))))
                del self._resting[cid]
                self._booked.pop(cid, None)
        if self._withdrawals:
            for w in self.session.call("fetch_withdrawals"):
                wid = str(w["id"])
                if wid in self._withdrawals:
                    order, last, sent = self._withdrawals[wid]
                    status = "completed" if w.get("status") == "ok" else str(w.get("status") or "pending")
                    if status != last:
                        events.append(AccountChange(now_ns, self.name, "withdrawal_status",
                                                    data={"id": wid, "status": status, "txid": w.get("txid"),
                                                          "client_order_id": order.client_order_id}))
                        self._withdrawals[wid] = (order, status, sent)
                    if status == "completed":  # on chain: the amount leaves transit for its destination
                        events.append(AccountChange(now_ns, TRANSIT, "transfer_arrived",
                                                    deltas=((TRANSIT, order.token, -sent),
                                                            (order.to_venue, order.token, sent)),
                                                    data={"id": wid, "from": self.name, "to": order.to_venue,
                                                          "token": order.token, "amount": sent,
                                                          "client_order_id": order.client_order_id}))
                    elif status in ("failed", "canceled"):  # the venue gives it back (fee included)
                        events.append(AccountChange(now_ns, self.name, "withdrawal_returned",
                                                    deltas=((TRANSIT, order.token, -sent),
                                                            (self.name, order.token, sent)),
                                                    data={"id": wid, "status": status}))
                    if status in ("completed", "failed", "canceled"):
                        del self._withdrawals[wid]
        return events

    # -- reading ----------------------------------------------------------------------------------
    def _venue_balances(self) -> tuple[dict[str, float], dict]:
        b = self.session.call("fetch_balance", dict(self._bal_quirks.balance_params))
        wb = self._bal_quirks.wallet_balance
        if wb is None:
            return {k: float(v) for k, v in (b.get("total") or {}).items() if v}, b
        rows: Any = b.get("info")
        for k in wb.path:
            rows = rows[k]
        return {r[wb.key]: float(r[wb.field]) for r in rows if r.get(wb.field) not in (None, "") and float(r[wb.field])}, b

    def positions_at_venue(self) -> dict[str, tuple[float, float]]:
        """The venue's perp positions: token -> (signed size in base units, entry price); {} for spot."""
        positions: dict[str, tuple[float, float]] = {}
        if self.perp:
            rows = [p for t in self.tokens for p in self.session.call("fetch_positions", [self.symbols[t]])]
            for p in rows:
                tok = next((t for t, s in self.symbols.items() if s == p["symbol"]), None)
                size = float(p.get("contracts") or 0.0) * (1 if p.get("side") == "long" else -1) * \
                    self._contract(p["symbol"])
                if tok and size:
                    positions[tok] = (size, float(p["entryPrice"]))
        return positions

    def venue_balance(self) -> dict[str, float]:
        """The venue account's balances (token -> units; a perp's: the wallet balance, without unrealised
        PnL). On a unified venue: the ONE account both sub-accounts share (spot tokens and the quote)."""
        return self._venue_balances()[0]

    def account(self) -> AccountSnapshot:
        """The venue's own balances and positions (REST reads), valued at the adapter's last prices
        (module docstring for a unified venue's sub-accounts)."""
        bal, _ = self._venue_balances()
        positions = self.positions_at_venue()
        if self.shared:
            from basiskit.venues.live.unified import partition

            total = bal.pop(self.quote, 0.0)
            bal = {} if self.perp else dict(bal)  # every coin but the quote is held by the spot sub-account
            booked = {a: self.ledger.get(a, self.quote) for a in self.siblings} | {self.name: 0.0}
            share = partition(total, booked, self.name)[self.name]
            if share:
                bal[self.quote] = share
        value = bal.get(self.quote, 0.0)
        if self.perp:
            value += sum(s * (self._mark.get(t, e) - e) for t, (s, e) in positions.items())
        else:
            value += sum(v * self._mark.get(t, 0.0) for t, v in bal.items() if t != self.quote)
        return AccountSnapshot(self.name, bal, positions, value)

    def adopt(self) -> AccountSnapshot:
        """Recovery: take the venue's positions as the adapter's own (size, entry) and return the
        venue's snapshot, so the caller can seed the portfolio with its balances and positions (the
        adapter never writes them). Call before the first ``on_market`` of a session."""
        snap = self.account()
        for tok, pos in self.positions.items():
            pos.size, pos.entry = snap.positions.get(tok, (0.0, 0.0))
        if self.perp:  # funding already in the adopted balance is not reported again
            self._funding()
        return snap

    def value_usd(self) -> float:
        cash = self.ledger.get(self.name, self.quote)
        if self.perp:
            return cash + sum(p.size * (self._mark.get(t, p.entry) - p.entry) for t, p in self.positions.items() if p.size)
        return cash + sum(self.ledger.get(self.name, t) * self._mark.get(t, 0.0) for t in self.tokens)

    def withdrawable(self, token: str) -> float:
        if self.perp and token != self.quote:
            return 0.0
        b = self.session.call("fetch_balance", dict(self._bal_quirks.balance_params))
        free = max(0.0, float((b.get("free") or {}).get(token) or 0.0))
        if self.shared and token == self.quote:  # the venue's free balance, up to this sub-account's booked share
            return min(free, max(0.0, self.ledger.get(self.name, token)))
        return free

    def mark_price(self, token: str) -> float:
        return self._mark[token]

    def checkpoint(self):
        return dict(self._mark), {t: (p.size, p.entry) for t, p in self.positions.items()}

    def restore(self, cp) -> None:
        marks, pos = cp
        self._mark = dict(marks)
        for t, (size, entry) in pos.items():
            self.positions[t].size, self.positions[t].entry = size, entry

    def close(self) -> None:
        self.session.close()

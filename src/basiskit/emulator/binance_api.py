"""The Binance dialect of the emulator: spot (``/api/v3``), USDT-M futures (``/fapi``), wallet
(``/sapi``) REST endpoints and the market websocket streams, under ``/binance`` on the emulator.

Served (what ccxt's ``binance`` class calls for the adapters and the feed; shapes from
https://developers.binance.com/docs):

    public   GET  /api/v3/{ping,time,exchangeInfo,ticker/bookTicker,ticker/price,klines}
             GET  /fapi/v1/{ping,time,exchangeInfo,ticker/bookTicker,klines,markPriceKlines,premiumIndex,fundingRate}
    signed   GET  /api/v3/account                     spot balances
             POST|GET|DELETE /api/v3/order            create (newClientOrderId) / query / cancel
             GET  /api/v3/{openOrders,allOrders,myTrades}
             GET  /fapi/v3/account, /fapi/v2/account   futures wallet (walletBalance, marginBalance, ...)
             GET  /fapi/v3/positionRisk, /fapi/v2/positionRisk, /fapi/v1/leverageBracket
             POST|GET|DELETE /fapi/v1/order; GET /fapi/v1/{openOrders,allOrders,userTrades,income}
             POST|GET|DELETE /fapi/v1/algoOrder (conditional STOP_MARKET / TAKE_PROFIT_MARKET, clientAlgoId),
                  GET /fapi/v1/openAlgoOrders
             POST|GET /sapi/v1/asset/transfer         MAIN_UMFUTURE / UMFUTURE_MAIN
             POST /sapi/v1/capital/withdraw/apply; GET /sapi/v1/capital/withdraw/history,
                  /sapi/v1/capital/deposit/hisrec
    streams  WS   /binance/stream/ws/{n} (spot), /binance/fstream[/public|/market]/ws/{n} (futures): SUBSCRIBE to
                  ``<sym>@bookTicker``, ``<sym>@kline_<i>``, ``<sym>@markPrice[@1s]``

Order types: MARKET, LIMIT, STOP_LOSS / STOP_MARKET (stop-market), TAKE_PROFIT / TAKE_PROFIT_MARKET;
anything else is refused with ``-1116 Invalid orderType.``. Errors as Binance answers them:
``{"code": -2010, "msg": "Account has insufficient balance for requested action."}`` (HTTP 400), ``-2019``
(margin), ``-1121`` (symbol), ``-2013`` (order), ``-2011`` (cancel), ``-1022`` / ``-2015`` (signature / key).
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import web

from basiskit.domain.order_state import OrderStatus
from basiskit.emulator.auth import binance_check
from basiskit.emulator.replay import EmuOrder, Rejected

NS_MS = 1_000_000
STATUS = {OrderStatus.SUBMITTED: "NEW", OrderStatus.ACCEPTED: "NEW", OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
          OrderStatus.FILLED: "FILLED", OrderStatus.CANCELLED: "CANCELED", OrderStatus.REJECTED: "REJECTED",
          OrderStatus.EXPIRED: "EXPIRED", OrderStatus.INITIALISED: "NEW"}
TYPES_IN = {"MARKET": "market", "LIMIT": "limit", "STOP_LOSS": "stop", "STOP_MARKET": "stop", "STOP": "stop",
            "TAKE_PROFIT": "take_profit", "TAKE_PROFIT_MARKET": "take_profit"}
NETWORKS = {"TRX": "TRC20", "ETH": "ERC20", "BSC": "BEP20"}   # Binance's network ids -> basiskit's names
NETWORK_IDS = {v: k for k, v in NETWORKS.items()}
INTERVALS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200, "1d": 86400}
ERRORS = {"insufficient_balance": (-2010, "Account has insufficient balance for requested action."),
          "insufficient_margin": (-2019, "Margin is insufficient."),
          "unknown_symbol": (-1121, "Invalid symbol."),
          "unknown_order": (-2013, "Order does not exist."),
          "order_closed": (-2011, "Unknown order sent."),
          "duplicate_client_id": (-2010, "Duplicate order sent."),
          "stale_price": (-2010, "Order would immediately trigger: no traded price (market data gap)."),
          "lot_size": (-1013, "Filter failure: LOT_SIZE / NOTIONAL."),
          "bad_request": (-1102, "Mandatory parameter was not sent, was empty/null, or malformed.")}


def s(x: float) -> str:
    """A float as Binance writes numbers: a plain decimal string, every digit of the float kept."""
    return format(Decimal(repr(float(x))), "f")


def _err(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _rejected(e: Rejected) -> web.Response:
    code, msg = ERRORS.get(e.code, ERRORS["bad_request"])
    if e.code == "bad_request":
        msg = f"{msg} {e.reason}"
    return _err(400, code, msg)


class BinanceApi:
    """Routes of the Binance dialect on ``emu`` (an ``server.Emulator``: replay, keys, streams)."""

    def __init__(self, emu) -> None:
        self.emu = emu
        self.r = emu.replay

    # -- helpers ------------------------------------------------------------------------------------
    def _account(self, request: web.Request) -> str:
        return "binance.perp" if request.path.startswith("/binance/fapi") else "binance.spot"

    def _symbol(self, account: str, sym: str | None) -> str:
        if not sym or not sym.endswith("USDT") or sym[:-4] not in self.r.tokens(account):
            raise Rejected("unknown_symbol", f"no symbol {sym}")
        return sym[:-4]

    async def _signed(self, request: web.Request) -> dict | web.Response:
        payload = request.query_string if request.method in ("GET", "DELETE") else (await request.text())
        bad = binance_check(self.emu.keys, request.headers.get("X-MBX-APIKEY"), payload)
        if bad is not None:
            return _err(*bad)
        return dict(parse_qsl(payload.rpartition("&signature=")[0], keep_blank_values=True))

    def routes(self) -> list:
        g, p, d = web.get, web.post, web.delete
        pub = self._public
        out = [g("/binance/api/v3/ping", pub(lambda q, a: {})), g("/binance/fapi/v1/ping", pub(lambda q, a: {})),
               g("/binance/api/v3/time", pub(self.time)), g("/binance/fapi/v1/time", pub(self.time)),
               g("/binance/api/v3/exchangeInfo", pub(self.exchange_info)),
               g("/binance/fapi/v1/exchangeInfo", pub(self.exchange_info)),
               g("/binance/api/v3/ticker/bookTicker", pub(self.book_ticker)),
               g("/binance/fapi/v1/ticker/bookTicker", pub(self.book_ticker)),
               g("/binance/api/v3/ticker/price", pub(self.price_ticker)),
               g("/binance/fapi/v1/ticker/price", pub(self.price_ticker)),
               g("/binance/api/v3/klines", pub(self.klines)), g("/binance/fapi/v1/klines", pub(self.klines)),
               g("/binance/fapi/v1/markPriceKlines", pub(self.klines)),
               g("/binance/fapi/v1/premiumIndex", pub(self.premium_index)),
               g("/binance/fapi/v1/fundingRate", pub(self.funding_rate))]
        sig = self._private
        for base in ("/binance/api/v3", "/binance/fapi/v1"):
            out += [p(f"{base}/order", sig(self.create_order)), g(f"{base}/order", sig(self.get_order)),
                    d(f"{base}/order", sig(self.cancel_order)), g(f"{base}/openOrders", sig(self.open_orders)),
                    g(f"{base}/allOrders", sig(self.all_orders))]
        out += [p("/binance/fapi/v1/algoOrder", sig(self.create_algo)), g("/binance/fapi/v1/algoOrder", sig(self.get_algo)),
                d("/binance/fapi/v1/algoOrder", sig(self.cancel_algo)),
                g("/binance/fapi/v1/openAlgoOrders", sig(self.open_algos)),
                g("/binance/api/v3/account", sig(self.spot_account)), g("/binance/api/v3/myTrades", sig(self.my_trades)),
                g("/binance/fapi/v1/userTrades", sig(self.my_trades)), g("/binance/fapi/v1/income", sig(self.income)),
                g("/binance/fapi/v2/account", sig(self.futures_account)),
                g("/binance/fapi/v3/account", sig(self.futures_account)),
                g("/binance/fapi/v2/positionRisk", sig(self.position_risk)),
                g("/binance/fapi/v3/positionRisk", sig(self.position_risk)),
                g("/binance/fapi/v1/leverageBracket", sig(self.leverage_bracket)),
                p("/binance/sapi/v1/asset/transfer", sig(self.transfer)),
                g("/binance/sapi/v1/asset/transfer", sig(self.transfers)),
                p("/binance/sapi/v1/capital/withdraw/apply", sig(self.withdraw)),
                g("/binance/sapi/v1/capital/withdraw/history", sig(self.withdrawals)),
                g("/binance/sapi/v1/capital/deposit/hisrec", sig(self.deposits)),
                g("/binance/stream/ws/{n}", self.emu.streams.binance_ws),
                g("/binance/fstream/ws/{n}", self.emu.streams.binance_ws),
                # ccxt routes futures streams by kind (Binance's /public, /market, /private endpoints)
                *[g(f"/binance/fstream/{kind}/ws/{{n}}", self.emu.streams.binance_ws)
                  for kind in ("public", "market", "private")]]
        return out

    def _public(self, fn):
        async def handler(request: web.Request) -> web.Response:
            self.emu.tick()
            try:
                return web.json_response(fn(dict(request.query), self._account(request)))
            except Rejected as e:
                return _rejected(e)
        return handler

    def _private(self, fn):
        async def handler(request: web.Request) -> web.Response:
            q = await self._signed(request)
            if isinstance(q, web.Response):
                return q
            self.emu.tick()
            try:
                return web.json_response(fn(q, self._account(request)))
            except Rejected as e:
                return _rejected(e)
            except (KeyError, ValueError) as e:
                return _err(400, -1102, f"Mandatory parameter was not sent, was empty/null, or malformed: {e}")
        return handler

    # -- public -------------------------------------------------------------------------------------
    def time(self, q, acc) -> dict:
        return {"serverTime": self.r.t // NS_MS}

    def _tick_tokens(self, acc) -> list[str]:
        return self.emu.ticks.tokens(acc) if self.emu.ticks is not None else []

    def exchange_info(self, q, acc) -> dict:
        symbols = []
        for tok in self.r.tokens(acc) + self._tick_tokens(acc):
            lot = getattr(self.r, "lot_step", None) or "0.00001"
            min_qty, min_notional = lot, "5"
            venue_lot = self.r.market_lot(acc, tok) if hasattr(self.r, "market_lot") else None
            if venue_lot is not None:  # Replay(venue_lots=True): the venue config's lot size
                lot, min_qty, min_notional = venue_lot
            qty_precision = len(lot.split(".")[1]) if "." in lot else 0
            filters = [{"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "10000000", "tickSize": "0.01"},
                       {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000", "stepSize": lot},
                       {"filterType": "MARKET_LOT_SIZE", "minQty": min_qty, "maxQty": "9000", "stepSize": lot},
                       {"filterType": "NOTIONAL" if acc.endswith("spot") else "MIN_NOTIONAL",
                        "minNotional": min_notional, "notional": min_notional}]
            m = {"symbol": f"{tok}USDT", "status": "TRADING", "baseAsset": tok, "quoteAsset": "USDT",
                 "baseAssetPrecision": max(8, qty_precision), "quotePrecision": 8, "quoteAssetPrecision": 8, "filters": filters,
                 "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS", "TAKE_PROFIT"]}
            if acc.endswith("spot"):
                m.update(isSpotTradingAllowed=True, isMarginTradingAllowed=False, permissions=["SPOT"],
                         permissionSets=[["SPOT"]])
            else:
                m.update(pair=f"{tok}USDT", contractType="PERPETUAL", deliveryDate=4133404800000,
                         onboardDate=1569398400000, contractStatus="TRADING", marginAsset="USDT", pricePrecision=2,
                         quantityPrecision=qty_precision, underlyingType="COIN", settlePlan=0, triggerProtect="0.0500",
                         orderTypes=["LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
                         timeInForce=["GTC", "IOC", "FOK"], liquidationFee="0.012500", marketTakeBound="0.05")
            symbols.append(m)
        return {"timezone": "UTC", "serverTime": self.r.t // NS_MS, "rateLimits": [], "exchangeFilters": [],
                "assets": [{"asset": "USDT", "marginAvailable": True}], "symbols": symbols}

    def _tokens(self, acc, q) -> list[str]:
        if q.get("symbols"):
            return [self._symbol(acc, sym) for sym in json.loads(q["symbols"])]
        return [self._symbol(acc, q["symbol"])] if q.get("symbol") else self.r.tokens(acc)

    def book_ticker(self, q, acc):
        ticks = self._tick_tokens(acc)
        sym = q.get("symbol") or ""
        if sym.removesuffix("USDT") in ticks:  # a recorded tick stream: its last update sent
            t = self.emu.ticks.latest(acc, sym.removesuffix("USDT"))
            if t is None:
                raise Rejected("unknown_symbol", f"{sym}: no update replayed yet")
            return json.loads(tick_book_message(acc, t, rest=True))
        out = []
        for tok in self._tokens(acc, q):
            bid, ask = self.r.book_ticker(acc, tok)
            row = {"symbol": f"{tok}USDT", "bidPrice": s(bid), "bidQty": "0", "askPrice": s(ask), "askQty": "0"}
            if acc.endswith("perp"):  # the futures rows carry a time (ccxt tells spot from futures by it)
                row.update(time=self.r.t // NS_MS, lastUpdateId=self.r.i)
            out.append(row)
        return out[0] if q.get("symbol") else out

    def price_ticker(self, q, acc):
        out = [{"symbol": f"{tok}USDT", "price": s(self.r.price(acc, tok)),
                **({"time": self.r.t // NS_MS} if acc.endswith("perp") else {})} for tok in self._tokens(acc, q)]
        return out[0] if q.get("symbol") else out

    def klines(self, q, acc) -> list:
        tok = self._symbol(acc, q.get("symbol") or q.get("pair"))
        iv = INTERVALS.get(q.get("interval", ""))
        if iv is None:
            raise Rejected("bad_request", f"interval {q.get('interval')!r}: the replay serves {', '.join(INTERVALS)}")
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        until = int(q["endTime"]) * NS_MS if q.get("endTime") else None
        bars = self.r.bars(acc, tok, iv, since, until, int(q.get("limit", 500)))
        return [[b // NS_MS, s(o), s(h), s(lo), s(c), s(v), (b + iv * 10**9) // NS_MS - 1, "0", 0, "0", "0", "0"]
                for b, o, h, lo, c, v in bars]

    def premium_index(self, q, acc):
        out = []
        for tok in self._tokens(acc, q):
            rate, nxt = self.r.funding_now(acc, tok)
            px = s(self.r.price(acc, tok))
            out.append({"symbol": f"{tok}USDT", "markPrice": px, "indexPrice": px, "estimatedSettlePrice": px,
                        "lastFundingRate": s(rate), "interestRate": "0.00010000",
                        "nextFundingTime": (nxt or 0) // NS_MS, "time": self.r.t // NS_MS})
        return out[0] if q.get("symbol") else out

    def funding_rate(self, q, acc) -> list:
        tok = self._symbol(acc, q.get("symbol"))
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        rows = self.r.funding_history(acc, tok, since, int(q.get("limit", 100)))
        return [{"symbol": f"{tok}USDT", "fundingTime": t // NS_MS, "fundingRate": s(r), "markPrice": ""}
                for t, r in rows]

    # -- orders -------------------------------------------------------------------------------------
    def _order_json(self, o: EmuOrder, full: bool = False) -> dict:
        rec, od = o.record, o.order
        typ = {"market": "MARKET", "limit": "LIMIT"}.get(od.order_type.value)
        perp = o.account.endswith("perp")
        if typ is None:
            typ = ("STOP_MARKET" if perp else "STOP_LOSS") if od.order_type.value == "stop" else \
                ("TAKE_PROFIT_MARKET" if perp else "TAKE_PROFIT")
        qty = sum(f.qty for f in o.fills)
        quote = sum(f.qty * f.price for f in o.fills)
        out = {"symbol": f"{od.token}USDT", "orderId": o.order_id, "orderListId": -1,
               "clientOrderId": rec.client_order_id, "price": s(od.limit_price or 0.0), "origQty": s(od.amount),
               "executedQty": s(qty), "cummulativeQuoteQty": s(quote), "status": STATUS[rec.status],
               "timeInForce": od.time_in_force.value.upper(), "type": typ, "side": od.side.value.upper(),
               "stopPrice": s(od.stop_price or 0.0), "time": o.created_ns // NS_MS,
               "updateTime": o.updated_ns // NS_MS, "isWorking": rec.is_open, "workingTime": o.created_ns // NS_MS,
               "origQuoteOrderQty": "0", "selfTradePreventionMode": "NONE"}
        if perp:
            out.update(avgPrice=s(quote / qty if qty else 0.0), cumQty=s(qty), cumQuote=s(quote),
                       reduceOnly=o.reduce_only, closePosition=False, positionSide="BOTH", workingType="CONTRACT_PRICE",
                       priceProtect=False, origType=typ, priceMatch="NONE", goodTillDate=0)
            out.pop("cummulativeQuoteQty")
        else:
            out["transactTime"] = o.created_ns // NS_MS
        if full and not perp:
            out["fills"] = [{"price": s(f.price), "qty": s(f.qty), "commission": s(f.fee), "commissionAsset": "USDT",
                             "tradeId": f.trade_id} for f in o.fills]
        return out

    def create_order(self, q, acc) -> dict:
        tok = self._symbol(acc, q.get("symbol"))
        typ = TYPES_IN.get(q.get("type", ""))
        if typ is None:
            return_code = Rejected("bad_request", f"Invalid orderType {q.get('type')!r}.")
            raise return_code
        qty = float(q["quantity"])
        price = float(q["price"]) if q.get("price") else None
        stop = float(q["stopPrice"]) if q.get("stopPrice") else None
        tif = (q.get("timeInForce") or "GTC").lower()
        o = self.r.place(acc, tok, q["side"].lower(), qty, typ, price, stop, q.get("newClientOrderId") or None,
                         tif if tif in ("gtc", "ioc", "fok") else "gtc", q.get("reduceOnly") == "true")
        return self._order_json(o, full=True)

    # -- USDT-M conditional (algo) orders: STOP_MARKET / TAKE_PROFIT_MARKET -------------------------------
    def _algo_json(self, o: EmuOrder) -> dict:
        rec, od = o.record, o.order
        qty = sum(f.qty for f in o.fills)
        status = {OrderStatus.FILLED: "FINISHED", OrderStatus.CANCELLED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED",
                  OrderStatus.REJECTED: "REJECTED"}.get(rec.status, "NEW")
        return {"algoId": o.order_id, "clientAlgoId": rec.client_order_id, "algoType": "CONDITIONAL",
                "orderType": "STOP_MARKET" if od.order_type.value == "stop" else "TAKE_PROFIT_MARKET",
                "symbol": f"{od.token}USDT", "side": od.side.value.upper(), "positionSide": "BOTH",
                "timeInForce": "GTC", "quantity": s(od.amount), "algoStatus": status,
                "triggerPrice": s(od.stop_price or 0.0), "price": "0", "workingType": "CONTRACT_PRICE",
                "priceProtect": False, "reduceOnly": o.reduce_only, "executedQty": s(qty),
                "avgPrice": s(sum(f.qty * f.price for f in o.fills) / qty if qty else 0.0),
                "actualOrderId": str(o.order_id) if o.fills else "", "createTime": o.created_ns // NS_MS,
                "updateTime": o.updated_ns // NS_MS}

    def create_algo(self, q, acc) -> dict:
        tok = self._symbol(acc, q.get("symbol"))
        typ = {"STOP_MARKET": "stop", "TAKE_PROFIT_MARKET": "take_profit"}.get(q.get("type") or q.get("orderType", ""))
        if q.get("algoType") != "CONDITIONAL" or typ is None:
            raise Rejected("bad_request", f"algo order {q.get('algoType')}/{q.get('type')}: the emulator has "
                           "CONDITIONAL STOP_MARKET and TAKE_PROFIT_MARKET")
        o = self.r.place(acc, tok, q["side"].lower(), float(q["quantity"]), typ, None, float(q["triggerPrice"]),
                         q.get("clientAlgoId") or None, "gtc", q.get("reduceOnly") == "true")
        return self._algo_json(o)

    def _find_algo(self, q, acc) -> EmuOrder:
        aid = q.get("algoId")
        o = self.r.find(acc, int(aid) if aid else None, q.get("clientAlgoId") or None)
        if o.order.order_type.value not in ("stop", "take_profit"):
            raise Rejected("unknown_order", f"{aid} is not an algo order")
        return o

    def get_algo(self, q, acc) -> dict:
        return self._algo_json(self._find_algo(q, acc))

    def cancel_algo(self, q, acc) -> dict:
        o = self._find_algo(q, acc)
        self.r.cancel(acc, o.order_id)
        return self._algo_json(o)

    def open_algos(self, q, acc) -> list:
        tok = self._symbol(acc, q["symbol"]) if q.get("symbol") else None
        return [self._algo_json(o) for o in self.r.open_orders(acc, tok)
                if o.order.order_type.value in ("stop", "take_profit")]

    def _find(self, q, acc) -> EmuOrder:
        self._symbol(acc, q.get("symbol"))
        oid = q.get("orderId")
        return self.r.find(acc, int(oid) if oid else None, q.get("origClientOrderId") or None)

    def get_order(self, q, acc) -> dict:
        return self._order_json(self._find(q, acc))

    def cancel_order(self, q, acc) -> dict:
        try:
            o = self._find(q, acc)
        except Rejected as e:
            raise Rejected("order_closed", e.reason) from None
        self.r.cancel(acc, o.order_id)
        return self._order_json(o)

    def open_orders(self, q, acc) -> list:
        tok = self._symbol(acc, q["symbol"]) if q.get("symbol") else None
        return [self._order_json(o) for o in self.r.open_orders(acc, tok)]

    def all_orders(self, q, acc) -> list:
        tok = self._symbol(acc, q.get("symbol"))
        return [self._order_json(o) for o in self.r.all_orders(acc) if o.order.token == tok]

    def my_trades(self, q, acc) -> list:
        tok = self._symbol(acc, q.get("symbol"))
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        oid = q.get("orderId")
        out = []
        for f in self.r.fills[acc]:
            if f.token != tok or (since is not None and f.ts < since) or (oid and str(f.order_id) != oid):
                continue
            row = {"symbol": f"{tok}USDT", "id": f.trade_id, "orderId": f.order_id, "price": s(f.price),
                   "qty": s(f.qty), "quoteQty": s(f.qty * f.price), "commission": s(f.fee), "commissionAsset": "USDT",
                   "time": f.ts // NS_MS}
            if acc.endswith("perp"):
                row.update(buyer=f.side == "buy", maker=f.maker, side=f.side.upper(), positionSide="BOTH",
                           realizedPnl=s(f.realised), marginAsset="USDT")
            else:
                row.update(isBuyer=f.side == "buy", isMaker=f.maker, isBestMatch=True, orderListId=-1)
            out.append(row)
        return out[-int(q.get("limit", 500)):]

    # -- accounts -----------------------------------------------------------------------------------
    def spot_account(self, q, acc) -> dict:
        bal = self.r.balances("binance.spot")
        return {"makerCommission": 10, "takerCommission": 10, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "updateTime": self.r.t // NS_MS, "accountType": "SPOT", "permissions": ["SPOT"],
                "balances": [{"asset": a, "free": s(v), "locked": "0"} for a, v in sorted(bal.items())]}

    def futures_account(self, q, acc) -> dict:
        r = self.r
        wallet = r.balances("binance.perp").get("USDT", 0.0)
        pos = r.positions("binance.perp")
        upnl = sum(sz * (m - e) for sz, e, m in pos.values())
        avail = r.withdrawable("binance.perp", "USDT")
        asset = {"asset": "USDT", "walletBalance": s(wallet), "unrealizedProfit": s(upnl),
                 "marginBalance": s(wallet + upnl), "maintMargin": "0", "initialMargin": s(wallet + upnl - avail),
                 "positionInitialMargin": "0", "openOrderInitialMargin": "0", "crossWalletBalance": s(wallet),
                 "crossUnPnl": s(upnl), "availableBalance": s(avail), "maxWithdrawAmount": s(avail),
                 "marginAvailable": True, "updateTime": r.t // NS_MS}
        return {"totalWalletBalance": s(wallet), "totalUnrealizedProfit": s(upnl), "totalMarginBalance": s(wallet + upnl),
                "availableBalance": s(avail), "maxWithdrawAmount": s(avail), "assets": [asset],
                "positions": self.position_risk(q, acc)}

    def position_risk(self, q, acc) -> list:
        out = []
        for tok, (sz, entry, mark) in self.r.positions("binance.perp").items():
            out.append({"symbol": f"{tok}USDT", "positionSide": "BOTH", "positionAmt": s(sz), "entryPrice": s(entry),
                        "breakEvenPrice": s(entry), "markPrice": s(mark), "unRealizedProfit": s(sz * (mark - entry)),
                        "unrealizedProfit": s(sz * (mark - entry)), "liquidationPrice": "0", "isolatedMargin": "0",
                        "notional": s(sz * mark), "marginAsset": "USDT", "isolatedWallet": "0", "initialMargin": "0",
                        "maintMargin": "0", "positionInitialMargin": "0", "openOrderInitialMargin": "0", "adl": 0,
                        "bidNotional": "0", "askNotional": "0", "updateTime": self.r.t // NS_MS,
                        "marginType": "cross", "leverage": "20", "isAutoAddMargin": "false", "maxNotionalValue": "0"})
        return out

    def leverage_bracket(self, q, acc) -> list:
        mmr = self.r.params["binance"].perp.maintenance_margin_rate
        return [{"symbol": f"{tok}USDT", "brackets": [{"bracket": 1, "initialLeverage": 125, "notionalCap": 1e12,
                                                       "notionalFloor": 0, "maintMarginRatio": mmr, "cum": 0}]}
                for tok in self.r.tokens("binance.perp")]

    def income(self, q, acc) -> list:
        if q.get("incomeType") not in (None, "", "FUNDING_FEE"):
            return []
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        sym = q.get("symbol")
        out = []
        for k, ev in enumerate(self.r.funding_paid["binance.perp"]):
            if (since is not None and ev.timestamp < since) or (sym and sym != f"{ev.token}USDT"):
                continue
            out.append({"symbol": f"{ev.token}USDT", "incomeType": "FUNDING_FEE", "income": s(ev.amount),
                        "asset": "USDT", "info": "FUNDING_FEE", "time": ev.timestamp // NS_MS,
                        "tranId": 10_000_000 + k, "tradeId": ""})
        return out[: int(q.get("limit", 1000))]

    # -- wallet -------------------------------------------------------------------------------------
    def transfer(self, q, acc) -> dict:
        kinds = {"MAIN_UMFUTURE": ("spot", "perp"), "UMFUTURE_MAIN": ("perp", "spot")}
        if q.get("type") not in kinds:
            raise Rejected("bad_request", f"transfer type {q.get('type')!r} (the emulator has MAIN and UMFUTURE)")
        m = self.r.transfer("binance", q["asset"], float(q["amount"]), *kinds[q["type"]])
        return {"tranId": m.id}

    def transfers(self, q, acc) -> dict:
        names = {("binance.spot", "binance.perp"): "MAIN_UMFUTURE", ("binance.perp", "binance.spot"): "UMFUTURE_MAIN"}
        rows = [{"asset": m.token, "amount": s(m.amount), "type": names[(m.source, m.target)],
                 "status": "CONFIRMED", "tranId": m.id, "timestamp": m.created_ns // NS_MS}
                for m in self.r.movements_of("binance", "transfer")
                if not q.get("type") or names[(m.source, m.target)] == q["type"]]
        return {"total": len(rows), "rows": rows}

    def withdraw(self, q, acc) -> dict:
        net = q.get("network") or None
        m = self.r.withdraw("binance.spot", q["coin"], float(q["amount"]), q["address"], NETWORKS.get(net, net))
        return {"id": str(m.id)}

    def withdrawals(self, q, acc) -> list:
        return [{"id": str(m.id), "amount": s(m.amount), "transactionFee": s(m.fee), "coin": m.token,
                 "status": 6 if m.status == "completed" else 4, "address": m.address, "txId": m.txid,
                 "applyTime": _dt(m.created_ns), "network": NETWORK_IDS.get(m.network, m.network), "transferType": 0, "info": "",
                 "confirmNo": 1 if m.status == "completed" else 0, "walletType": 0,
                 "completeTime": _dt(m.done_ns) if m.status == "completed" else None}
                for m in self.r.movements_of("binance", "withdrawal") if not q.get("coin") or q["coin"] == m.token]

    def deposits(self, q, acc) -> list:
        return [{"id": str(m.id), "amount": s(m.amount), "coin": m.token, "network": NETWORK_IDS.get(m.network, m.network),
                 "status": 1 if m.status == "completed" else 0, "address": "", "addressTag": "", "txId": m.txid,
                 "insertTime": m.created_ns // NS_MS, "transferType": 0, "confirmTimes": "1/1", "walletType": 0}
                for m in self.r.movements_of("binance", "deposit") if not q.get("coin") or q["coin"] == m.token]


def _dt(ns: int) -> str:
    import time as _t
    return _t.strftime("%Y-%m-%d %H:%M:%S", _t.gmtime(ns // 10**9))


def tick_book_message(acc: str, t, rest: bool = False) -> str | None:
    """A recorded update (``emulator.ticks.Tick``) as Binance's book ticker (stream or REST row), stamped
    with its recorded time (ms; the spot stream too: an ``E`` field Binance's own spot stream lacks)."""
    if t is None:
        return None
    ms = t.ts // NS_MS
    if rest:
        msg = {"symbol": f"{t.token}USDT", "bidPrice": s(t.bid), "bidQty": s(t.bid_size), "askPrice": s(t.ask),
               "askQty": s(t.ask_size)}
        if acc.endswith("perp"):
            msg.update(time=ms, lastUpdateId=ms)
        return json.dumps(msg)
    msg = {"u": ms, "s": f"{t.token}USDT", "b": s(t.bid), "B": s(t.bid_size), "a": s(t.ask), "A": s(t.ask_size)}
    if acc.endswith("perp"):
        msg.update(e="bookTicker", E=ms, T=ms)
    else:  # Binance's spot stream has no event time; a recording keeps its own (MEXC stamps its updates):
        msg.update(E=ms)  # without it a session could not step a replayed spot update at its recorded time
    return json.dumps(msg)


def stream_message(kind: str, acc: str, tok: str, r, interval: str | None = None) -> str | None:
    """The websocket message of one stream at the replay's time (None: nothing to say)."""
    t = r.t // NS_MS
    sym = f"{tok}USDT"
    if kind == "bookTicker":
        bid, ask = r.book_ticker(acc, tok)
        msg = {"u": r.i, "s": sym, "b": s(bid), "B": "0", "a": s(ask), "A": "0"}
        if acc.endswith("perp"):
            msg.update(e="bookTicker", E=t, T=t)
        return json.dumps(msg)
    if kind == "markPrice":
        rate, nxt = r.funding_now(acc, tok)
        px = s(r.price(acc, tok))
        return json.dumps({"e": "markPriceUpdate", "E": t, "s": sym, "p": px, "i": px, "P": px, "r": s(rate),
                           "T": (nxt or 0) // NS_MS})
    if kind == "kline":
        iv = INTERVALS.get(interval or "")
        if iv is None:
            return None
        bars = r.bars(acc, tok, iv, limit=1)
        if not bars:
            return None
        b, o, h, lo, c, v = bars[-1]
        return json.dumps({"e": "kline", "E": t, "s": sym, "k": {
            "t": b // NS_MS, "T": (b + iv * 10**9) // NS_MS - 1, "s": sym, "i": interval, "f": 0, "L": 0,
            "o": s(o), "c": s(c), "h": s(h), "l": s(lo), "v": s(v), "n": 0, "x": True, "q": "0", "V": "0", "Q": "0",
            "B": "0"}})
    return None

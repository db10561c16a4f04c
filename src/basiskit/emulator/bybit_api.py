"""The Bybit v5 dialect of the emulator (spot + USDT linear perpetuals), under ``/bybit``.

The emulated Bybit account is a *unified trading account* (UTA 2.0: ``/v5/user/query-api`` ``uta`` 1,
``/v5/account/info`` ``unifiedMarginStatus`` 5), as Bybit's accounts are now: spot and linear perpetuals on
ONE wallet (``accountType=UNIFIED``, which ccxt sends for both once it has read that): its USDT is the
replay's pool of ``bybit`` (``Replay.venue_balances``), its other coins the spot holdings. There are no
SPOT / CONTRACT wallets to transfer between (``inter-transfer`` refuses them); withdrawals leave from the
unified account (ccxt's ``accountType=UTA``).

Served (https://bybit-exchange.github.io/docs/v5/intro), every response in Bybit's envelope
``{"retCode": 0, "retMsg": "OK", "result": ..., "retExtInfo": {}, "time": ms}``:

    public   GET  /v5/market/{time,instruments-info,tickers,kline,mark-price-kline,funding/history}
    signed   GET  /v5/user/query-api, /v5/account/info, /v5/account/wallet-balance
             POST /v5/order/create (orderLinkId), /v5/order/cancel
             GET  /v5/order/realtime, /v5/order/history, /v5/execution/list (execType Trade | Funding),
                  /v5/position/list
             POST /v5/asset/transfer/inter-transfer; GET /v5/asset/transfer/query-inter-transfer-list
             POST /v5/asset/withdraw/create; GET /v5/asset/withdraw/query-record, /v5/asset/deposit/query-record
    streams  WS   /bybit/v5/public/{spot,linear}: ``{"op": "subscribe", "args": [...]}`` to
                  ``tickers.<SYM>`` (best bid/ask, and for linear the mark price and funding) and
                  ``kline.<interval>.<SYM>``. The order book streams (``orderbook.<depth>.<SYM>``) are not
                  served: the bars carry no depth, and a level of size 0 means "deleted" in them

Errors (HTTP 200, the code in the body, as Bybit answers): 10001 (parameters, unknown symbol), 10003 /
10004 / 10002 (key / signature / timestamp), 110007 (balance or margin: ``ab not enough for new order``),
110001 (order not found or closed), 110072 (duplicate ``orderLinkId``).
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

from aiohttp import web

from basiskit.domain.order_state import OrderStatus
from basiskit.emulator.wsio import json_requests, send_current
from basiskit.emulator.auth import bybit_check
from basiskit.emulator.binance_api import s
from basiskit.emulator.replay import EmuOrder, Rejected

NS_MS = 1_000_000
STATUS = {OrderStatus.SUBMITTED: "New", OrderStatus.ACCEPTED: "New", OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
          OrderStatus.FILLED: "Filled", OrderStatus.CANCELLED: "Cancelled", OrderStatus.REJECTED: "Rejected",
          OrderStatus.EXPIRED: "Cancelled", OrderStatus.INITIALISED: "New"}
INTERVALS = {"1": 60, "3": 180, "5": 300, "15": 900, "30": 1800, "60": 3600, "120": 7200, "240": 14400, "360": 21600, "720": 43200, "D": 86400}
ERRORS = {"insufficient_balance": (110007, "ab not enough for new order"),
          "insufficient_margin": (110007, "ab not enough for new order"),
          "unknown_symbol": (10001, "params error: symbol invalid"),
          "lot_size": (170136, "Order quantity is lower than the minimum or not a multiple of the step."),
          "unknown_order": (110001, "order not exists or too late to cancel"),
          "order_closed": (110001, "order not exists or too late to cancel"),
          "duplicate_client_id": (110072, "OrderLinkedID is duplicate"),
          "stale_price": (110007, "no traded price (market data gap)"),
          "bad_request": (10001, "params error")}
UNIFIED_STATUS = 5
"""``unifiedMarginStatus`` of a UTA 2.0 account (1 is a classic account; ccxt reads UNIFIED wallets from 5 on)."""


def _ok(result, t_ms: int) -> web.Response:
    return web.json_response({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": t_ms})


def _err(code: int, msg: str) -> web.Response:
    return web.json_response({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {},
                              "time": int(time.time() * 1000)})


class BybitApi:
    """Routes of the Bybit dialect on ``emu`` (an ``server.Emulator``)."""

    def __init__(self, emu) -> None:
        self.emu = emu
        self.r = emu.replay

    def _acc(self, category: str | None) -> str:
        if category == "spot":
            return "bybit.spot"
        if category == "linear":
            return "bybit.perp"
        raise Rejected("bad_request", f"category {category!r}: the emulator has spot and linear")

    def _symbol(self, acc: str, sym: str | None) -> str:
        if not sym or not sym.endswith("USDT") or sym[:-4] not in self.r.tokens(acc):
            raise Rejected("unknown_symbol", f"symbol {sym} invalid")
        return sym[:-4]

    def routes(self) -> list:
        g, p = web.get, web.post
        pub, sig = self._handler(False), self._handler(True)
        return [g("/bybit/v5/market/time", pub(self.server_time)),
                g("/bybit/v5/market/instruments-info", pub(self.instruments)),
                g("/bybit/v5/market/tickers", pub(self.tickers)),
                g("/bybit/v5/market/kline", pub(self.kline)),
                g("/bybit/v5/market/mark-price-kline", pub(self.kline)),
                g("/bybit/v5/market/funding/history", pub(self.funding_history)),
                g("/bybit/v5/user/query-api", sig(self.query_api)),
                g("/bybit/v5/asset/coin/query-info", sig(self.coin_info)),
                g("/bybit/v5/account/info", sig(self.account_info)),
                g("/bybit/v5/account/wallet-balance", sig(self.wallet_balance)),
                p("/bybit/v5/order/create", sig(self.create_order)),
                p("/bybit/v5/order/cancel", sig(self.cancel_order)),
                g("/bybit/v5/order/realtime", sig(self.realtime)),
                g("/bybit/v5/order/history", sig(self.history)),
                g("/bybit/v5/execution/list", sig(self.executions)),
                g("/bybit/v5/position/list", sig(self.positions)),
                p("/bybit/v5/asset/transfer/inter-transfer", sig(self.transfer)),
                g("/bybit/v5/asset/transfer/query-inter-transfer-list", sig(self.transfers)),
                p("/bybit/v5/asset/withdraw/create", sig(self.withdraw)),
                g("/bybit/v5/asset/withdraw/query-record", sig(self.withdrawals)),
                g("/bybit/v5/asset/deposit/query-record", sig(self.deposits)),
                g("/bybit/v5/public/spot", self.ws), g("/bybit/v5/public/linear", self.ws)]

    def _handler(self, signed: bool):
        def wrap(fn):
            async def handler(request: web.Request) -> web.Response:
                if request.method == "GET":
                    payload = request.query_string
                    q = dict(parse_qsl(payload, keep_blank_values=True))
                else:
                    payload = await request.text()
                    try:
                        q = json.loads(payload or "{}")
                    except ValueError:
                        return _err(10001, "params error: body is not JSON")
                if signed:
                    bad = bybit_check(self.emu.keys, request.headers, payload)
                    if bad is not None:
                        return _err(*bad)
                self.emu.tick()
                try:
                    return _ok(fn(q), self.r.t // NS_MS)
                except Rejected as e:
                    code, msg = ERRORS.get(e.code, ERRORS["bad_request"])
                    return _err(code, f"{msg}: {e.reason}" if e.code == "bad_request" else msg)
                except (KeyError, ValueError) as e:
                    return _err(10001, f"params error: {e}")
            return handler
        return wrap

    # -- public -------------------------------------------------------------------------------------
    def server_time(self, q) -> dict:
        return {"timeSecond": str(self.r.t // 10**9), "timeNano": str(self.r.t)}

    def instruments(self, q) -> dict:
        cat = q.get("category")
        acc = self._acc(cat)
        out = []
        for tok in self.r.tokens(acc):
            lot = getattr(self.r, "lot_step", None)
            min_qty = lot
            min_notional = "1" if cat == "spot" else "5"
            venue_lot = self.r.market_lot(acc, tok) if hasattr(self.r, "market_lot") else None
            if venue_lot is not None:  # Replay(venue_lots=True): the venue config's lot size
                lot, min_qty, min_notional = venue_lot
            if cat == "spot":
                out.append({"symbol": f"{tok}USDT", "baseCoin": tok, "quoteCoin": "USDT", "innovation": "0",
                            "status": "Trading", "marginTrading": "none",
                            "lotSizeFilter": {"basePrecision": lot or "0.000001", "quotePrecision": "0.00000001",
                                              "minOrderQty": min_qty or "0.000048", "maxOrderQty": "10000",
                                              "minOrderAmt": min_notional, "maxOrderAmt": "10000000"},
                            "priceFilter": {"tickSize": "0.01"}})
            else:
                out.append({"symbol": f"{tok}USDT", "contractType": "LinearPerpetual", "status": "Trading",
                            "baseCoin": tok, "quoteCoin": "USDT", "settleCoin": "USDT", "launchTime": "1584230400000",
                            "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
                            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                            "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.01"},
                            "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": min_qty or "0.001",
                                              "qtyStep": lot or "0.001", "postOnlyMaxOrderQty": "1190.000",
                                              "maxMktOrderQty": "500.000", "minNotionalValue": min_notional},
                            "unifiedMarginTrade": True, "fundingInterval": 480, "copyTrading": "both",
                            "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375"})
        return {"category": cat, "list": out, "nextPageCursor": ""}

    def tickers(self, q) -> dict:
        cat = q.get("category")
        acc = self._acc(cat)
        toks = [self._symbol(acc, q["symbol"])] if q.get("symbol") else self.r.tokens(acc)
        out = []
        for tok in toks:
            bid, ask = self.r.book_ticker(acc, tok)
            px = s(self.r.price(acc, tok))
            row = {"symbol": f"{tok}USDT", "bid1Price": s(bid), "bid1Size": "0", "ask1Price": s(ask), "ask1Size": "0",
                   "lastPrice": px, "prevPrice24h": px, "price24hPcnt": "0", "highPrice24h": px, "lowPrice24h": px,
                   "turnover24h": "0", "volume24h": "0"}
            if cat == "linear":
                rate, nxt = self.r.funding_now(acc, tok)
                row.update(markPrice=px, indexPrice=px, fundingRate=s(rate), nextFundingTime=str((nxt or 0) // NS_MS),
                           openInterest="0", openInterestValue="0", predictedDeliveryPrice="", basisRate="",
                           deliveryFeeRate="", deliveryTime="0")
            out.append(row)
        return {"category": cat, "list": out}

    def kline(self, q) -> dict:
        acc = self._acc(q.get("category", "linear"))
        tok = self._symbol(acc, q.get("symbol"))
        iv = INTERVALS.get(q.get("interval", ""))
        if iv is None:
            raise Rejected("bad_request", f"interval {q.get('interval')!r}: the replay serves {', '.join(INTERVALS)}")
        since = int(q["start"]) * NS_MS if q.get("start") else None
        until = int(q["end"]) * NS_MS if q.get("end") else None
        bars = self.r.bars(acc, tok, iv, since, until, int(q.get("limit", 200)))
        rows = [[str(b // NS_MS), s(o), s(h), s(lo), s(c), s(v), "0"] for b, o, h, lo, c, v in reversed(bars)]
        return {"category": q.get("category", "linear"), "symbol": f"{tok}USDT", "list": rows}

    def funding_history(self, q) -> dict:
        acc = self._acc(q.get("category"))
        tok = self._symbol(acc, q.get("symbol"))
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        rows = self.r.funding_history(acc, tok, since, int(q.get("limit", 200)))
        return {"category": "linear", "list": [{"symbol": f"{tok}USDT", "fundingRate": s(r),
                                                "fundingRateTimestamp": str(t // NS_MS)} for t, r in reversed(rows)]}

    # -- account ------------------------------------------------------------------------------------
    def query_api(self, q) -> dict:
        return {"id": "1", "note": "basiskit emulator", "apiKey": "", "readOnly": 0, "secret": "",
                "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                                "Wallet": ["AccountTransfer", "SubMemberTransfer", "Withdraw"]},
                "ips": ["*"], "type": 1, "unified": 0, "uta": 1, "isMaster": True}

    def coin_info(self, q) -> dict:
        """Coins and their withdrawal networks (``configs/venues/bybit.yaml`` transfers)."""
        toks = sorted({t for acc in ("bybit.spot", "bybit.perp") for t in self.r.tokens(acc)} | {"USDT"})
        nets = self.r.params["bybit"].transfers or {}
        rows = []
        for tok in toks:
            chains = [{"chainType": net, "confirmation": "1", "withdrawFee": s(p.withdrawal_fee), "depositMin": "0",
                       "withdrawMin": s(p.withdrawal_fee), "chain": {"TRC20": "TRX", "ERC20": "ETH"}.get(net, net),
                       "chainDeposit": "1", "chainWithdraw": "1", "minAccuracy": "8", "withdrawPercentageFee": "0"}
                      for net, p in nets.get(tok, {}).items()]
            rows.append({"name": tok, "coin": tok, "remainAmount": "1000000", "chains": chains})
        return {"rows": rows}

    def account_info(self, q) -> dict:
        return {"unifiedMarginStatus": UNIFIED_STATUS, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
                "spotHedgingStatus": "OFF", "updatedTime": str(self.r.t // NS_MS), "dcpStatus": "OFF", "timeWindow": 0,
                "smpGroup": 0}

    def wallet_balance(self, q) -> dict:
        if q.get("accountType") != "UNIFIED":
            raise Rejected("bad_request", f"accountType {q.get('accountType')!r}: a unified trading account has "
                           "the UNIFIED wallet only")
        bal = self.r.venue_balances("bybit")
        upnl = sum(sz * (m - e) for sz, e, m in self.r.positions("bybit.perp").values())
        coins = []
        for tok, amt in sorted(bal.items()):
            u = upnl if tok == "USDT" else 0.0
            avail = self.r.withdrawable("bybit.spot", tok)
            coins.append({"coin": tok, "equity": s(amt + u), "walletBalance": s(amt), "free": s(amt), "locked": "0",
                          "availableToWithdraw": s(avail), "unrealisedPnl": s(u), "cumRealisedPnl": "0",
                          "usdValue": "0", "borrowAmount": "0", "availableToBorrow": "", "accruedInterest": "0",
                          "totalOrderIM": "0", "totalPositionIM": "0", "totalPositionMM": "0", "bonus": "0"})
        return {"list": [{"accountType": q["accountType"], "accountIMRate": "", "accountMMRate": "",
                          "totalEquity": "", "totalWalletBalance": "", "totalMarginBalance": "",
                          "totalAvailableBalance": "", "totalPerpUPL": s(upnl), "totalInitialMargin": "",
                          "totalMaintenanceMargin": "", "coin": coins}]}

    # -- orders -------------------------------------------------------------------------------------
    def _order_json(self, o: EmuOrder, category: str) -> dict:
        rec, od = o.record, o.order
        qty = sum(f.qty for f in o.fills)
        value = sum(f.qty * f.price for f in o.fills)
        fee = sum(f.fee for f in o.fills)
        trig = od.order_type.value in ("stop", "take_profit")
        status = STATUS[rec.status]
        if trig and rec.is_open:
            status = "Untriggered"
        return {"orderId": str(o.order_id), "orderLinkId": rec.client_order_id, "blockTradeId": "",
                "symbol": f"{od.token}USDT", "price": s(od.limit_price or 0.0), "qty": s(od.amount),
                "side": od.side.value.capitalize(), "isLeverage": "", "positionIdx": 0, "orderStatus": status,
                "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "avgPrice": s(value / qty) if qty else "",
                "leavesQty": s(max(0.0, od.amount - qty)) if rec.is_open else "0",
                "leavesValue": "0", "cumExecQty": s(qty), "cumExecValue": s(value), "cumExecFee": s(fee),
                "timeInForce": {"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "gtd": "GTC"}[od.time_in_force.value],
                "orderType": "Limit" if od.order_type.value == "limit" else "Market",
                "stopOrderType": {"stop": "Stop", "take_profit": "TakeProfit"}.get(od.order_type.value, ""),
                "orderIv": "", "triggerPrice": s(od.stop_price) if od.stop_price else "",
                "takeProfit": "", "stopLoss": "", "tpTriggerBy": "", "slTriggerBy": "",
                "triggerDirection": 0, "triggerBy": "LastPrice" if trig else "", "lastPriceOnCreated": "",
                "reduceOnly": o.reduce_only, "closeOnTrigger": False, "smpType": "None", "smpGroup": 0,
                "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
                "createdTime": str(o.created_ns // NS_MS), "updatedTime": str(o.updated_ns // NS_MS)}

    def create_order(self, q) -> dict:
        acc = self._acc(q.get("category"))
        tok = self._symbol(acc, q.get("symbol"))
        kind = (q.get("orderType") or "").lower()
        if kind not in ("market", "limit"):
            raise Rejected("bad_request", f"orderType {q.get('orderType')!r}")
        trig = float(q["triggerPrice"]) if q.get("triggerPrice") else None
        side = q["side"].lower()
        typ = kind
        if trig is not None:
            if kind == "limit":
                raise Rejected("bad_request", "conditional limit orders are not emulated (stop-market only)")
            # triggerDirection 1: rises to the trigger, 2: falls to it; a buy rising to it is a stop
            # (a sell falling to it too); the other way round is a take-profit
            direction = int(q.get("triggerDirection") or 0)
            if direction == 0:
                direction = 1 if trig >= self.r.price(acc, tok) else 2
            typ = "stop" if (side == "buy") == (direction == 1) else "take_profit"
        tif = (q.get("timeInForce") or "GTC").lower()
        qty = float(q["qty"])
        if acc.endswith("spot") and kind == "market" and side == "buy" and q.get("marketUnit", "quoteCoin") != "baseCoin":
            # Bybit spot market buys are in quote units unless marketUnit=baseCoin
            qty = qty / self.r.book_ticker(acc, tok)[1]
        o = self.r.place(acc, tok, side, qty, typ, float(q["price"]) if q.get("price") and kind == "limit" else None,
                         trig, q.get("orderLinkId") or None, tif if tif in ("gtc", "ioc", "fok") else "gtc",
                         bool(q.get("reduceOnly")))
        return {"orderId": str(o.order_id), "orderLinkId": o.record.client_order_id}

    def _find(self, q, acc) -> EmuOrder:
        oid = q.get("orderId")
        return self.r.find(acc, int(oid) if oid else None, q.get("orderLinkId") or None)

    def cancel_order(self, q) -> dict:
        acc = self._acc(q.get("category"))
        self._symbol(acc, q.get("symbol"))
        o = self._find(q, acc)
        self.r.cancel(acc, o.order_id)
        return {"orderId": str(o.order_id), "orderLinkId": o.record.client_order_id}

    def _orders(self, q, open_only: bool | None) -> dict:
        cat = q.get("category")
        acc = self._acc(cat)
        tok = self._symbol(acc, q["symbol"]) if q.get("symbol") else None
        if q.get("orderId") or q.get("orderLinkId"):
            try:
                rows = [self._find(q, acc)]
            except Rejected:
                rows = []
        else:
            rows = self.r.all_orders(acc)
        rows = [o for o in rows if (tok is None or o.order.token == tok)
                and (open_only is None or o.record.is_open == open_only)]
        rows.sort(key=lambda o: -o.order_id)
        return {"category": cat, "list": [self._order_json(o, cat) for o in rows[: int(q.get("limit", 50))]],
                "nextPageCursor": ""}

    def realtime(self, q) -> dict:
        has_id = q.get("orderId") or q.get("orderLinkId")
        return self._orders(q, None if has_id or q.get("openOnly") in ("1", "2") else True)

    def history(self, q) -> dict:
        return self._orders(q, None if (q.get("orderId") or q.get("orderLinkId")) else False)

    def executions(self, q) -> dict:
        cat = q.get("category")
        acc = self._acc(cat)
        tok = self._symbol(acc, q["symbol"]) if q.get("symbol") else None
        since = int(q["startTime"]) * NS_MS if q.get("startTime") else None
        rows = []
        oid = q.get("orderId")
        if q.get("execType") in (None, "", "Trade"):
            for f in self.r.fills[acc]:
                if (tok and f.token != tok) or (since is not None and f.ts < since) or (oid and str(f.order_id) != oid):
                    continue
                o = self.r.find(acc, f.order_id)
                rows.append({"symbol": f"{f.token}USDT", "orderId": str(f.order_id), "orderLinkId": f.client_id,
                             "side": f.side.capitalize(), "orderPrice": s(o.order.limit_price or 0.0),
                             "orderQty": s(o.order.amount), "leavesQty": "0", "createType": "CreateByUser",
                             "orderType": "Limit" if o.order.order_type.value == "limit" else "Market",
                             "stopOrderType": "", "execFee": s(f.fee), "execId": str(f.trade_id),
                             "execPrice": s(f.price), "execQty": s(f.qty), "execType": "Trade",
                             "execValue": s(f.qty * f.price), "execTime": str(f.ts // NS_MS), "feeCurrency": "USDT", "feeCoin": "USDT",
                             "isMaker": f.maker, "feeRate": s(f.fee / (f.qty * f.price)) if f.qty else "0",
                             "tradeIv": "", "markIv": "", "markPrice": s(f.price), "indexPrice": "",
                             "underlyingPrice": "", "blockTradeId": "", "closedSize": "0", "seq": f.trade_id})
        if q.get("execType") in (None, "", "Funding") and acc.endswith("perp") and not oid:
            for k, ev in enumerate(self.r.funding_paid[acc]):
                if (tok and ev.token != tok) or (since is not None and ev.timestamp < since):
                    continue
                rows.append({"symbol": f"{ev.token}USDT", "orderId": "", "orderLinkId": "",
                             "side": "Buy" if ev.size > 0 else "Sell", "orderPrice": "0", "orderQty": "0",
                             "leavesQty": "0", "createType": "", "orderType": "UNKNOWN", "stopOrderType": "",
                             "execFee": s(-ev.amount), "execId": f"funding-{k + 1}", "execPrice": s(ev.mark),
                             "execQty": s(abs(ev.size)), "execType": "Funding", "execValue": s(abs(ev.size) * ev.mark),
                             "execTime": str(ev.timestamp // NS_MS), "feeCurrency": "USDT", "isMaker": False,
                             "feeRate": s(ev.rate), "tradeIv": "", "markIv": "", "markPrice": s(ev.mark),
                             "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": "0",
                             "seq": 0})
        rows.sort(key=lambda x: (-int(x["execTime"]), -int(x["seq"])))  # newest first, as Bybit lists
        return {"category": cat, "list": rows[: int(q.get("limit", 50))], "nextPageCursor": ""}

    def positions(self, q) -> dict:
        acc = self._acc(q.get("category"))
        tok = self._symbol(acc, q["symbol"]) if q.get("symbol") else None
        out = []
        for t, (sz, entry, mark) in self.r.positions(acc).items():
            if tok and t != tok:
                continue
            out.append({"positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": f"{t}USDT",
                        "side": "Buy" if sz > 0 else "Sell", "size": s(abs(sz)), "avgPrice": s(entry),
                        "positionValue": s(abs(sz) * entry), "tradeMode": 0, "positionStatus": "Normal",
                        "autoAddMargin": 0, "adlRankIndicator": 2, "leverage": "10", "positionBalance": "0",
                        "markPrice": s(mark), "liqPrice": "", "bustPrice": "", "positionMM": "0", "positionIM": "0",
                        "tpslMode": "Full", "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
                        "unrealisedPnl": s(sz * (mark - entry)), "curRealisedPnl": "0", "cumRealisedPnl": "0",
                        "seq": 0, "isReduceOnly": False, "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
                        "createdTime": str(self.r.grid[0] // NS_MS), "updatedTime": str(self.r.t // NS_MS)})
        return {"category": "linear", "list": out, "nextPageCursor": ""}

    # -- wallet -------------------------------------------------------------------------------------
    def transfer(self, q) -> dict:
        raise Rejected("bad_request", f"fromAccountType {q.get('fromAccountType')!r} / toAccountType "
                       f"{q.get('toAccountType')!r}: the emulated unified trading account has one wallet (no SPOT / "
                       "CONTRACT / FUND to transfer between)")

    def transfers(self, q) -> dict:
        return {"list": [], "nextPageCursor": ""}

    def withdraw(self, q) -> dict:
        if q.get("accountType", "UTA") not in ("UTA", "SPOT"):
            raise Rejected("bad_request", f"accountType {q.get('accountType')!r}: the emulator withdraws from the "
                           "unified trading account (UTA)")
        acc = "bybit.spot"  # the unified account (its USDT is the pool's: Replay.holder)
        chain = q.get("chain") or None
        m = self.r.withdraw(acc, q["coin"], float(q["amount"]), q["address"], {"TRX": "TRC20", "ETH": "ERC20"}.get(chain, chain))
        return {"id": str(m.id)}

    def withdrawals(self, q) -> dict:
        rows = [{"coin": m.token, "chain": {"TRC20": "TRX", "ERC20": "ETH"}.get(m.network, m.network),
                 "amount": s(m.amount), "txID": m.txid, "status": "success" if m.status == "completed" else "Pending",
                 "toAddress": m.address, "tag": "", "withdrawFee": s(m.fee), "createTime": str(m.created_ns // NS_MS),
                 "updateTime": str((m.done_ns if m.status == "completed" else m.created_ns) // NS_MS),
                 "withdrawId": str(m.id), "withdrawType": 0}
                for m in self.r.movements_of("bybit", "withdrawal") if not q.get("coin") or q["coin"] == m.token]
        return {"rows": rows, "nextPageCursor": ""}

    def deposits(self, q) -> dict:
        rows = [{"id": str(m.id), "coin": m.token, "chain": {"TRC20": "TRX", "ERC20": "ETH"}.get(m.network, m.network),
                 "amount": s(m.amount), "txID": m.txid, "status": 3 if m.status == "completed" else 1,
                 "toAddress": "", "tag": "", "depositFee": "", "successAt": str(m.done_ns // NS_MS),
                 "confirmations": "1", "txIndex": "0", "blockHash": "", "batchReleaseLimit": "-1",
                 "depositType": "0"}
                for m in self.r.movements_of("bybit", "deposit") if not q.get("coin") or q["coin"] == m.token]
        return {"rows": rows, "nextPageCursor": ""}

    # -- streams ------------------------------------------------------------------------------------
    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        acc = "bybit.perp" if request.path.endswith("linear") else "bybit.spot"
        streams = self.emu.streams
        try:
            async for req in json_requests(ws):
                op = req.get("op")
                if op == "ping":
                    await ws.send_str(json.dumps({"success": True, "ret_msg": "pong", "conn_id": "emu",
                                                  "req_id": req.get("req_id", ""), "op": "ping"}))
                    continue
                if op != "subscribe":
                    await ws.send_str(json.dumps({"success": True, "ret_msg": "", "conn_id": "emu",
                                                  "req_id": req.get("req_id", ""), "op": op}))
                    continue
                made = []
                for topic in req.get("args") or []:
                    maker = self._maker(acc, topic)
                    if maker is not None:
                        streams.add(ws, topic, maker)
                        made.append(maker)
                await ws.send_str(json.dumps({"success": True, "ret_msg": "", "conn_id": "emu",
                                              "req_id": req.get("req_id", ""), "op": "subscribe"}))
                await send_current(ws, made)
        finally:
            streams.drop(ws)
        return ws

    def _maker(self, acc: str, topic: str):
        parts = topic.split(".")
        sym = parts[-1]
        if not sym.endswith("USDT") or sym[:-4] not in self.r.tokens(acc):
            return None
        tok = sym[:-4]
        r = self.r
        if parts[0] == "tickers":
            def tick() -> str:
                row = self.tickers({"category": "spot" if acc.endswith("spot") else "linear", "symbol": sym})["list"][0]
                return json.dumps({"topic": topic, "type": "snapshot", "data": row, "cs": r.i, "ts": r.t // NS_MS})
            return tick
        if parts[0] == "kline" and parts[1] in INTERVALS:
            iv = INTERVALS[parts[1]]

            def kline() -> str | None:
                bars = r.bars(acc, tok, iv, limit=1)
                if not bars:
                    return None
                b, o, h, lo, c, v = bars[-1]
                return json.dumps({"topic": topic, "type": "snapshot", "ts": r.t // NS_MS, "data": [{
                    "start": b // NS_MS, "end": (b + iv * 10**9) // NS_MS - 1, "interval": parts[1], "open": s(o),
                    "close": s(c), "high": s(h), "low": s(lo), "volume": s(v), "turnover": "0", "confirm": True,
                    "timestamp": r.t // NS_MS}]})
            return kline
        return None

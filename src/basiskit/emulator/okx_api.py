"""The OKX v5 dialect of the emulator (spot + USDT-margined perpetual swaps), under ``/okx``.

**Prices are Bybit's recording** (``emulator.price_sources``): the data set has no OKX spot bars and no OKX
BTC perp bars, so OKX's instruments (``BTC-USDT``, ``ETH-USDT``, ``BTC-USDT-SWAP``, ``ETH-USDT-SWAP``)
are priced from Bybit's recorded bars of the same token and kind -- the data stays the recording's, only
the instrument names are OKX's. Funding is OKX's own recorded settlements (``funding.okx.*``).

Accounts: OKX has one *trading* account (spot and swaps on one balance) and a *funding* account
(deposits, withdrawals). The emulated trading account is unified as OKX's (``replay.UNIFIED``): ``GET
/api/v5/account/balance`` answers its one USDT balance (the replay's pool of ``okx``) and the spot tokens
(``Replay.venue_balances``), whichever basiskit sub-account (``okx.spot`` / ``okx.perp``) asks. The
funding account is ``okx.funding`` (a ledger account that trades nothing); ``POST /api/v5/asset/transfer``
moves between funding (``6``) and trading (``18``: USDT to the pool, other coins to the spot holdings).

Amounts: a swap's ``sz`` is in contracts of ``ctVal`` base units (OKX's own: 0.01 BTC, 0.1 ETH, lot 0.01
contract; https://www.okx.com/trade-market/info/swap); spot ``sz`` is in base units (``tgtCcy=base_ccy``;
a market buy without it is in quote units, as OKX reads it).

Served (https://www.okx.com/docs-v5/en/), every response ``{"code": "0", "msg": "", "data": [...]}``:

    public   GET  /api/v5/public/{time,instruments,mark-price,funding-rate,funding-rate-history}
             GET  /api/v5/market/{ticker,tickers,candles,history-candles}
    signed   GET  /api/v5/account/{balance,positions,config,bills,bills-archive};
                  /api/v5/asset/{balances,currencies}
             POST /api/v5/trade/order, /api/v5/trade/batch-orders (ccxt's createOrder; clOrdId; ordType
                  market / limit / ioc / fok / post_only), /api/v5/trade/cancel-order
             GET  /api/v5/trade/order (ordId | clOrdId), /api/v5/trade/orders-pending,
                  /api/v5/trade/orders-history, /api/v5/trade/fills, /api/v5/trade/fills-history
             POST /api/v5/trade/order-algo (ordType trigger, orderPx -1: a stop-market), cancel-algos;
             GET  /api/v5/trade/order-algo, orders-algo-pending, orders-algo-history
             POST /api/v5/asset/transfer, /api/v5/asset/withdrawal;
             GET  /api/v5/asset/transfer-state, withdrawal-history, deposit-history
    streams  WS   /okx/ws/v5/public and /okx/ws/v5/business (candles): ``{"op": "subscribe", "args":
                  [{"channel": ..., "instId": ...}]}`` to ``bbo-tbt`` (best bid/ask), ``tickers``,
                  ``mark-price``, ``funding-rate`` and ``candle<bar>`` (the last closed bar); OKX's text
                  ``ping`` is answered ``pong``. Each subscription gets its current value at once and at every
                  replay step. No private (login) channels: the adapters read orders and fills by REST

Errors (HTTP 200 with the code in the body; order endpoints put ``sCode``/``sMsg`` in ``data`` and
``code`` "1", as OKX does): 51001 (instrument), 51008 (balance / margin), 51016 (duplicate clOrdId),
51603 (order not found), 51400 (cancel: order closed or missing), 51000 (parameters), 58350 (transfer
or withdrawal: balance); signatures: ``auth.okx_check`` (HTTP 401).
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from basiskit.domain.order_state import OrderStatus
from basiskit.emulator.auth import okx_check
from basiskit.emulator.binance_api import s
from basiskit.emulator.replay import EmuOrder, Rejected
from basiskit.emulator.wsio import send_current

NS_MS = 1_000_000
CT_VAL = {"BTC": 0.01, "ETH": 0.1}
"""Base units per swap contract (OKX's ``ctVal`` of BTC-USDT-SWAP and ETH-USDT-SWAP)."""
STATE = {OrderStatus.SUBMITTED: "live", OrderStatus.ACCEPTED: "live", OrderStatus.PARTIALLY_FILLED: "partially_filled",
         OrderStatus.FILLED: "filled", OrderStatus.CANCELLED: "canceled", OrderStatus.REJECTED: "canceled",
         OrderStatus.EXPIRED: "canceled", OrderStatus.INITIALISED: "live"}
BARS = {"1H": 3600, "2H": 7200, "4H": 14400, "6H": 21600, "12H": 43200, "1D": 86400, "1Dutc": 86400, "1m": 60,
        "5m": 300, "15m": 900, "30m": 1800}
ERRORS = {"insufficient_balance": ("51008", "Order failed. Insufficient USDT balance in account."),
          "insufficient_margin": ("51008", "Order failed. Insufficient USDT margin in account."),
          "unknown_symbol": ("51001", "Instrument ID does not exist."),
          "unknown_order": ("51603", "Order does not exist."),
          "order_closed": ("51400", "Order cancellation failed as the order has been filled, canceled or does not exist."),
          "duplicate_client_id": ("51016", "Duplicated clOrdId."),
          "stale_price": ("51008", "Order failed: no traded price (market data gap)."),
          "bad_request": ("51000", "Parameter error.")}
TRADING, FUNDING = "18", "6"


def _ok(data: list) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def _err(code: str, msg: str, data: list | None = None, status: int = 200) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": data or []}, status=status)


class OkxApi:
    """Routes of the OKX dialect on ``emu`` (an ``server.Emulator``)."""

    def __init__(self, emu) -> None:
        self.emu = emu
        self.r = emu.replay
        unknown = [t for t in self.r.tokens("okx.perp") if t not in CT_VAL]
        if unknown:
            from basiskit.config.loader import ConfigError
            raise ConfigError(f"okx.perp {unknown}: the emulator knows the contract size (ctVal) of "
                              f"{', '.join(CT_VAL)} swaps only (okx_api.CT_VAL)", field="layout.okx.perp")

    # -- instruments --------------------------------------------------------------------------------
    def _inst(self, inst_id: str | None) -> tuple[str, str]:
        """``BTC-USDT`` -> (``okx.spot``, BTC); ``BTC-USDT-SWAP`` -> (``okx.perp``, BTC)."""
        parts = (inst_id or "").split("-")
        if len(parts) == 2 and parts[1] == "USDT" and parts[0] in self.r.tokens("okx.spot"):
            return "okx.spot", parts[0]
        if len(parts) == 3 and parts[1:] == ["USDT", "SWAP"] and parts[0] in self.r.tokens("okx.perp"):
            return "okx.perp", parts[0]
        raise Rejected("unknown_symbol", f"instId {inst_id!r}")

    @staticmethod
    def _name(acc: str, tok: str) -> str:
        return f"{tok}-USDT-SWAP" if acc == "okx.perp" else f"{tok}-USDT"

    def _ct(self, acc: str, tok: str) -> float:
        return CT_VAL[tok] if acc == "okx.perp" else 1.0

    def routes(self) -> list:
        g, p = web.get, web.post
        pub, sig = self._handler(False), self._handler(True)
        b = "/okx/api/v5"
        return [g(f"{b}/public/time", pub(self.server_time)), g(f"{b}/public/instruments", pub(self.instruments)),
                g(f"{b}/public/mark-price", pub(self.mark_price)), g(f"{b}/public/funding-rate", pub(self.funding_rate)),
                g(f"{b}/public/funding-rate-history", pub(self.funding_history)),
                g(f"{b}/market/ticker", pub(self.tickers)), g(f"{b}/market/tickers", pub(self.tickers)),
                g(f"{b}/market/candles", pub(self.candles)), g(f"{b}/market/history-candles", pub(self.candles)),
                g(f"{b}/asset/currencies", sig(self.currencies)),
                g(f"{b}/account/balance", sig(self.balance)), g(f"{b}/asset/balances", sig(self.funding_balance)),
                g(f"{b}/account/positions", sig(self.positions)), g(f"{b}/account/config", sig(self.config)),
                g(f"{b}/account/bills", sig(self.bills)), g(f"{b}/account/bills-archive", sig(self.bills)),
                p(f"{b}/trade/order", sig(self.place, order=True)),
                p(f"{b}/trade/batch-orders", sig(self.place, batch=True)),
                p(f"{b}/trade/cancel-order", sig(self.cancel, order=True)),
                g(f"{b}/trade/order", sig(self.get_order)), g(f"{b}/trade/orders-pending", sig(self.pending)),
                g(f"{b}/trade/orders-history", sig(self.history)),
                g(f"{b}/trade/orders-history-archive", sig(self.history)),
                g(f"{b}/trade/fills", sig(self.fills)), g(f"{b}/trade/fills-history", sig(self.fills)),
                p(f"{b}/trade/order-algo", sig(self.place_algo, order=True)),
                p(f"{b}/trade/cancel-algos", sig(self.cancel_algo, batch=True)),
                g(f"{b}/trade/order-algo", sig(self.get_algo)),
                g(f"{b}/trade/orders-algo-pending", sig(self.algo_pending)),
                g(f"{b}/trade/orders-algo-history", sig(self.algo_history)),
                p(f"{b}/asset/transfer", sig(self.transfer)), g(f"{b}/asset/transfer-state", sig(self.transfer_state)),
                p(f"{b}/asset/withdrawal", sig(self.withdraw)),
                g(f"{b}/asset/withdrawal-history", sig(self.withdrawals)),
                g(f"{b}/asset/deposit-history", sig(self.deposits)),
                g("/okx/ws/v5/public", self.ws), g("/okx/ws/v5/business", self.ws)]

    def _handler(self, signed: bool):
        def wrap(fn, order: bool = False, batch: bool = False):
            async def handler(request: web.Request) -> web.Response:
                path = request.path[len("/okx"):]
                if request.method == "GET":
                    body = ""
                    q = dict(parse_qsl(request.query_string, keep_blank_values=True))
                    signed_path = path + ("?" + request.query_string if request.query_string else "")
                else:
                    body = await request.text()
                    signed_path = path
                    try:
                        q = json.loads(body or "{}")
                    except ValueError:
                        return _err("50002", "JSON syntax error")
                    if isinstance(q, list) != batch:
                        return _err("51000", "Parameter error: a list body is for /trade/batch-orders only")
                if signed:
                    bad = okx_check(self.emu.keys, request.headers, request.method, signed_path, body)
                    if bad is not None:
                        return _err(*bad, status=401)
                self.emu.tick()
                if batch:  # each item answered on its own (sCode), code "0" / "2" (some failed) / "1" (all)
                    out = [self._item(fn, it) for it in q]
                    bad = sum(1 for x in out if x["sCode"] != "0")
                    code = "0" if not bad else ("1" if bad == len(out) else "2")
                    return web.json_response({"code": code, "msg": "" if not bad else "Operation failed.", "data": out})
                try:
                    return _ok(fn(q))
                except Rejected as e:
                    code, msg = ERRORS.get(e.code, ERRORS["bad_request"])
                    msg = f"{msg} {e.reason}"
                    if order:  # order endpoints: the item's sCode / sMsg, the envelope's code "1"
                        return _err("1", "All operations failed",
                                    [{"clOrdId": q.get("clOrdId", ""), "ordId": "", "sCode": code, "sMsg": msg}])
                    return _err(code, msg)
                except (KeyError, ValueError, TypeError) as e:
                    return _err("51000", f"Parameter error: {e}")
            return handler
        return wrap

    def _item(self, fn, q: dict) -> dict:
        try:
            return fn(q)[0]
        except Rejected as e:
            code, msg = ERRORS.get(e.code, ERRORS["bad_request"])
            return {"clOrdId": q.get("clOrdId", ""), "ordId": "", "sCode": code, "sMsg": f"{msg} {e.reason}"}
        except (KeyError, ValueError, TypeError) as e:
            return {"clOrdId": q.get("clOrdId", ""), "ordId": "", "sCode": "51000", "sMsg": f"Parameter error: {e}"}

    # -- public -------------------------------------------------------------------------------------
    def server_time(self, q) -> list:
        return [{"ts": str(int(time.time() * 1000))}]

    def instruments(self, q) -> list:
        typ = q.get("instType")
        lot = getattr(self.r, "lot_step", None)
        out = []
        if typ == "SPOT":
            for tok in self.r.tokens("okx.spot"):
                out.append({"instType": "SPOT", "instId": f"{tok}-USDT", "uly": "", "instFamily": "", "baseCcy": tok,
                            "quoteCcy": "USDT", "settleCcy": "", "ctVal": "", "ctMult": "", "ctValCcy": "",
                            "listTime": "1548133413000", "expTime": "", "lever": "10", "tickSz": "0.01",
                            "lotSz": lot or "0.00000001", "minSz": lot or "0.00001", "ctType": "", "state": "live",
                            "maxLmtSz": "9999999999", "maxMktSz": "1000000", "ruleType": "normal"})
        elif typ == "SWAP":
            for tok in self.r.tokens("okx.perp"):
                out.append({"instType": "SWAP", "instId": f"{tok}-USDT-SWAP", "uly": f"{tok}-USDT",
                            "instFamily": f"{tok}-USDT", "baseCcy": "", "quoteCcy": "", "settleCcy": "USDT",
                            "ctVal": s(CT_VAL[tok]), "ctMult": "1", "ctValCcy": tok, "listTime": "1573557408000",
                            "expTime": "", "lever": "100", "tickSz": "0.01", "lotSz": lot or "0.01",
                            "minSz": lot or "0.01", "ctType": "linear", "state": "live", "maxLmtSz": "100000000",
                            "maxMktSz": "1000000", "ruleType": "normal"})
        elif typ not in ("FUTURES", "OPTION", "MARGIN"):
            raise Rejected("bad_request", f"instType {typ!r}")
        return out

    def _ticker(self, acc: str, tok: str) -> dict:
        bid, ask = self.r.book_ticker(acc, tok)
        px = s(self.r.price(acc, tok))
        return {"instType": "SWAP" if acc == "okx.perp" else "SPOT", "instId": self._name(acc, tok), "last": px,
                "lastSz": "0", "askPx": s(ask), "askSz": "0", "bidPx": s(bid), "bidSz": "0", "open24h": px,
                "high24h": px, "low24h": px, "volCcy24h": "0", "vol24h": "0", "sodUtc0": px, "sodUtc8": px,
                "ts": str(self.r.t // NS_MS)}

    def tickers(self, q) -> list:
        if q.get("instId"):
            return [self._ticker(*self._inst(q["instId"]))]
        acc = {"SPOT": "okx.spot", "SWAP": "okx.perp"}.get(q.get("instType", ""))
        if acc is None:
            raise Rejected("bad_request", f"instType {q.get('instType')!r}: the emulator has SPOT and SWAP")
        return [self._ticker(acc, tok) for tok in self.r.tokens(acc)]

    def mark_price(self, q) -> list:
        """Mark = the swap's price now (as the simulator marks); ``instId`` or every swap."""
        if q.get("instId"):
            pairs = [self._inst(q["instId"])]
        else:
            pairs = [("okx.perp", t) for t in self.r.tokens("okx.perp")]
        return [{"instType": "SWAP", "instId": self._name(a, t), "markPx": s(self.r.price(a, t)),
                 "ts": str(self.r.t // NS_MS)} for a, t in pairs if a == "okx.perp"]

    def funding_rate(self, q) -> list:
        """The last settled rate and the next recorded settlement (the data has no predicted rate)."""
        acc, tok = self._inst(q.get("instId"))
        if acc != "okx.perp":
            raise Rejected("bad_request", "funding rates are for swaps")
        rate, nxt = self.r.funding_now(acc, tok)
        last = self.r.funding_history(acc, tok, None, 1)
        t_last = last[-1][0] if last else (nxt or self.r.t) - 8 * 3600 * 10**9
        nxt = nxt or t_last + 8 * 3600 * 10**9
        return [{"instType": "SWAP", "instId": self._name(acc, tok), "fundingRate": s(rate),
                 "fundingTime": str(nxt // NS_MS), "nextFundingTime": str((2 * nxt - t_last) // NS_MS),
                 "nextFundingRate": "", "method": "current_period", "settState": "settled",
                 "settFundingRate": s(rate), "premium": "0", "interestRate": "0", "impactValue": "",
                 "minFundingRate": "-0.0075", "maxFundingRate": "0.0075", "ts": str(self.r.t // NS_MS)}]

    def funding_history(self, q) -> list:
        acc, tok = self._inst(q.get("instId"))
        limit = int(q.get("limit", 100))
        rows = self.r.funding_history(acc, tok, None, 10**6)
        if q.get("before"):  # newer than
            rows = [x for x in rows if x[0] > int(q["before"]) * NS_MS]
        if q.get("after"):  # older than
            rows = [x for x in rows if x[0] < int(q["after"]) * NS_MS]
        rows = rows[-limit:] if not q.get("before") else rows[:limit]
        return [{"instType": "SWAP", "instId": self._name(acc, tok), "fundingRate": s(r), "realizedRate": s(r),
                 "fundingTime": str(t // NS_MS), "method": "current_period"} for t, r in reversed(rows)]

    def candles(self, q) -> list:
        acc, tok = self._inst(q.get("instId"))
        iv = BARS.get(q.get("bar", "1m"))
        if iv is None:
            raise Rejected("bad_request", f"bar {q.get('bar')!r}: the replay serves {', '.join(BARS)}")
        limit = int(q.get("limit", 100))
        until = int(q["after"]) * NS_MS - 1 if q.get("after") else None  # OKX: after = older than
        since = int(q["before"]) * NS_MS + 1 if q.get("before") else None
        bars = self.r.bars(acc, tok, iv, since, until, limit)
        ct = self._ct(acc, tok)
        return [[str(b // NS_MS), s(o), s(h), s(lo), s(c), s(v / ct), s(v), s(v * c), "1"]
                for b, o, h, lo, c, v in reversed(bars)]

    # -- account ------------------------------------------------------------------------------------
    def currencies(self, q) -> list:
        """One row per token and withdrawal network (``configs/venues/okx.yaml`` transfers)."""
        toks = sorted({t for acc in ("okx.spot", "okx.perp") for t in self.r.tokens(acc)} | {"USDT"})
        nets = self.r.params["okx"].transfers or {}
        rows = []
        for tok in toks:
            for net, p in (nets.get(tok) or {"": None}).items():
                rows.append({"ccy": tok, "name": tok, "chain": f"{tok}-{net}" if net else tok, "canDep": bool(net),
                             "canWd": bool(net), "canInternal": True, "fee": s(p.withdrawal_fee) if p else "0",
                             "minFee": s(p.withdrawal_fee) if p else "0", "maxFee": s(p.withdrawal_fee) if p else "0",
                             "minWd": s(p.withdrawal_fee) if p else "0", "maxWd": "10000000", "wdTickSz": "8",
                             "minDep": "0", "mainNet": net == "ERC20"})
        return rows

    def config(self, q) -> list:
        return [{"uid": "1", "mainUid": "1", "acctLv": "2", "posMode": "net_mode", "autoLoan": False,
                 "greeksType": "PA", "level": "Lv1", "levelTmp": "", "ctIsoMode": "automatic",
                 "mgnIsoMode": "automatic", "spotOffsetType": "", "label": "basiskit emulator", "perm": "read_only,trade,withdraw"}]

    def balance(self, q) -> list:
        acc = "okx.perp"  # the trading account (its USDT: the pool; Replay.holder)
        bal = self.r.venue_balances("okx")
        upnl = sum(sz * (m - e) for sz, e, m in self.r.positions(acc).values())
        want = set(q["ccy"].split(",")) if q.get("ccy") else None
        details = []
        for tok, amt in sorted(bal.items()):
            if want and tok not in want:
                continue
            u = upnl if tok == "USDT" else 0.0
            avail = self.r.withdrawable(acc, tok)
            details.append({"ccy": tok, "eq": s(amt + u), "cashBal": s(amt), "availBal": s(avail),
                            "availEq": s(avail), "frozenBal": s(max(0.0, amt - avail)), "ordFrozen": "0",
                            "upl": s(u), "isoEq": "0", "disEq": s(amt + u), "uTime": str(self.r.t // NS_MS)})
        return [{"uTime": str(self.r.t // NS_MS), "totalEq": "", "adjEq": "", "isoEq": "0", "imr": "", "mmr": "",
                 "upl": s(upnl), "details": details}]

    def funding_balance(self, q) -> list:
        bal = self.r.balances("okx.funding")
        return [{"ccy": tok, "bal": s(amt), "availBal": s(amt), "frozenBal": "0"} for tok, amt in sorted(bal.items())
                if not q.get("ccy") or tok in q["ccy"].split(",")]

    def positions(self, q) -> list:
        want = q["instId"].split(",") if q.get("instId") else None
        out = []
        for tok, (sz, entry, mark) in self.r.positions("okx.perp").items():
            name = self._name("okx.perp", tok)
            if want and name not in want:
                continue
            ct = CT_VAL[tok]
            out.append({"instType": "SWAP", "instId": name, "posId": f"pos-{tok}", "posSide": "net", "mgnMode": "cross",
                        "pos": s(sz / ct), "posCcy": "", "avgPx": s(entry), "markPx": s(mark), "last": s(mark),
                        "upl": s(sz * (mark - entry)), "uplRatio": "0", "lever": "10", "liqPx": "", "imr": "0",
                        "margin": "", "mmr": "0", "notionalUsd": s(abs(sz) * mark), "ccy": "USDT",
                        "realizedPnl": "0", "cTime": str(self.r.grid[0] // NS_MS), "uTime": str(self.r.t // NS_MS)})
        return out

    def bills(self, q) -> list:
        """Funding payments (bill ``type`` 8) of the swaps, newest first."""
        if q.get("type") not in (None, "", "8"):
            return []
        rows = []
        for k, ev in enumerate(self.r.funding_paid["okx.perp"]):
            if q.get("begin") and ev.timestamp < int(q["begin"]) * NS_MS:
                continue
            rows.append({"billId": str(k + 1), "instType": "SWAP", "instId": self._name("okx.perp", ev.token),
                         "ccy": "USDT", "type": "8", "subType": "173" if ev.amount < 0 else "174",
                         "balChg": s(ev.amount), "posBalChg": "0", "bal": "", "sz": s(abs(ev.size) / CT_VAL[ev.token]),
                         "px": s(ev.mark), "fee": "0", "pnl": s(ev.amount), "mgnMode": "cross",
                         "ts": str(ev.timestamp // NS_MS)})
        rows.reverse()
        return rows[: int(q.get("limit", 100))]

    # -- orders -------------------------------------------------------------------------------------
    def _order_json(self, o: EmuOrder, algo: bool = False) -> dict:
        rec, od = o.record, o.order
        ct = self._ct(o.account, od.token)
        qty = sum(f.qty for f in o.fills)
        value = sum(f.qty * f.price for f in o.fills)
        fee = sum(f.fee for f in o.fills)
        typ = od.order_type.value
        out = {"instType": "SWAP" if o.account == "okx.perp" else "SPOT", "instId": self._name(o.account, od.token),
               "ordId": str(o.order_id), "clOrdId": rec.client_order_id, "tag": "",
               "px": s(od.limit_price) if od.limit_price else "", "sz": s(od.amount / ct),
               "ordType": {"limit": "limit", "market": "market"}.get(typ, "trigger"), "side": od.side.value,
               "posSide": "net", "tdMode": "cross" if o.account == "okx.perp" else "cash", "tgtCcy": "",
               "accFillSz": s(qty / ct), "fillPx": s(o.fills[-1].price) if o.fills else "",
               "avgPx": s(value / qty) if qty else "", "state": STATE[rec.status], "lever": "",
               "fee": s(-fee), "feeCcy": "USDT", "reduceOnly": "true" if o.reduce_only else "false",
               "cTime": str(o.created_ns // NS_MS), "uTime": str(o.updated_ns // NS_MS),
               "fillTime": str(o.fills[-1].ts // NS_MS) if o.fills else ""}
        if algo:  # a trigger order's own fields (/trade/order-algo); its fill is the order ``ordId`` names
            out.update(algoId=str(o.order_id), algoClOrdId=rec.client_order_id, triggerPx=s(od.stop_price or 0.0),
                       orderPx="-1", ordType="trigger", actualSz=s(qty / ct) if qty else "",
                       actualPx=s(value / qty) if qty else "", ordId=str(o.order_id) if qty else "",
                       state={"live": "live", "partially_filled": "live", "filled": "effective"}.get(
                           out["state"], "canceled"))
        return out

    def _size(self, q, acc: str, tok: str) -> float:
        qty = float(q["sz"]) * self._ct(acc, tok)
        if acc == "okx.spot" and q.get("ordType") == "market" and q.get("side") == "buy" \
                and q.get("tgtCcy", "quote_ccy") == "quote_ccy":  # OKX spot market buys are in quote units
            qty = qty / self.r.book_ticker(acc, tok)[1]
        return qty

    def place(self, q) -> list:
        acc, tok = self._inst(q.get("instId"))
        kind = q.get("ordType")
        tif = {"market": "gtc", "limit": "gtc", "post_only": "gtc", "ioc": "ioc", "fok": "fok"}.get(kind)
        if tif is None:
            raise Rejected("bad_request", f"ordType {kind!r} (market, limit, post_only, ioc, fok)")
        typ = "market" if kind == "market" else "limit"
        o = self.r.place(acc, tok, q["side"], self._size(q, acc, tok), typ,
                         float(q["px"]) if typ == "limit" else None, None, q.get("clOrdId") or None, tif,
                         str(q.get("reduceOnly")).lower() == "true")
        return [{"ordId": str(o.order_id), "clOrdId": o.record.client_order_id, "tag": "", "ts": str(self.r.t // NS_MS),
                 "sCode": "0", "sMsg": "Order placed"}]

    def _find(self, q, acc: str, id_key: str = "ordId", cid_key: str = "clOrdId") -> EmuOrder:
        oid = q.get(id_key)
        return self.r.find(acc, int(oid) if oid else None, q.get(cid_key) or None)

    def cancel(self, q) -> list:
        acc, _ = self._inst(q.get("instId"))
        o = self._find(q, acc)
        self.r.cancel(acc, o.order_id)
        return [{"ordId": str(o.order_id), "clOrdId": o.record.client_order_id, "ts": str(self.r.t // NS_MS),
                 "sCode": "0", "sMsg": ""}]

    def get_order(self, q) -> list:
        acc, _ = self._inst(q.get("instId"))
        try:
            o = self._find(q, acc)
        except Rejected:
            raise Rejected("unknown_order", f"{q.get('ordId') or q.get('clOrdId')}") from None
        if o.order.stop_price is not None and not o.fills:
            raise Rejected("unknown_order", "a trigger order is read at /trade/order-algo")
        return [self._order_json(o)]

    def _listing(self, q, open_: bool, algo: bool) -> list:
        accs = [self._inst(q["instId"])[0]] if q.get("instId") else ["okx.spot", "okx.perp"]
        if q.get("instType") and not q.get("instId"):
            accs = {"SPOT": ["okx.spot"], "SWAP": ["okx.perp"]}.get(q["instType"], [])
        rows = [o for acc in accs for o in self.r.all_orders(acc) if o.record.is_open == open_
                and (o.order.stop_price is not None) == algo
                and (not q.get("instId") or self._name(o.account, o.order.token) == q["instId"])]
        rows.sort(key=lambda o: -o.order_id)
        return [self._order_json(o, algo) for o in rows[: int(q.get("limit", 100))]]

    def pending(self, q) -> list:
        return self._listing(q, True, False)

    def history(self, q) -> list:
        return self._listing(q, False, False)

    def fills(self, q) -> list:
        accs = [self._inst(q["instId"])[0]] if q.get("instId") else ["okx.spot", "okx.perp"]
        rows = []
        for acc in accs:
            for f in self.r.fills[acc]:
                if q.get("ordId") and str(f.order_id) != q["ordId"]:
                    continue
                if q.get("instId") and self._name(acc, f.token) != q["instId"]:
                    continue
                if q.get("begin") and f.ts < int(q["begin"]) * NS_MS:
                    continue
                ct = self._ct(acc, f.token)
                rows.append({"instType": "SWAP" if acc == "okx.perp" else "SPOT", "instId": self._name(acc, f.token),
                             "tradeId": str(f.trade_id), "ordId": str(f.order_id), "clOrdId": f.client_id,
                             "billId": str(f.trade_id), "tag": "", "fillPx": s(f.price), "fillSz": s(f.qty / ct),
                             "side": f.side, "posSide": "net", "execType": "M" if f.maker else "T",
                             "feeCcy": "USDT", "fee": s(-f.fee), "fillPnl": s(f.realised), "ts": str(f.ts // NS_MS)})
        rows.sort(key=lambda x: -int(x["tradeId"]))  # newest first, as OKX lists
        return rows[: int(q.get("limit", 100))]

    # -- trigger (algo) orders ----------------------------------------------------------------------
    def place_algo(self, q) -> list:
        acc, tok = self._inst(q.get("instId"))
        if q.get("ordType") != "trigger" or str(q.get("orderPx")) != "-1":
            raise Rejected("bad_request", "only trigger orders with orderPx -1 (stop-market) are emulated")
        trig = float(q["triggerPx"])
        side = q["side"]
        rising = trig >= self.r.price(acc, tok)  # a buy waiting for a rise (a sell for a fall) is a stop
        typ = "stop" if (side == "buy") == rising else "take_profit"
        cid = q.get("algoClOrdId") or q.get("clOrdId") or None
        o = self.r.place(acc, tok, side, self._size(q, acc, tok), typ, None, trig, cid, "gtc",
                         str(q.get("reduceOnly")).lower() == "true")
        return [{"algoId": str(o.order_id), "algoClOrdId": o.record.client_order_id, "clOrdId": "",
                 "sCode": "0", "sMsg": ""}]

    def cancel_algo(self, q) -> list:
        """One item of ``/trade/cancel-algos`` (a list body: ``[{"algoId", "instId"}, ...]``)."""
        acc, _ = self._inst(q.get("instId"))
        o = self._find(q, acc, "algoId", "algoClOrdId")
        self.r.cancel(acc, o.order_id)
        return [{"algoId": str(o.order_id), "algoClOrdId": o.record.client_order_id, "sCode": "0", "sMsg": ""}]

    def get_algo(self, q) -> list:
        for acc in ("okx.perp", "okx.spot"):
            try:
                o = self._find(q, acc, "algoId", "algoClOrdId")
            except Rejected:
                continue
            if o.order.stop_price is not None:
                return [self._order_json(o, True)]
        raise Rejected("unknown_order", f"algo order {q.get('algoId') or q.get('algoClOrdId')}")

    def algo_pending(self, q) -> list:
        return self._listing(q, True, True)

    def algo_history(self, q) -> list:
        return self._listing(q, False, True)

    # -- wallet -------------------------------------------------------------------------------------
    def transfer(self, q) -> list:
        names = {TRADING: "perp", FUNDING: "funding"}
        src, dst = names.get(str(q.get("from"))), names.get(str(q.get("to")))
        if src is None or dst is None or src == dst or str(q.get("type", "0")) != "0":
            raise Rejected("bad_request", f"transfer from {q.get('from')!r} to {q.get('to')!r}: the emulator moves "
                           "between the funding (6) and trading (18) accounts of the master account")
        m = self.r.transfer("okx", q["ccy"], float(q["amt"]), src, dst)
        m.txid = str(m.id)
        return [{"transId": m.txid, "ccy": m.token, "clientId": q.get("clientId", ""), "from": str(q["from"]),
                 "amt": s(m.amount), "to": str(q["to"])}]

    def transfer_state(self, q) -> list:
        ids = {TRADING: "okx.perp", FUNDING: "okx.funding"}
        inv = {v: k for k, v in ids.items()}
        return [{"transId": m.txid, "ccy": m.token, "amt": s(m.amount), "from": inv.get(m.source, ""),
                 "to": inv.get(m.target, ""), "type": "0", "state": "success", "ts": str(m.created_ns // NS_MS)}
                for m in self.r.movements_of("okx", "transfer") if m.txid == q.get("transId")]

    def withdraw(self, q) -> list:
        ccy = q["ccy"]
        chain = (q.get("chain") or "").partition("-")[2] or None
        m = self.r.withdraw("okx.funding", ccy, float(q["amt"]), q["toAddr"], chain)
        return [{"wdId": str(m.id), "ccy": ccy, "chain": f"{ccy}-{m.network}", "amt": s(m.amount + m.fee),
                 "clientId": q.get("clientId", "")}]

    def withdrawals(self, q) -> list:
        rows = [{"wdId": str(m.id), "ccy": m.token, "chain": f"{m.token}-{m.network}", "amt": s(m.amount),
                 "fee": s(m.fee), "feeCcy": m.token, "to": m.address, "from": "", "txId": m.txid,
                 "state": "2" if m.status == "completed" else "1", "ts": str(m.created_ns // NS_MS),
                 "clientId": ""}
                for m in self.r.movements_of("okx", "withdrawal") if not q.get("ccy") or q["ccy"] == m.token]
        return rows[::-1]

    def deposits(self, q) -> list:
        rows = [{"depId": str(m.id), "ccy": m.token, "chain": f"{m.token}-{m.network}", "amt": s(m.amount),
                 "from": "", "to": "", "txId": m.txid, "state": "2" if m.status == "completed" else "0",
                 "ts": str(m.created_ns // NS_MS), "actualDepBlkConfirm": "1"}
                for m in self.r.movements_of("okx", "deposit") if not q.get("ccy") or q["ccy"] == m.token]
        return rows[::-1]

    # -- streams ------------------------------------------------------------------------------------
    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        streams = self.emu.streams
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if msg.data == "ping":  # OKX's keepalive is a text frame, not a websocket ping
                    await ws.send_str("pong")
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    await ws.send_str(json.dumps({"event": "error", "code": "60012",
                                                  "msg": f"Illegal request: {msg.data}", "connId": "emu"}))
                    continue
                if not isinstance(req, dict) or req.get("op") not in ("subscribe", "unsubscribe"):
                    await ws.send_str(json.dumps({"event": "error", "code": "60012",
                                                  "msg": f"Illegal request: {msg.data}", "connId": "emu"}))
                    continue
                made = []
                for arg in req.get("args") or []:
                    if req["op"] == "unsubscribe":
                        streams.subs = [x for x in streams.subs if not (x[0] is ws and x[1] == json.dumps(arg))]
                        await ws.send_str(json.dumps({"event": "unsubscribe", "arg": arg, "connId": "emu"}))
                        continue
                    maker = self._maker(arg)
                    if maker is None:
                        await ws.send_str(json.dumps({"event": "error", "code": "60018", "connId": "emu",
                                                      "msg": f"Wrong URL or channel:{arg.get('channel')},instId:"
                                                             f"{arg.get('instId')} doesn't exist."}))
                        continue
                    streams.add(ws, json.dumps(arg), maker)
                    made.append(maker)
                    await ws.send_str(json.dumps({"event": "subscribe", "arg": arg, "connId": "emu"}))
                await send_current(ws, made)
        finally:
            streams.drop(ws)
        return ws

    def _maker(self, arg: dict):
        """The message maker of one subscription (None: no such channel or instrument)."""
        channel = str(arg.get("channel", ""))
        try:
            acc, tok = self._inst(arg.get("instId"))
        except Rejected:
            return None
        r = self.r
        head = {"channel": channel, "instId": arg["instId"]}

        def push(data: list) -> str:
            return json.dumps({"arg": head, "data": data})
        if channel == "bbo-tbt":
            def bbo() -> str:
                bid, ask = r.book_ticker(acc, tok)
                return push([{"asks": [[s(ask), "0", "0", "0"]], "bids": [[s(bid), "0", "0", "0"]],
                              "ts": str(r.t // NS_MS), "seqId": r.i}])
            return bbo
        if channel == "tickers":
            return lambda: push([self._ticker(acc, tok)])
        if channel == "mark-price" and acc == "okx.perp":
            return lambda: push(self.mark_price({"instId": arg["instId"]}))
        if channel == "funding-rate" and acc == "okx.perp":
            return lambda: push(self.funding_rate({"instId": arg["instId"]}))
        if channel.startswith("candle") and channel[len("candle"):] in BARS:
            iv = BARS[channel[len("candle"):]]

            def candle() -> str | None:
                bars = r.bars(acc, tok, iv, limit=1)
                if not bars:
                    return None
                b, o, h, lo, c, v = bars[-1]
                ct = self._ct(acc, tok)
                return push([[str(b // NS_MS), s(o), s(h), s(lo), s(c), s(v / ct), s(v), s(v * c), "1"]])
            return candle
        return None

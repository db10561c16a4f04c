"""The exchange a ``--live`` session sends its orders to through the ccxt adapters (``venues.live``).

``CcxtExchange`` is the runner's ``remote`` (the same calls as ``engine.live.sim_exchange.ExchangeClient``:
``sync``, ``submit``, ``state``, ``now``) over ``CcxtAccount`` s -- one per exchange account the strategy
trades (``binance.perp``, ``bybit.spot``, ...), credentials from the environment. Per order
(``engine.live.journal.JournaledAccount``): the adapter sends it with its client order id and reads
the venue's fills; the session's own account view (the simulators the risk monitor and the strategy
context read: margin ratio, positions, balances, value) applies the same order and must agree with
the venue's answer (status, amount, price to 1e-9), else ``RecoveryConflict`` stops the session. The
figures the kernel reads are therefore the venue's fills folded by the backtest's own accounting;
``state`` reads the venue's balances and positions back (REST) for recovery and reconciliation.

A venue whose spot and perp are ONE venue account (``unified_account``: OKX's trading account, Bybit's
unified trading account; ``venues.live.unified``) is read once: its spot tokens are the spot
sub-account's, its one quote balance is reported as ``pooled`` (the SUM the session's sub-accounts must
add up to; ``engine.live.recovery`` splits it), never once per sub-account. A transfer between its two
sub-accounts is bookkeeping (``is_bookkeeping``: no venue call; the journal records it so).

Accounts that are not at the exchange (the desk's own ``wallet``, the ``transit`` of amounts between
venues) stay the session's: a transfer from the wallet to an exchange account is a deposit the venue
credits after its network's delay. On the exchange emulator (``control_url``: ``basiskit emulator``'s
URL, manual clock) ``sync(t)`` moves the emulator's replay clock to ``t`` (``POST /emulator/advance``)
and a wallet deposit is its ``POST /emulator/deposit`` (the chain delivering the transfer); against a
real venue (``control_url`` None) the clock is the venue's and a wallet deposit is refused (the
wallet's on-chain transfer is not wired here). A transfer to another venue is a withdrawal to the
destination account's deposit address (the adapters' ``addresses``; on the emulator ``emulator:<account>``,
credited there after the network's delays), asked for with the network fee on top.

Lot sizes: ``lot(account, token)`` gives the market's amount step, minimum amount and minimum notional
from ccxt's markets (``CcxtAccount.lot``); the live runner installs them on the session's accounts, so
the orders arrive here already on the step (ccxt's own truncation then changes nothing).

Units: times ns (UTC), amounts in token units, prices in USDT per base unit.
Errors: ``VenueUnavailable`` (the venue does not answer), ``ConfigError`` (credentials refused),
``RuntimeError`` (the emulator's control endpoint refused a request: its message).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from urllib.request import Request, urlopen

from basiskit.domain.orders import Operation, Order
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus

NS_MS = 1_000_000


def txid_of(client_order_id: str) -> str:
    """The transaction id a wallet transfer's deposit carries (sha-256 of its client order id, hex):
    recovery finds the deposit of a transfer whose answer was lost by it."""
    return "0x" + hashlib.sha256(client_order_id.encode()).hexdigest()


class CcxtExchange:
    """Args: adapters (account name -> ``CcxtAccount``), control_url (the emulator's base URL, or None),
    local (account names that stay the session's: ``wallet``, ``transit``)."""

    def __init__(self, adapters: dict, control_url: str | None = None,
                 local: tuple[str, ...] = ("wallet", "transit")) -> None:
        self.adapters = adapters
        self.control = control_url.rstrip("/") if control_url else None
        self.local = local
        self._t: int | None = None

    # -- the emulator's control endpoints ---------------------------------------------------------
    def _post(self, path: str, body: dict) -> dict:
        req = Request(self.control + path, data=json.dumps(body).encode(), method="POST",
                      headers={"Content-Type": "application/json"})
        try:
            with urlopen(req, timeout=30) as r:  # noqa: S310 - the emulator on 127.0.0.1
                return json.loads(r.read())
        except Exception as exc:  # noqa: BLE001 - HTTPError carries the emulator's reason
            body_txt = getattr(exc, "read", lambda: b"")()
            raise RuntimeError(f"emulator {path}: {exc} {body_txt[:300]!r}") from None

    # -- the remote protocol ----------------------------------------------------------------------
    def sync(self, t: int) -> None:
        """Bring the exchange to clock time ``t`` (ns): the emulator's replay clock moves (never back)."""
        if self.control is not None and (self._t is None or t > self._t):
            self._post("/emulator/advance", {"to": int(t) // NS_MS})
        self._t = t if self._t is None else max(self._t, t)

    def now(self) -> int | None:
        """The exchange's clock time if a session has moved it (the emulator's replay time once it left its
        start: a restarted session resumes after it), else the last time this client synced (None)."""
        if self.control is not None:
            from urllib.request import urlopen

            with urlopen(self.control + "/emulator/state", timeout=10) as r:  # noqa: S310 - 127.0.0.1
                st = json.loads(r.read())
            if int(st["i"]) > 0:
                return int(st["t"]) * NS_MS
        return self._t

    def lot(self, account: str, token: str):
        """The lot size (``domain.lots.LotSize``) of ``token``'s market on the exchange ``account``, from ccxt's
        markets (``CcxtAccount.lot``); None for an account that is not at the exchange."""
        acc = self.adapters.get(account)
        return acc.lot(token) if acc is not None else None

    def lookup(self, records: list) -> tuple[dict, list]:
        """What the venue has of the journal's ``records`` (``LiveOrderRecord`` s still open or in
        transit), by client order id: ``({cid: (status, filled, price, account, operation)},
        [(arrival ns, destination, token, amount) of the wallet deposits still pending])``. Orders are
        looked up at their account by client order id (``CcxtAccount._by_client_id``); a wallet transfer
        by its deposit's transaction id (``txid_of``) in the destination venue's deposit history, a
        transfer to another venue by its withdrawal (``_withdrawal``) in the source venue's history."""
        found: dict = {}
        transit: list = []
        deposits: dict = {}
        withdrawals: dict = {}
        used: set = set()
        for r in records:
            if r.operation == "transfer" and r.venue in self.local:
                acc = self.adapters.get(r.to_venue or "")
                if acc is None:
                    continue
                key = (id(acc.session), r.token)
                if key not in deposits:
                    deposits[key] = {d.get("txid"): d for d in acc.session.call("fetch_deposits", r.token)}
                d = deposits[key].get(txid_of(r.client_order_id))
                if d is None:
                    continue
                amount = float(d["amount"])
                found[r.client_order_id] = ("filled", amount, 1.0, r.venue, r.operation)
                if d.get("status") != "ok":
                    transit.append((int((r.data or {}).get("arrival_ns") or 0), r.to_venue, r.token, amount))
                continue
            acc = self.adapters.get(r.venue)
            if acc is not None and r.operation == "transfer" and (r.to_venue or "").split(".")[0] != acc.venue:
                w = self._withdrawal(acc, r, withdrawals, used)
                if w is not None:  # (the journal's amount: the venue's decimal string may differ in the 9th digit)
                    amount = r.filled or r.amount
                    found[r.client_order_id] = ("filled", amount, 1.0, r.venue, r.operation)
                    if w.get("status") != "ok":
                        transit.append((int((r.data or {}).get("arrival_ns") or 0), r.to_venue, r.token, amount))
                continue
            if acc is None or r.token not in acc.symbols:
                continue
            o = acc._by_client_id(acc.symbols[r.token], r.client_order_id)
            if o is None:
                continue
            filled = float(o.get("filled") or 0.0)
            status = "filled" if o.get("status") == "closed" and filled > 0 else str(o.get("status"))
            found[r.client_order_id] = (status, filled, float(o.get("average") or o.get("price") or 0.0), r.venue,
                                        r.operation)
        return found, transit

    def is_bookkeeping(self, account: str, order: Order) -> bool:
        """Whether ``order`` from ``account`` moves nothing at the venue (a transfer between the two
        sub-accounts of a unified venue account: ``CcxtAccount.is_bookkeeping``)."""
        acc = self.adapters.get(account)
        return acc is not None and acc.is_bookkeeping(order)

    def submit(self, t: int, account: str, order: Order) -> Trade:
        """Send ``order`` (from ``account``) at clock time ``t``; the venue's answer as a ``Trade``."""
        self.sync(t)
        if order.operation is Operation.TRANSFER and account in self.local:
            return self._deposit(t, order)
        acc = self.adapters.get(account)
        if acc is None:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{account} is not an account of the connected exchanges ({', '.join(self.adapters)})")
        acc._now = t
        dest = order.to_venue or ""
        if order.operation is Operation.TRANSFER and dest.split(".")[0] != account.split(".")[0]:
            return self._withdraw(t, acc, order)
        return acc.submit([order])[0]

    def _withdraw(self, t: int, acc, order: Order) -> Trade:
        """A transfer to another venue: a withdrawal to the destination's deposit address. The account
        view's convention (``venues.sim.transfer``: ``amount`` arrives, the network fee is paid on top)
        is kept: the venue is asked to withdraw ``amount + fee`` (its network's fee, from the venue
        config), so ``amount`` is what the network carries."""
        from basiskit.engine.assembly import load_venue_config

        nets = load_venue_config(acc.venue).transfers or {}
        net = nets.get(order.token, {}).get(acc.cfg.withdraw_network)
        fee = net.withdrawal_fee if net is not None else 0.0
        tr = acc.submit([replace(order, amount=order.amount + fee)])[0]
        if not tr.ok:
            return replace(tr, order=order)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=tr.executed_amount - tr.fee, price=1.0, fee=tr.fee,
                     fee_currency=order.token)

    @staticmethod
    def _withdrawal(acc, r, cache: dict, used: set) -> dict | None:
        """The venue's withdrawal of a transfer to another venue (``r``: its journal record): the one
        asked for at the record's clock time carrying its amount (a withdrawal has no client order id
        on every venue; each is matched once)."""
        key = (id(acc.session), r.token)
        if key not in cache:
            cache[key] = acc.session.call("fetch_withdrawals", r.token)
        amount = r.filled or r.amount
        for w in cache[key]:
            wid = (key, str(w.get("id")))
            if wid in used or w.get("timestamp") is None:
                continue
            if int(w["timestamp"]) == r.timestamp // NS_MS and abs(float(w["amount"]) - amount) <= 1e-6 * max(1.0, amount):
                used.add(wid)
                return w
        return None

    def _deposit(self, t: int, order: Order) -> Trade:
        dest = order.to_venue or ""
        if dest not in self.adapters:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"a transfer from {order.venue} to {dest!r}: not an exchange account")
        if self.control is None:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error="a deposit from the desk's wallet to a real venue is an on-chain transfer "
                               "(not wired to the ccxt exchange)")
        self._post("/emulator/deposit", {"account": dest, "token": order.token, "amount": order.amount,
                                         "txid": txid_of(order.client_order_id or "")})
        # the simulators quote a transfer at price 1 (token units moved); the deposit is credited by the venue
        return Trade(order, t, TradeStatus.FILLED, executed_amount=order.amount, price=1.0)

    def state(self, before_t: int) -> dict:
        """The venue's balances ``(account, token) -> units`` and perp positions ``(account, token) ->
        (size, entry)`` read through the adapters (REST); ``accounts``: the accounts these cover (the
        session keeps its own for the others); ``pooled``: one row per unified venue account
        (``{"venue", "token", "total", "accounts", "rest_to"}``: its one quote balance, the session's
        sub-accounts holding it, the one that takes what the others' book does not explain), whose
        sub-accounts' quote balances are then absent from ``balances``. Orders and transfers in transit
        are the journal's."""
        balances: dict = {}
        positions: dict = {}
        pooled: list = []
        read: set = set()
        for name, acc in self.adapters.items():
            if acc.shared:
                if acc.venue not in read:  # the venue's one account, read once for both sub-accounts
                    read.add(acc.venue)
                    bal = acc.venue_balance()
                    subs = [a for a in self.adapters if self.adapters[a].venue == acc.venue and self.adapters[a].shared]
                    perp = next((a for a in subs if self.adapters[a].perp), subs[-1])
                    pooled.append({"venue": acc.venue, "token": acc.quote, "total": float(bal.get(acc.quote, 0.0)),
                                   "accounts": sorted(subs), "rest_to": perp})
                    spot = next((a for a in subs if not self.adapters[a].perp), None)
                    for tok, v in bal.items():
                        if tok != acc.quote and v and spot is not None:
                            balances[(spot, tok)] = float(v)
                if acc.perp:
                    for tok, (size, entry) in acc.positions_at_venue().items():
                        positions[(name, tok)] = (float(size), float(entry))
                continue
            snap = acc.account()
            for tok, v in snap.balances.items():
                if v:
                    balances[(name, tok)] = float(v)
            for tok, (size, entry) in snap.positions.items():
                positions[(name, tok)] = (float(size), float(entry))
        return {"t": self._t, "balances": balances, "positions": positions, "checkpoints": None, "orders": {},
                "submits": {}, "in_transit": None, "accounts": sorted(self.adapters), "pooled": pooled}

    def close(self) -> None:
        for s in {id(a.session): a.session for a in self.adapters.values()}.values():
            s.close()


def connect(accounts: dict[str, list[str]], control_url: str | None = None, env: dict | None = None,
            overrides: dict | None = None) -> CcxtExchange:
    """A ``CcxtExchange`` for ``accounts`` (``{"binance.perp": ["BTC"], "bybit.spot": ["BTC"], ...}``:
    the exchange accounts a strategy trades and their base tokens). ``control_url``: an exchange
    emulator (ccxt pointed at it by URL, its clock stepped by ``sync``); ``env``: where the credentials
    are read (default ``os.environ``: ``BINANCE_API_KEY`` / ``_SECRET``, ``BYBIT_...``); ``overrides``:
    venue -> ``LiveVenueConfig`` keys (for the emulator: ``urls``, ``options``, ``ccxt`` from
    ``emulator.server.ccxt_config``, which the caller adds). Raises ConfigError (an unknown venue, missing credentials)."""
    from basiskit.venues.live import build_live_accounts

    by_venue: dict[str, dict[str, list[str]]] = {}
    for name, toks in accounts.items():
        by_venue.setdefault(name.split(".")[0], {})[name] = list(toks)
    scratch = Portfolio()  # the adapters' own bookkeeping: the session's ledger is its account view's
    adapters: dict = {}
    for venue, accs in by_venue.items():
        ov = dict((overrides or {}).get(venue) or {})
        adapters.update(build_live_accounts(venue, accs, scratch.ledger, scratch.attribution, ov, env))
    return CcxtExchange(adapters, control_url)

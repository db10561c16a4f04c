"""The emulated exchanges' state: recorded market data replayed on a clock, accounts kept by the simulators.

``Replay`` is exchange-agnostic; the HTTP/websocket dialects (``binance_api``, ``bybit_api``) translate
requests into its calls and its records into each venue's response shapes.

Market: the catalog's hourly bars (``spot.<venue>.<SYM>``, ``perp.<venue>.<SYM>``) and funding series
(``funding.<venue>.<SYM>``) -- or, with ``bars="1m"``, the 1-minute perp bars (``emulator.minute_bars``:
ETH perps on Binance and Bybit, 2025-09-27..28; no funding is recorded then, so none is settled) --
aligned on the replay's grid (``step_s`` seconds, from ``start`` to ``end``) by
the same code a backtest uses (``data.market.build_frame``, ``data.feed.HistoricalFeed``): at grid time
``t`` the price of an instrument is the open of the bar that opened at or before ``t``, the bars served
by the kline endpoints are the bars that *closed* by ``t`` (never a bar still open: the data has no
partial bars), funding settles at each venue's recorded funding times. Nothing is invented:

* book ticker: bid = price x (1 - slippage), ask = price x (1 + slippage) -- exactly the prices the
  simulator fills a market sell / buy at (``configs/venues/<venue>.yaml`` ``slippage_bps``); the sizes
  are 0 (the bars carry no book depth);
* mark price = the perp's price (as the simulator marks, ``venues.sim.cex_perp``); the funding rate
  shown between settlements is the *last settled* rate (the data has no predicted rate; showing the next
  one would be look-ahead), ``nextFundingTime`` the next recorded settlement.

Accounts (``<venue>.spot``, ``<venue>.perp``) are the simulators ``CexSpot`` / ``CexPerp`` on one
``Portfolio``. **Unified accounts** (``UNIFIED``: Bybit's unified trading account, OKX's trading account):
spot and perp of such a venue are ONE venue account with ONE USDT balance, held by the perp simulator's
ledger account (the *pool*: the collateral its margin, funding and liquidation read); the spot simulator
holds the tokens. A spot order (or a resting spot order's fill at a step) may spend what the pool can
release (the perp's ``withdrawable``: its margin balance less twice the maintenance margin): that is lent
to the spot simulator for the call and what it leaves is swept back (``_spot_funds``), so the spot
ledger account's USDT is 0 between calls. USDT credited, deposited, withdrawn or transferred at a unified
venue's spot or perp is the pool's; ``venue_balances(venue)`` is the one account (pool USDT + spot tokens).
Otherwise (Binance: spot and USDT-M wallets) each account has its own balances. Other than that: market orders are their ``submit``; limit / stop / take-profit orders rest in their
``BarOrders`` book and fill against the bars as in a backtest; funding, liquidation and resting fills
come from their ``on_market``. Internal transfers move a token between two accounts of one venue at
once; withdrawals leave an account at request time and are ``pending`` until the venue's
``withdrawal_delay_seconds`` (``configs/venues/<venue>.yaml``, network ``TRC20`` unless given) has passed
on the replay clock, then ``completed``; deposits (``deposit``: the control endpoint) are credited after
the network's ``deposit_delay_seconds``.

Times: ns since the epoch (UTC) inside, the dialects convert to ms. Amounts in token units, prices in
quote (USDT) per base unit.

Errors: ``Rejected(code, reason)`` for anything the venue refuses (unknown symbol, insufficient
balance or margin, unknown order, nothing to cancel); the dialects map the code to the venue's own
error codes and messages.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from basiskit.config.loader import ConfigError
from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import build_frame
from basiskit.domain.events import FundingSettled
from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.assembly import build_venues, load_venue_config, series_specs
from basiskit.engine.clock import Clock
from basiskit.strategies.base import Requirements

NS_MS = 1_000_000
HOUR_NS = 3600 * 10**9

DEFAULT_LAYOUT: dict[str, dict[str, list[str]]] = {
    "binance": {"spot": ["BTC"], "perp": ["BTC", "ETH"]},
    "bybit": {"spot": ["BTC", "ETH"], "perp": ["BTC", "ETH"]},
}
"""venue -> account kind (``spot`` / ``perp``) -> base tokens quoted in USDT (datasets the catalog has)."""

OKX_LAYOUT: dict[str, dict[str, list[str]]] = {"okx": {"spot": ["BTC", "ETH"], "perp": ["BTC", "ETH"]}}
"""OKX's instruments (add to a layout: ``{**DEFAULT_LAYOUT, **OKX_LAYOUT}``); priced from Bybit's recording
(``emulator.price_sources``), funded by OKX's recorded funding (2024-05-01 .. 2025-09-07)."""

PLAIN_ACCOUNTS: dict[str, str] = {"okx": "okx.funding"}
"""venue -> an account that holds tokens but trades nothing (OKX's funding account: deposits, withdrawals,
transfers to and from the trading account). Present when the venue is in the layout."""


ADDRESS_PREFIX = "emulator:"
"""Deposit address of an emulated account (``emulator:bybit.spot``): a withdrawal to it is that account's deposit."""


class Rejected(Exception):
    """The emulated venue refuses a request. ``code``: ``unknown_symbol``, ``insufficient_balance``,
    ``insufficient_margin``, ``unknown_order``, ``order_closed``, ``duplicate_client_id``, ``bad_request``,
    ``stale_price``; ``reason``: text for the response."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Fill:
    """One execution of an order: ``qty`` base units at ``price`` (quote per base), ``fee`` in USDT,
    ``realised`` PnL (perp, USDT), ``maker`` whether it rested."""

    trade_id: int
    order_id: int
    client_id: str
    account: str
    token: str
    side: str
    qty: float
    price: float
    fee: float
    realised: float
    maker: bool
    ts: int


@dataclass
class EmuOrder:
    """An order on the emulated venue: its exchange id, the simulator's ``OrderRecord`` (status, fills),
    its fills and its request (type as asked: ``market``/``limit``/``stop``/``take_profit``)."""

    order_id: int
    account: str
    record: OrderRecord
    created_ns: int
    fills: list[Fill] = field(default_factory=list)
    reduce_only: bool = False

    @property
    def order(self) -> Order:
        return self.record.order

    @property
    def updated_ns(self) -> int:
        return self.record.last_ts


@dataclass
class Movement:
    """A transfer between two accounts of a venue, a withdrawal or a deposit. ``status``: ``pending`` /
    ``completed`` (transfers complete at once); times in ns; ``fee`` in token units."""

    id: int
    kind: str  # transfer / withdrawal / deposit
    venue: str
    token: str
    amount: float
    created_ns: int
    done_ns: int
    source: str = ""
    target: str = ""
    address: str = ""
    network: str = ""
    fee: float = 0.0
    txid: str = ""
    status: str = "pending"


UNIFIED = ("bybit", "okx")
"""Venues whose spot and perp are one venue account with one USDT balance (module docstring)."""
QUOTE = "USDT"


class Replay:
    """The emulated venues over ``[start, end]`` on a ``step_s`` grid (module docstring).

    Args:
        catalog: the data catalog (``data.catalog.Catalog``).
        start, end: ``YYYY-MM-DD`` or ISO times (UTC), the first and last grid times.
        step_s: grid step in seconds (3600 for the hourly bars).
        capital: ``(account, token) -> token units`` credited at the start (``binance.spot``, ``USDT``...).
        layout: venue -> kind -> tokens (``DEFAULT_LAYOUT``).
        lot_step: the amount step (a decimal string) the markets state for every instrument, instead of the
            venues' own (Binance 0.00001 BTC, Bybit spot 0.000001, Bybit linear 0.001): the simulators
            behind the emulator trade any amount, so a parity run against a backtest (which has no lot
            sizes) states a step finer than its amounts' precision (``"0.000000000001"``); ccxt truncates
            every amount it sends to the step.
        venue_lots: the markets state the venue configs' lot sizes (``configs/venues/<venue>.yaml``,
            ``<spot|perp>.lot_sizes.symbols``: amount step, minimum amount, minimum notional; whether or not
            ``enabled``, the backtests' switch) for the instruments listed there, and refuse an order off
            the step or below a minimum (``lot_size``: Binance -1013 "Filter failure", Bybit 170136), as the
            real venues do; ``lot_step`` aside. A backtest with the same lot sizes enabled makes the same
            orders (``tests/integration/test_live_ccxt_emulator.py``).
    Raises:
        DataError: a dataset the layout needs is not in the catalog or does not cover the period.
        ConfigError: ``capital`` names an account the layout has not, or a negative / non-finite amount.
    Thread safety: every public method takes the replay's lock (the server's clock task and request
    handlers may run on different threads).
    """

    def __init__(self, catalog, start: str, end: str, step_s: int = 3600, capital: dict | None = None,
                 layout: dict | None = None, bars: str = "1h", lot_step: str | None = None,
                 venue_lots: bool = False) -> None:
        if bars not in ("1h", "1m"):
            raise ConfigError(f"bars {bars!r}: the replay has the catalog's hourly bars (1h) and the 1-minute perp "
                              "bars (1m)", field="bars")
        source = catalog
        if layout is not None:  # venues without a recording of their own (OKX): another venue's bars
            from basiskit.emulator.price_sources import BorrowedPrices
            source = BorrowedPrices(catalog, layout)
        if bars == "1m":
            from basiskit.emulator.minute_bars import MINUTE_LAYOUT, MinuteBars
            source = MinuteBars(catalog)
            layout = layout or MINUTE_LAYOUT
        if lot_step is not None:
            try:
                ok = 0 < float(lot_step) < 1
            except ValueError:
                ok = False
            if not ok:
                raise ConfigError(f"lot_step {lot_step!r} must be a decimal between 0 and 1 (e.g. 0.000000000001)",
                                  field="lot_step")
        self.lot_step = lot_step  # the markets' amount step for every instrument (None: each venue's own)
        self.bar_ns = (60 if bars == "1m" else 3600) * 10**9
        self.layout = layout or DEFAULT_LAYOUT
        self.lots = _venue_lots(self.layout) if venue_lots else {}  # (account, token) -> LotSize, enforced
        self.lock = threading.RLock()
        spot = {f"{v}.spot": toks for v, kinds in self.layout.items() for k, toks in kinds.items() if k == "spot"}
        perp = {f"{v}.perp": toks for v, kinds in self.layout.items() for k, toks in kinds.items() if k == "perp"}
        req = Requirements(spot=spot, perp=perp, resting_orders=True)
        self.clock = Clock(_ns(start), _ns(end), step_s)
        specs = series_specs(req, set(source.dataset_ids()))
        if bars == "1m":  # the minute windows (2025-09-27..29) are after the recorded funding: none is settled
            specs = [sp for sp in specs if sp.kind != "funding"]
        self.frame = build_frame(source, self.clock.grid(), specs)
        self.feed = HistoricalFeed(self.frame)
        self.state = self.feed.state
        self.portfolio = Portfolio()
        self.accounts = build_venues(req, self.state, self.portfolio).accounts
        self.accounts = {k: v for k, v in self.accounts.items() if k in spot or k in perp}
        self._bars = {}
        for acc, toks in {**spot, **perp}.items():
            venue, kind = acc.split(".")
            for tok in toks:
                df = source.load(f"{kind}.{venue}.{tok}USDT")
                idx = df.index.as_unit("ns").asi8 if hasattr(df.index, "as_unit") else df.index.asi8
                self._bars[(acc, tok)] = (np.asarray(idx, dtype=np.int64), df[["open", "high", "low", "close", "volume"]]
                                          .to_numpy(dtype=float))
        self._funding = {}
        for acc, toks in perp.items():
            venue = acc.split(".")[0]
            for tok in toks:
                df = catalog.load(f"funding.{venue}.{tok}USDT")
                idx = df.index.as_unit("ns").asi8
                self._funding[(acc, tok)] = (np.asarray(idx, dtype=np.int64), df["funding_rate"].to_numpy(dtype=float))
        self.i = -1
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.orders: dict[str, dict[int, EmuOrder]] = {a: {} for a in self.accounts}
        self.by_client: dict[str, dict[str, EmuOrder]] = {a: {} for a in self.accounts}
        self.fills: dict[str, list[Fill]] = {a: [] for a in self.accounts}
        self.funding_paid: dict[str, list[FundingSettled]] = {a: [] for a in self.accounts}
        self.movements: list[Movement] = []
        self.submissions: Counter = Counter()  # client order id -> orders placed with it (duplicates refused)
        self.params = {v: load_venue_config(v) for v in self.layout}
        self.plain = {PLAIN_ACCOUNTS[v] for v in self.layout if v in PLAIN_ACCOUNTS}
        # unified venues (module docstring): venue -> the ledger account holding the one USDT balance
        self.pools = {v: f"{v}.perp" for v in UNIFIED if f"{v}.perp" in self.accounts and f"{v}.spot" in self.accounts}
        self._capital = dict(capital or {})
        self._step()  # the first grid time: the venues mark their positions
        for (acc, tok), amt in self._capital.items():
            if acc not in self.accounts and acc not in self.plain:
                raise ConfigError(f"capital names account {acc!r}; the emulator has "
                                  f"{', '.join(sorted([*self.accounts, *self.plain]))}",
                                  field="capital")
            if not (float(amt) >= 0.0) or amt == float("inf"):
                raise ConfigError(f"capital {acc}:{tok} must be a finite amount >= 0, got {amt!r}", field="capital")
            self.portfolio.ledger.add(self.holder(acc, tok), tok, float(amt))

    # -- unified accounts ---------------------------------------------------------------------------
    def holder(self, account: str, token: str) -> str:
        """The ledger account that holds ``token`` of ``account``: a unified venue's USDT is its pool's,
        its other tokens the spot simulator's; elsewhere ``account`` itself."""
        venue, _, kind = account.partition(".")
        pool = self.pools.get(venue)
        if pool is None or kind not in ("spot", "perp"):
            return account
        return pool if token == QUOTE else f"{venue}.spot"

    @contextmanager
    def _spot_funds(self, account: str):
        """Lend a unified venue's pool what it can release to its spot simulator for one call; sweep
        the spot's USDT back after (module docstring). Elsewhere: nothing."""
        venue, _, kind = account.partition(".")
        pool = self.pools.get(venue)
        if pool is None or kind != "spot":
            yield
            return
        led = self.portfolio.ledger
        lend = max(0.0, float(self.accounts[pool].withdrawable(QUOTE)))
        if lend:
            led.add(pool, QUOTE, -lend)
            led.add(account, QUOTE, lend)
        try:
            yield
        finally:
            back = led.get(account, QUOTE)
            if back:
                led.add(account, QUOTE, -back)
                led.add(pool, QUOTE, back)

    def venue_balances(self, venue: str) -> dict[str, float]:
        """A unified venue's one account: token -> units (the pool's USDT wallet balance, unrealised PnL
        not included, and the spot tokens)."""
        with self.lock:
            pool = self.pools[venue]
            out = {tok: amt for (acc, tok), amt in self.portfolio.ledger.balances.items()
                   if acc == f"{venue}.spot" and amt and tok != QUOTE}
            usdt = self.portfolio.ledger.get(pool, QUOTE)
            if usdt:
                out[QUOTE] = usdt
            return out

    # -- clock ------------------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """The replay's current grid time (ns)."""
        return self.state.t

    @property
    def grid(self) -> list[int]:
        return self.feed.grid

    def _step(self) -> None:
        self.i += 1
        tick = self.feed.advance(self.i)
        for name, venue in self.accounts.items():
            with self._spot_funds(name):  # a resting spot order of a unified venue fills against the pool
                for ev in venue.on_market(tick):
                    self._apply(name, ev)
        for m in self.movements:
            if m.status == "pending" and m.done_ns <= self.t:
                self._complete(m)

    def advance_to(self, t_ns: int) -> int:
        """Move the replay to the last grid time at or before ``t_ns`` (never back); returns the steps
        made. Beyond the end the replay stays at its last grid time."""
        with self.lock:
            n = 0
            grid = self.feed.grid
            while self.i + 1 < len(grid) and grid[self.i + 1] <= t_ns:
                self._step()
                n += 1
            return n

    @property
    def at_end(self) -> bool:
        return self.i + 1 >= len(self.feed.grid)

    # -- market -----------------------------------------------------------------------------------
    def tokens(self, account: str) -> list[str]:
        venue, kind = account.split(".")
        return list(self.layout.get(venue, {}).get(kind, []))

    def key(self, account: str, token: str) -> str:
        venue, kind = account.split(".")
        return f"{kind}.{venue}.{token}USDT"

    def price(self, account: str, token: str) -> float:
        """The instrument's price now (the open of the bar that opened at or before ``t``)."""
        with self.lock:
            self._known(account, token)
            return float(self.state.px[self.key(account, token)])

    def slippage(self, account: str) -> float:
        venue, kind = account.split(".")
        p = self.params[venue]
        return (p.spot if kind == "spot" else p.perp).slippage_bps * 1e-4

    def fee_rates(self, account: str) -> tuple[float, float]:
        """(maker, taker) fee rates (fractions)."""
        venue, kind = account.split(".")
        p = self.params[venue]
        q = p.spot if kind == "spot" else p.perp
        return ((q.maker_fee_bps if q.maker_fee_bps is not None else q.taker_fee_bps) * 1e-4, q.taker_fee_bps * 1e-4)

    def book_ticker(self, account: str, token: str) -> tuple[float, float]:
        """(bid, ask): the prices a market sell / buy fills at now (module docstring)."""
        p = self.price(account, token)
        s = self.slippage(account)
        return p * (1 - s), p * (1 + s)

    def bars(self, account: str, token: str, interval_s: int, since_ns: int | None = None, until_ns: int | None = None,
             limit: int = 500) -> list[tuple[int, float, float, float, float, float]]:
        """Closed bars ``(open_ns, open, high, low, close, volume)`` of ``interval_s`` (a multiple of the
        replay's bars: an hour, or a minute with ``bars="1m"``; they are aggregated), opened at or after
        ``since_ns`` (else the last ``limit``), closed by ``t`` (and by ``until_ns``)."""
        with self.lock:
            self._known(account, token)
            idx, v = self._bars[(account, token)]
            step = interval_s * 10**9
            base = self.bar_ns
            if step < base or step % base:
                raise Rejected("bad_request", f"interval {interval_s}s: the replay's bars are {base // 10**9} s long "
                               "(intervals must be multiples of it)")
            end = self.t if until_ns is None else min(self.t, until_ns + step)
            hi = int(np.searchsorted(idx, end - base, "right"))
            k = step // base
            out = []
            j = hi
            # walk back over whole buckets of k hours closed by ``end``
            buckets: dict[int, list[int]] = {}
            lo = 0 if since_ns is not None else max(0, hi - k * (limit + 1))
            if since_ns is not None:
                lo = int(np.searchsorted(idx, since_ns - since_ns % step, "left"))
            for r in range(lo, j):
                b = int(idx[r] - idx[r] % step)
                if b + step <= end:
                    buckets.setdefault(b, []).append(r)
            for b in sorted(buckets):
                rows = buckets[b]
                if since_ns is not None and b < since_ns:
                    continue
                o, h, low, c = v[rows[0], 0], v[rows, 1].max(), v[rows, 2].min(), v[rows[-1], 3]
                out.append((b, float(o), float(h), float(low), float(c), float(v[rows, 4].sum())))
            return out[:limit] if since_ns is not None else out[-limit:]

    def funding_history(self, account: str, token: str, since_ns: int | None = None, limit: int = 100
                        ) -> list[tuple[int, float]]:
        """Recorded settlements ``(time_ns, rate per period)`` up to ``t``."""
        with self.lock:
            self._known(account, token)
            idx, rates = self._funding[(account, token)]
            hi = int(np.searchsorted(idx, self.t, "right"))
            lo = int(np.searchsorted(idx, since_ns, "left")) if since_ns is not None else max(0, hi - limit)
            return [(int(idx[r]), float(rates[r])) for r in range(lo, min(hi, lo + limit))]

    def funding_now(self, account: str, token: str) -> tuple[float, int | None]:
        """(last settled rate, next settlement time ns or None)."""
        with self.lock:
            self._known(account, token)
            idx, rates = self._funding[(account, token)]
            k = int(np.searchsorted(idx, self.t, "right"))
            last = float(rates[k - 1]) if k else 0.0
            return last, (int(idx[k]) if k < len(idx) else None)

    def _known(self, account: str, token: str) -> None:
        if account not in self.accounts or token not in self.tokens(account):
            raise Rejected("unknown_symbol", f"no {token}USDT market on {account}")

    # -- balances ---------------------------------------------------------------------------------
    def balances(self, account: str) -> dict[str, float]:
        """Token units held (perp: the USDT wallet balance, unrealised PnL not included)."""
        with self.lock:
            return {tok: amt for (acc, tok), amt in self.portfolio.ledger.balances.items() if acc == account and amt}

    def positions(self, account: str) -> dict[str, tuple[float, float, float]]:
        """Perp positions: token -> (signed size, entry price, mark price)."""
        with self.lock:
            venue = self.accounts[account]
            if not hasattr(venue, "positions"):
                return {}
            return {tok: (p.size, p.entry, float(self.state.px[p.key])) for tok, p in venue.positions.items() if p.size}

    def value_usd(self, account: str) -> float:
        with self.lock:
            return float(self.accounts[account].value_usd())

    def withdrawable(self, account: str, token: str) -> float:
        with self.lock:
            account = self.holder(account, token)
            if account in self.plain:
                return max(0.0, float(self.portfolio.ledger.get(account, token)))
            return float(self.accounts[account].withdrawable(token))

    # -- orders -----------------------------------------------------------------------------------
    def place(self, account: str, token: str, side: str, qty: float, order_type: str = "market",
              price: float | None = None, stop_price: float | None = None, client_id: str | None = None,
              tif: str = "gtc", reduce_only: bool = False) -> EmuOrder:
        """Place an order; market orders fill at once (or raise ``Rejected``), resting orders wait.

        Raises:
            Rejected: unknown symbol, a client id already used, a bad quantity or price, a market order
                the balance or margin cannot pay, a price that did not trade at ``t`` (data gap).
        """
        with self.lock:
            self._known(account, token)
            cid = client_id or f"emu-{next(self._ids)}"
            self.submissions[cid] += 1
            if cid in self.by_client[account]:
                raise Rejected("duplicate_client_id", f"client order id {cid!r} is already used on {account}")
            op = Operation.SPOT_TRADE if account.endswith(".spot") else Operation.PERP_TRADE
            try:
                order = Order(op, account, float(qty), token, Side(side), order_type=OrderType(order_type),
                              limit_price=price if order_type == "limit" else None,
                              stop_price=stop_price if order_type in ("stop", "take_profit") else None,
                              time_in_force=TimeInForce(tif), reduce_only=reduce_only, client_order_id=cid)
            except ValueError as e:
                raise Rejected("bad_request", str(e)) from None
            lot = self.lots.get((account, token))
            if lot is not None:
                self._check_lot(lot, account, order)
            venue = self.accounts[account]
            record = OrderRecord(order, self.t)
            record.submit(self.t)
            emu = EmuOrder(next(self._ids), account, record, self.t, reduce_only=reduce_only)
            if order.order_type is OrderType.MARKET:
                with self._spot_funds(account):
                    tr = venue.submit([order])[0]
                    if not tr.ok:
                        raise Rejected(_code_of(tr), tr.error or "refused")
                    record.accept(self.t)
                    self._register(emu)
                    self._apply(account, tr)
                record.fill(self.t, tr.executed_amount, tr.price)
                return emu
            self._register(emu)
            with self._spot_funds(account):  # (a crossing limit fills at once: against the pool, if unified)
                for ev in venue.resting.place(record):
                    if isinstance(ev, Trade) and not ev.ok:
                        del self.orders[account][emu.order_id]
                        del self.by_client[account][cid]
                        raise Rejected(_code_of(ev), ev.error or "refused")
                    self._apply(account, ev)
            return emu

    def market_lot(self, account: str, token: str) -> tuple[str, str, str] | None:
        """(amount step, minimum amount, minimum notional) as decimal strings, of a market with ``venue_lots``
        (None: the dialect's own defaults)."""
        lot = self.lots.get((account, token))
        if lot is None:
            return None
        return tuple(format(Decimal(repr(float(x))), "f") for x in (lot.step, lot.min_amount, lot.min_notional))

    def _check_lot(self, lot, account: str, order: Order) -> None:
        """Refuse an order off the market's amount step or below its minimums (``venue_lots``)."""
        q = order.amount
        if lot.floor(q) != q:
            raise Rejected("lot_size", f"{account} {order.token}: quantity {q!r} is not a multiple of the step {lot.step!r}")
        price = order.limit_price or self.price(account, order.token)
        why = lot.problem(q, price)
        if why is not None:
            raise Rejected("lot_size", f"{account} {order.token}: {why}")

    def cancel(self, account: str, order_id: int | None = None, client_id: str | None = None) -> EmuOrder:
        """Cancel a working order. Raises Rejected (``unknown_order``, ``order_closed``)."""
        with self.lock:
            emu = self.find(account, order_id, client_id)
            if not emu.record.is_open:
                raise Rejected("order_closed", f"order {emu.order_id} is {emu.record.status.value}")
            for ev in self.accounts[account].resting.cancel(emu.record.client_order_id):
                self._apply(account, ev)
            return emu

    def find(self, account: str, order_id: int | None = None, client_id: str | None = None) -> EmuOrder:
        """An order by exchange id or client id. Raises Rejected(``unknown_order``)."""
        with self.lock:
            emu = None
            if order_id is not None:
                emu = self.orders.get(account, {}).get(int(order_id))
            elif client_id is not None:
                emu = self.by_client.get(account, {}).get(client_id)
            if emu is None:
                raise Rejected("unknown_order", f"order {order_id or client_id} does not exist on {account}")
            return emu

    def open_orders(self, account: str, token: str | None = None) -> list[EmuOrder]:
        with self.lock:
            return [o for o in self.orders[account].values() if o.record.is_open and (token is None or o.order.token == token)]

    def all_orders(self, account: str) -> list[EmuOrder]:
        with self.lock:
            return list(self.orders[account].values())

    def _register(self, emu: EmuOrder) -> None:
        self.orders[emu.account][emu.order_id] = emu
        self.by_client[emu.account][emu.record.client_order_id] = emu

    def _apply(self, account: str, ev) -> None:
        """Apply a simulator event to the portfolio and keep the venue's records (fills, funding)."""
        self.portfolio.apply(ev)
        if isinstance(ev, Trade) and ev.ok:
            o = ev.order
            emu = self.by_client[account].get(o.client_order_id)
            realised = 0.0
            if o.operation is Operation.PERP_TRADE:
                realised = sum(d[2] for d in ev.deltas) + ev.fee
            maker = o.order_type is OrderType.LIMIT and abs(ev.price - (o.limit_price or 0.0)) < 1e-12
            f = Fill(next(self._trade_ids), emu.order_id if emu else 0, o.client_order_id or "", account, o.token,
                     o.side.value, ev.executed_amount, ev.price, ev.fee, realised, maker, ev.timestamp)
            self.fills[account].append(f)
            if emu is not None:
                emu.fills.append(f)
        elif isinstance(ev, FundingSettled):
            self.funding_paid[account].append(ev)

    # -- movements --------------------------------------------------------------------------------
    def transfer(self, venue: str, token: str, amount: float, source: str, target: str) -> Movement:
        """Move ``amount`` of ``token`` between two accounts of ``venue`` (``spot``/``perp``) at once.
        Raises Rejected (unknown account, more than ``withdrawable``)."""
        with self.lock:
            a, b = f"{venue}.{source}", f"{venue}.{target}"
            for acc in (a, b):
                if acc not in self.accounts and acc not in self.plain:
                    raise Rejected("bad_request", f"no account {acc}")
            a, b = self.holder(a, token), self.holder(b, token)
            if a == b:
                raise Rejected("bad_request", f"{venue}.{source} and {venue}.{target} are one unified account: "
                               "nothing to transfer between them")
            if not amount > 0:
                raise Rejected("bad_request", f"transfer amount must be positive, got {amount}")
            if amount > self.withdrawable(a, token) + 1e-9:
                raise Rejected("insufficient_balance", f"{a} can transfer at most "
                               f"{self.withdrawable(a, token):.8f} {token}")
            m = Movement(next(self._ids), "transfer", venue, token, float(amount), self.t, self.t, a, b)
            self.portfolio.ledger.add(a, token, -amount)
            self.portfolio.ledger.add(b, token, amount)
            m.status = "completed"
            self.movements.append(m)
            return m

    def withdraw(self, account: str, token: str, amount: float, address: str, network: str | None = None) -> Movement:
        """Withdraw from ``account`` to ``address``: the amount (fee included) leaves now, the
        withdrawal completes after the network's delay. Raises Rejected."""
        with self.lock:
            venue = account.split(".")[0]
            nets = self.params[venue].transfers.get(token, {}) if self.params[venue].transfers else {}
            net = network or ("TRC20" if "TRC20" in nets else next(iter(nets), ""))
            if net not in nets:
                raise Rejected("bad_request", f"{venue} does not withdraw {token} on network {net!r} "
                               f"(networks: {', '.join(nets) or 'none'})")
            p = nets[net]
            if not amount > p.withdrawal_fee:
                raise Rejected("bad_request", f"withdrawal amount {amount} must exceed the fee {p.withdrawal_fee}")
            if amount > self.withdrawable(account, token) + 1e-9:
                raise Rejected("insufficient_balance", f"{account} can withdraw at most "
                               f"{self.withdrawable(account, token):.8f} {token}")
            self.portfolio.ledger.add(self.holder(account, token), token, -amount)
            m = Movement(next(self._ids), "withdrawal", venue, token, float(amount) - p.withdrawal_fee, self.t,
                         self.t + int(p.withdrawal_delay_seconds * 1e9), source=account, address=address, network=net,
                         fee=p.withdrawal_fee, txid=f"0xemu{next(self._ids):060x}")
            self.movements.append(m)
            return m

    def deposit(self, account: str, token: str, amount: float, network: str | None = None,
                txid: str | None = None) -> Movement:
        """An incoming deposit to ``account`` (control endpoint): credited after the network's delay.
        ``txid``: the sender's transaction id (shown in the deposit history), else a generated one."""
        with self.lock:
            if account not in self.accounts and account not in self.plain:
                raise Rejected("bad_request", f"no account {account}")
            venue = account.split(".")[0]
            nets = self.params[venue].transfers.get(token, {}) if self.params[venue].transfers else {}
            net = network or ("TRC20" if "TRC20" in nets else next(iter(nets), ""))
            delay = nets[net].deposit_delay_seconds if net in nets else 0
            m = Movement(next(self._ids), "deposit", venue, token, float(amount), self.t, self.t + int(delay * 1e9),
                         target=account, network=net, txid=txid or f"0xemu{next(self._ids):060x}")
            self.movements.append(m)
            if m.done_ns <= self.t:
                self._complete(m)
            return m

    def _complete(self, m: Movement) -> None:
        if m.kind == "deposit":
            self.portfolio.ledger.add(self.holder(m.target, m.token), m.token, m.amount)
        m.status = "completed"
        target = m.address[len(ADDRESS_PREFIX):] if m.kind == "withdrawal" and m.address.startswith(ADDRESS_PREFIX) else None
        if target in self.accounts or target in self.plain:  # sent to another emulated venue: its deposit, credited after its network's delay
            venue = target.split(".")[0]
            nets = self.params[venue].transfers.get(m.token, {}) if self.params[venue].transfers else {}
            delay = nets[m.network].deposit_delay_seconds if m.network in nets else 0
            d = Movement(next(self._ids), "deposit", venue, m.token, m.amount, m.done_ns, m.done_ns + int(delay * 1e9),
                         target=target, network=m.network, txid=m.txid)
            self.movements.append(d)  # the replay's step loop completes it when its time has come
            if d.done_ns <= self.t:
                self._complete(d)

    def movements_of(self, venue: str, kind: str) -> list[Movement]:
        with self.lock:
            return [m for m in self.movements if m.venue == venue and m.kind == kind]


def _venue_lots(layout: dict) -> dict:
    """(account, token) -> ``LotSize`` from the venue configs' ``lot_sizes`` (enabled or not) of the layout's
    instruments listed there."""
    from basiskit.engine.assembly import load_venue_config

    out = {}
    for venue, kinds in layout.items():
        cfg = load_venue_config(venue)
        for kind, toks in kinds.items():
            params = getattr(cfg, kind, None)
            ls = getattr(params, "lot_sizes", None)
            if ls is None:
                continue
            for tok, lot in ls.model_copy(update={"enabled": True}).lots(toks).items():
                out[(f"{venue}.{kind}", tok)] = lot
    return out


def _code_of(tr: Trade) -> str:
    if tr.status is TradeStatus.DEFERRED:
        return "stale_price"
    text = (tr.error or "").lower()
    if "margin" in text:
        return "insufficient_margin"
    if "insufficient" in text:
        return "insufficient_balance"
    if "cannot" in text:
        return "unknown_symbol"
    return "bad_request"


def _ns(value) -> int:
    from basiskit.domain.time import to_ns
    return int(value) if isinstance(value, (int, np.integer)) else to_ns(value)


def accounts_of(layout: dict) -> Iterable[str]:
    return [f"{v}.{k}" for v, kinds in layout.items() for k in kinds]


__all__ = ["DEFAULT_LAYOUT", "OKX_LAYOUT", "UNIFIED", "EmuOrder", "Fill", "Movement", "Rejected", "Replay", "OrderStatus"]

"""Recovery: before a restarted session trades, it settles what it finds with the venue.

The session persists, after every step, a **snapshot** of its book (``book_snapshot``: the strategy's
``snapshot()``, the ledger's balances, the perp positions, each venue account's checkpoint, the orders
on their way in the accounts' latency books (``in_flight``: the signal modes' IOC orders,
``venues.sim.latency_book``), the clock time) and, as they change, its orders by client order id (``engine.live.journal``). On (re)start,
:class:`Recovery` runs once before the first step (the driver's ``on_start``):

1. **the venue's state**: a live session asks the exchange (balances, positions, account checkpoints,
   orders by client order id, transfers in transit); a paper session's venue is its own simulators,
   so the last stored snapshot is the venue's state;
2. **in-flight orders**: each journaled order still open (``intent``: maybe handed over, no answer
   stored) is looked up by client order id: the venue has it -> its outcome is journaled
   (``recovery_order_completed``: never sent again); it has not -> ``not_sent``
   (``recovery_order_not_sent``; the strategy decides afresh on the adopted book). A paper session's
   orders that were on their way at the stored step go back on their latency books (due at their own
   time, never sent again: ``recovery_order_in_flight``; journaled ``submitted``), whatever the journal
   said of them after that step. Orders the venue has
   that the journal lacks are adopted (``recovery_order_adopted``). Pending transfers are re-armed
   (still in transit on the venue) or closed (arrived);
3. **adoption**: the session's ledger, positions and account states become the venue's
   (``recovery_adopted``, with what differed from the session's own snapshot). A unified venue account
   (``pooled`` in the exchange's state: OKX's trading account, Bybit's UTA; ``venues.live.unified``)
   has ONE quote balance for the session's two sub-accounts: it is split by ``unified.partition`` (the
   spot sub-account keeps its booked quote, the perp sub-account takes the rest), so the sub-accounts
   add up to the venue's balance and it is never counted twice; the event's ``pooled`` rows give the
   venue's balance, the session's sum and the split;
4. the strategy's state is restored (``recovery_strategy_restored``), and the execution manager gets
   a fresh client order id prefix for this attempt (``<strategy>-a<k>``), so a new order can never
   collide with an id the venue already has.

Every finding is an ``engine`` event of the session (``kind`` ``recovery_*``).
"""

from __future__ import annotations

from basiskit.domain.events import Event
from basiskit.domain.portfolio import Position
from basiskit.engine.live.errors import RecoveryConflict
from basiskit.engine.order_registry import OrderRegistry
from basiskit.persistence.live_store import LiveOrderRecord
from basiskit.venues.live.unified import partition

SEP = "|"


def _key(k: tuple) -> str:
    return SEP.join(k)


def book_snapshot(kernel, attempt: int) -> dict:
    """The session's book after a step, JSON-able (module docstring)."""
    pf = kernel.portfolio
    return {"t": kernel.feed.state.t, "attempt": attempt,
            "strategy": kernel.strategy.snapshot() if hasattr(kernel.strategy, "snapshot") else None,
            "balances": {_key(k): v for k, v in pf.ledger.balances.items() if v},
            "positions": {_key(k): [p.size, p.entry] for k, p in pf.positions.items() if p.size},
            "checkpoints": {name: v.checkpoint() for name, v in kernel.venues.items()},
            "in_flight": {name: book.in_flight() for name, v in kernel.venues.items()
                          if (book := getattr(v, "resting", None)) is not None and book.active
                          and hasattr(book, "in_flight")},
            "net_deposits": kernel.net_deposits}


def _split(k: str) -> tuple[str, str]:
    a, _, b = k.partition(SEP)
    return a, b


def _restore_checkpoint(venue, cp) -> None:
    """A checkpoint back from JSON: lists where tuples were (CexPerp: (positions, n_paid) with
    positions token -> (size, entry, last_mark); Transfers: [(arrival, dst, token, amount)])."""
    if cp is None:
        return
    if isinstance(cp, list) and len(cp) == 2 and isinstance(cp[0], dict):
        cp = ({tok: tuple(v) for tok, v in cp[0].items()}, cp[1])
    elif isinstance(cp, list):
        cp = [tuple(x) for x in cp]
    venue.restore(cp)


class Recovery:
    """Args: store (``LiveStore``), strategy_id, run_id, journal (``OrderJournal``), remote (the
    exchange client, or None for a paper session), id_prefix (the strategy's id prefix)."""

    def __init__(self, store, strategy_id: str, run_id: str, journal, remote=None, id_prefix: str = "o") -> None:
        self.store = store
        self.strategy_id = strategy_id
        self.run_id = run_id
        self.journal = journal
        self.remote = remote
        self.id_prefix = id_prefix
        self.attempt = 1
        self.findings: dict[str, int] = {}
        self._saved_t: int | None = None

    def _count(self, what: str) -> None:
        self.findings[what] = self.findings.get(what, 0) + 1

    def __call__(self, kernel) -> None:
        t0 = kernel.feed.grid[0]
        publish = kernel.publish
        saved = self.store.load_state(self.strategy_id)
        self._saved_t = saved.get("t") if saved else None
        # every start is an attempt, counted in the store before anything is sent (a session killed before
        # its first step saved no book, and its ids must not come back)
        starts = self.store.load_state(f"{self.strategy_id}#starts") or {}
        self.attempt = max(int(saved.get("attempt", 0)) if saved else 0, int(starts.get("attempts", 0))) + 1
        self.store.save_state(f"{self.strategy_id}#starts", {"attempts": self.attempt}, self.run_id)
        venue = self.remote.state(t0) if self.remote is not None else None
        if venue is not None and hasattr(self.remote, "lookup"):
            self._look_up(kernel, venue)
        if venue is None and saved is not None:  # paper: the stored book is the venue's state
            venue = {"balances": {_split(k): v for k, v in saved["balances"].items()},
                     "positions": {_split(k): tuple(v) for k, v in saved["positions"].items()},
                     "checkpoints": saved["checkpoints"], "orders": {}, "in_transit": None,
                     "in_flight": saved.get("in_flight") or {}}
        self._settle_orders(kernel, venue, t0)
        if venue is not None and (saved is not None or self.remote is not None):
            self._adopt(kernel, venue, saved, t0)
        if saved is not None and saved.get("strategy") is not None and hasattr(kernel.strategy, "restore"):
            kernel.strategy.restore(saved["strategy"])
            kernel.net_deposits = float(saved.get("net_deposits", 0.0))
            publish(Event(t0, "engine", "recovery_strategy_restored", {"saved_at": saved.get("t"),
                                                                       "attempt": self.attempt}))
        ex = kernel.execution
        ex.registry = OrderRegistry(f"{self.id_prefix}-a{self.attempt}")
        for book in ex._books.values():
            book.adopt = ex.registry.adopt
            if hasattr(book, "restore_in_flight"):  # orders put back on their way: the run knows their ids
                for record in book.open_orders():
                    ex.registry.adopt(record)
        kernel.ctx._invalidate()
        publish(Event(t0, "engine", "recovery_done", {"attempt": self.attempt, "findings": dict(self.findings),
                                                      "mode": "live" if self.remote is not None else "paper"}))

    def _look_up(self, kernel, venue: dict) -> None:
        """An exchange that holds only the exchange accounts (``engine.live.ccxt_exchange``): the journal's
        open orders and the session's own accounts' transfers since the stored book are looked up there
        by client order id; what left the session's accounts (wallet -> exchange deposits) since the
        stored book is debited there in ``_adopt``, what is still in transit re-armed."""
        held = set(venue.get("accounts") or ())
        saved_t = self._saved_t
        rows = self.store.live_orders(self.strategy_id)
        mine = [r for r in rows if r.is_open or (r.operation == "transfer" and r.venue not in held
                                                 and (saved_t is None or r.timestamp > saved_t))]
        orders, transit = self.remote.lookup(mine)
        transfers = kernel.venues.get("transit")
        costs = getattr(transfers, "costs", None)

        def route(r):
            return costs.route(r.venue, r.to_venue, r.token) if costs is not None else None

        by_cid = {r.client_order_id: r for r in mine}
        fixed = []
        for arrival, dst, tok, amt in transit:
            if not arrival:  # a transfer whose answer was lost: its arrival as the account view's route has it
                r = next(x for x in mine if x.to_venue == dst and x.token == tok and orders.get(x.client_order_id)
                         and abs(orders[x.client_order_id][1] - amt) < 1e-9)
                ro = route(r)
                arrival = r.timestamp + (ro.delay_ns if ro is not None else 0)
            fixed.append((arrival, dst, tok, amt))
        venue["orders"], venue["in_transit"] = orders, fixed
        debits = []
        for cid, got in orders.items():
            r = by_cid[cid]
            if r.operation == "transfer" and r.venue not in held and (saved_t is None or r.timestamp > saved_t):
                ro = route(r)
                debits.append((r.venue, r.token, got[1] + (ro.fee if ro is not None else 0.0)))
        venue["local_debits"] = debits

    def _settle_orders(self, kernel, venue, t0: int) -> None:
        publish = kernel.publish
        known = (venue or {}).get("orders") or {}
        journal = self.store.live_orders(self.strategy_id)
        ids = {r.client_order_id for r in journal}
        transit = (venue or {}).get("in_transit")
        saved_t = self._saved_t
        on_way = {data.get("client_order_id"): (name, int(accepted))
                  for name, rows in ((venue or {}).get("in_flight") or {}).items() for _, accepted, data in rows}
        for rec in journal:
            if rec.client_order_id in on_way:  # paper: on its way at the stored step, so on its way again
                self._put(rec, "submitted", filled=0.0, price=None, timestamp=on_way[rec.client_order_id][1])
                self.journal.order_seq[rec.client_order_id] = rec.seq
                self._in_flight(publish, t0, rec.client_order_id, rec.venue, rec.operation)
                continue
            if self.remote is None and saved_t is not None and rec.timestamp > saved_t and rec.status != "void":
                # paper: the venue is the session's own simulator, back at its last stored step: the orders
                # of the interrupted step never happened there
                self._put(rec, "void")
                self._count("paper_orders_voided")
                publish(Event(t0, "engine", "recovery_paper_order_voided", {
                    "client_order_id": rec.client_order_id, "venue": rec.venue, "operation": rec.operation,
                    "policy": "a paper venue restarts from the last stored step; the strategy decides again"}))
                continue
            if not rec.is_open:
                continue
            if rec.status == "pending":  # a transfer in transit when the session stopped
                arrival = rec.data.get("arrival_ns")
                still = transit is None and arrival is not None and arrival >= t0 or (
                    transit is not None and any(abs(p[3] - rec.filled) < 1e-9 and p[1] == rec.to_venue for p in transit))
                if still:
                    self.journal.pending_transfers[rec.client_order_id] = (arrival, rec)
                    self._count("transfers_in_transit")
                    publish(Event(t0, "engine", "recovery_transfer_pending", {"client_order_id": rec.client_order_id,
                                                                              "to": rec.to_venue, "amount": rec.filled}))
                else:
                    self._put(rec, "arrived")
                    self._count("transfers_arrived")
                continue
            got = known.get(rec.client_order_id)
            if got is not None:
                status, filled, price = got[0], got[1], got[2]
                if rec.operation == "transfer" and status == "filled" and transit is not None and any(
                        abs(p[3] - filled) < 1e-9 and p[1] == rec.to_venue for p in transit):
                    status = "pending"
                self._put(rec, status, filled=filled, price=price)
                self._count("orders_completed")
                publish(Event(t0, "engine", "recovery_order_completed", {
                    "client_order_id": rec.client_order_id, "venue": rec.venue, "operation": rec.operation,
                    "status": status, "filled": filled, "price": price, "policy": "the venue has it: not sent again"}))
            else:
                self._put(rec, "not_sent")
                self._count("orders_not_sent")
                publish(Event(t0, "engine", "recovery_order_not_sent", {
                    "client_order_id": rec.client_order_id, "venue": rec.venue, "operation": rec.operation,
                    "policy": "the venue never received it; the strategy decides again on the adopted book"}))
        for cid, (name, _) in on_way.items():
            if cid not in ids:  # stored by a session that did not journal its latency orders
                self._in_flight(publish, t0, cid, name, None)
        for cid, got in known.items():
            if cid not in ids:
                self._count("orders_adopted")
                publish(Event(t0, "engine", "recovery_order_adopted", {"client_order_id": cid, "status": got[0],
                                                                       "venue": got[3], "operation": got[4]}))

    def _in_flight(self, publish, t0: int, cid: str, venue: str, operation: str | None) -> None:
        self._count("orders_in_flight")
        publish(Event(t0, "engine", "recovery_order_in_flight", {
            "client_order_id": cid, "venue": venue, "operation": operation,
            "policy": "on its way at the stored step: back on its latency book, it meets the venue at its due "
                      "time; not sent again"}))

    def _put(self, rec: LiveOrderRecord, status: str, **kw) -> None:
        fields = {f: getattr(rec, f) for f in rec.__dataclass_fields__}
        fields.update(kw, status=status)
        self.store.put_order(self.strategy_id, LiveOrderRecord(**fields))

    @staticmethod
    def _align_views(kernel, venue: dict, held) -> None:
        """The account views' own state where the exchange's differs from the stored book: perp positions
        (size, entry) as the venue has them (the last mark kept), transfers in transit as the venue has them."""
        for name in held:
            view = kernel.venues.get(name)
            books = getattr(view, "positions", None)
            if isinstance(books, dict):
                for tok, book in books.items():
                    size, entry = venue["positions"].get((name, tok), (0.0, 0.0))
                    book.size, book.entry = float(size), float(entry)
                if hasattr(view, "_cache_step"):
                    view._cache_step = -1
        transfers = kernel.venues.get("transit")
        if transfers is not None and hasattr(transfers, "pending") and venue.get("in_transit") is not None:
            transfers.pending = [tuple(p) for p in venue["in_transit"]]

    def _adopt(self, kernel, venue: dict, saved: dict | None, t0: int) -> None:
        pf = kernel.portfolio
        balances = {tuple(k): float(v) for k, v in venue["balances"].items()}
        positions = {tuple(k): v for k, v in venue["positions"].items()}
        mine = dict(pf.ledger.balances) if saved is None else {_split(k): v for k, v in saved["balances"].items()}
        diffs = {_key(k): {"session": mine.get(k, 0.0), "venue": balances.get(k, 0.0)}
                 for k in set(mine) | set(balances) if abs(mine.get(k, 0.0) - balances.get(k, 0.0)) > 1e-9}
        pooled, pooled_diffs = [], {}
        for row in venue.get("pooled") or ():  # one venue balance for several sub-accounts: split by the book
            tok, subs = row["token"], list(row["accounts"])
            booked = {a: mine.get((a, tok), 0.0) for a in subs}
            split = partition(row["total"], booked, row["rest_to"])
            for a, v in split.items():
                if v:
                    balances[(a, tok)] = v
                diffs.pop(_key((a, tok)), None)
            if abs(sum(booked.values()) - row["total"]) > 1e-9:
                pooled_diffs[_key(("+".join(subs), tok))] = {"session": sum(booked.values()), "venue": row["total"]}
            pooled.append({"venue": row["venue"], "token": tok, "venue_balance": row["total"],
                           "session_sum": sum(booked.values()), "split": split})
        held = venue.get("accounts")  # an exchange that holds only some accounts (the ccxt one): keep the others
        if held is None:
            pf.ledger.balances.clear()
            pf.positions.clear()
        else:
            diffs = {k: d for k, d in diffs.items() if _split(k)[0] in held}
            for k in [k for k in pf.ledger.balances if k[0] in held or saved is not None]:
                del pf.ledger.balances[k]
            if saved is not None:  # the session's own accounts (wallet, transit) as its stored book has them
                for k, v in saved["balances"].items():
                    if _split(k)[0] not in held:
                        pf.ledger.balances[_split(k)] = float(v)
            for k in [k for k in pf.positions if k[0] in held]:
                del pf.positions[k]
        diffs.update(pooled_diffs)  # a unified account's difference is its sum's (its sub-accounts' are the split)
        for k, v in balances.items():
            pf.ledger.balances[k] = v
        pf.ledger.version += 1
        for src, tok, amt in venue.get("local_debits") or ():  # sent from the session's own accounts since its book
            pf.ledger.balances[(src, tok)] = pf.ledger.balances.get((src, tok), 0.0) - amt
        for k, (size, entry) in positions.items():
            pf.positions[k] = Position(float(size), float(entry))
        # the account views' own state (marks, funding counters, transfers in flight): the exchange's when it
        # gives them, else the session's stored book (its positions and balances then replaced by the venue's)
        for name, cp in (venue.get("checkpoints") or (saved or {}).get("checkpoints") or {}).items():
            if name in kernel.venues:
                _restore_checkpoint(kernel.venues[name], cp)
        for name, rows in (venue.get("in_flight") or {}).items():  # paper: the orders on their way at the stored step
            book = getattr(kernel.venues.get(name), "resting", None)
            if not hasattr(book, "restore_in_flight"):
                raise RecoveryConflict(f"the stored book has orders on their way to {name}, which this session's "
                                       f"venues have no latency book for (venues: {sorted(kernel.venues)})")
            book.restore_in_flight(rows)
        if held is not None:
            self._align_views(kernel, venue, held)
        self._count("adopted")
        kernel.publish(Event(t0, "engine", "recovery_adopted", {
            "balances": {_key(k): v for k, v in sorted(balances.items())},
            "positions": {_key(k): list(v) for k, v in sorted(positions.items())},
            "differences": diffs, "pooled": pooled, "source": "exchange" if self.remote is not None else "stored book"}))

"""A simulated exchange in its own process: the venue a runner can be killed against.

The exchange holds the accounts of one strategy (the backtest's simulators: spot, perp, transfers,
wallet -- ``engine.assembly.build_venues``) and the recorded market data of a period
(``data.feed.HistoricalFeed`` on the catalog's frame). It lives in a separate process, so a runner
that dies (SIGKILL) leaves the venue's state -- balances, positions, orders by client order id,
transfers in transit -- exactly where it was, as a real exchange would. Served on 127.0.0.1 at an
ephemeral port (``multiprocessing.connection``, an authentication key), requests:

    ("sync", t)                   settle the market up to clock time t: funding, transfer arrivals
    ("submit", t, account, order) sync to t, then execute; a client order id already seen returns its
                                  first answer and is never executed twice (submissions are counted)
    ("state", before_t)           sync to the last clock time before ``before_t``; balances (ledger),
                                  positions, each account's checkpoint (for adoption), orders by client
                                  order id, submission counts, transfers in transit
    ("now",)                      the last clock time settled
    ("stop",)

:class:`ExchangeClient` is the runner's side (``sync``, ``submit``, ``state``). ``serve_main`` is the
process entry (``python -m basiskit.engine.live.sim_exchange MODE START END CAPITAL ADDRESS_FILE``):
it writes ``host port authkey-hex`` to ADDRESS_FILE once it listens.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections import Counter
from multiprocessing.connection import Client, Listener
from pathlib import Path

from basiskit.data.feed import HistoricalFeed
from basiskit.domain.orders import Operation
from basiskit.domain.portfolio import Portfolio
from basiskit.engine.assembly import WALLET, build_venues, series_specs
from basiskit.engine.backtest import BacktestRequest, prepare
from basiskit.strategies.registry import build_strategy


class SimExchange:
    """The exchange's state (module docstring). ``frame``: the period's market data; ``capital``:
    USDT in the wallet account at the start."""

    def __init__(self, config, frame, capital: float) -> None:
        reqs = build_strategy(config).requirements()
        self.feed = HistoricalFeed(frame)
        self.grid = self.feed.grid
        self.portfolio = Portfolio()
        self.venues = build_venues(reqs, self.feed.state, self.portfolio, [], config.venues)
        self.accounts = self.venues.accounts
        self.portfolio.ledger.add(WALLET, "USDT", capital)
        self.next_i = 0
        self.orders: dict[str, object] = {}
        self.submits: Counter = Counter()

    def sync(self, t: int) -> None:
        accruing = [v for v in self.accounts.values() if getattr(v, "accrues", True)]
        while self.next_i < len(self.grid) and self.grid[self.next_i] <= t:
            tick = self.feed.advance(self.next_i)
            for v in accruing:
                for ev in v.on_market(tick) or ():
                    self.portfolio.apply(ev)
            self.next_i += 1

    def submit(self, t: int, account: str, order):
        cid = order.client_order_id
        self.submits[cid] += 1
        if cid in self.orders:
            return self.orders[cid]
        self.sync(t)
        venue = self.venues.transfers if order.operation is Operation.TRANSFER else self.accounts[account]
        tr = venue.submit((order,))[0]
        self.portfolio.apply(tr)
        self.orders[cid] = tr
        return tr

    def now(self) -> int | None:
        """The last clock time the exchange has settled (None before the first)."""
        return self.feed.state.t if self.next_i else None

    def state(self, before_t: int) -> dict:
        self.sync(before_t - 1)
        led = self.portfolio.ledger
        return {"t": self.feed.state.t if self.next_i else None, "next_i": self.next_i,
                "balances": {k: v for k, v in led.balances.items() if v},
                "positions": {k: (p.size, p.entry) for k, p in self.portfolio.positions.items() if p.size},
                "checkpoints": {name: v.checkpoint() for name, v in self.accounts.items()},
                "orders": {cid: (tr.status.value, tr.executed_amount, tr.price, tr.order.venue, tr.order.operation.value)
                           for cid, tr in self.orders.items()},
                "submits": dict(self.submits),
                "in_transit": list(self.venues.transfers.pending)}


def serve(exchange: SimExchange, address_file: Path) -> None:
    key = secrets.token_bytes(16)
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        host, port = listener.address
        tmp = address_file.with_suffix(".tmp")
        tmp.write_text(f"{host} {port} {key.hex()}\n")
        os.replace(tmp, address_file)
        while True:
            try:
                conn = listener.accept()
            except Exception:  # noqa: BLE001 - a client that failed authentication: keep serving
                continue
            with conn:
                while True:
                    try:
                        req = conn.recv()
                    except (EOFError, ConnectionResetError):
                        break  # the runner went away (killed): the exchange stays
                    cmd = req[0]
                    if cmd == "stop":
                        conn.send(("ok", None))
                        return
                    try:
                        out = getattr(exchange, cmd)(*req[1:])
                        conn.send(("ok", out))
                    except Exception as exc:  # noqa: BLE001 - answered to the client, which raises it
                        conn.send(("error", f"{type(exc).__name__}: {exc}"))


class ExchangeClient:
    """The runner's connection to a ``SimExchange`` whose address file ``address_file`` says where."""

    def __init__(self, address_file: Path | str) -> None:
        host, port, key = Path(address_file).read_text().split()
        self.conn = Client((host, int(port)), authkey=bytes.fromhex(key))

    def _call(self, *req):
        self.conn.send(req)
        status, out = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"exchange: {out}")
        return out

    def sync(self, t: int) -> None:
        self._call("sync", t)

    def submit(self, t: int, account: str, order):
        return self._call("submit", t, account, order)

    def state(self, before_t: int) -> dict:
        return self._call("state", before_t)

    def now(self) -> int | None:
        return self._call("now")

    def stop(self) -> None:
        self._call("stop")

    def close(self) -> None:
        self.conn.close()


def build_exchange(mode: str, start: str, end: str, capital: float, catalog) -> SimExchange:
    req = BacktestRequest(mode, start, end, capital)
    config, clock = prepare(req)
    reqs = build_strategy(config).requirements()
    specs = series_specs(reqs, set(catalog.dataset_ids()))
    return SimExchange(config, catalog.frame(clock.grid(), specs), capital)


def serve_main(argv: list[str]) -> None:
    from basiskit.data.catalog import Catalog, resolve_source_dir

    mode, start, end, capital, address_file = argv[:5]
    home = Path(os.environ.get("BASISKIT_HOME", ".basiskit"))
    catalog = Catalog(home, resolve_source_dir(os.environ.get("BASISKIT_DATA_SOURCE")))
    catalog.ensure_imported()
    serve(build_exchange(mode, start, end, float(capital), catalog), Path(address_file))


if __name__ == "__main__":
    serve_main(sys.argv[1:])

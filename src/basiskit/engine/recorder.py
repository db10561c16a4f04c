"""What a run records at the end of every clock step (a subscriber of the kernel's steps).

Per step: equity (USD(T), the sum of every venue account's value), net deposits (share-class units),
net delta (USD(T)), per perp account its margin ratio (None without a position) and notional (USD(T)),
the first AAVE account's health factor (inf without debt) and LTV, the on-chain net ETH (ETH units),
idle cash (USD(T): wallet share-class cash, USDT on spot accounts, money in transit), and -- for the
ETH share class, which converts every step -- the attribution totals (USD(T), ``SOURCES`` order).
Venue snapshots (``engine.snapshots``) are taken once a clock day and at the last step.

Storage is typed: each per-step series is an ``array.array`` (``'d'``: 8 bytes a value instead of
a Python float object and a list slot, ~32 bytes; ``times`` is ``'q'``, int ns), so a run's memory
grows by ~8 bytes per series per step. A margin ratio of None (no position) is stored as NaN (written
as an empty field, as before). Each series takes ``.append(x)`` and ``.extend(iterable of floats)``
(a bulk path may append many steps at once); ``attribution_steps`` is flat: ``len(SOURCES)`` values
per step, in ``SOURCES`` order (``numpy.frombuffer(...).reshape(-1, len(SOURCES))``).
"""

from __future__ import annotations

from array import array

from basiskit.domain.portfolio import Portfolio
from basiskit.engine.snapshots import SnapshotTaker, VenueSnapshots
from basiskit.risk.monitor import RiskMonitor


_NAN = float("nan")


class StepRecorder:
    def __init__(self, n_steps: int, state, portfolio: Portfolio, monitor: RiskMonitor, venues: dict, wallet: str,
                 cash_token: str, prices=None, record_attribution: bool = False, snapshot_every: int = 0) -> None:
        self._state = state
        self.times = array("q")                # int ns
        self.equity = array("d")               # USD(T)
        self.net_deposits = array("d")         # share-class units
        self.net_delta = array("d")            # USD(T)
        self.margin_ratios: dict[str, array] = {name: array("d") for name in monitor.perp_names}  # NaN: no position
        self.perp_notional: dict[str, array] = {name: array("d") for name in monitor.perp_names}  # USD(T)
        self.health_factor = array("d")        # inf without debt
        self.ltv = array("d")
        self.net_eth = array("d")              # ETH
        self.idle_cash_usd = array("d")        # USD(T)
        self.attribution_steps = array("d")    # USD(T), flat: len(SOURCES) per step
        self.snapshots = VenueSnapshots()
        self._monitor = monitor
        self._portfolio = portfolio
        self._attr_total = portfolio.attribution.total
        self._record_attr = record_attribution
        self._prices = prices
        self._wallet_key = (wallet, cash_token)
        self._eth_cash = cash_token != "USDT"
        self._spot_keys = [(v.name, "USDT") for v in monitor.spot_venues]
        self._transit = venues.get("transit")
        self._aave = monitor.aave_names[0] if monitor.aave_names else None
        self._onchain = bool(monitor.onchain)
        self._mr = [(name, self.margin_ratios[name], self.perp_notional[name]) for name in monitor.perp_names]
        self._snap = SnapshotTaker(venues, portfolio.attribution, n_steps, snapshot_every) if snapshot_every else None
        self._snap_at = self._snap.next_step if self._snap is not None else -1

    @property
    def next_snapshot_step(self) -> int:
        """The step of the next venue snapshot (-1: none left)."""
        return self._snap_at

    def snapshot_steps(self, lo: int, hi: int) -> list[int]:
        """The venue-snapshot steps in ``[lo, hi)``, in order."""
        out, s = [], self._snap_at
        while lo <= s < hi:
            out.append(s)
            s = self._snap.following(s)
        return out

    def snapshot_now(self, i: int) -> None:
        """Take the venue snapshot due at step ``i`` (after a quiet stretch's rows up to ``i``)."""
        self._snap.take(i)
        self._snap_at = self._snap.next_step
        self.snapshots = self._snap.out

    @property
    def records_attribution(self) -> bool:
        return self._record_attr

    def _idle_usd(self, eth_usd=None):
        """Idle cash now, USD(T): wallet share-class cash, USDT on spot accounts, money in transit
        (``eth_usd``: the ETH/USD prices to value WETH cash at, default the step's)."""
        balances = self._portfolio.ledger.balances
        idle = balances.get(self._wallet_key, 0.0)
        if idle and self._eth_cash:
            idle = idle * (self._prices.eth_usd_now if eth_usd is None else eth_usd)
        for key in self._spot_keys:
            idle += balances.get(key, 0.0)
        transit = self._transit
        if transit is not None and transit.pending:
            idle += transit.value_usd()
        return idle

    def record_quiet(self, times, equity, net_deposits: float, net_delta, margin_ratios: dict, notionals: dict,
                     health_factor=None, ltv=None, net_eth=None, eth_usd=None, attribution_rows=None) -> None:
        """The rows of a quiet stretch (``engine.quiet``) at once: ``times`` (ns), ``equity`` and
        ``net_delta`` (USD(T) arrays), ``margin_ratios`` / ``notionals`` per perp account (arrays, NaN
        for no position); balances are constant over the stretch, so net deposits and idle cash are
        the ones of now; ``health_factor`` / ``ltv`` of the first AAVE account and the on-chain
        ``net_eth`` (arrays) where the run records them; for the ETH share class ``eth_usd`` (the
        step's ETH/USD, which values the wallet's WETH) and ``attribution_rows`` (the attribution
        totals after each step, shape (steps, len(SOURCES))). Never across a snapshot step (the
        kernel makes sure)."""
        k = len(equity)
        self.times.extend(times)
        self.equity.extend(equity.tolist())
        self.net_deposits.extend([net_deposits] * k)
        idle = self._idle_usd()
        if self._eth_cash and self._portfolio.ledger.balances.get(self._wallet_key, 0.0):
            idle = self._idle_usd(eth_usd).tolist()  # the wallet's WETH at each step's ETH/USD
        else:
            idle = [idle] * k
        self.idle_cash_usd.extend(idle)
        if self._record_attr:
            self.attribution_steps.extend(attribution_rows.ravel().tolist())
        self.net_delta.extend(net_delta.tolist())
        for name, out, n_out in self._mr:
            out.extend(margin_ratios[name].tolist())  # NaN: no position, as ``record`` stores it
            n_out.extend(notionals[name].tolist())
        if self._aave is not None:
            self.health_factor.extend(health_factor.tolist())
            self.ltv.extend(ltv.tolist())
            self.net_eth.extend(net_eth.tolist())
        elif self._onchain:
            self.net_eth.extend(net_eth.tolist())

    def record(self, i: int, equity: float, net_deposits: float) -> None:
        m = self._monitor
        self.times.append(self._state.t)
        self.equity.append(equity)
        self.net_deposits.append(net_deposits)
        self.idle_cash_usd.append(self._idle_usd())
        self.net_delta.append(m.net_delta_usd)
        readings, notionals = m.margin_ratios, m.notionals
        for name, out, n_out in self._mr:
            r = readings[name]
            out.append(_NAN if r is None else r)
            n_out.append(notionals[name])
        if self._aave is not None:
            self.health_factor.append(m.health_factors[self._aave])
            self.ltv.append(m.ltvs[self._aave])
            self.net_eth.append(m.net_eth)
        elif self._onchain:
            self.net_eth.append(m.net_eth)
        if self._record_attr:
            self.attribution_steps.extend(self._attr_total.values())
        if i == self._snap_at:
            self._snap.take(i)
            self._snap_at = self._snap.next_step
            self.snapshots = self._snap.out

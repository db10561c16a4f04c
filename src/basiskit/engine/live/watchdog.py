"""Watchdog of a live session: stale feeds pause new entries, heartbeats, the circuit breaker.

* :class:`FeedWatchdog`: each market series of the run has a silence limit (seconds since its last
  event was received). When any series passes its limit, new entries pause -- the kernel's risk gate
  is wrapped in :class:`EntryPauseGate`, which while paused lets only risk-reducing orders through
  (``RiskGate.reduce_only``: exits, perp trades that shrink a position, spot sells, transfers) -- and a
  ``feed_stale`` event (``LIVE-002``) names the series, its age and its limit. When every series is
  fresh again, a ``feed_fresh`` event, and entries resume. The driver checks between steps, every
  ``poll_s`` of wall time, so a pause starts at most ``poll_s`` after the limit passed.
* heartbeats: the driver publishes an ``engine``/``heartbeat`` event every ``heartbeat_s`` with the
  feed ages, the step and whether entries are paused.
* :class:`CircuitBreaker`: after every step, the loss of the session's equity (USD(T)) against its
  starting equity plus net deposits since (share-class cash in USD(T)); at ``emergency_stop_loss_pct``
  (percent, default 15) it publishes ``circuit_breaker`` and stops the run (``CircuitBreakerTripped``,
  LIVE-001).
"""

from __future__ import annotations

from collections.abc import Callable

from basiskit.domain.events import Event
from basiskit.engine.live.errors import CircuitBreakerTripped


class EntryPauseGate:
    """The kernel's gate while the feed is watched: ``paused`` -> reduce-only, else the inner gate."""

    def __init__(self, inner=None) -> None:
        self.inner = inner
        self.paused = False
        self.perp_names = getattr(inner, "perp_names", [])
        self.orders_held = 0  # orders dropped while paused

    def review(self, orders, risk, sizes, t):
        if not self.paused:
            return self.inner.review(orders, risk, sizes, t)
        kept, _ = self.inner.reduce_only(orders, sizes, t)
        dropped = len(orders) - len(kept)
        events = []
        if dropped:
            self.orders_held += dropped
            events.append(Event(t, "risk", "entries_paused", {"code": "LIVE-002", "dropped": dropped,
                                                              "kept": len(kept),
                                                              "reason": "market feed stale: only exits pass"}))
        kept, more = self.inner.review(kept, risk, sizes, t) if kept else (kept, [])
        return kept, events + list(more)

    def reduce_only(self, orders, sizes, t):
        return self.inner.reduce_only(orders, sizes, t)


class FeedWatchdog:
    """Args: limits: series key -> silence limit (seconds); gate: the ``EntryPauseGate`` to pause;
    publish: receives the watchdog's events (the kernel's ``publish``)."""

    def __init__(self, limits: dict[str, float], gate: EntryPauseGate | None = None,
                 publish: Callable = lambda ev: None) -> None:
        self.limits = dict(limits)
        self.gate = gate if gate is not None else EntryPauseGate()
        self.publish = publish
        self.paused_since_ns: int | None = None
        self.pauses: list[tuple[int, int | None]] = []  # (paused at, resumed at) wall ns

    def check(self, ages: dict[str, float], now_ns: int, t: int) -> bool:
        """Compare ``ages`` (seconds since each key's last event) with the limits at wall time
        ``now_ns`` (clock time ``t`` stamps the events); returns whether entries are paused."""
        stale = {k: a for k, a in ages.items() if k in self.limits and a > self.limits[k]}
        if stale and not self.gate.paused:
            self.gate.paused = True
            self.paused_since_ns = now_ns
            self.pauses.append((now_ns, None))
            self.publish(Event(t, "engine", "feed_stale", {
                "code": "LIVE-002", "series": sorted(stale), "age_s": {k: round(a, 3) for k, a in sorted(stale.items())},
                "limit_s": {k: self.limits[k] for k in sorted(stale)}, "wall_ns": now_ns,
                "policy": "new entries paused; exits still allowed"}))
        elif not stale and self.gate.paused:
            self.gate.paused = False
            start = self.paused_since_ns or now_ns
            self.pauses[-1] = (start, now_ns)
            self.paused_since_ns = None
            self.publish(Event(t, "engine", "feed_fresh", {"paused_s": (now_ns - start) / 1e9, "wall_ns": now_ns}))
        return self.gate.paused


class CircuitBreaker:
    """Args: limit_pct: loss (percent of starting equity plus net deposits) that stops the run;
    unit_usd: USD(T) per share-class unit now (1 for USDT)."""

    def __init__(self, limit_pct: float = 15.0, unit_usd: Callable[[], float] = lambda: 1.0) -> None:
        if not (0 < limit_pct <= 100):
            raise ValueError(f"emergency_stop_loss_pct must be in (0, 100], got {limit_pct}")
        self.limit_pct = limit_pct
        self.unit_usd = unit_usd
        self.start_equity_usd: float | None = None
        self.loss_pct = 0.0

    def check(self, kernel) -> None:
        """After a step: raises ``CircuitBreakerTripped`` (after publishing ``circuit_breaker``) when the
        loss reached the limit."""
        eq = kernel.recorder.equity[-1] if kernel.recorder.equity else None
        if eq is None:
            return
        if self.start_equity_usd is None:
            self.start_equity_usd = eq - kernel.net_deposits * self.unit_usd()
            return
        base = self.start_equity_usd + kernel.net_deposits * self.unit_usd()
        if base <= 0:
            return
        self.loss_pct = (base - eq) / base * 100.0
        if self.loss_pct >= self.limit_pct:
            t = kernel.feed.state.t
            kernel.publish(Event(t, "risk", "circuit_breaker", {
                "code": "LIVE-001", "loss_pct": self.loss_pct, "limit_pct": self.limit_pct, "equity_usd": eq,
                "baseline_usd": base}))
            raise CircuitBreakerTripped(
                f"circuit breaker: equity {eq:,.2f} USD(T) is {self.loss_pct:.2f} % below the session's starting "
                f"equity plus net deposits ({base:,.2f}); emergency_stop_loss_pct is {self.limit_pct:g} %: the run stops")

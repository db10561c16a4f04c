"""Assembling a paper or live session on the backtest's own kernel.

``engine.backtest.simulate`` builds the run exactly as a backtest does (portfolio, venues, execution
manager, risk monitor, gate and override, context, recorder, kernel); a session hands it a
``LiveFeed`` instead of the historical one and a ``LiveDriver`` instead of the as-fast-as-possible
loop -- nothing else differs, so a paper session replaying a recorded period makes the backtest's
orders. In live mode ``patch_venues`` swaps the simulators for the venue adapters (or wraps them in
the journal: ``engine.live.journal``).

:func:`feed_keys` / :func:`funding_intervals` give the series a strategy reads and each perp
funding series' settlement interval (venue configs), for the ``LiveFeed``.
"""

from __future__ import annotations

from basiskit.data.live_feed import LiveFeed
from basiskit.data.market import SeriesSpec
from basiskit.data.replay_source import FrameReplaySource
from basiskit.engine.assembly import load_venue_config
from basiskit.engine.backtest import Simulation, simulate


def feed_keys(specs: list[SeriesSpec]) -> list[str]:
    """The market series keys of a run (its ``SeriesSpec`` s, funding series aside)."""
    return [s.key for s in specs if s.kind != "funding"]


def funding_intervals(specs: list[SeriesSpec], venue_overrides: dict | None = None) -> dict[str, float]:
    """Funding series key (``funding.<venue>.<SYM>``) -> seconds between settlements (the venue's
    ``perp.funding_interval_hours``)."""
    out: dict[str, float] = {}
    for s in specs:
        if s.kind == "funding":
            venue = s.key.split(".")[1]
            cfg = load_venue_config(venue, (venue_overrides or {}).get(venue))
            if cfg.perp is not None:
                out[s.key] = cfg.perp.funding_interval_hours * 3600.0
    return out


def run_session(config, strategy, feed: LiveFeed, capital: float, driver, subscribers: list | None = None,
                patch_venues=None) -> Simulation:
    """Run ``strategy`` (built from ``config``) on ``feed`` through ``driver`` with ``capital``
    (share-class units); returns the ``Simulation`` (loop results, attribution, venues)."""
    return simulate(config, strategy, None, capital, subscribers=subscribers, driver=driver, feed=feed,
                    patch_venues=patch_venues)


def replay_feed(frame, step_seconds: int, specs: list[SeriesSpec], now_ns, venue_overrides: dict | None = None) -> LiveFeed:
    """A ``LiveFeed`` on a replay of ``frame`` (a recorded period: ``data.replay_source``)."""
    return LiveFeed([int(t) for t in frame.grid], FrameReplaySource(frame, step_seconds), feed_keys(specs),
                    funding_intervals(specs, venue_overrides), now_ns=now_ns)

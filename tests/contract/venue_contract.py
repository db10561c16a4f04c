"""The venue contract: what every venue account (simulated now, live adapters later) must satisfy.

One suite for all of them (``test_venue_contract.py`` runs it over every simulator the engine builds;
``test_broken_venues.py`` shows that a venue breaking a rule fails it). The rules, from
``basiskit.venues.protocol``:

1. **Surface**: ``name``, ``on_market``, ``submit``, ``poll``, ``account``, ``value_usd``,
   ``withdrawable``, ``checkpoint``, ``restore``.
2. **A venue never writes a balance**: the portfolio's ledger is the same before and after any call
   to the venue; what happened comes back as account events the portfolio applies.
3. **Value is conserved and every cost is booked**: at every market step and every fill, the change
   in the sum of the accounts' values (USD(T)) equals the change in the attribution total -- a fee,
   a slippage, a gas payment, a funding payment, an interest accrual or a price move that changes
   an account's value is booked, and nothing is booked that did not change a value.
4. **Fees are booked as fees**: a fill that reports a fee (``Trade.fee > 0``) carries a negative
   ``fees`` booking.
5. **A refused order changes nothing**: no deltas, no bookings, the account and every value unchanged.
6. **One trade per order**, carrying the order, stamped at the market state's time.
7. **Checkpoint / restore** bring the account back exactly (an atomic group's rollback).
8. **The snapshot is the fold of the events**: ``account()`` reports the balances the portfolio
   holds for the account (from the events it applied) and ``account().value_usd == value_usd()``. For a
   sub-account of a unified venue account (one quote balance for spot and perp) the quote rule is on the
   SUM: the sub-accounts' quote in the portfolio = the venue's one balance.

Each check raises ``AssertionError`` naming the rule, the venue and the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from basiskit.domain.portfolio import FEES, Portfolio

SURFACE = ("on_market", "submit", "poll", "account", "value_usd", "withdrawable", "checkpoint", "restore")
REL = 1e-9   # relative tolerance of value identities (of the world's equity)
ABS = 1e-7   # USD(T) floor of the tolerance


@dataclass
class World:
    """A market replayed step by step with the engine's venues on it: ``feed`` (``HistoricalFeed``),
    ``portfolio``, ``venues`` (account name -> venue, the engine's order: wallet first)."""

    feed: object
    portfolio: Portfolio
    venues: dict
    prices: object = None
    i: int = -1
    log: list = field(default_factory=list)

    @property
    def state(self):
        return self.feed.state

    def equity(self) -> float:
        return sum(v.value_usd() for v in self.venues.values())

    def booked(self) -> float:
        return self.portfolio.attribution.sum()

    def tol(self) -> float:
        return ABS + REL * abs(self.equity())


def _ledger(world: World) -> dict:
    return {k: v for k, v in world.portfolio.ledger.balances.items() if v}


def _account_view(venue) -> tuple:
    snap = venue.account()
    return (sorted((k, round(v, 12)) for k, v in snap.balances.items()),
            sorted((k, tuple(round(x, 12) for x in p)) for k, p in snap.positions.items()), round(snap.value_usd, 9))


def check_surface(venue) -> None:
    assert isinstance(getattr(venue, "name", None), str) and venue.name, f"rule 1: {venue!r} has no account name"
    missing = [m for m in SURFACE if not callable(getattr(venue, m, None))]
    assert not missing, f"rule 1: {venue.name} lacks {missing}"


def step(world: World) -> list:
    """Advance the market one step: every venue's ``on_market`` (rules 2 and 3 checked per venue and
    per step). Returns the events."""
    eq0, booked0 = (world.equity(), world.booked()) if world.i >= 0 else (None, None)
    world.i += 1
    tick = world.feed.advance(world.i)
    if world.prices is not None:
        world.prices.on_tick()
    events = []
    for v in world.venues.values():
        before = _ledger(world)
        evs = v.on_market(tick)
        assert _ledger(world) == before, f"rule 2: {v.name}.on_market wrote the ledger at step {world.i}"
        assert isinstance(evs, list), f"rule 1: {v.name}.on_market must return a list"
        for ev in evs:
            assert ev.timestamp <= tick.timestamp, f"{v.name}: event {ev} is stamped after the step"
            world.portfolio.apply(ev)
            events.append(ev)
        polled = v.poll(tick.timestamp)
        assert isinstance(polled, list) and _ledger(world) == _ledger(world), f"rule 1: {v.name}.poll"
    if eq0 is None:  # the first step marks the starting balances: nothing to compare with
        world.log.extend(events)
        return events
    d_eq, d_booked = world.equity() - eq0, world.booked() - booked0
    assert math.isclose(d_eq, d_booked, abs_tol=world.tol()), (
        f"rule 3: at step {world.i} the accounts' value moved {d_eq:+.10g} USD but {d_booked:+.10g} was booked "
        f"(events: {[getattr(e, 'kind', type(e).__name__) for e in events]})")
    world.log.extend(events)
    return events


def _send(world: World, venue, order):
    """Submit one order (rules 2 and 6); applies the trade to the portfolio and returns it."""
    before = _ledger(world)
    trades = venue.submit([order])
    assert _ledger(world) == before, f"rule 2: {venue.name}.submit wrote the ledger ({order.operation.value})"
    assert isinstance(trades, list) and len(trades) == 1, f"rule 6: {venue.name} returned {trades!r} for one order"
    tr = trades[0]
    assert tr.order == order, f"rule 6: {venue.name}'s trade carries another order"
    assert tr.timestamp == world.state.t, f"rule 6: {venue.name}'s trade is stamped {tr.timestamp}, not {world.state.t}"
    world.portfolio.apply(tr)
    world.log.append(tr)
    return tr


def submit(world: World, venue, order):
    """Submit one order (rules 2, 3, 4, 6); applies the trade to the portfolio and returns it."""
    eq0, booked0 = world.equity(), world.booked()
    tr = _send(world, venue, order)
    d_eq, d_booked = world.equity() - eq0, world.booked() - booked0
    assert math.isclose(d_eq, d_booked, abs_tol=world.tol()), (
        f"rule 3: {order.operation.value} {order.amount} {order.token} on {venue.name} moved the accounts' value "
        f"{d_eq:+.10g} USD but booked {d_booked:+.10g} ({tr.pnl})")
    if tr.ok and tr.fee > 0:
        fees = sum(amt for src, _, amt in tr.pnl if src == FEES)
        assert fees < 0, f"rule 4: {venue.name} reports a fee of {tr.fee} {tr.fee_currency} but books fees {fees}"
    return tr


def check_fill(world: World, venue, order) -> None:
    tr = submit(world, venue, order)
    assert tr.ok, f"{venue.name}: the contract's sample order {order} was not filled: {tr.error_code} {tr.error}"
    check_fold(world, venue)


def check_refusal(world: World, venue, order) -> None:
    """Rule 5."""
    view, eq, booked = _account_view(venue), world.equity(), world.booked()
    tr = _send(world, venue, order)
    assert not tr.ok, f"rule 5: {venue.name} filled an order it must refuse: {order}"
    assert tr.error_code and tr.error, f"rule 5: {venue.name} refused without a code and a reason"
    assert tr.deltas == () and tr.pnl == (), f"rule 5: {venue.name}'s refusal carries changes {tr.deltas} {tr.pnl}"
    assert _account_view(venue) == view, f"rule 5: {venue.name} changed its account while refusing {order}"
    assert math.isclose(world.equity(), eq, abs_tol=world.tol()) and world.booked() == booked, (
        f"rule 5: refusing on {venue.name} changed the value ({eq} -> {world.equity()})")


def check_checkpoint(world: World, venue, order) -> None:
    """Rule 7: fill ``order`` after a checkpoint of the venue and the portfolio, restore both: the account,
    the ledger and the world's value are as before."""
    view, ledger, eq = _account_view(venue), _ledger(world), world.equity()
    cp, pcp = venue.checkpoint(), world.portfolio.snapshot()
    tr = submit(world, venue, order)
    assert tr.ok, f"{venue.name}: the contract's sample order was not filled: {tr.error}"
    venue.restore(cp)
    world.portfolio.restore(pcp)
    assert _account_view(venue) == view, f"rule 7: {venue.name} after restore {_account_view(venue)} != {view}"
    assert _ledger(world) == ledger, f"rule 7: the ledger differs after restoring {venue.name}"
    assert math.isclose(world.equity(), eq, abs_tol=world.tol()), f"rule 7: value {world.equity()} != {eq} after restore"


def check_fold(world: World, venue) -> None:
    """Rule 8."""
    snap = venue.account()
    assert snap.account == venue.name, f"rule 8: {venue.name}.account() names {snap.account}"
    assert math.isclose(snap.value_usd, venue.value_usd(), rel_tol=1e-12, abs_tol=1e-9), (
        f"rule 8: {venue.name}.account().value_usd {snap.value_usd} != value_usd() {venue.value_usd()}")
    held = {tok: amt for (acc, tok), amt in world.portfolio.ledger.balances.items() if acc == venue.name and amt}
    if getattr(venue, "shared", False) and venue.quote in held:
        # a sub-account of a unified venue account (live adapters, ``venues.live.unified``): its quote is the
        # venue's one balance less its sibling's, so the rule is on the sum, to the precision of the venue's balance
        subs = [venue.name, *venue.siblings]
        total = venue.venue_balance().get(venue.quote, 0.0)
        mine = sum(world.portfolio.ledger.get(a, venue.quote) for a in subs)
        assert math.isclose(mine, total, rel_tol=1e-12, abs_tol=1e-12), (
            f"rule 8: {' + '.join(subs)} hold {venue.quote} {mine}, the venue's one balance is {total}")
        held.pop(venue.quote)
    for tok, amt in held.items():
        got = snap.balances.get(tok, 0.0)
        assert math.isclose(got, amt, rel_tol=1e-12, abs_tol=1e-12), (
            f"rule 8: {venue.name} reports {tok} {got}, the fold of its events gives {amt}")
    pos = world.portfolio.positions
    for tok, (size, entry) in snap.positions.items():
        p = pos.get((venue.name, tok))
        assert p is not None and math.isclose(p.size, size, rel_tol=1e-12, abs_tol=1e-12), (
            f"rule 8: {venue.name} reports a {tok} position {size}, the fold of its fills gives "
            f"{p.size if p else 0.0}")

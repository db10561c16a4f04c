"""A unified venue account split into basiskit's sub-accounts (``<venue>.spot``, ``<venue>.perp``).

OKX's trading account and Bybit's unified trading account (v5 ``accountType=UNIFIED``) hold ONE quote
balance (USDT) for spot and derivatives; basiskit's domain keeps a venue's spot and perp as two accounts,
each with its own USDT in the ledger. The venue config says which venues are unified
(``unified_account: true`` in ``venues/live/<venue>/venue.yaml``); the session's ledger keeps its two
sub-accounts (kernel, strategies and attribution are unchanged) and the live side partitions:

* the venue's one balance is read once; spot tokens (BTC, ETH...) belong to the spot sub-account, perp
  positions to the perp sub-account, the quote balance to both: what is reconciled is the SUM of the
  sub-accounts' quote balances with the venue's one balance (``partition``);
* a transfer between the two sub-accounts moves nothing at the venue: it is bookkeeping only (no venue
  call; ``CcxtAccount`` fills it at once, the journal records it ``bookkeeping``).

``partition(total, booked, rest_to)``: the sub-accounts' quote balances that add up to ``total`` -- each
sub-account but ``rest_to`` keeps its booked balance, ``rest_to`` takes the rest (the perp sub-account:
the collateral, where funding and realised PnL land). A sub-account is balanced with the venue exactly
when the booked balances add up to the venue's balance.

Units: token units of the quote (USDT).
"""

from __future__ import annotations

from collections.abc import Mapping


def partition(total: float, booked: Mapping[str, float], rest_to: str) -> dict[str, float]:
    """``{sub-account: quote balance}`` adding up to ``total`` (module docstring). ``booked``: each
    sub-account's balance in the session's book (accounts it lacks count 0); ``rest_to`` is one of them.

    Raises:
        ValueError: ``rest_to`` is not among ``booked``'s accounts.
    """
    if rest_to not in booked:
        raise ValueError(f"partition: {rest_to!r} is not one of the sub-accounts {sorted(booked)}")
    out = {acc: float(v) for acc, v in booked.items() if acc != rest_to}
    out[rest_to] = float(total) - sum(out.values())
    return out


def sub_accounts(venue: str, kinds) -> list[str]:
    """The sub-account names of ``venue``'s unified account among ``kinds`` (``["bybit.spot", "bybit.perp"]``)."""
    from basiskit.venues.live.config import UNIFIED_KINDS

    return [f"{venue}.{k}" for k in UNIFIED_KINDS if k in kinds]

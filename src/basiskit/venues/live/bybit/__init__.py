"""Bybit through ccxt (quirks: ``venue.yaml`` beside this file). ``build(accounts, ledger, attribution,
overrides=None, env=None)`` -> ``{account: CcxtAccount}`` (see ``basiskit.venues.live``)."""

from __future__ import annotations

from basiskit.venues.live import build_live_accounts

VENUE = "bybit"


def build(accounts: dict[str, list[str]], ledger, attribution, overrides: dict | None = None, env: dict | None = None):
    return build_live_accounts(VENUE, accounts, ledger, attribution, overrides, env)

"""Live venue adapters through ccxt's async API: one folder per venue (``binance``, ``bybit``, ``okx``),
the same files in each (``__init__.py`` with ``build``, ``venue.yaml`` with the venue's quirks as
data); the code is shared (``ccxt_account.CcxtAccount``, ``session.CcxtSession``, ``config``;
``unified``: a venue whose spot and perp are one account, ``unified_account: true``).

``build_live_accounts(venue, accounts, ledger, attribution, overrides=None, env=None)`` returns
``{account name: CcxtAccount}`` for ``accounts`` (``{"binance.perp": ["BTC", "ETH"], ...}``), sharing one
ccxt client (one rate limiter) per venue; credentials are read from ``env`` (default ``os.environ``)
under the names the venue's YAML gives (``BINANCE_API_KEY`` / ``BINANCE_API_SECRET``, ``BYBIT_...``,
``OKX_...`` with ``OKX_API_PASSPHRASE``). ``overrides``: keys of ``LiveVenueConfig`` (``urls``,
``options``, ``addresses``, ``fill_timeout_s``, ...). Close the accounts' session with ``close()``.
"""

from __future__ import annotations

from basiskit.venues.live.ccxt_account import CcxtAccount
from basiskit.venues.live.config import Credentials, load_live_venue
from basiskit.venues.live.session import CcxtSession


def build_live_accounts(venue: str, accounts: dict[str, list[str]], ledger, attribution, overrides: dict | None = None,
                        env: dict | None = None) -> dict[str, CcxtAccount]:
    """Raises ConfigError: an unknown venue or config key, an account of another venue."""
    from basiskit.config.loader import ConfigError

    cfg = load_live_venue(venue, overrides)
    for name in accounts:
        if name.split(".")[0] != venue or name.split(".")[-1] not in cfg.accounts:
            raise ConfigError(f"account {name!r} is not an account of {venue} ({', '.join(cfg.accounts)})",
                              field="accounts")
    session = CcxtSession(cfg, Credentials.from_env(cfg.credentials, env))
    return {name: CcxtAccount(name, cfg, session, ledger, attribution, toks) for name, toks in accounts.items()}


__all__ = ["CcxtAccount", "CcxtSession", "Credentials", "build_live_accounts", "load_live_venue"]

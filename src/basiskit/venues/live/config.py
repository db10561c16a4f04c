"""A live venue's quirks as data (``venues/live/<venue>/venue.yaml``) and its credentials from the environment.

``load_live_venue(name, overrides)`` reads the venue's YAML into ``LiveVenueConfig`` (pydantic, unknown
keys rejected). ``overrides`` may add ``urls`` / ``options`` / ``ccxt`` (merged into ccxt's constructor
config, e.g. to point the client at another host) and ``addresses`` (token -> deposit address of each
*destination* a withdrawal may go to); nothing in the adapter code depends on where the venue is.

``Credentials.from_env(spec)`` reads the environment variables the YAML names (``BINANCE_API_KEY``,
``BINANCE_API_SECRET``, ``OKX_API_PASSPHRASE``...). A ``Credentials`` never shows its values: ``repr``
and ``str`` print the variable names only, and ``redact(text)`` removes the values from any text
(every error message the adapters raise or report goes through it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from basiskit.config.loader import ConfigError

HERE = Path(__file__).parent
VENUES = ("binance", "bybit", "okx")
UNIFIED_KINDS = ("spot", "perp")
"""The account kinds that are sub-accounts of a unified venue account (``unified_account: true``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WalletBalance(_Strict):
    """Where ``fetch_balance()['info']`` holds the wallet balance (collateral without unrealised PnL):
    ``path`` of keys / list indexes to a list of rows, ``key`` names the token column, ``field`` the
    balance column."""

    path: list[str | int]
    key: str
    field: str


class AccountQuirks(_Strict):
    market: str = Field(description="ccxt unified symbol pattern, '{base}' replaced by the base token")
    balance_params: dict[str, Any] = Field(default_factory=dict)
    transfer_account: str
    wallet_balance: WalletBalance | None = None
    market_buy_params: dict[str, Any] = Field(default_factory=dict)
    stop_direction_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="side -> parameters a stop order of that side needs (Bybit contracts: the "
        "trigger direction)")


class FundingQuirks(_Strict):
    """How a venue's funding records read: ``rate_field`` / ``mark_field`` of the raw record (``info``)
    holding the rate and the mark (None: not given); ``amount_sign``: +1 when ccxt's ``amount`` is what
    the account received, -1 when it is what it paid (Bybit's ``execFee``)."""

    rate_field: str | None = None
    mark_field: str | None = None
    amount_sign: int = Field(default=1, description="+1 or -1 (class docstring)")


class LiveVenueConfig(_Strict):
    ccxt_id: str
    credentials: dict[str, str] = Field(description="ccxt credential name (api_key, secret, password) -> env variable")
    accounts: dict[str, AccountQuirks]
    client_order_id_param: str
    client_id_lookup_param: str = Field(description="the parameter that reads an order by client id")
    fetch_order_params: dict[str, Any] = Field(default_factory=dict)
    trades_order_param: str | None = Field(default=None, description="the parameter of fetch_my_trades that "
                                           "selects one order's fills (None: filter the recent fills)")
    trigger_params: dict[str, Any] = Field(default_factory=dict, description="added to create/fetch/cancel of a "
                                           "stop or take-profit order (Binance USDT-M: its algo-order endpoints)")
    client_lookup: list[str] = Field(default_factory=lambda: ["fetch_order"], description="ccxt methods that find an "
                                     "order by client id (``*_orders``: a listing filtered by it), tried in turn")
    order_lookup: list[str] = Field(default_factory=lambda: ["fetch_order"],
                                    description="ccxt methods that read one order by id, tried in turn")
    funding: FundingQuirks = FundingQuirks()
    spot_price_method: str = Field(default="fetch_bids_asks", description="the ccxt method that reads the spot "
                                   "accounts' best bid/ask (``fetch_tickers`` where ccxt has no fetchBidsAsks: OKX)")
    mark_price_method: str = Field(default="fetch_funding_rate", description="the ccxt method whose "
                                   "``markPrice`` is a swap's mark (``fetch_mark_price`` where the funding rate has "
                                   "none: OKX)")
    unified_account: bool = Field(default=False, description="the venue's spot and perp accounts are ONE venue "
                                  "account holding one quote balance (OKX's trading account, Bybit's unified "
                                  "trading account): basiskit's ``<venue>.spot`` / ``<venue>.perp`` are sub-accounts "
                                  "of it (``venues.live.unified``)")
    withdraw_network: str = "TRC20"
    withdraw_from: str | None = Field(default=None, description="the account kind withdrawals leave from (the "
                                      "venue's spot/funding wallet); a withdrawal from another account is first "
                                      "moved there by an internal transfer")
    urls: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    ccxt: dict[str, Any] = Field(default_factory=dict, description="other ccxt constructor settings (timeout, ...)")
    addresses: dict[str, dict[str, str]] = Field(default_factory=dict,
                                                 description="destination account -> token -> deposit address")
    fill_timeout_s: float = Field(default=10.0, gt=0, description="how long submit waits for a market order's fills")


    def shared(self, kind: str) -> bool:
        """Whether account ``kind`` is a sub-account of the venue's one unified account."""
        return self.unified_account and kind in UNIFIED_KINDS

    @model_validator(mode="after")
    def _unified_has_both(self):
        if self.unified_account and not all(k in self.accounts for k in UNIFIED_KINDS):
            raise ValueError(f"unified_account needs the accounts {', '.join(UNIFIED_KINDS)}")
        return self


def load_live_venue(name: str, overrides: dict | None = None) -> LiveVenueConfig:
    """The quirks of live venue ``name`` merged with ``overrides``.

    Raises:
        ConfigError: an unknown venue, or an unknown key / bad value (names the key).
    """
    if name not in VENUES:
        raise ConfigError(f"no live adapter for venue {name!r} (there are {', '.join(VENUES)})", field="venue")
    raw = yaml.safe_load((HERE / name / "venue.yaml").read_text())
    raw.update(overrides or {})
    try:
        return LiveVenueConfig(**raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"live venue {name}: {loc}: {err['msg']}", field=f"venues.{name}.{loc}") from None


class Credentials:
    """API credentials read from the environment (module docstring). ``values`` is the ccxt
    constructor's ``apiKey`` / ``secret`` / ``password``."""

    __slots__ = ("_values", "_names")

    def __init__(self, values: dict[str, str], names: dict[str, str]) -> None:
        self._values = dict(values)
        self._names = dict(names)

    @classmethod
    def from_env(cls, spec: dict[str, str], env: dict | None = None) -> Credentials:
        """Read each variable of ``spec`` (ccxt name -> env variable); missing ones are left out (a
        venue without keys serves public data only)."""
        env = os.environ if env is None else env
        ccxt_names = {"api_key": "apiKey", "secret": "secret", "password": "password"}
        vals = {ccxt_names.get(k, k): env[v] for k, v in spec.items() if env.get(v)}
        return cls(vals, spec)

    @property
    def complete(self) -> bool:
        return all(k in self._values for k in ("apiKey", "secret"))

    def ccxt(self) -> dict[str, str]:
        return dict(self._values)

    def redact(self, text: str) -> str:
        """``text`` with every credential value replaced by ``***``."""
        for v in self._values.values():
            if v and len(v) >= 6:  # shorter values would blank ordinary words (real keys are 16+ characters)
                text = text.replace(v, "***")
        return text

    def __repr__(self) -> str:
        return f"Credentials(from {', '.join(self._names.values())}; {'set' if self._values else 'not set'})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("credentials are not pickled")

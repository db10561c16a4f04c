"""Live venue quirks as data (``venues/live/<venue>/venue.yaml``) and credentials from the environment."""

from __future__ import annotations

import pickle

import pytest

from basiskit.config.loader import ConfigError
from basiskit.emulator.auth import Keys, binance_check, bybit_check, _hex
from basiskit.venues.live.config import VENUES, Credentials, load_live_venue


@pytest.mark.parametrize("venue", VENUES)
def test_every_venue_config_loads_with_the_same_shape(venue):
    cfg = load_live_venue(venue)
    assert cfg.ccxt_id == venue
    assert {"spot", "perp"} <= set(cfg.accounts) <= {"spot", "perp", "funding"}  # OKX: its funding account too
    assert cfg.accounts["perp"].market == "{base}/USDT:USDT" and cfg.accounts["spot"].market == "{base}/USDT"
    assert {"api_key", "secret"} <= set(cfg.credentials)


def test_unknown_venue_and_unknown_key_are_config_errors_naming_them():
    with pytest.raises(ConfigError, match="kraken"):
        load_live_venue("kraken")
    with pytest.raises(ConfigError) as exc:
        load_live_venue("binance", {"fill_timeout": 3})
    assert "fill_timeout" in str(exc.value) and exc.value.field == "venues.binance.fill_timeout"


def test_credentials_never_show_their_values():
    env = {"BINANCE_API_KEY": "key-0123456789abcdef", "BINANCE_API_SECRET": "secret-fedcba9876543210"}
    cred = Credentials.from_env(load_live_venue("binance").credentials, env)
    assert cred.complete and cred.ccxt() == {"apiKey": env["BINANCE_API_KEY"], "secret": env["BINANCE_API_SECRET"]}
    text = repr(cred) + str(cred) + cred.redact(f"refused {env['BINANCE_API_KEY']} / {env['BINANCE_API_SECRET']}")
    assert env["BINANCE_API_KEY"] not in text and env["BINANCE_API_SECRET"] not in text
    assert "BINANCE_API_KEY" in repr(cred) and "***" in text
    with pytest.raises(TypeError):
        pickle.dumps(cred)
    assert not Credentials.from_env(load_live_venue("okx").credentials, {}).complete


def test_binance_signature_rules():
    keys = Keys({"k": "s3cret"})
    now = 1_700_000_000_000
    q = f"symbol=BTCUSDT&timestamp={now}"
    good = f"{q}&signature={_hex('s3cret', q)}"
    assert binance_check(keys, "k", good, now) is None
    assert binance_check(keys, "k", good.replace("BTCUSDT", "ETHUSDT", 1), now)[1] == -1022  # body changed
    assert binance_check(keys, "other", good, now)[:2] == (401, -2015)
    assert binance_check(keys, None, good, now)[:2] == (401, -2014)
    assert binance_check(keys, "k", good, now + 6_000)[1] == -1021  # outside the default 5 s window
    assert binance_check(keys, "k", q, now)[1] == -1102  # no signature
    assert "s3cret" not in repr(keys)


def test_bybit_signature_rules():
    keys = Keys({"k": "s3cret"})
    now = 1_700_000_000_000
    body = '{"category":"linear"}'
    h = {"X-BAPI-API-KEY": "k", "X-BAPI-TIMESTAMP": str(now), "X-BAPI-RECV-WINDOW": "5000",
         "X-BAPI-SIGN": _hex("s3cret", f"{now}k5000{body}")}
    assert bybit_check(keys, h, body, now) is None
    assert bybit_check(keys, h, body.replace("linear", "spot"), now)[0] == 10004
    assert bybit_check(keys, {**h, "X-BAPI-API-KEY": "x"}, body, now)[0] == 10003
    assert bybit_check(keys, h, body, now + 10_000)[0] == 10002


def test_unified_accounts_are_data_and_need_both_sub_accounts():
    """Bybit (UTA) and OKX (trading account) hold one balance for spot and perp; Binance keeps two wallets."""
    assert load_live_venue("bybit").unified_account and load_live_venue("okx").unified_account
    assert not load_live_venue("binance").unified_account
    okx = load_live_venue("okx")
    assert okx.shared("spot") and okx.shared("perp") and not okx.shared("funding")  # funding is its own account
    raw = load_live_venue("binance").model_dump()
    with pytest.raises(ConfigError, match="unified_account"):
        load_live_venue("binance", {"unified_account": True, "accounts": {"perp": raw["accounts"]["perp"]}})


def test_partition_adds_up_to_the_venue_balance_and_keeps_the_booked_split():
    from basiskit.venues.live.unified import partition

    split = partition(1_000.0, {"bybit.spot": 300.0, "bybit.perp": 650.0}, "bybit.perp")
    assert split == {"bybit.spot": 300.0, "bybit.perp": 700.0}  # the 50 the book lacks goes to the perp
    assert partition(10.0, {"okx.perp": -5.0}, "okx.perp") == {"okx.perp": 10.0}
    with pytest.raises(ValueError, match="okx.spot"):
        partition(1.0, {"okx.perp": 0.0}, "okx.spot")

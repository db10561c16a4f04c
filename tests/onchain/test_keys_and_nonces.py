"""Keys from the environment or a keystore, never shown; nonces for concurrent submissions."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from basiskit.venues.onchain.aave_account import OnchainAave
from basiskit.venues.onchain.keys import KEY_ENV, KEYSTORE_ENV, PASSWORD_ENV, load_signer


def test_key_from_env_and_keystore_never_shown(tmp_path):
    acct = Account.create()
    key_hex = acct.key.hex()
    s = load_signer({KEY_ENV: key_hex})
    assert s.address == acct.address
    assert key_hex.removeprefix("0x") not in repr(s) + str(s) + repr(vars(s).get("address"))
    ks = tmp_path / "key.json"
    ks.write_text(json.dumps(Account.encrypt(acct.key, "pw-123", kdf="pbkdf2", iterations=1000)))
    assert load_signer({KEYSTORE_ENV: str(ks), PASSWORD_ENV: "pw-123"}).address == acct.address
    with pytest.raises(ValueError) as e:
        load_signer({KEYSTORE_ENV: str(ks), PASSWORD_ENV: "wrong"})
    assert "wrong" not in str(e.value) and str(ks) in str(e.value)
    with pytest.raises(KeyError, match=KEY_ENV):
        load_signer({})
    with pytest.raises(KeyError, match=PASSWORD_ENV):
        load_signer({KEYSTORE_ENV: str(ks)})


def test_concurrent_submissions_get_distinct_nonces(market, user):
    m = market
    m.transact(m.tokens["weETH"].functions.mint(user.address, m.wei("weETH", 100)))
    start = m.w3.eth.get_transaction_count(user.address)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: user.supply("weETH", 1.0), range(16)))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert m.w3.eth.get_transaction_count(user.address) == start + 16
    assert abs(user.supplied("weETH") - 16.0) < 1e-12
    assert len({r.tx_hash for r in results}) == 16


def test_adapter_output_never_holds_the_key(market, toolchain, capsys):
    acct = Account.create()
    market.node.rpc("anvil_setBalance", [acct.address, hex(10**18)])
    a = OnchainAave(market, load_signer({KEY_ENV: acct.key.hex()}), toolchain.aave)
    r = a.set_emode(1)
    text = repr(r) + repr(vars(a)) + capsys.readouterr().out
    assert r.ok and acct.key.hex().removeprefix("0x") not in text

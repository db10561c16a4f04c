"""The live transfer backend against fake exchange clients (ccxt's unified method shapes): each stage is
a call whose status is polled; a crash after sending never sends twice; errors are classified."""

from __future__ import annotations

import pytest

from basiskit.config.bridges import BridgeConfig
from basiskit.domain.transfer_ops import TransferState
from basiskit.venues.transfers.bridges import BridgeManager
from basiskit.venues.transfers.live import ClientTransferBackend
from basiskit.venues.transfers.manager import MemoryTransferStore, TransferManager

S = TransferState


class NetworkError(Exception):
    pass


class InsufficientFunds(Exception):
    pass


class FakeExchange:
    def __init__(self) -> None:
        self.withdrawals: list[dict] = []
        self.deposits: list[dict] = []
        self.fail_next: Exception | None = None
        self.calls = 0

    def withdraw(self, code, amount, address, tag=None, params=None):
        self.calls += 1
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        tx = {"id": f"W{len(self.withdrawals) + 1}", "txid": None, "status": "pending", "amount": amount,
              "info": dict(params or {}), "address": address}
        self.withdrawals.append(tx)
        return {"id": tx["id"]}

    def fetch_withdrawals(self, code, since=None, limit=None, params=None):
        return [dict(t) for t in self.withdrawals]

    def fetch_deposits(self, code, since=None, limit=None, params=None):
        return [dict(t) for t in self.deposits]


def setup():
    src, dst = FakeExchange(), FakeExchange()
    backend = ClientTransferBackend({"binance": src, "bybit": dst}, {"bybit.perp": ("TAddr", "TRC20")})
    bm = BridgeManager({"trc20": BridgeConfig(fee_kind="fixed", fixed_fee=1.0)})
    store = MemoryTransferStore()
    return src, dst, backend, bm, store, TransferManager(backend, bm, store, backoff_s=10)


def test_each_stage_is_polled_until_the_venues_report_it():
    src, dst, backend, bm, store, m = setup()
    op = m.request("binance.perp", "bybit.perp", "USDT", 500.0, 0)
    m.step(0)
    assert m.ops[op.transfer_id].state is S.WITHDRAWING and src.withdrawals[0]["info"]["withdrawOrderId"] == op.transfer_id
    assert src.withdrawals[0]["address"] == "TAddr" and src.withdrawals[0]["info"]["network"] == "TRC20"
    m.step(1)
    assert m.ops[op.transfer_id].state is S.WITHDRAWING  # the source still says pending
    src.withdrawals[0].update(status="ok", txid="0xabc")
    m.step(2)
    assert m.ops[op.transfer_id].state is S.BRIDGING  # the destination has not seen it
    dst.deposits.append({"txid": "0xabc", "status": "pending", "amount": 500.0})
    m.step(3)
    assert m.ops[op.transfer_id].state is S.DEPOSITING
    dst.deposits[0]["status"] = "ok"
    m.step(4)
    assert m.ops[op.transfer_id].state is S.COMPLETED and src.calls == 1


def test_a_restart_after_sending_finds_the_withdrawal_instead_of_sending_again():
    src, dst, backend, bm, store, m = setup()
    op = m.request("binance.perp", "bybit.perp", "USDT", 500.0, 0)
    # the process sends the withdrawal and dies before recording it
    backend.send_withdrawal(op, 0)
    resumed = TransferManager.resume(backend, bm, store)
    assert resumed.ops[op.transfer_id].state is S.PENDING
    resumed.step(1)
    assert resumed.ops[op.transfer_id].state is S.WITHDRAWING and src.calls == 1 and len(src.withdrawals) == 1


def test_network_errors_are_retried_refusals_fail_at_once_and_a_failed_withdrawal_is_refunded():
    src, dst, backend, bm, store, m = setup()
    a = m.request("binance.perp", "bybit.perp", "USDT", 100.0, 0)
    src.fail_next = NetworkError("timeout")
    m.step(0)
    assert m.ops[a.transfer_id].state is S.PENDING and m.ops[a.transfer_id].attempts == 1
    m.step(10 * 10**9)
    assert m.ops[a.transfer_id].state is S.WITHDRAWING
    b = m.request("binance.perp", "bybit.perp", "USDT", 10**9, 20 * 10**9)
    src.fail_next = InsufficientFunds("balance")
    m.step(20 * 10**9)
    assert m.ops[b.transfer_id].state is S.FAILED and "refused" in m.ops[b.transfer_id].error
    src.withdrawals[0]["status"] = "failed"
    m.step(30 * 10**9)
    assert m.ops[a.transfer_id].state is S.FAILED and m.ops[a.transfer_id].refunded == pytest.approx(101.0)
    with pytest.raises(ValueError):  # anything else is not ours to classify: it propagates
        src.fail_next = ValueError("bug")
        m.request("binance.perp", "bybit.perp", "USDT", 1.0, 40 * 10**9)
        m.step(40 * 10**9)

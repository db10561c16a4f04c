"""The transfer state machine: hand-made cases and hypothesis properties (random delays, failures and
restarts): money conserved, never two withdrawals of one transfer, every transfer ends completed or failed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basiskit.domain.transfer_ops import TransferOperation, TransferState, TransferStateError, advance
from basiskit.persistence import MemoryRunStore
from basiskit.config.bridges import BridgeConfig
from basiskit.venues.transfers.bridges import BridgeManager
from basiskit.venues.transfers.manager import MemoryTransferStore, TransferManager
from basiskit.venues.transfers.sim import SimTransferNetwork
from basiskit.venues.transfers.store import RunStoreTransferLog

S = TransferState
NS = 1_000_000_000
ACCOUNTS = ("binance.perp", "bybit.perp", "okx.perp")


def bridges(**kw) -> BridgeManager:
    base = dict(fee_kind="fixed", fixed_fee=1.0, withdrawal_delay_s=300, bridge_delay_s=60, deposit_delay_s=120)
    return BridgeManager({"trc20": BridgeConfig(**{**base, **kw}),
                          "stargate": BridgeConfig(fee_kind="proportional", fee_bps=6, fixed_fee=0.5,
                                                   withdrawal_delay_s=60, bridge_delay_s=600, deposit_delay_s=60)})


def test_state_table_refuses_skipping_and_leaving_terminal_states():
    op = TransferOperation("t-1", "binance.perp", "bybit.perp", "USDT", 100.0, "trc20")
    with pytest.raises(TransferStateError, match="pending -> bridging"):
        advance(op, S.BRIDGING, 1)
    done = advance(advance(advance(advance(op, S.WITHDRAWING, 1), S.BRIDGING, 2), S.DEPOSITING, 3), S.COMPLETED, 4)
    assert done.terminal and done.in_transit == 0.0
    with pytest.raises(TransferStateError):
        advance(done, S.FAILED, 5)
    with pytest.raises(ValueError, match="amount"):
        TransferOperation("t-2", "a", "b", "USDT", 0.0, "trc20")
    with pytest.raises(ValueError, match="both"):
        TransferOperation("t-2", "a", "a", "USDT", 1.0, "trc20")


def test_bridge_fees_by_hand_and_the_cheapest_is_chosen():
    bm = bridges()
    assert bm["trc20"].fee(10_000) == 1.0 and bm["stargate"].fee(10_000) == pytest.approx(0.5 + 6.0)
    assert bm.choose("binance", "bybit", "USDT", 10_000).name == "trc20"
    assert bm.choose("binance", "bybit", "USDT", 100).name == "stargate"  # 0.5 + 0.06 < 1.0
    assert bm["trc20"].delay_s() == 480
    with pytest.raises(LookupError, match="BTC"):
        bm.choose("binance", "bybit", "BTC", 1.0)
    with pytest.raises(ValueError, match="fee_bps"):
        BridgeConfig(fee_kind="fixed", fee_bps=3)


def test_a_transfer_walks_the_states_with_its_delays_and_is_logged_in_the_store():
    net = SimTransferNetwork({("binance.perp", "USDT"): 1_000.0}, bridges())
    store = MemoryRunStore()
    log = RunStoreTransferLog(store, "fa", "run-1")
    m = TransferManager(net, net.bridges, log)
    op = m.request("binance.perp", "bybit.perp", "USDT", 500.0, 0, bridge="trc20")
    m.step(0)
    assert m.ops[op.transfer_id].state is S.WITHDRAWING and net.balance("binance.perp") == 499.0
    assert m.in_transit("bybit.perp") == 500.0
    m.step(299 * NS)
    assert m.ops[op.transfer_id].state is S.WITHDRAWING
    m.step(300 * NS)
    m.step(360 * NS)
    assert m.ops[op.transfer_id].state is S.DEPOSITING and net.balance("bybit.perp") == 0.0
    m.step(480 * NS)
    assert m.ops[op.transfer_id].state is S.COMPLETED and net.balance("bybit.perp") == 500.0
    rows = store.transfers("fa")
    assert [r.status for r in rows if r.kind == "transfer_step"] == ["pending", "withdrawing", "bridging", "depositing", "completed"]
    assert {(r.from_venue, r.to_venue, r.amount, r.run_id) for r in rows} == {("binance.perp", "bybit.perp", 500.0, "run-1")}
    resumed = RunStoreTransferLog(store, "fa").latest()
    assert resumed == [m.ops[op.transfer_id]]


def test_send_errors_back_off_and_give_up_with_nothing_moved():
    net = SimTransferNetwork({("binance.perp", "USDT"): 1_000.0}, bridges(send_error_rate=0.999999), seed=1)
    m = TransferManager(net, net.bridges, MemoryTransferStore(), max_attempts=3, backoff_s=10)
    op = m.request("binance.perp", "bybit.perp", "USDT", 100.0, 0, bridge="trc20")
    m.step(0)
    assert m.ops[op.transfer_id].attempts == 1 and m.ops[op.transfer_id].next_try_ns == 10 * NS
    m.step(5 * NS)
    assert m.ops[op.transfer_id].attempts == 1  # not yet
    m.step(10 * NS)
    assert m.ops[op.transfer_id].next_try_ns == 30 * NS  # 10 s, then 20 s
    m.step(30 * NS)
    final = m.ops[op.transfer_id]
    assert final.state is S.FAILED and "3 errors" in final.error and net.balance("binance.perp") == 1_000.0


def test_a_failed_bridge_refunds_the_amount_and_keeps_the_fee_spent():
    net = SimTransferNetwork({("binance.perp", "USDT"): 1_000.0}, bridges(bridge_failure_rate=0.999999), seed=2)
    m = TransferManager(net, net.bridges, MemoryTransferStore())
    op = m.request("binance.perp", "bybit.perp", "USDT", 100.0, 0, bridge="trc20")
    for t in (0, 300, 360):
        m.step(t * NS)
    final = m.ops[op.transfer_id]
    assert final.state is S.FAILED and final.refunded == 100.0 and net.balance("binance.perp") == 999.0


class CrashingStore(MemoryTransferStore):
    """Loses the records after a given count (the process died before writing them)."""

    def __init__(self, rows, crash_after: int) -> None:
        super().__init__()
        self.rows = list(rows)
        self.crash_after = crash_after

    def record(self, op) -> None:
        if self.crash_after <= 0:
            raise SystemExit("crash")
        self.crash_after -= 1
        super().record(op)


transfer_st = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS),
                        st.floats(min_value=1.0, max_value=2_000.0), st.integers(min_value=0, max_value=3_600))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transfers=st.lists(transfer_st, min_size=1, max_size=8),
       delays=st.tuples(*[st.integers(min_value=0, max_value=7_200)] * 3),
       rates=st.tuples(*[st.floats(min_value=0.0, max_value=0.9)] * 3),
       seed=st.integers(min_value=0, max_value=2**31),
       restarts=st.lists(st.tuples(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=3)),
                         max_size=4),
       step_s=st.integers(min_value=60, max_value=900))
def test_money_conserved_no_double_withdrawal_every_transfer_ends(transfers, delays, rates, seed, restarts, step_s):
    cfg = BridgeConfig(fee_kind="fixed", fixed_fee=1.0, withdrawal_delay_s=delays[0], bridge_delay_s=delays[1],
                       deposit_delay_s=delays[2], send_error_rate=rates[0], withdrawal_failure_rate=rates[1],
                       bridge_failure_rate=rates[2])
    bm = BridgeManager({"net": cfg})
    start = {(a, "USDT"): 3_000.0 for a in ACCOUNTS}
    total = sum(start.values())
    net = SimTransferNetwork(start, bm, seed)
    store = MemoryTransferStore()
    m = TransferManager(net, bm, store, max_attempts=4, backoff_s=5, max_backoff_s=600)
    requested = {}
    crashes = dict(restarts)  # step index -> how many records get written before the crash
    now = 0
    for k in range(5_000):  # enough steps for the longest delays and backoffs (each step is >= 60 s)
        for src, dst, amount, at in transfers:
            key = (src, dst, amount, at)
            if src != dst and key not in requested and now >= at * NS:
                requested[key] = m.request(src, dst, "USDT", amount, now).transfer_id
        if k in crashes:  # the process dies part-way through a step: a new manager resumes from the store
            m.store = CrashingStore(store.rows, crashes[k])
            try:
                m.step(now)
            except SystemExit:
                pass
            store = MemoryTransferStore()
            store.rows = list(m.store.rows)
            m = TransferManager.resume(net, bm, store, max_attempts=4, backoff_s=5, max_backoff_s=600)
        else:
            m.step(now)
        # conservation at every step: balances + in flight + fees kept by the network = capital
        held = sum(net.balances.values()) + net.in_flight() + net.fees_paid
        assert held == pytest.approx(total, abs=1e-6)
        assert all(n <= 1 for n in net.sent.values())  # never two withdrawals of one transfer
        if len(requested) == sum(1 for s, d, _, _ in set(transfers) if s != d) and not m.open():
            break
        now += step_s * NS
    assert not m.open(), [op.state for op in m.open()]
    assert all(m.ops[tid].state in (S.COMPLETED, S.FAILED) for tid in requested.values())
    # the manager's view agrees with the network's: completed transfers credited, failed ones refunded or never sent
    for op in m.ops.values():
        if op.state is S.COMPLETED:
            assert net.flights[op.transfer_id].credited
        elif op.transfer_id in net.flights:
            assert net.flights[op.transfer_id].refunded > 0 and not net.flights[op.transfer_id].credited
    assert m.in_transit() == 0.0

import pytest

from basiskit.config.loader import ConfigError, parse_overrides
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.strategies.registry import UnknownModeError, load_mode_config


@pytest.mark.parametrize("amount", [0.0, -1.0, float("nan"), float("inf")])
def test_order_amount_must_be_positive_and_finite(amount):
    with pytest.raises(ValueError, match="positive finite"):
        Order(Operation.SUPPLY, "aave_v3", amount, "USDT")


def test_order_shape_rules():
    with pytest.raises(ValueError, match="atomic_group_id"):
        Order(Operation.SUPPLY, "aave_v3", 1.0, "USDT", execution_mode=ExecutionMode.ATOMIC)
    with pytest.raises(ValueError, match="needs a side"):
        Order(Operation.SPOT_TRADE, "bybit.spot", 1.0, "BTC")
    with pytest.raises(ValueError, match="to_venue"):
        Order(Operation.TRANSFER, "wallet", 1.0, "USDT")
    o = Order(Operation.PERP_TRADE, "binance.perp", 1.0, "BTC", Side.SELL)
    with pytest.raises(AttributeError):
        o.amount = 2.0  # frozen


def test_overrides_are_nested_and_typed():
    assert parse_overrides(["hedge_allocation.binance=0.3", "rebalance=false", "spot_venue=bybit"]) == {
        "hedge_allocation": {"binance": 0.3}, "rebalance": False, "spot_venue": "bybit"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["rebalance"])


def test_mode_configs_load_and_reject_typos():
    cfg = load_mode_config("btc_basis", {"hedge_allocation": {"binance": 1.0, "bybit": 0.0}})
    assert cfg.active_venues == {"binance": 1.0}
    with pytest.raises(ConfigError, match=r"btc_basis.yaml with --set overrides: delta_drift_treshold: unknown key"):
        load_mode_config("btc_basis", {"delta_drift_treshold": 0.01})
    with pytest.raises(ConfigError, match="perp_margin_fraction"):
        load_mode_config("eth_basis", {"perp_margin_fraction": -1})
    with pytest.raises(UnknownModeError, match="known modes: btc_basis, eth_basis, eth_leveraged, .*usdt_market_neutral"):
        load_mode_config("martingale")

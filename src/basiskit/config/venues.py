"""Venue parameters (fees, funding interval, margin rates, gas units) as data, loaded from
``basiskit/configs/venues/*.yaml``. Every number there cites its public source in the YAML file."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SymbolLot(_Frozen):
    """One instrument's lot size (``domain.lots.LotSize``): amount step and minimum amount in base units,
    minimum notional in quote units (USDT)."""

    amount_step: float = Field(gt=0, description="amount step, base units (Binance LOT_SIZE stepSize, Bybit qtyStep / basePrecision)")
    min_amount: float = Field(default=0.0, ge=0, description="smallest amount, base units (minQty / minOrderQty)")
    min_notional: float = Field(default=0.0, ge=0, description="smallest amount x price, quote units (MIN_NOTIONAL / "
                                "minOrderAmt / minNotionalValue)")


class LotSizes(_Frozen):
    """The venue's lot sizes per symbol (``BTCUSDT``). ``enabled``: whether a backtest rounds its orders to
    them (``engine.execution``; off by default so the recorded numbers stay; switch on per run with
    ``venues.<venue>.<spot|perp>.lot_sizes.enabled=true``). A live session through ccxt always uses the
    lot sizes of ccxt's markets instead. ``sources`` cite the numbers."""

    enabled: bool = False
    symbols: dict[str, SymbolLot] = Field(description="symbol -> lot size")
    sources: list[str] = Field(min_length=1, description="public sources for the numbers")

    def lots(self, tokens, quote: str = "USDT") -> dict:
        """``token -> domain.lots.LotSize`` for the ``tokens`` whose ``<token><quote>`` symbol is listed, when
        enabled (else empty)."""
        from basiskit.domain.lots import LotSize

        if not self.enabled:
            return {}
        out = {}
        for tok in tokens:
            s = self.symbols.get(f"{tok}{quote}")
            if s is not None:
                out[tok] = LotSize(s.amount_step, s.min_amount, s.min_notional)
        return out


class SpotParams(_Frozen):
    taker_fee_bps: float = Field(ge=0, description="taker fee, bps of traded notional (quote units)")
    maker_fee_bps: float | None = Field(default=None, ge=0, description="maker fee (a resting limit filled at its "
                                        "limit price), bps of traded notional; None: the taker fee")
    slippage_bps: float = Field(ge=0, description="fill price = bar price x (1 +/- slippage), bps")
    lot_sizes: LotSizes | None = Field(default=None, description="amount step and minimum order per symbol")


class FundingCap(_Frozen):
    """The venue clamps every settlement's funding rate to ``[-cap, +cap]``; the data import rejects
    (or, by policy, drops) a rate beyond it. ``rule`` states the venue's rule, ``sources`` cite it."""

    rule: str = Field(description="the venue's rule for the cap, in words")
    symbols: dict[str, Annotated[float, Field(gt=0, lt=1)]] = Field(description="symbol -> cap, a fraction per settlement (0.003 = 0.3 %)")
    sources: list[str] = Field(min_length=1, description="public sources for the rule and the numbers")

    def cap(self, symbol: str) -> float | None:
        value = self.symbols.get(symbol)
        return None if value is None else float(value)


class PerpParams(_Frozen):
    taker_fee_bps: float = Field(ge=0, description="taker fee, bps of traded notional")
    maker_fee_bps: float | None = Field(default=None, ge=0, description="maker fee (a resting limit filled at its "
                                        "limit price), bps of traded notional; None: the taker fee")
    slippage_bps: float = Field(ge=0)
    funding_interval_hours: float = Field(gt=0, description="hours between funding settlements")
    maintenance_margin_rate: float = Field(gt=0, lt=1, description="maintenance margin / position notional")
    liquidation_fee_rate: float = Field(ge=0, lt=1, description="liquidation clearance fee / notional")
    funding_cap: FundingCap | None = Field(default=None, description="documented funding-rate cap per symbol")
    lot_sizes: LotSizes | None = Field(default=None, description="amount step and minimum order per symbol")


class ReserveParams(_Frozen):
    """Risk parameters of one AAVE v3 reserve, as fractions (0.805 = 80.5 %)."""

    ltv: float = Field(ge=0, lt=1, description="max loan-to-value: borrowing power per unit of collateral value")
    liquidation_threshold: float = Field(ge=0, lt=1, description="collateral weight in the health factor")
    liquidation_bonus: float = Field(ge=0, lt=1, description="extra collateral a liquidator receives, fraction of debt repaid")
    reserve_factor: float = Field(ge=0, lt=1, description="share of borrow interest kept by the protocol (informational: "
                                                          "the supply side is read from the real liquidity index)")
    emode_category: str | None = Field(default=None, description="E-mode category the reserve belongs to")


class EmodePeriod(_Frozen):
    """E-mode parameters in force from ``start`` (ISO date, UTC) until the next period."""

    start: str
    ltv: float = Field(gt=0, lt=1)
    liquidation_threshold: float = Field(gt=0, lt=1)
    liquidation_bonus: float = Field(ge=0, lt=1)
    source: str


class AaveParams(_Frozen):
    gas_units: dict[str, int] = Field(description="gas units per on-chain operation (supply, withdraw, ...)")
    tx_base_gas: int = Field(default=21000, ge=0, description="base gas of one transaction; counted once per atomic group")
    flash_loan_fee_bps: float = Field(default=5.0, ge=0, description="flash-loan premium, bps of the amount borrowed")
    reserves: dict[str, ReserveParams] = Field(default_factory=dict, description="token -> reserve risk parameters")
    emode_categories: dict[str, list[EmodePeriod]] = Field(default_factory=dict)


class StakingParams(_Frozen):
    """A liquid staking protocol: ETH in, LST out at the protocol exchange rate."""

    lst: str = Field(description="token minted, e.g. weETH")
    withdrawal_delay_hours: float = Field(ge=0, description="withdrawal-queue delay before ETH can be claimed")
    stake_fee_bps: float = Field(default=0.0, ge=0)
    unstake_fee_bps: float = Field(default=0.0, ge=0)
    gas_units: dict[str, int] = Field(description="gas per operation: stake, unstake")


class PoolParams(_Frozen):
    """One DEX pool. Fill price = pool price x (1 -/+ (fee + slippage)), slippage =
    ``slippage_bps`` + ``impact_bps_per_million`` x notional (USD) / 1e6."""

    base: str
    quote: str
    dataset: str = Field(description="catalog dataset giving the pool price (quote per base)")
    column: str
    fee_bps: float = Field(ge=0, description="pool fee tier, bps")
    slippage_bps: float = Field(default=0.0, ge=0)
    impact_bps_per_million: float = Field(default=0.0, ge=0)


class DexParams(_Frozen):
    pools: dict[str, PoolParams]
    gas_units: dict[str, int]


class NetworkTransfer(_Frozen):
    """Moving a token off or onto this venue over one network (a chain: ERC20 = Ethereum, TRC20 = Tron).

    ``withdrawal_fee``: token units this venue charges per withdrawal (a CEX's flat network fee; for the
    on-chain wallet, the gas of a token transfer expressed in the token); ``withdrawal_delay_seconds``:
    typical time from the request until the transaction is on chain; ``deposit_delay_seconds``: the
    confirmations this venue waits for before crediting a deposit on this network."""

    withdrawal_fee: float = Field(ge=0)
    withdrawal_delay_seconds: int = Field(ge=0)
    deposit_delay_seconds: int = Field(ge=0)


class VenueConfig(_Frozen):
    name: str
    kind: str = Field(pattern="^(cex|defi|wallet|staking|dex)$")
    spot: SpotParams | None = None
    perp: PerpParams | None = None
    aave: AaveParams | None = None
    staking: StakingParams | None = None
    dex: DexParams | None = None
    transfers: dict[str, dict[str, NetworkTransfer]] = Field(
        default_factory=dict, description="token -> network -> withdrawal fee and delays (see venues.sim.transfer)")
    sources: list[str] = Field(default_factory=list, description="public sources for the numbers above")

"""Base strategy contract.

``decide(ctx)`` returns a ``Decision``: the action chosen (one of the five standard actions, or
HOLD), the orders implementing it and a one-line reason for the event log. Subclasses implement the
five actions (``entry_full``, ``entry_partial``, ``exit_full``, ``exit_partial``, ``sell_dust``) each
returning ``list[Order]``, and ``decide`` to choose among them.

The engine may call ``decide`` several times within one clock step (a *pass*): after each pass's
orders execute, the strategy sees the new balances and may continue (e.g. sell, then transfer the
proceeds, then buy). Returning no orders ends the step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from basiskit.domain.actions import Action
from basiskit.domain.orders import Order
from basiskit.strategies.context import StrategyContext


@dataclass(frozen=True, slots=True)
class Decision:
    """``action`` and the ``orders`` implementing it, with a one-line ``reason``. ``deferred``: the
    strategy wanted to act but waits (e.g. a venue it must trade on has no traded price at this step);
    the engine logs it (``decision_deferred``) and counts it; ``orders`` is then empty.

    ``cancels``: client order ids of resting orders (limit, stop, take-profit, bracket legs
    ``<id>-tp-k`` / ``<id>-sl-k``) to cancel; the engine cancels them, in order, before it sends
    ``orders``. An id the run does not know, or an order that has already ended, gives a
    ``cancel_failed`` event (EXEC-007 / EXEC-004), not an error of the decision. A decision with
    cancels and no orders is one pass like any other: ``decide`` is called again after it."""

    action: Action
    orders: list[Order] = field(default_factory=list)
    reason: str = ""
    deferred: bool = False
    trigger: str = ""  # what set it off, a short key (delta_drift, margin_floor, margin_ceiling, idle_cash, ...)
    cancels: list[str] | tuple[str, ...] = ()


HOLD = Decision(Action.HOLD)


@dataclass(frozen=True)
class Requirements:
    """What a mode needs: venue accounts and, per account, the instruments.

    ``spot``: account -> tokens priced there; ``perp``: account -> tokens with perps;
    ``lending``: account -> tokens supplied; ``borrowing``: account -> tokens borrowed (variable);
    ``emode``: AAVE accounts that use E-mode; ``staking``: staking accounts (``lido``, ``etherfi``);
    ``dex_pools``: pool names of ``basiskit/configs/venues/dex.yaml``; ``onchain_tokens``: non-USDT tokens the
    wallet may hold (WETH, LSTs, reward tokens); ``restaking_rewards``: credit EIGEN/ETHFI to weETH
    holders (``include_estimated_rewards`` adds the rows the data marks as estimates); ``gas``: whether
    on-chain gas is paid and ``gas_token`` in which token (``USDT`` or ``WETH``); ``resting_orders``:
    the strategy sends resting orders (limit, stop, take-profit, brackets) to its spot accounts, whose
    price series then carry each bar's high and low (perp series always do; without it a spot account
    refuses resting orders rather than fill them from opens only, and a run that sends none keeps
    those series' memory and per-step cost); ``perp_bars``: which candle files price the perp
    accounts: ``1h`` (``perp.<venue>.<BASE>USDT``) or ``1m`` (``perp.<venue>.<BASE>USDT.1m``, the short
    one-minute files; funding comes from the same funding files); ``perp_funding``: False runs the perp
    accounts without funding settlements (only for a window the funding files do not reach, such as
    the one-minute files' 2025-09-26..29: the run then books no funding and says so in its config;
    funding is never invented). ``funding_holes``: the perp funding series may miss
    settlements (OKX's missing days): a missing settlement pays nothing instead of refusing the period
    (funding is still never invented). ``managed_transfers``: a ``config.bridges.ManagedTransfersConfig``:
    transfers between venues go through the transfer manager (state machine, bridges, seeded failures;
    ``venues.sim.managed_transfer``) instead of the fixed-delay transit account.
    """

    spot: dict[str, list[str]] = field(default_factory=dict)
    perp: dict[str, list[str]] = field(default_factory=dict)
    lending: dict[str, list[str]] = field(default_factory=dict)
    borrowing: dict[str, list[str]] = field(default_factory=dict)
    emode: tuple[str, ...] = ()
    staking: tuple[str, ...] = ()
    dex_pools: tuple[str, ...] = ()
    onchain_tokens: tuple[str, ...] = ()
    restaking_rewards: bool = False
    include_estimated_rewards: bool = False
    gas: bool = False
    gas_token: str = "USDT"
    resting_orders: bool = False
    funding_holes: bool = False
    managed_transfers: object | None = None  # config.bridges.ManagedTransfersConfig: the transfer manager runs transfers
    perp_bars: str = "1h"
    perp_funding: bool = True


class BaseStrategy:
    """Five standard actions; each returns ``list[Order]``. Default: nothing to do.

    The contract with the kernel:

    * ``decide(ctx) -> Decision``: read the context, return orders (or HOLD / a deferral);
    * ``reduce_risk(action, ctx) -> list[Order]``: the risk override's declared interface: called with
      ``exit_partial`` or ``exit_full`` when a hard threshold is breached; only orders that reduce
      risk pass the gate;
    * ``on_event(ev)``: every account event of the run as it happens (fills, rejections, funding,
      transfers landing, liquidations); the default ignores them;
    * ``snapshot() -> dict`` / ``restore(state)``: the strategy's own state (JSON-able), which the
      kernel's run stores (``strategy_state``) and a restarted run restores;
    * optional, for backtest speed (``engine.quiet``): ``quiet_now(ctx) -> bool``, ``quiet_steps(ctx,
      view) -> int`` and ``on_quiet(last_step)``: a strategy that declares them says, from per-step
      arrays of equity, net delta and margin ratios over a stretch of steps where only prices and
      funding move, how many leading steps it would hold on; the backtest driver then passes those
      steps without calling ``decide`` (the results are the same as stepping; ``on_event`` still
      receives the stretch's funding settlements, after ``quiet_steps``).
    """

    def __init__(self, config) -> None:
        self.config = config

    def reduce_risk(self, action: Action, ctx: StrategyContext) -> list[Order]:
        return self.exit_full(ctx) if action is Action.EXIT_FULL else self.exit_partial(ctx)

    def on_event(self, ev) -> None:
        return None

    def snapshot(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        return None

    def requirements(self) -> Requirements:
        raise NotImplementedError

    def decide(self, ctx: StrategyContext) -> Decision:
        raise NotImplementedError

    def entry_full(self, ctx: StrategyContext) -> list[Order]:
        return []

    def entry_partial(self, ctx: StrategyContext) -> list[Order]:
        return []

    def exit_full(self, ctx: StrategyContext) -> list[Order]:
        return []

    def exit_partial(self, ctx: StrategyContext) -> list[Order]:
        return []

    def sell_dust(self, ctx: StrategyContext) -> list[Order]:
        return []

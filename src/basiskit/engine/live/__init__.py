"""The live side of the kernel: a paper or live session runs the backtest's kernel, strategy, risk
override and event log; only the clock (``driver``), the feed (``data.live_feed``) and the venues
(simulators in paper mode, adapters in live mode) change. ``watchdog``: stale feeds pause entries,
heartbeats, the circuit breaker; ``journal``: orders and transfers persisted by client order id as
they change; ``recovery``: reconciliation with the venues after a crash; ``session``: assembly."""

"""The engine: clock, loop, execution, backtest runner."""

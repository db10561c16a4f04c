"""Simulated venues for backtests."""

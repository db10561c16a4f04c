"""Results: metrics, attribution reconciliation, exports. Reads loop output; never drives the loop."""

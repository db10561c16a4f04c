"""Strategy implementations, one module per family."""

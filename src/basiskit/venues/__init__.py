"""Venues: one protocol shared by simulators (``sim/``) and, later, live adapters (``live/``)."""

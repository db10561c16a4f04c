"""Strategies: read a context, return orders. A strategy never imports a venue, the engine or
persistence."""

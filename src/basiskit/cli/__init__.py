"""Command line: parsing only, delegating to ``basiskit.service``."""

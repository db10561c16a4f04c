"""Configuration: frozen pydantic models (unknown keys rejected) and the YAML loader."""

"""Risk: monitors (exposure, margin) and the pre-trade gate."""

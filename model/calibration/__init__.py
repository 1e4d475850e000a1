"""Calibration: history mode, moments and losses, fitting, sensitivity analysis."""

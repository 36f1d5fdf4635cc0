"""Synthetic traffic: the event generator and the fault-and-anomaly traffic built on it."""

"""Runnable demos of a2a-bridge."""

"""CrewAI adapter for a2a-bridge."""

__version__ = "0.1.0"

__all__ = ["__version__"]

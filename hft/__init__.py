"""hft: deterministic event-replay simulation through a real order gateway, and alpha governance."""

__version__ = "0.1.0"

"""arrears: open-source arrears management for consumer and online lenders."""

__version__ = "0.1.0"

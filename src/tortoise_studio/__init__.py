"""Tortoise Studio: fine-tune TorToiSe on your own recordings and speak with the result."""

__version__ = "0.1.0"

"""persona-assistant: a private, on-device assistant that learns how you write."""

__version__ = "0.1.0"

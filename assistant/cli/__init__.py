"""The `assistant` command: a thin shell over `assistant.core.Assistant`."""

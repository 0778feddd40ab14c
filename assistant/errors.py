"""Errors a person can act on: each names the thing that is wrong and the fix."""


class UserError(Exception):
    """A problem with the person's input or setup; the CLI prints it on one line and exits 1."""

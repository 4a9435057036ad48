"""Errors shared by the library and the command line."""

from __future__ import annotations


class UsageError(ValueError):
    """A command was called with options that do not go together; the CLI exits with 2."""

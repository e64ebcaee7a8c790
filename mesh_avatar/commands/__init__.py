"""Subcommands of the ``mesh-avatar`` command line, one module each."""

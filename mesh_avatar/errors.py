"""Exceptions that describe a user mistake.

The CLI turns a :class:`MeshAvatarError` into a one-line message and a non-zero exit code; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MeshAvatarError(Exception):
    """Base class for errors caused by user input (bad files, bad options, bad values)."""


class ParamsError(MeshAvatarError, ValueError):
    """Avatar coefficients have the wrong shape, are not finite, or are out of range."""


class ModelFileError(MeshAvatarError):
    """A morphable-model file is missing, malformed, truncated or inconsistent."""


class ExportError(MeshAvatarError):
    """An avatar cannot be written in the requested format or to the requested place."""

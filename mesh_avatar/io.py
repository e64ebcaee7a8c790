"""Atomic file writes: a crash never leaves a half-written file under its final name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mesh_avatar.errors import ExportError


def ensure_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written into it.

    Raises:
        ExportError: the folder cannot be created or is not writable.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise ExportError(f"output path {folder} exists and is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"output folder {folder} is not writable")
    return folder


def _default_file_mode() -> int:
    # mkstemp creates files with mode 0600; give written files the usual 0666 & ~umask instead.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str | os.PathLike[str], fsync: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched, so a crash or a kill
    never leaves a half-written file under the final name. With ``fsync`` the data reaches the disk
    before the rename, which also protects against power loss; without it, only against crashes.
    """
    target = Path(path)
    folder = ensure_writable_dir(target.parent if str(target.parent) else ".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            os.fchmod(handle.fileno(), _default_file_mode())
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, fsync) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_files(folder: str | os.PathLike[str], files: Mapping[str, bytes]) -> list[Path]:
    """Write several files (name -> bytes) into ``folder``, each one atomically.

    Returns the written paths in the order of ``files``.
    """
    base = ensure_writable_dir(folder)
    return [atomic_write_bytes(base / name, data) for name, data in files.items()]

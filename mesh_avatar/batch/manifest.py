"""The run manifest: JSON Lines, one row per avatar, appended as avatars finish.

A row (all keys always present)::

    {"id": "avatar_000042", "index": 42, "seed": <the avatar's own seed>, "run_seed": S,
     "coefficients": {"identity": [...], "expression": [...], "albedo": [...], "pose": [...],
                      "lighting": [[r, g, b] x 9]},
     "triangles": {"lod0": F0, "lod1": F1, ...},
     "files": [{"path": "avatars/000/avatar_000042.glb", "kind": "glb", "lod": 0,
                "bytes": 123456, "sha256": "...", "triangles": F0}, ...]}

During a run rows are appended in completion order; a crash can at worst leave a torn last line,
which readers skip. When the run ends the manifest is rewritten (atomically, streaming) in index
order with one row per avatar, so a finished manifest does not depend on worker count or backend.
A row is only appended after all of its files are on disk under their final names, so a row whose
files still hash to the recorded SHA-256 is a finished avatar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mesh_avatar.io import atomic_open

logger = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20


def row_bytes(row: dict[str, Any]) -> bytes:
    """One manifest line (compact JSON, keys in insertion order, newline-terminated)."""
    return (json.dumps(row, separators=(",", ":"), allow_nan=False) + "\n").encode()


class ManifestWriter:
    """Appends rows to a manifest with one ``write`` each (a killed process loses no row).

    Args:
        path: the manifest file (created if missing; a torn last line is cut first).
        sync_interval_s: fsync after a row when this many seconds have passed since the last
            fsync, and on close. ``0`` fsyncs every row, which only buys something when the
            avatars' own files are fsynced too; otherwise an operating-system crash loses at most
            this interval of rows, and those avatars are redone on resume.
    """

    def __init__(self, path: Path, sync_interval_s: float = 0.0) -> None:
        self.path = path
        self.sync_interval_s = sync_interval_s
        repair_tail(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._synced_at = time.monotonic()

    def append(self, row: dict[str, Any]) -> None:
        data = row_bytes(row)
        written = os.write(self._fd, data)
        if written != len(data):  # pragma: no cover - short writes on regular files are rare
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
        if time.monotonic() - self._synced_at >= self.sync_interval_s:
            self._sync()

    def _sync(self) -> None:
        os.fsync(self._fd)
        self._synced_at = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            self._sync()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no trailing newline) left by a crash, so appends start clean."""
    if not path.is_file():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline.
        position = size
        while position > 0:
            step = min(_HASH_CHUNK, position)
            handle.seek(position - step)
            chunk = handle.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                position = position - step + cut + 1
                break
            position -= step
        logger.warning("%s: dropping a torn last line (%d bytes)", path, size - position)
        handle.truncate(position)
        handle.flush()
        os.fsync(handle.fileno())


def _parse(line: bytes) -> dict[str, Any] | None:
    if not line.endswith(b"\n"):
        return None
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(row, dict) or not isinstance(row.get("index"), int):
        return None
    if not isinstance(row.get("files"), list):
        return None
    return row


def iter_rows_with_offsets(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(byte offset, row)`` for each readable row; unreadable lines are skipped (logged)."""
    if not path.is_file():
        return
    with open(path, "rb") as handle:
        offset = 0
        for line in handle:
            row = _parse(line)
            if row is None:
                logger.warning("%s: skipping an unreadable line at byte %d", path, offset)
            else:
                yield offset, row
            offset += len(line)


def index_manifest(path: Path) -> np.ndarray:
    """Avatar index -> byte offset of its last row (later rows supersede earlier ones); -1: none.

    Only offsets are kept (8 bytes per avatar), whatever the size of the rows.

    Returns:
        (M,) int64 array, M = 1 + the largest index in the manifest (0 for an empty manifest).
    """
    offsets = np.full(1024, -1, dtype=np.int64)
    size = 0
    for offset, row in iter_rows_with_offsets(path):
        index = row["index"]
        if index < 0:
            continue
        if index >= len(offsets):
            grown = np.full(max(2 * len(offsets), index + 1), -1, dtype=np.int64)
            grown[: len(offsets)] = offsets
            offsets = grown
        offsets[index] = offset
        size = max(size, index + 1)
    return offsets[:size].copy()


def read_row_at(path: Path, offset: int) -> dict[str, Any] | None:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return _parse(handle.readline())


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """All rows, in file order (convenience for tests and small runs)."""
    return [row for _, row in iter_rows_with_offsets(path)]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_row(out_dir: Path, row: dict[str, Any]) -> bool:
    """Whether every file of ``row`` exists with the recorded size and SHA-256."""
    try:
        for entry in row["files"]:
            path = out_dir / entry["path"]
            if path.stat().st_size != entry["bytes"]:
                logger.info("%s: size differs from the manifest; it will be redone", path)
                return False
            if sha256_file(path) != entry["sha256"]:
                logger.info("%s: SHA-256 differs from the manifest; it will be redone", path)
                return False
    except FileNotFoundError as exc:
        logger.info("%s is missing; it will be redone", exc.filename)
        return False
    except (KeyError, TypeError):
        return False
    return bool(row["files"])


def compact(path: Path, offsets: np.ndarray) -> int:
    """Rewrite the manifest in index order with one row per avatar, atomically and streaming.

    Args:
        path: the manifest.
        offsets: as from :func:`index_manifest` (the row to keep for each index, -1 for none).

    Returns:
        The number of rows written.
    """
    rows = 0
    with atomic_open(path) as out, open(path, "rb") as source:
        for offset in offsets:
            if offset < 0:
                continue
            source.seek(int(offset))
            out.write(source.readline())
            rows += 1
    return rows

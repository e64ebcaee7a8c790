import os
import stat

import pytest

from mesh_avatar.errors import ExportError
from mesh_avatar.io import atomic_write_bytes, atomic_write_files, ensure_writable_dir


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_written_files_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "m.npz", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_bytes(b"precious")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"half")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_write_files_into_new_folder(tmp_path):
    paths = atomic_write_files(tmp_path / "x" / "y", {"a.txt": b"1", "b.txt": b"2"})
    assert [p.read_bytes() for p in paths] == [b"1", b"2"]


def test_unwritable_folder_is_reported(tmp_path):
    # /proc refuses new folders even to root, which is what CI runs as.
    with pytest.raises(ExportError, match="cannot create output folder /proc/mesh-avatar"):
        ensure_writable_dir("/proc/mesh-avatar")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ExportError, match="not writable"):
            ensure_writable_dir(locked)


def test_output_path_that_is_a_file_is_reported(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ExportError, match=r"exists and is not a folder|cannot create"):
        ensure_writable_dir(tmp_path / "f")
    with pytest.raises(ExportError, match="cannot create output folder"):
        ensure_writable_dir(tmp_path / "f" / "sub")

"""Batch plan (spec, ids, job stream) and manifest (append, torn tails, resume index, compaction)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mesh_avatar.batch.manifest import (
    ManifestWriter,
    compact,
    index_manifest,
    read_manifest,
    read_row_at,
    verify_row,
)
from mesh_avatar.batch.plan import BatchError, BatchSpec, avatar_folder, iter_jobs
from mesh_avatar.sampling import avatar_seed


def test_spec_rejects_bad_options_with_clear_messages():
    with pytest.raises(BatchError, match="at least 1"):
        BatchSpec(n=0, seed=1)
    with pytest.raises(BatchError, match="non-negative"):
        BatchSpec(n=1, seed=-3)
    with pytest.raises(BatchError, match="unknown format"):
        BatchSpec(n=1, seed=1, formats=("fbx",))
    with pytest.raises(BatchError, match="unknown level of detail"):
        BatchSpec(n=1, seed=1, lods=(7,))
    with pytest.raises(BatchError, match="unknown render view"):
        BatchSpec(n=1, seed=1, renders=("top",))
    with pytest.raises(BatchError, match="truncation"):
        BatchSpec(n=1, seed=1, truncation=0.0)


def test_spec_fingerprint_round_trips_without_n():
    spec = BatchSpec(n=5, seed=2, formats=("glb", "obj"), lods=(0, 1), renders=("front",))
    payload = json.loads(json.dumps(spec.fingerprint()))
    assert "n" not in payload
    assert BatchSpec.from_json(payload, n=9) == BatchSpec(
        n=9, seed=2, formats=("glb", "obj"), lods=(0, 1), renders=("front",)
    )


def test_jobs_are_lazy_and_seeded_per_avatar():
    spec = BatchSpec(n=10**9, seed=11)  # a billion jobs: only a lazy stream can start
    asked = []

    def previous(index):
        asked.append(index)
        return {"index": index} if index == 2 else None

    jobs = iter_jobs(spec, previous)
    first = [next(jobs) for _ in range(4)]
    assert [j.index for j in first] == [0, 1, 2, 3]
    assert asked == [0, 1, 2, 3]
    assert [j.seed for j in first] == [avatar_seed(11, i) for i in range(4)]
    assert first[2].previous == {"index": 2} and first[1].previous is None
    assert first[3].avatar_id == "avatar_00003"
    assert avatar_folder(999) == "avatars/000" and avatar_folder(1000) == "avatars/001"


def _row(index: int, path: str = "", data: bytes = b"") -> dict:
    files = []
    if path:
        files = [
            {
                "path": path,
                "kind": "glb",
                "lod": 0,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "triangles": 12,
            }
        ]
    return {"id": f"a{index}", "index": index, "seed": index, "files": files}


def test_manifest_appends_index_last_row_wins_and_compacts_in_order(tmp_path: Path):
    path = tmp_path / "manifest.jsonl"
    with ManifestWriter(path) as writer:
        for index in (3, 0, 2):
            writer.append(_row(index))
        writer.append({**_row(0), "seed": 99})  # a redo supersedes the first row of avatar 0
    offsets = index_manifest(path)
    assert offsets.tolist()[1] == -1 and len(offsets) == 4
    assert read_row_at(path, int(offsets[0]))["seed"] == 99
    assert compact(path, offsets) == 3
    rows = read_manifest(path)
    assert [r["index"] for r in rows] == [0, 2, 3]
    assert rows[0]["seed"] == 99


@pytest.mark.parametrize("interval, syncs", [(0.0, 3 + 1), (3600.0, 1)])
def test_manifest_rows_are_fsynced_per_row_or_per_interval(tmp_path, monkeypatch, interval, syncs):
    import mesh_avatar.batch.manifest as manifest

    calls = []
    monkeypatch.setattr(manifest.os, "fsync", lambda fd: calls.append(fd))
    path = tmp_path / "manifest.jsonl"
    with ManifestWriter(path, sync_interval_s=interval) as writer:
        for index in range(3):
            writer.append(_row(index))
        # Every row is in the file (visible to a reader) before any fsync of the interval.
        assert [r["index"] for r in read_manifest(path)] == [0, 1, 2]
    assert len(calls) == syncs  # the last one on close


def test_torn_last_line_is_dropped_before_appending(tmp_path: Path):
    path = tmp_path / "manifest.jsonl"
    with ManifestWriter(path) as writer:
        writer.append(_row(0))
        writer.append(_row(1))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 7])  # a crash in the middle of the second row
    assert [r["index"] for r in read_manifest(path)] == [0]
    with ManifestWriter(path) as writer:
        writer.append(_row(5))
    assert [r["index"] for r in read_manifest(path)] == [0, 5]
    assert path.read_bytes().count(b"\n") == 2


def test_verify_row_checks_presence_size_and_hash(tmp_path: Path):
    data = b"glTF" + bytes(range(200))
    (tmp_path / "a").mkdir()
    target = tmp_path / "a" / "x.glb"
    target.write_bytes(data)
    row = _row(0, "a/x.glb", data)
    assert verify_row(tmp_path, row)
    target.write_bytes(data[:-10])  # truncated
    assert not verify_row(tmp_path, row)
    target.write_bytes(data[:-1] + b"\xff")  # same size, other bytes
    assert not verify_row(tmp_path, row)
    target.unlink()
    assert not verify_row(tmp_path, row)
    assert not verify_row(tmp_path, _row(0))  # a row without files is never finished


def test_cli_view_names_match_the_label_cameras():
    from mesh_avatar.batch.labels import VIEWS
    from mesh_avatar.commands.batch import RENDER_VIEWS

    assert RENDER_VIEWS == tuple(VIEWS)

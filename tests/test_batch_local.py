"""Batch runs on local worker processes: same bytes for any worker count, manifest contents, GLB
validity, resume after SIGKILL, corrupted files redone, clear errors."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from support.gltf_validator import assert_valid_gltf

from mesh_avatar.batch import BatchError, BatchSpec, run_batch
from mesh_avatar.batch.manifest import read_manifest, verify_row
from mesh_avatar.batch.plan import AvatarJob
from mesh_avatar.batch.worker import AvatarWorker, WorkerConfig
from mesh_avatar.cli import main
from mesh_avatar.morphable import MorphableModel, save_model
from mesh_avatar.sampling import avatar_seed, sample_prior

TEXTURE = 256  # the smallest texture the exporters accept; keeps the tests fast


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory, tiny_model_data) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_model(tiny_model_data, path)
    return path


def _spec(model: Path, n: int, **changes) -> BatchSpec:
    options = {"formats": ("glb", "obj"), "texture_size": TEXTURE}
    options.update(changes)
    return BatchSpec(n=n, seed=5, model=str(model), **options)


def _tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_bytes_whatever_the_worker_count(tmp_path, tiny_model_file, tiny_model_data):
    spec = _spec(tiny_model_file, n=5)
    inline = run_batch(spec, tmp_path / "w0", workers=0, progress=False)
    pooled = run_batch(spec, tmp_path / "w2", workers=2, progress=False, in_flight=3, fsync=True)
    assert (inline.made, inline.kept, pooled.made, pooled.kept) == (5, 0, 5, 0)
    files0, files2 = _tree(tmp_path / "w0"), _tree(tmp_path / "w2")
    assert files0.keys() == files2.keys()
    different = [name for name in files0 if files0[name] != files2[name]]
    assert different == []
    assert "manifest.jsonl" in files0 and "batch.json" in files0

    # The manifest: one row per avatar in index order, files hashed, coefficients as sampled.
    rows = read_manifest(tmp_path / "w0" / "manifest.jsonl")
    assert [row["index"] for row in rows] == list(range(5))
    model = MorphableModel(tiny_model_data)
    n_faces = tiny_model_data.faces.shape[0]
    for row in rows:
        i = row["index"]
        assert row["id"] == f"avatar_{i:05d}"
        assert row["seed"] == avatar_seed(5, i) and row["run_seed"] == 5
        expected = sample_prior(model, 1, seed=5, start=i)
        assert torch.equal(torch.tensor(row["coefficients"]["identity"]), expected.identity[0])
        assert torch.equal(torch.tensor(row["coefficients"]["expression"]), expected.expression[0])
        assert row["triangles"] == {"lod0": n_faces}
        kinds = {entry["kind"] for entry in row["files"]}
        assert {"glb", "obj", "params"} <= kinds
        for entry in row["files"]:
            data = files0[entry["path"]]
            assert entry["bytes"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            if entry["kind"] in ("glb", "obj"):
                assert entry["triangles"] == n_faces and entry["lod"] == 0

    # Every GLB the run wrote passes the Khronos validator.
    glbs = sorted((tmp_path / "w2").rglob("*.glb"))
    assert len(glbs) == 5
    for glb in glbs:
        assert_valid_gltf(glb)


def test_corrupted_missing_and_unrecorded_files_are_redone(tmp_path, tiny_model_file):
    spec = _spec(tiny_model_file, n=6, formats=("glb",))
    out = tmp_path / "run"
    run_batch(spec, out, workers=0, progress=False)
    reference = _tree(out)
    rows = read_manifest(out / "manifest.jsonl")
    glb = {row["index"]: out / row["files"][0]["path"] for row in rows}

    glb[1].write_bytes(glb[1].read_bytes()[:1000])  # truncated: a partial file
    data = bytearray(glb[2].read_bytes())
    data[-5] ^= 0xFF
    glb[2].write_bytes(bytes(data))  # same size, one byte flipped
    glb[3].unlink()  # missing
    # Avatar 4 was written but its row never reached the manifest (crash in between), and the
    # file under its final name is garbage: it must be overwritten, not trusted.
    manifest = out / "manifest.jsonl"
    lines = manifest.read_bytes().splitlines(keepends=True)
    manifest.write_bytes(b"".join(line for i, line in enumerate(lines) if i != 4))
    glb[4].write_bytes(b"not a glb")
    stray = glb[0].parent / f".{glb[0].name}.abc123.tmp"
    stray.write_bytes(b"half")

    summary = run_batch(spec, out, workers=0, progress=False)
    assert (summary.made, summary.kept) == (4, 2)
    assert not stray.exists()
    assert _tree(out) == reference


def test_extending_a_finished_run_keeps_its_avatars(tmp_path, tiny_model_file):
    out = tmp_path / "run"
    run_batch(_spec(tiny_model_file, n=2, formats=("glb",)), out, workers=0, progress=False)
    summary = run_batch(
        _spec(tiny_model_file, n=4, formats=("glb",)), out, workers=0, progress=False
    )
    assert (summary.made, summary.kept) == (2, 2)
    assert [row["index"] for row in read_manifest(out / "manifest.jsonl")] == [0, 1, 2, 3]


def test_a_folder_of_another_run_is_refused(tmp_path, tiny_model_file):
    out = tmp_path / "run"
    run_batch(_spec(tiny_model_file, n=1, formats=("glb",)), out, workers=0, progress=False)
    with pytest.raises(BatchError, match=r"other options \(formats: \['glb'\] -> \['obj'\]\)"):
        run_batch(_spec(tiny_model_file, n=1, formats=("obj",)), out, workers=0, progress=False)


def test_cli_reports_user_mistakes_in_one_line(tmp_path, capsys):
    code = main(
        ["batch", "--n", "2", "--out", str(tmp_path / "o"), "--model", str(tmp_path / "no.npz")]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.count("\n") == 0 and "model file not found" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["batch", "--n", "0", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--n: must be at least 1" in capsys.readouterr().err


def _rows_in(manifest: Path) -> int:
    try:
        return manifest.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_a_killed_run_resumes_with_the_same_command(tmp_path, tiny_model_file):
    out = tmp_path / "run"
    n = 120
    command = [
        sys.executable, "-m", "mesh_avatar.cli", "batch", "--n", str(n), "--seed", "5",
        "--out", str(out), "--model", str(tiny_model_file), "--workers", "1",
        "--format", "glb", "--texture-size", str(TEXTURE), "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 240
    while _rows_in(manifest) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, (
        f"the run ended before it could be killed: {process.stderr.read()}"
    )
    os.killpg(process.pid, signal.SIGKILL)  # the whole tree: main process and its workers
    process.wait()
    process.stderr.close()
    finished = read_manifest(manifest)
    assert 3 <= len(finished) < n

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"made {n - len(finished)}, kept {len(finished)}" in resumed.stdout
    rows = read_manifest(manifest)
    assert [row["index"] for row in rows] == list(range(n))
    assert all(verify_row(out, row) for row in rows)
    assert not list(out.rglob("*.tmp"))

    # Spot-check bytes against avatars made alone, in this process: the first avatars (made
    # before the kill), the ones in flight at the kill, and the last one.
    worker = AvatarWorker(
        WorkerConfig(_spec(tiny_model_file, n, formats=("glb",)), str(out), str(tiny_model_file))
    )
    for index in sorted({0, len(finished) - 1, len(finished), len(finished) + 1, n - 1}):
        files, _ = worker.serialize(AvatarJob(index, avatar_seed(5, index)))
        for item in files:
            on_disk = out / rows[index]["files"][0]["path"]
            assert (on_disk.parent / item.name).read_bytes() == item.data, (index, item.name)


def test_two_runs_cannot_write_one_folder_at_once(tmp_path, tiny_model_file):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".batch.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        with pytest.raises(BatchError, match="another batch run is writing"):
            run_batch(_spec(tiny_model_file, n=1), out, workers=0, progress=False)
    assert run_batch(_spec(tiny_model_file, n=1), out, workers=0, progress=False).made == 1


def test_sparse_morph_targets_give_smaller_valid_glbs(tmp_path, tiny_model_file):
    dense_spec = _spec(tiny_model_file, n=1, formats=("glb",), sparse_morph_targets=False)
    dense = run_batch(dense_spec, tmp_path / "d", workers=0, progress=False)
    sparse_spec = _spec(tiny_model_file, n=1, formats=("glb",), sparse_morph_targets=True)
    sparse = run_batch(sparse_spec, tmp_path / "s", workers=0, progress=False)
    size = {}
    for name, summary in (("dense", dense), ("sparse", sparse)):
        (glb,) = summary.out_dir.rglob("*.glb")
        assert_valid_gltf(glb)
        size[name] = glb.stat().st_size
    assert size["sparse"] < size["dense"]

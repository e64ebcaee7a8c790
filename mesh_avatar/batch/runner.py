"""A whole batch run: check the output folder, resume from its manifest, run jobs, compact.

Output folder layout::

    OUT/batch.json            the spec (without n) and the model's fingerprint
    OUT/manifest.jsonl        one row per avatar (see mesh_avatar.batch.manifest)
    OUT/avatars/000/...       files of avatars 0-999, then avatars/001/ for 1000-1999, ...

Resuming: the same command on the same folder reads the manifest, lets the workers re-hash the
files of each recorded avatar (kept when they match) and makes everything else. Files are written
atomically, so a crash leaves at worst stray temporary files (removed at start) or an avatar whose
files were written but whose row was not (redone, overwriting them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mesh_avatar.batch.manifest import ManifestWriter, compact, index_manifest, read_row_at
from mesh_avatar.batch.plan import (
    AVATAR_DIR,
    MANIFEST_FILE,
    SPEC_FILE,
    AvatarJob,
    BatchError,
    BatchSpec,
    iter_jobs,
    spec_file_bytes,
)
from mesh_avatar.batch.worker import JobResult, WorkerConfig
from mesh_avatar.io import atomic_write_bytes, ensure_writable_dir

logger = logging.getLogger(__name__)

LOCK_FILE = ".batch.lock"
MANIFEST_SYNC_INTERVAL_S = 1.0


class Executor(AbstractContextManager, Protocol):
    def map_unordered(self, jobs: Iterator[AvatarJob]) -> Iterator[JobResult]: ...


@dataclass
class BatchSummary:
    """What a run did.

    Attributes:
        out_dir: the output folder.
        made: avatars generated in this run.
        kept: avatars found finished (verified by hash) and kept.
        seconds: wall time of the job loop (worker start-up included).
        first_result_s: seconds from the start of the job loop to the first finished avatar
            (mostly worker start-up and model loading).
        timings: seconds summed over avatars per worker stage (``sample``, ``mesh``, ``export``,
            ``write``, ``verify``, ``labels``) and ``cpu`` (worker CPU time of the avatars made).
    """

    out_dir: Path
    made: int = 0
    kept: int = 0
    seconds: float = 0.0
    first_result_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manifest(self) -> Path:
        return self.out_dir / MANIFEST_FILE

    @property
    def rate(self) -> float:
        """Avatars per second over the whole job loop."""
        return (self.made + self.kept) / self.seconds if self.seconds > 0 else 0.0


def run_batch(
    spec: BatchSpec,
    out_dir: str | os.PathLike[str],
    workers: int = 1,
    ray_address: str | None = None,
    use_ray: bool = False,
    progress: bool = True,
    in_flight: int | None = None,
    fsync: bool = False,
) -> BatchSummary:
    """Make (or complete) the run ``spec`` in ``out_dir``.

    Args:
        spec: what to make.
        out_dir: output folder (created; may hold an earlier attempt of the same spec).
        workers: worker processes (local) or actors (Ray); 0 runs in this process (local only).
        ray_address: address of a Ray cluster (``auto``, ``ray://host:10001``); ``None`` with
            ``use_ray`` starts a local Ray instance.
        use_ray: run the jobs as Ray tasks.
        progress: show a tqdm progress bar (avatars/s, ETA).
        in_flight: jobs submitted ahead of the results (default: twice the workers).
        fsync: fsync every file before renaming it into place (see :mod:`.worker`) and the
            manifest after every row; without it the manifest is fsynced once a second (an
            operating-system crash can cost the last second of rows: those avatars are redone).

    Raises:
        BatchError: the folder holds a run with other options; ModelFileError: bad model.
    """
    out = ensure_writable_dir(out_dir).resolve()
    with _exclusive(out):
        return _run_locked(spec, out, workers, ray_address, use_ray, progress, in_flight, fsync)


def _run_locked(
    spec: BatchSpec,
    out: Path,
    workers: int,
    ray_address: str | None,
    use_ray: bool,
    progress: bool,
    in_flight: int | None,
    fsync: bool,
) -> BatchSummary:
    model_path, model_file, checkpoint = _resolve_inputs(spec)
    config = WorkerConfig(spec, str(out), model_path, checkpoint, fsync)
    _claim_folder(out, spec, model_file, checkpoint)
    _remove_stale_temporaries(out)
    manifest_path = out / MANIFEST_FILE
    offsets = index_manifest(manifest_path)

    def previous(index: int) -> dict[str, Any] | None:
        if index < len(offsets) and offsets[index] >= 0:
            return read_row_at(manifest_path, int(offsets[index]))
        return None

    summary = BatchSummary(out_dir=out)
    executor = _executor(config, workers, use_ray, ray_address, in_flight)
    start = time.perf_counter()
    sync_interval_s = 0.0 if fsync else MANIFEST_SYNC_INTERVAL_S
    with (
        ManifestWriter(manifest_path, sync_interval_s) as writer,
        _progress(spec.n, progress) as bar,
    ):
        with executor:
            for result in executor.map_unordered(iter_jobs(spec, previous)):
                if summary.made + summary.kept == 0:
                    summary.first_result_s = time.perf_counter() - start
                if result.status == "made":
                    writer.append(result.row)
                    summary.made += 1
                else:
                    summary.kept += 1
                for stage, seconds in result.timings.items():
                    summary.timings[stage] = summary.timings.get(stage, 0.0) + seconds
                bar.update(1)
                bar.set_postfix(made=summary.made, kept=summary.kept, refresh=False)
    summary.seconds = time.perf_counter() - start
    rows = compact(manifest_path, index_manifest(manifest_path))
    logger.debug(
        "batch: %d avatar(s) made, %d kept, in %.1f s (%.2f avatars/s); manifest %s (%d rows)",
        summary.made,
        summary.kept,
        summary.seconds,
        summary.rate,
        manifest_path,
        rows,
    )
    return summary


def _executor(
    config: WorkerConfig, workers: int, use_ray: bool, address: str | None, in_flight: int | None
) -> Executor:
    if use_ray:
        from mesh_avatar.batch.ray_backend import RayExecutor

        return RayExecutor(config, workers=max(1, workers), address=address, in_flight=in_flight)
    from mesh_avatar.batch.local import LocalExecutor

    return LocalExecutor(config, workers=workers, in_flight=in_flight)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="avatars", unit="avatar", disable=not enabled, dynamic_ncols=True)


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold ``OUT/.batch.lock`` so two runs never write the same folder at once."""
    import fcntl

    with open(out / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another batch run is writing to {out}; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------ inputs
def _resolve_inputs(spec: BatchSpec) -> tuple[str, Path, str | None]:
    """Absolute model/checkpoint locations (workers may run in another folder or machine).

    Also reads the model once here, so a bad model is reported before any worker starts.

    Returns:
        The model spec with an absolute path, the model's file or folder, the absolute checkpoint.
    """
    from mesh_avatar.morphable.loading import ModelSpec, parse_model_spec, read_model_data

    parsed = parse_model_spec(spec.model)
    read_model_data(parsed)  # raises ModelFileError with a clear message
    resolved = ModelSpec(parsed.kind, parsed.path.resolve())
    model_path = str(resolved.path) if resolved.kind in ("default", "npz") else str(resolved)
    checkpoint = None
    if spec.checkpoint is not None:
        path = Path(spec.checkpoint).expanduser().resolve()
        if not path.is_file():
            raise BatchError(f"checkpoint not found: {spec.checkpoint}")
        checkpoint = str(path)
    return model_path, resolved.path, checkpoint


def _fingerprint_path(path: Path) -> dict[str, Any]:
    """Name, size and SHA-256 of a file, or of every file under a folder (sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    size = 0
    for item in files:
        digest.update(str(item.relative_to(path) if path.is_dir() else item.name).encode())
        with open(item, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        size += item.stat().st_size
    return {"bytes": size, "sha256": digest.hexdigest()}


def _claim_folder(out: Path, spec: BatchSpec, model_file: Path, checkpoint: str | None) -> None:
    """Write ``batch.json``, or check that the folder's earlier run had the same spec and model."""
    model = {"data": _fingerprint_path(model_file)}
    if checkpoint:
        model["checkpoint"] = _fingerprint_path(Path(checkpoint))
    content = spec_file_bytes(spec, model)
    path = out / SPEC_FILE
    if path.is_file():
        try:
            earlier = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BatchError(f"{path} is not valid JSON; use an empty output folder") from None
        now = json.loads(content)
        differences = [
            f"{key}: {earlier.get('spec', {}).get(key)!r} -> {value!r}"
            for key, value in now["spec"].items()
            if earlier.get("spec", {}).get(key) != value
        ]
        if earlier.get("model") != now["model"]:
            differences.append("the model (or checkpoint) file changed")
        if differences:
            raise BatchError(
                f"{out} holds a batch run made with other options ({'; '.join(differences)}); "
                "rerun with the same options to resume it, or use another --out folder"
            )
        return
    if (out / MANIFEST_FILE).exists():
        raise BatchError(f"{out} has a manifest but no {SPEC_FILE}; use another --out folder")
    atomic_write_bytes(path, content)


def _remove_stale_temporaries(out: Path) -> None:
    """Delete temporary files a killed run left behind (``.NAME.XXXX.tmp``)."""
    removed = 0
    folders = [out]
    avatars = out / AVATAR_DIR
    if avatars.is_dir():
        folders += [entry.path for entry in os.scandir(avatars) if entry.is_dir()]
    for folder in folders:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
                    os.unlink(entry.path)
                    removed += 1
    if removed:
        logger.info("removed %d temporary file(s) left by an interrupted run", removed)

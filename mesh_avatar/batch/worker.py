"""One avatar of a batch run: coefficients -> AvatarMesh -> file bytes -> atomic writes -> hashes.

An :class:`AvatarWorker` is built once per worker process (or Ray actor): it loads the model (and
the GAN generator) a single time and pins torch to one thread, so every worker computes the same
floating-point results and a file's bytes do not depend on which worker made it.

Files are written to a temporary name in their final folder and renamed, so a killed worker never
leaves a partial file under a final name. By default the data is not fsynced before the rename
(fsync latency on a busy disk cost more than the whole avatar here): after an operating-system
crash or power loss a renamed file may still be empty or partial, and the resume check (size and
SHA-256 against the manifest) redoes it. ``WorkerConfig.fsync`` restores per-file fsync.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mesh_avatar.batch.manifest import verify_row
from mesh_avatar.batch.plan import AvatarJob, BatchSpec
from mesh_avatar.io import atomic_write_bytes, ensure_writable_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputFile:
    """A file of one avatar, serialised but not yet written.

    Attributes:
        name: file name inside the avatar's folder.
        kind: ``glb``, ``gltf``, ``bin``, ``obj``, ``mtl``, ``texture``, ``params``, ``render``, ...
        data: the bytes.
        lod: level of detail for mesh files, else ``None``.
        triangles: triangle count for mesh files, else ``None``.
    """

    name: str
    kind: str
    data: bytes
    lod: int | None = None
    triangles: int | None = None


@dataclass(frozen=True)
class JobResult:
    """What a worker hands back for one job (small: no file bytes).

    Attributes:
        index: the avatar's index.
        status: ``made`` (files written) or ``kept`` (the previous files verified by hash).
        row: the manifest row.
        timings: wall seconds per stage (``sample``, ``mesh``, ``export``, ``write``, ``labels``
            or ``verify``) and ``cpu``: CPU seconds of the worker process for the avatar.
    """

    index: int
    status: str
    row: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to start: the spec, where to write, and the resolved input paths.

    ``model_path``/``checkpoint_path`` are absolute (workers may run elsewhere); the spec keeps what
    the user typed, which is what exported files record.
    """

    spec: BatchSpec
    out_dir: str
    model_path: str
    checkpoint_path: str | None = None
    fsync: bool = False


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - since
        return now


class AvatarWorker:
    """Makes (or verifies and keeps) single avatars; holds the loaded model for its process."""

    def __init__(self, config: WorkerConfig) -> None:
        from mesh_avatar.pipeline import AvatarSource

        self.config = config
        self.spec = config.spec
        self.out_dir = Path(config.out_dir)
        checkpoint = Path(config.checkpoint_path) if config.checkpoint_path else None
        source = AvatarSource.open(
            config.model_path, checkpoint=checkpoint, truncation=config.spec.truncation
        )
        # Record the model as the user named it, wherever this worker found it.
        self.source = dataclasses.replace(source, model_spec=config.spec.model)
        self.export_options = _export_options(self.spec)
        self._labels = None
        if self.spec.renders:
            from mesh_avatar.batch.labels import LabelRenderer

            self._labels = LabelRenderer(
                self.source.model, self.spec.renders, self.spec.render_size
            )

    # ---------------------------------------------------------------------------------- jobs
    def run(self, job: AvatarJob) -> JobResult:
        """Keep the avatar if its previous files verify, else make it."""
        start = time.perf_counter()
        if (
            job.previous is not None
            and self._matches(job)
            and verify_row(self.out_dir, job.previous)
        ):
            elapsed = time.perf_counter() - start
            return JobResult(job.index, "kept", job.previous, {"verify": elapsed})
        cpu = time.process_time()
        result = self.make(job)
        result.timings["cpu"] = time.process_time() - cpu
        return result

    def make(self, job: AvatarJob) -> JobResult:
        clock = _Stopwatch()
        files, params = self.serialize(job, clock)
        t = time.perf_counter()
        folder = ensure_writable_dir(self.out_dir / job.folder)
        entries = []
        for item in files:
            atomic_write_bytes(folder / item.name, item.data, fsync=self.config.fsync)
            entries.append(
                {
                    "path": f"{job.folder}/{item.name}",
                    "kind": item.kind,
                    "lod": item.lod,
                    "bytes": len(item.data),
                    "sha256": hashlib.sha256(item.data).hexdigest(),
                    "triangles": item.triangles,
                }
            )
        clock.lap("write", t)
        coefficients = {k: v[0].tolist() for k, v in params.to_numpy().items() if k != "detail"}
        row = {
            "id": job.avatar_id,
            "index": job.index,
            "seed": job.seed,
            "run_seed": self.spec.seed,
            "coefficients": coefficients,
            "triangles": {
                f"lod{item.lod}": item.triangles
                for item in files
                if item.lod is not None and item.triangles is not None
            },
            "files": entries,
        }
        return JobResult(job.index, "made", row, clock.timings)

    def serialize(
        self, job: AvatarJob, clock: _Stopwatch | None = None
    ) -> tuple[list[OutputFile], Any]:
        """All files of avatar ``job.index`` as bytes, and its coefficients (nothing written)."""
        with _one_torch_thread():
            return self._serialize(job, clock or _Stopwatch())

    def _serialize(self, job: AvatarJob, clock: _Stopwatch) -> tuple[list[OutputFile], Any]:
        from mesh_avatar.avatar import build_avatar_mesh

        stem = job.avatar_id
        t = time.perf_counter()
        params = self.source.params(self.spec.seed, job.index)
        t = clock.lap("sample", t)
        mesh = build_avatar_mesh(
            self.source.model,
            params,
            self.spec.texture_size,
            metadata=self.source.describe(self.spec.seed, job.index),
        )
        t = clock.lap("mesh", t)
        files = list(_mesh_files(mesh, stem, self.spec, self.export_options))
        files.append(OutputFile(f"{stem}.params.json", "params", params.to_bytes(".json")))
        t = clock.lap("export", t)
        if self._labels is not None:
            for name, kind, data in self._labels.render(params, mesh, stem):
                files.append(OutputFile(name, kind, data))
            clock.lap("labels", t)
        return files, params

    def _matches(self, job: AvatarJob) -> bool:
        previous = job.previous or {}
        return previous.get("index") == job.index and previous.get("seed") == job.seed


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch on one thread (same float results in every worker), then restore the setting."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def _export_options(spec: BatchSpec) -> Any:
    from mesh_avatar.export import ExportOptions

    return ExportOptions(
        texture_size=spec.texture_size,
        texture_format=spec.texture_format,
        lods=spec.lods,
        sparse_morph_targets=spec.sparse_morph_targets,
    )


def _mesh_files(mesh: Any, stem: str, spec: BatchSpec, options: Any) -> Iterator[OutputFile]:
    """Serialise ``mesh`` in every requested format and level of detail."""
    from mesh_avatar.export import export_files

    for exported in export_files(mesh, stem, spec.formats, options):
        yield OutputFile(
            name=exported.name,
            kind=exported.kind,
            data=exported.data,
            lod=exported.lod,
            triangles=exported.triangles,
        )


# ------------------------------------------------------------------------------ process pool glue
# A process pool calls module-level functions; each worker process keeps its one AvatarWorker here.
_PROCESS_WORKER: AvatarWorker | None = None


def init_process(config: WorkerConfig, log_level: int = logging.WARNING) -> None:
    """Pool initializer: build this process's :class:`AvatarWorker` (loads the model once)."""
    global _PROCESS_WORKER
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    _PROCESS_WORKER = AvatarWorker(config)


def run_in_process(job: AvatarJob) -> JobResult:
    """Pool task: run ``job`` on this process's worker (see :func:`init_process`)."""
    if _PROCESS_WORKER is None:  # pragma: no cover - a pool without its initializer
        raise RuntimeError("batch worker process was not initialised")
    return _PROCESS_WORKER.run(job)

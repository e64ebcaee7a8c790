"""Run batch jobs as Ray tasks: one actor per worker holds the loaded model; the driver keeps the
manifest. Files are written by the actors straight into the output folder, which must be a path
every node sees (a shared file system). The bytes are the same as a local run's: the actors run the
same :class:`~mesh_avatar.batch.worker.AvatarWorker` with one torch thread each.

``address=None`` starts a private local Ray instance (used by the tests) and stops it afterwards;
an address (``auto``, ``ray://head:10001``) connects to a running cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from mesh_avatar.batch.plan import AvatarJob, BatchError
from mesh_avatar.batch.worker import AvatarWorker, JobResult, WorkerConfig

logger = logging.getLogger(__name__)

#: Tasks queued per actor, so an actor never waits for the driver between two avatars.
TASKS_PER_ACTOR = 2


class RayAvatarActor:
    """Ray actor body: one :class:`AvatarWorker` per actor process (loads the model once)."""

    def __init__(self, config: WorkerConfig) -> None:
        self.worker = AvatarWorker(config)

    def run(self, job: AvatarJob) -> JobResult:
        return self.worker.run(job)


class RayExecutor:
    """Runs :class:`AvatarJob` s on ``workers`` Ray actors with a bounded number of queued tasks."""

    def __init__(
        self,
        config: WorkerConfig,
        workers: int,
        address: str | None = None,
        in_flight: int | None = None,
    ) -> None:
        if workers < 1:
            raise BatchError(f"a Ray run needs at least one worker, got {workers}")
        self.config = config
        self.workers = workers
        self.address = address
        self.in_flight = in_flight or TASKS_PER_ACTOR * workers
        self._ray: Any = None
        self._started_ray = False
        self._actors: list[Any] = []

    def __enter__(self) -> RayExecutor:
        try:
            import ray
        except ImportError:  # pragma: no cover - ray is a pinned dependency
            raise BatchError("--ray needs the `ray` package: pip install 'ray[default]'") from None
        self._ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                "configure_logging": False,
            }
            if self.address is None:
                options.update(num_cpus=self.workers, object_store_memory=128 * 1024 * 1024)
            else:
                options["address"] = self.address
            try:
                ray.init(**options)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = self.address or "a local Ray instance"
                raise BatchError(f"cannot start or reach {where}: {exc}") from None
            self._started_ray = True
        actor_class = ray.remote(num_cpus=1)(RayAvatarActor)
        self._actors = [actor_class.remote(self.config) for _ in range(self.workers)]
        return self

    def __exit__(self, *exc_info: object) -> None:
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def map_unordered(self, jobs: Iterable[AvatarJob]) -> Iterator[JobResult]:
        """Run ``jobs`` (consumed lazily) and yield results in completion order."""
        ray = self._ray
        if ray is None or not self._actors:
            raise RuntimeError("RayExecutor is used outside its `with` block")
        load = dict.fromkeys(range(len(self._actors)), 0)
        pending: dict[Any, int] = {}  # object ref -> actor number
        source = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.in_flight:
                job = next(source, None)
                if job is None:
                    exhausted = True
                    break
                actor = min(load, key=load.__getitem__)
                pending[self._actors[actor].run.remote(job)] = actor
                load[actor] += 1
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                load[pending.pop(ref)] -= 1
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    # Re-raise the worker's own exception (a MeshAvatarError stays one).
                    raise exc.as_instanceof_cause() from None

"""Run batch jobs on this machine: a pool of worker processes with a bounded queue of jobs.

At most ``in_flight`` jobs are submitted at any time and results are handed back as they finish,
so memory does not grow with the number of avatars. Worker processes start with the
``forkserver`` method (``spawn`` where it is missing): forking a process that already runs torch
threads is fragile. ``workers=0`` runs every job in the calling process (for debugging).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from mesh_avatar.batch.plan import AvatarJob, BatchError
from mesh_avatar.batch.worker import (
    AvatarWorker,
    JobResult,
    WorkerConfig,
    init_process,
    run_in_process,
)

logger = logging.getLogger(__name__)


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # Import torch and the worker code once in the fork server; workers fork from it cheaply.
        context.set_forkserver_preload(["mesh_avatar.batch.worker"])
        return context
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """Runs :class:`AvatarJob` s on ``workers`` local processes, each loading the model once.

    Use as a context manager; :meth:`map_unordered` yields a :class:`JobResult` per job.
    """

    def __init__(self, config: WorkerConfig, workers: int, in_flight: int | None = None) -> None:
        if workers < 0:
            raise BatchError(f"--workers must be 0 or more, got {workers}")
        self.config = config
        self.workers = workers
        self.in_flight = in_flight or max(2, 2 * workers)
        self._pool: ProcessPoolExecutor | None = None
        self._inline: AvatarWorker | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers == 0:
            self._inline = AvatarWorker(self.config)
        else:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_context(),
                initializer=init_process,
                initargs=(self.config, logging.getLogger().getEffectiveLevel()),
            )
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._pool = None
        self._inline = None

    def map_unordered(self, jobs: Iterable[AvatarJob]) -> Iterator[JobResult]:
        """Run ``jobs`` (consumed lazily) and yield results in completion order."""
        if self._inline is not None:
            for job in jobs:
                yield self._inline.run(job)
            return
        if self._pool is None:
            raise RuntimeError("LocalExecutor is used outside its `with` block")
        pending: set[Future[JobResult]] = set()
        source = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.in_flight:
                job = next(source, None)
                if job is None:
                    exhausted = True
                    break
                pending.add(self._pool.submit(run_in_process, job))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise BatchError(
                        "a worker process died (out of memory or killed?); finished avatars are "
                        "in the manifest: rerun the same command to resume"
                    ) from None
                yield result

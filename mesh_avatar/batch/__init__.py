"""Batch generation: thousands of avatars per run, on local worker processes or on Ray.

``run_batch(BatchSpec(n=..., seed=...), out_dir, workers=...)`` makes avatars ``0 .. n-1`` of a run;
avatar ``i`` has the same bytes whatever the worker count or backend, and a killed run resumes from
its manifest. See :mod:`mesh_avatar.batch.runner` for the output folder layout.
"""

from mesh_avatar.batch.plan import BatchError, BatchSpec
from mesh_avatar.batch.runner import BatchSummary, run_batch

__all__ = ["BatchError", "BatchSpec", "BatchSummary", "run_batch"]

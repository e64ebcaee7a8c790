"""Small tensor helpers shared by the render stages."""

from __future__ import annotations

import torch


def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` for an integer ``index`` of any shape, via ``index_select``.

    Same result as advanced indexing, but its backward pass is an ``index_add`` instead of an
    accumulating ``index_put`` (several times faster on CPU).

    Args:
        values: (R, ...) rows.
        index: (...) int64 row indices.

    Returns:
        (*index.shape, ...) gathered rows.
    """
    return values.index_select(0, index.reshape(-1)).reshape(*index.shape, *values.shape[1:])

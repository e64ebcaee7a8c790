"""ARKit blendshape rules shared by the prior sampler and the GAN generator."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def mouth_close_columns(names: Sequence[str]) -> tuple[int, int] | None:
    """``(mouthClose, jawOpen)`` column indices in ``names``, or None when either is missing."""
    names = list(names)
    if "mouthClose" in names and "jawOpen" in names:
        return names.index("mouthClose"), names.index("jawOpen")
    return None


def limit_mouth_close(expression: torch.Tensor, close: int, jaw: int) -> torch.Tensor:
    """(B, K) blendshape weights with column ``close`` limited to column ``jaw``.

    ARKit's ``mouthClose`` closes the lips of an open jaw; captured faces never have it above
    ``jawOpen``, and alone it pushes the lower lip up through the upper one (a shape a generator
    can otherwise use to fake subtle mouth changes).
    """
    limited = torch.minimum(expression[:, close], expression[:, jaw])
    return torch.cat([expression[:, :close], limited[:, None], expression[:, close + 1 :]], dim=1)

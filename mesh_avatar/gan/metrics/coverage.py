"""Per-mixture-component coverage: does the generator produce every cluster of the population?"""

from __future__ import annotations

import numpy as np


def component_coverage(
    real_labels: np.ndarray,
    fake_labels: np.ndarray,
    names: list[str],
    min_share_ratio: float = 0.25,
) -> dict[str, object]:
    """Compare how often each component appears among real and generated samples.

    Args:
        real_labels: (N,) component index of each real sample (-1: none).
        fake_labels: (M,) component assigned to each generated sample.
        names: component names, index order.
        min_share_ratio: a component counts as covered when its generated share is at least this
            fraction of its real share.

    Returns:
        {"components": {name: {"real_share", "generated_share", "covered"}}, "all_covered": bool}
    """
    out: dict[str, dict[str, float | bool]] = {}
    for index, name in enumerate(names):
        real_share = float(np.mean(real_labels == index)) if len(real_labels) else 0.0
        fake_share = float(np.mean(fake_labels == index)) if len(fake_labels) else 0.0
        covered = real_share == 0.0 or fake_share >= min_share_ratio * real_share
        out[name] = {"real_share": real_share, "generated_share": fake_share, "covered": covered}
    return {"components": out, "all_covered": all(v["covered"] for v in out.values())}

"""Build the embedded default head model (``data/default_head.npz``) deterministically from code.

    python -m mesh_avatar.morphable.default_builder --out data/default_head.npz

The same code on the same numpy always gives the same bytes (a test rebuilds and compares). The
pieces: :mod:`head_sdf` (the sculpt), :mod:`head_mesh` (topology, rays, UVs, eyeballs),
:mod:`head_regions` (regions, landmarks, jaw weights), :mod:`head_identity`,
:mod:`head_expression` and :mod:`head_albedo` (the three bases).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES, MorphableModelData
from mesh_avatar.morphable.head_albedo import albedo_basis, mean_albedo
from mesh_avatar.morphable.head_expression import expression_basis
from mesh_avatar.morphable.head_identity import N_IDENTITY, identity_basis
from mesh_avatar.morphable.head_mesh import GridSpec, HeadTemplate, build_template
from mesh_avatar.morphable.head_regions import HeadAnatomy, analyse, landmark_indices, region_masks
from mesh_avatar.morphable.npz_format import model_to_bytes

logger = logging.getLogger(__name__)

#: Arrays stored at half precision in the shipped file.
FLOAT16_ARRAYS = ("identity_basis", "expression_basis", "albedo_basis", "albedo_mean")

LICENSE = "MIT (generated procedurally by mesh-avatar; no scanned or third-party data)"
DESCRIPTION = (
    "mesh-avatar default head: a procedurally sculpted head and neck (signed-distance primitives "
    "meshed on a fixed ring grid) with separate eyeballs, a mouth line that opens, 50 identity "
    "directions (named semantic ones first), the 52 ARKit blendshapes and a UV albedo model."
)


@dataclass(frozen=True)
class BuildConfig:
    """Resolution of the default model."""

    grid: GridSpec = field(default_factory=GridSpec)
    n_identity: int = N_IDENTITY
    albedo_size: int = 1024
    albedo_basis_size: int = 256

    def __post_init__(self) -> None:
        if self.n_identity < 1 or self.albedo_size < 16 or self.albedo_basis_size < 4:
            raise ValueError("BuildConfig sizes must be positive (albedo >= 16 px)")


@dataclass(frozen=True)
class BuiltHead:
    """The model data plus the builder's intermediate facts (useful to tests and tools)."""

    data: MorphableModelData
    template: HeadTemplate
    anatomy: HeadAnatomy


def build_default_head(config: BuildConfig = BuildConfig()) -> BuiltHead:
    """Build the default model's arrays (float32/int32, before half-precision storage)."""
    logger.info("meshing the sculpt")
    template = build_template(config.grid)
    anatomy = analyse(template)
    logger.info("identity basis")
    id_basis, id_std, id_names = identity_basis(template, anatomy, config.n_identity)
    logger.info("expression basis")
    expressions = expression_basis(template, anatomy)
    logger.info("albedo model")
    albedo = mean_albedo(template, anatomy, config.albedo_size)
    alb_basis, alb_std, alb_names = albedo_basis(template, anatomy, config.albedo_basis_size)
    data = MorphableModelData(
        name="default",
        license=LICENSE,
        vertices=template.vertices.astype(np.float32),
        faces=template.faces.astype(np.int32),
        uvs=template.uvs.astype(np.float32),
        face_uvs=template.face_uvs.astype(np.int32),
        identity_basis=id_basis.astype(np.float32),
        identity_std=id_std.astype(np.float32),
        identity_names=id_names,
        expression_basis=expressions.astype(np.float32),
        expression_std=np.ones(len(ARKIT_BLENDSHAPES), np.float32),
        expression_names=list(ARKIT_BLENDSHAPES),
        expression_kind="blendshape",
        albedo_space="uv",
        albedo_mean=albedo.astype(np.float32),
        albedo_basis=alb_basis.astype(np.float32),
        albedo_std=alb_std.astype(np.float32),
        albedo_names=alb_names,
        landmarks=landmark_indices(template, anatomy),
        regions=region_masks(template, anatomy),
        description=DESCRIPTION,
    )
    return BuiltHead(data=data.validate("default head"), template=template, anatomy=anatomy)


def default_head_bytes(config: BuildConfig = BuildConfig()) -> bytes:
    """The exact bytes of ``data/default_head.npz``."""
    return model_to_bytes(build_default_head(config).data, float16=FLOAT16_ARRAYS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/default_head.npz"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from mesh_avatar.io import atomic_write_bytes

    payload = default_head_bytes()
    atomic_write_bytes(args.out, payload)
    logger.info("wrote %s (%.2f MB)", args.out, len(payload) / 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())

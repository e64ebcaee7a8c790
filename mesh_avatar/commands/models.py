"""``mesh-avatar models``: which morphable models can be used, and where their files come from."""

from __future__ import annotations

import argparse
import logging
import textwrap
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """A model format the project reads from files the user supplies."""

    spec: str
    name: str
    files: str
    source: str
    license: str


SOURCES: tuple[ModelSource, ...] = (
    ModelSource(
        spec="ict:PATH",
        name="ICT Face Model Light (ICT-FaceKit)",
        files="PATH = the ICT-FaceKit checkout or its FaceXModel/ folder "
        "(generic_neutral_mesh.obj, identity###.obj, the expression OBJs, vertex_indices.json)",
        source="https://github.com/ICT-VGL/ICT-FaceKit",
        license="MIT; mesh-avatar adds a procedural albedo (ICT Light has none)",
    ),
    ModelSource(
        spec="bfm:PATH",
        name="Basel Face Model 2009 / 2017",
        files="PATH = PublicMM1/01_MorphableModel.mat (2009) or model2017-1_bfm_nomouth.h5 / "
        "model2017-1_face12_nomouth.h5 (2017)",
        source="https://faces.dmi.unibas.ch/bfm/ (registration required)",
        license="University of Basel licence: non-commercial research only; do not redistribute",
    ),
    ModelSource(
        spec="flame:PATH",
        name="FLAME 2020",
        files="PATH = generic_model.pkl or its folder; FLAME_texture.npz (texture space) and "
        "FLAME_masks.pkl (vertex masks) beside it are used when present",
        source="https://flame.is.tue.mpg.de/ (registration required)",
        license="MPI-IS FLAME licence: non-commercial scientific research; do not redistribute",
    ),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the morphable models and how to use your own model files",
        description="List the embedded default model and the public 3DMM formats mesh-avatar "
        "reads (ICT-FaceKit, BFM, FLAME): the --model spec, the files, where to get them and "
        "their licence. With --check SPEC, load a model and summarise it.",
    )
    parser.add_argument(
        "--check", metavar="SPEC", help="load this model spec and print what it contains"
    )
    parser.set_defaults(func=run)


def describe_sources() -> str:
    """The text listing the default model and the readable formats."""
    from mesh_avatar.morphable.loading import default_model_path

    default = default_model_path()
    state = "present" if default.is_file() else "MISSING (run `make default-model`)"
    lines = [
        "Morphable models (pass one with --model SPEC wherever a command takes a model):",
        "",
        "  default      the embedded default head, built by mesh-avatar (no third-party data)",
        f"               {default} [{state}]",
        "  PATH.npz     a model file in mesh-avatar's own format",
    ]
    for source in SOURCES:
        lines.append(f"  {source.spec:<12} {source.name}")
        for label, text in (
            ("files:", source.files),
            ("get it:", source.source),
            ("licence:", source.license),
        ):
            lines.append(
                textwrap.fill(
                    text,
                    width=100,
                    initial_indent=f"{'':15}{label:<9}",
                    subsequent_indent=" " * 24,
                )
            )
    lines += [
        "",
        "Third-party model files are never downloaded or shipped by mesh-avatar; see "
        "docs/MODELS.md.",
    ]
    return "\n".join(lines)


def summarise(spec: str) -> str:
    """Load ``spec`` and describe it in a few lines (raises ModelFileError on bad files)."""
    from mesh_avatar.morphable.loading import read_model_data

    started = time.perf_counter()
    data = read_model_data(spec)
    seconds = time.perf_counter() - started
    low, high = data.vertices.min(axis=0), data.vertices.max(axis=0)
    size = " x ".join(f"{extent:.3f}" for extent in high - low)
    albedo = (
        f"UV texture {data.albedo_mean.shape[1]}x{data.albedo_mean.shape[0]}"
        if data.albedo_space == "uv"
        else "per-vertex colour"
    )
    lines = [
        f"{spec}: {data.name} (read in {seconds:.1f} s)",
        f"  mesh:        {data.n_vertices} vertices, {len(data.faces)} triangles, {size} m (x y z)",
        f"  identity:    {data.layout.n_identity} components",
        f"  expression:  {data.layout.n_expression} {data.expression_kind} components",
        f"  albedo:      {data.layout.n_albedo} components, {albedo}",
        f"  landmarks:   {len(data.landmarks) or 'none'}",
        f"  regions:     {', '.join(sorted(data.regions)) or 'none'}",
        f"  licence:     {data.license}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    print(summarise(args.check) if args.check else describe_sources())  # noqa: T201
    return 0

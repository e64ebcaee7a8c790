"""``mesh-avatar export``: write a saved params file as GLB / glTF / OBJ (with LODs)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_avatar.commands.options import (
    FORMATS,
    add_export_options,
    add_model_option,
)

if TYPE_CHECKING:
    from mesh_avatar.params import AvatarParams

log = logging.getLogger(__name__)

PARAMS_SUFFIXES = (".params.json", ".params.npz", ".json", ".npz", ".glb", ".gltf")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a saved params file (.json/.npz) as GLB, glTF or OBJ",
        description="Decode the coefficients in PARAMS with the morphable model and write the "
        "avatar. --out is a folder (files are named after PARAMS) or a file name ending in "
        ".glb, .gltf or .obj (its suffix is the format unless --format says otherwise).",
    )
    parser.add_argument(
        "params",
        type=Path,
        metavar="PARAMS",
        help="params file (.json or .npz), or a GLB/glTF written by mesh-avatar (its coefficients)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."), metavar="PATH", help="output folder or file"
    )
    add_model_option(parser)
    add_export_options(parser, default_formats="glb")
    parser.set_defaults(formats=None)
    extra = parser.add_argument_group("glTF")
    extra.add_argument(
        "--morph-target-names",
        choices=("arkit", "lr"),
        default="arkit",
        help="arkit: eyeBlinkLeft; lr: eyeBlink_L (default arkit)",
    )
    extra.add_argument(
        "--sparse-morph-targets",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="store only the vertices each morph target moves (default); "
        "--no-sparse-morph-targets writes dense accessors",
    )
    extra.add_argument(
        "--morph-normals", action="store_true", help="also write normal deltas per morph target"
    )
    extra.add_argument("--no-skeleton", action="store_true", help="no head skeleton or skin")
    parser.set_defaults(func=run)


def output_place(params_path: Path, out: Path) -> tuple[Path, str, str | None]:
    """(folder, file stem, format implied by the name or None) for ``--out``."""
    suffix = out.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return out.parent, out.stem, suffix
    name = params_path.name
    for ending in PARAMS_SUFFIXES:
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    return out, name or "avatar", None


def load_params(path: Path) -> AvatarParams:
    """Coefficients from a params file, or from the metadata of a GLB/glTF this tool wrote."""
    from mesh_avatar.params import AvatarParams

    if path.suffix.lower() not in (".glb", ".gltf"):
        return AvatarParams.load(path)
    from mesh_avatar.errors import ParamsError
    from mesh_avatar.export.gltf import read_metadata

    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    coefficients = read_metadata(path.read_bytes()).get("coefficients")
    if not isinstance(coefficients, dict):
        raise ParamsError(f"{path}: no coefficients in asset.extras (not written by mesh-avatar?)")
    return AvatarParams.from_numpy(coefficients, source=str(path))


def run(args: argparse.Namespace) -> int:
    from mesh_avatar.avatar import build_avatar_mesh
    from mesh_avatar.export import ExportOptions, export_avatar
    from mesh_avatar.io import ensure_writable_dir
    from mesh_avatar.morphable import load_model

    options = ExportOptions(
        texture_size=args.texture_size,
        texture_format=args.texture_format,
        lods=args.lod,
        morph_target_names=args.morph_target_names,
        sparse_morph_targets=args.sparse_morph_targets,
        morph_normals=args.morph_normals,
        skeleton=not args.no_skeleton,
    )
    params = load_params(args.params)
    folder, stem, implied = output_place(args.params, args.out)
    formats = args.formats or ((implied,) if implied else ("glb",))
    model = load_model(args.model)
    params.validate(model.layout, model.param_ranges, source=str(args.params))
    folder = ensure_writable_dir(folder)
    written = []
    for index in range(params.batch_size):
        one = params.select(slice(index, index + 1))
        name = stem if params.batch_size == 1 else f"{stem}_{index:05d}"
        metadata = {"params_file": args.params.name, "model_spec": args.model}
        if params.batch_size > 1:
            metadata["params_index"] = index
        mesh = build_avatar_mesh(model, one, args.texture_size, metadata=metadata)
        written += export_avatar(mesh, folder, name, formats, options)
        target = folder / f"{name}.params.json"
        if target.resolve() != args.params.resolve():
            written.append(one.save(target))
    log.info("wrote %s", ", ".join(str(p) for p in written))
    print(f"{len(written)} file(s) written to {folder.resolve()}")  # noqa: T201
    return 0

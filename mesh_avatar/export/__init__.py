"""Exporters: an AvatarMesh to GLB, glTF (+ .bin + texture) and OBJ (+ MTL + PNG).

    from mesh_avatar.export import ExportOptions, export_avatar
    paths = export_avatar(mesh, "out", "avatar_00000", ("glb", "obj"), ExportOptions(lods=(0, 1, 2)))

:func:`export_files` serialises to bytes (nothing touches the disk); :func:`export_avatar` writes
those bytes atomically. File names: ``<stem>.glb`` for level of detail 0, ``<stem>_lod1.glb`` for
level 1, ...; a texture (``<stem>_albedo.jpg``/``.png``) and an MTL are shared by the levels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mesh_avatar.errors import ExportError
from mesh_avatar.export.gltf import glb_bytes, gltf_files, texture_image
from mesh_avatar.export.lod import lod_mesh
from mesh_avatar.export.obj import obj_files
from mesh_avatar.export.options import FORMATS, LOD_RATIOS, ExportOptions, check_formats
from mesh_avatar.export.textures import EncodedImage
from mesh_avatar.io import atomic_write_files
from mesh_avatar.mesh import AvatarMesh

__all__ = [
    "FORMATS",
    "LOD_RATIOS",
    "ExportOptions",
    "ExportedFile",
    "export_avatar",
    "export_files",
]


@dataclass(frozen=True)
class ExportedFile:
    """One file of an export, not yet written.

    Attributes:
        name: file name (no folder).
        kind: ``glb``, ``gltf``, ``gltf-bin``, ``obj``, ``mtl`` or ``texture``.
        data: the bytes.
        lod: level of detail of a mesh file (``None`` for files the levels share).
        triangles: triangle count of a mesh file (``glb``, ``gltf``, ``obj``), else ``None``.
    """

    name: str
    kind: str
    data: bytes
    lod: int | None = None
    triangles: int | None = None


def lod_stem(stem: str, level: int) -> str:
    return stem if level == 0 else f"{stem}_lod{level}"


def check_stem(stem: str) -> str:
    """A file stem must be a plain, non-empty name (no folders)."""
    if not isinstance(stem, str) or not stem.strip() or stem in (".", ".."):
        raise ExportError(f"invalid output file name {stem!r}")
    if any(sep in stem for sep in ("/", "\\", "\0")):
        raise ExportError(f"output file name {stem!r} must not contain a folder separator")
    return stem


def export_files(
    mesh: AvatarMesh,
    stem: str,
    formats: Iterable[str] | str = ("glb",),
    options: ExportOptions | None = None,
) -> list[ExportedFile]:
    """Serialise ``mesh`` in every format and level of detail; nothing is written.

    For each format (in the order given) and each level in ``options.lods``, the mesh file comes
    first, followed by the files it references that were not listed yet.

    Raises:
        ExportError: unknown format, bad stem, or a mesh that fails validation.
    """
    options = options or ExportOptions()
    if not isinstance(options, ExportOptions):
        raise ExportError(f"options must be ExportOptions, got {type(options).__name__}")
    fmts = check_formats(formats)
    check_stem(stem)
    mesh.validate()
    images: dict[str, EncodedImage] = {}

    def image(fmt: str) -> EncodedImage:
        if fmt not in images:
            images[fmt] = texture_image(mesh, options, fmt)
        return images[fmt]

    out: dict[str, ExportedFile] = {}

    def add(item: ExportedFile) -> None:
        previous = out.get(item.name)
        if previous is not None and previous.data != item.data:
            raise RuntimeError(f"two different files named {item.name}")  # a bug, not user input
        out.setdefault(item.name, item)

    for fmt in fmts:
        for level in options.lods:
            lod = lod_mesh(mesh, level)
            writer = _WRITERS[fmt]
            for item in writer(lod, stem, level, options, image):
                add(item)
    return list(out.values())


def export_avatar(
    mesh: AvatarMesh,
    out_dir: str | os.PathLike[str],
    stem: str,
    formats: Iterable[str] | str = ("glb",),
    options: ExportOptions | None = None,
) -> list[Path]:
    """Write ``mesh`` into ``out_dir`` in every format and level of detail, each file atomically.

    Returns:
        The written paths, in the order of :func:`export_files` (the first format's level-0 mesh
        file first).
    """
    files = export_files(mesh, stem, formats, options)
    return atomic_write_files(out_dir, {item.name: item.data for item in files})


# ------------------------------------------------------------------------------------ writers
ImageSource = Callable[[str], EncodedImage]


def _glb(
    mesh: AvatarMesh, stem: str, level: int, options: ExportOptions, image: ImageSource
) -> list[ExportedFile]:
    data = glb_bytes(mesh, options, image(options.texture_format))
    return [ExportedFile(f"{lod_stem(stem, level)}.glb", "glb", data, level, mesh.n_faces)]


def _gltf(
    mesh: AvatarMesh, stem: str, level: int, options: ExportOptions, image: ImageSource
) -> list[ExportedFile]:
    encoded = image(options.texture_format)
    name = lod_stem(stem, level)
    files = gltf_files(mesh, name, options, encoded, image_name=f"{stem}_albedo{encoded.suffix}")
    kinds = {f"{name}.gltf": "gltf", f"{name}.bin": "gltf-bin"}
    return [
        ExportedFile(
            file_name,
            kinds.get(file_name, "texture"),
            data,
            level if file_name in kinds else None,
            mesh.n_faces if kinds.get(file_name) == "gltf" else None,
        )
        for file_name, data in files.items()
    ]


def _obj(
    mesh: AvatarMesh, stem: str, level: int, options: ExportOptions, image: ImageSource
) -> list[ExportedFile]:
    name = lod_stem(stem, level)
    files = obj_files(mesh, name, image("png"), mtl_stem=stem)
    kinds = {f"{name}.obj": "obj", f"{stem}.mtl": "mtl"}
    return [
        ExportedFile(
            file_name,
            kinds.get(file_name, "texture"),
            data,
            level if file_name == f"{name}.obj" else None,
            mesh.n_faces if file_name == f"{name}.obj" else None,
        )
        for file_name, data in files.items()
    ]


_WRITERS = {"glb": _glb, "gltf": _gltf, "obj": _obj}

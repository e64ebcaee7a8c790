"""Wavefront OBJ + MTL + PNG texture from an AvatarMesh (a static mesh: expression baked in).

OBJ keeps positions and UVs indexed separately, exactly like AvatarMesh, so nothing is split:
``f v/vt/vn`` with ``vn`` indexed like ``v``. UVs keep the OBJ convention (origin bottom-left). The
avatar's metadata is written as one ``# mesh-avatar-metadata {json}`` comment line.
"""

from __future__ import annotations

import json

import numpy as np

from mesh_avatar import __version__
from mesh_avatar.export.textures import EncodedImage
from mesh_avatar.mesh import AvatarMesh

METADATA_PREFIX = "# mesh-avatar-metadata "


def _rows(fmt: str, array: np.ndarray) -> str:
    """Format every row of a 2-D array with ``fmt`` in one C-level % operation."""
    if len(array) == 0:
        return ""
    return (fmt * len(array)) % tuple(array.ravel().tolist())


def obj_text(mesh: AvatarMesh, mtl_name: str, material: str) -> bytes:
    """The OBJ file: posed vertices, UVs, normals, one material, 1-based ``f v/vt/vn``."""
    vertices = mesh.posed_vertices()
    normals = mesh.normals.astype(np.float64)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    corners = np.stack([mesh.faces + 1, mesh.face_uvs + 1, mesh.faces + 1], axis=-1)
    metadata = json.dumps(mesh.metadata, separators=(",", ":"), allow_nan=False)
    parts = [
        f"# mesh-avatar {__version__}: metres, +Y up, the face looks down +Z\n",
        f"{METADATA_PREFIX}{metadata}\n",
        f"mtllib {mtl_name}\n",
        "o avatar\n",
        _rows("v %.6f %.6f %.6f\n", vertices.astype(np.float64)),
        _rows("vt %.6f %.6f\n", mesh.uvs.astype(np.float64)),
        _rows("vn %.5f %.5f %.5f\n", normals),
        f"usemtl {material}\n",
        _rows("f %d/%d/%d %d/%d/%d %d/%d/%d\n", corners.reshape(len(mesh.faces), 9)),
    ]
    return "".join(parts).encode("ascii")


def mtl_text(material: str, texture_name: str) -> bytes:
    """A diffuse-textured, non-shiny material."""
    return (
        f"# mesh-avatar {__version__}\n"
        f"newmtl {material}\n"
        "Ka 1.000000 1.000000 1.000000\n"
        "Kd 1.000000 1.000000 1.000000\n"
        "Ks 0.000000 0.000000 0.000000\n"
        "Ns 10.000000\n"
        "d 1.000000\n"
        "illum 1\n"
        f"map_Kd {texture_name}\n"
    ).encode("ascii")


def obj_files(
    mesh: AvatarMesh,
    stem: str,
    image: EncodedImage,
    mtl_stem: str | None = None,
    image_name: str | None = None,
) -> dict[str, bytes]:
    """``<stem>.obj``, ``<mtl_stem>.mtl`` and the texture file, name -> bytes.

    ``mtl_stem`` and ``image_name`` let several levels of detail share one material and texture.
    """
    mtl_stem = mtl_stem or stem
    image_name = image_name or f"{mtl_stem}_albedo{image.suffix}"
    material = "avatar_skin"
    return {
        f"{stem}.obj": obj_text(mesh, f"{mtl_stem}.mtl", material),
        f"{mtl_stem}.mtl": mtl_text(material, image_name),
        image_name: image.data,
    }

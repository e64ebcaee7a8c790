"""Reader for the ICT-FaceKit "ICT Face Model Light" folder (MIT licence).

Layout (``PATH`` is the folder holding ``FaceXModel/`` or ``FaceXModel`` itself)::

    FaceXModel/generic_neutral_mesh.obj     neutral head, centimetres, quads and triangles
    FaceXModel/identity000.obj ...          neutral + one identity PCA mode * its std (any number)
    FaceXModel/<expression>.obj             neutral + one blendshape at weight 1, names listed in
    FaceXModel/vertex_indices.json          ["expressions"]; also 68 landmarks

What the reader does:

* keeps the geometry a VR head needs: face, head and neck, mouth socket, eye sockets, gums and
  tongue, teeth and the outer eyeballs; it drops the helper meshes made for Unreal's eye shaders
  (lacrimal fluid, eye blend, eye occlusion), the eyelash strips (they need alpha textures) and the
  inner iris spheres (hidden inside the eyeballs once the eyeballs are opaque);
* fan-triangulates the quads in their written (counter-clockwise, outward) order, converts
  centimetres to metres;
* identity: each ``identity###.obj`` minus the neutral is ``std_k * u_k``. Over the full ICT mesh
  the ``u_k`` are orthonormal, but not over the kept vertices (the dropped helper meshes carry part
  of each mode), so the kept deltas are replaced by their principal axes: the same Gaussian shape
  distribution, with orthonormal directions and their standard deviations (see
  :func:`~mesh_avatar.morphable.reader_common.orthonormal_basis`); identity coefficient ``j`` is
  therefore not ICT's coefficient ``j``;
* expressions: ICT's names (``eyeBlink_L``) become ARKit names (``eyeBlinkLeft``); ICT splits two
  ARKit shapes into halves (``browInnerUp_L``/``_R``, ``cheekPuff_L``/``_R``), which are summed into
  ARKit's ``browInnerUp`` and ``cheekPuff``; ICT has no ``tongueOut``. Result: 51 of the 52 ARKit
  blendshapes, in ARKit order;
* the ICT model has no albedo, so a procedural one is painted on its UV layout
  (:mod:`~mesh_avatar.morphable.synthetic_albedo`) after packing ICT's UV tiles (face, back of head,
  gums, teeth, eyes; u in [0, 7]) into one square atlas;
* landmarks from ``idx_to_landmark_verts``; region masks from ICT's vertex ranges and landmarks.

Parsing is vectorised (about 15 ms per OBJ); the result is cached in-process by the files' names,
sizes and modification times, so loading the same folder twice is cheap. Nothing is written to the
user's folder.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from pathlib import Path

import numpy as np

from mesh_avatar.errors import ModelFileError
from mesh_avatar.export.topology import MemoCache
from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES, MorphableModelData
from mesh_avatar.morphable.obj_reader import ObjMesh, read_obj, read_obj_vertices
from mesh_avatar.morphable.reader_common import orthonormal_basis, outward_winding
from mesh_avatar.morphable.synthetic_albedo import (
    Material,
    PaintSurface,
    inside_polygon_xy,
    paint_albedo,
)

log = logging.getLogger(__name__)

LICENSE = (
    "MIT (ICT-FaceKit, USC Institute for Creative Technologies); procedural albedo: mesh-avatar"
)
NEUTRAL_FILE = "generic_neutral_mesh.obj"
INDEX_FILE = "vertex_indices.json"
CENTIMETRE = 0.01
#: Texture sizes of the procedural albedo: mean map and (upsampled) components.
MEAN_TEXTURE_SIZE = 1024
BASIS_TEXTURE_SIZE = 256

#: Vertex ranges [first, last + 1) of the ICT Face Model's parts (ICT-FaceKit README).
ICT_PARTS: dict[str, tuple[int, int]] = {
    "face": (0, 9409),
    "head_and_neck": (9409, 11248),
    "mouth_socket": (11248, 13294),
    "eye_socket_left": (13294, 13678),
    "eye_socket_right": (13678, 14062),
    "gums_and_tongue": (14062, 17039),
    "teeth": (17039, 21451),
    "sclera_left": (21451, 22221),
    "iris_left": (22221, 23021),
    "sclera_right": (23021, 23791),
    "iris_right": (23791, 24591),
    "lacrimal_fluid_left": (24591, 24795),
    "lacrimal_fluid_right": (24795, 24999),
    "eye_blend_left": (24999, 25023),
    "eye_blend_right": (25023, 25047),
    "eye_occlusion_left": (25047, 25199),
    "eye_occlusion_right": (25199, 25351),
    "eyelashes_left": (25351, 26035),
    "eyelashes_right": (26035, 26719),
}
ICT_VERTEX_COUNT = 26719
#: ICT's "narrow face area": the front of the face without forehead sides, ears and neck.
NARROW_FACE = (0, 6706)

#: Kept parts and how their triangles are painted.
KEPT_PARTS: dict[str, Material] = {
    "face": Material.SKIN,
    "head_and_neck": Material.SCALP,
    "mouth_socket": Material.MOUTH,
    "eye_socket_left": Material.EYE_SOCKET,
    "eye_socket_right": Material.EYE_SOCKET,
    "gums_and_tongue": Material.GUMS,
    "teeth": Material.TEETH,
    "sclera_left": Material.SCLERA,
    "sclera_right": Material.SCLERA,
}

#: Atlas cell (u0, v0, side) of each ICT UV tile, chosen by the triangle's OBJ material.
_ATLAS: dict[str, tuple[float, float, float]] = {
    "M_Face": (0.0, 0.25, 0.75),
    "M_BackHead": (0.75, 0.75, 0.25),
    "M_GumsTongue": (0.75, 0.5, 0.25),
    "M_Teeth": (0.75, 0.25, 0.25),
    "M_ScleraLeft": (0.0, 0.0, 0.25),  # both eyes share one eye texture
    "M_ScleraRight": (0.0, 0.0, 0.25),
}
_ATLAS_MARGIN = 0.01  # fraction of a cell left free on each side

#: ICT expression names that are halves of one ARKit shape.
_MERGED_HALVES: dict[str, str] = {
    "browInnerUp_L": "browInnerUp",
    "browInnerUp_R": "browInnerUp",
    "cheekPuff_L": "cheekPuff",
    "cheekPuff_R": "cheekPuff",
}
_IDENTITY_FILE = re.compile(r"identity(\d+)\.obj$")

_CACHE: MemoCache[MorphableModelData] = MemoCache(maxsize=2)


def arkit_name(ict_name: str) -> str:
    """ICT's expression name in ARKit spelling: ``eyeBlink_L`` -> ``eyeBlinkLeft``."""
    if ict_name in _MERGED_HALVES:
        return _MERGED_HALVES[ict_name]
    for suffix, side in (("_L", "Left"), ("_R", "Right")):
        if ict_name.endswith(suffix):
            return ict_name[: -len(suffix)] + side
    return ict_name


def part_mask(*names: str) -> np.ndarray:
    """(26719,) bool mask of the ICT vertices in the named parts (keys of :data:`ICT_PARTS`)."""
    mask = np.zeros(ICT_VERTEX_COUNT, bool)
    for name in names:
        first, stop = ICT_PARTS[name]
        mask[first:stop] = True
    return mask


def find_model_folder(path: Path) -> Path:
    """The ``FaceXModel`` folder for ``path`` (the folder itself or its parent)."""
    path = Path(path).expanduser()
    for candidate in (path / "FaceXModel", path):
        if (candidate / NEUTRAL_FILE).is_file():
            return candidate
    if not path.exists():
        raise ModelFileError(f"{path}: no such ICT-FaceKit folder")
    raise ModelFileError(
        f"{path}: not an ICT-FaceKit folder (no FaceXModel/{NEUTRAL_FILE} in it or below it)"
    )


def read_ict_facekit(path: Path) -> MorphableModelData:
    """Read an ICT-FaceKit folder into :class:`MorphableModelData` (see the module docstring).

    Raises:
        ModelFileError: missing, truncated or inconsistent files, naming the file.
    """
    folder = find_model_folder(Path(path))
    index = _read_index(folder / INDEX_FILE)
    identity_files = _identity_files(folder)
    expression_files = [folder / f"{name}.obj" for name in index["expressions"]]
    for file in expression_files:
        if not file.is_file():
            raise ModelFileError(
                f"{file}: missing (expression {file.stem!r} is listed in {folder / INDEX_FILE})"
            )
    files = [folder / NEUTRAL_FILE, folder / INDEX_FILE, *identity_files, *expression_files]
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    key = (str(folder.resolve()), stamp)
    data = _CACHE.get(key, lambda: _build(folder, index, identity_files, expression_files))
    return copy.deepcopy(data)


# ---------------------------------------------------------------------------------- building
def _build(
    folder: Path, index: dict, identity_files: list[Path], expression_files: list[Path]
) -> MorphableModelData:
    started = time.perf_counter()
    neutral_file = folder / NEUTRAL_FILE
    mesh = read_obj(neutral_file)
    if len(mesh.vertices) != ICT_VERTEX_COUNT:
        raise ModelFileError(
            f"{neutral_file}: has {len(mesh.vertices)} vertices, expected {ICT_VERTEX_COUNT} "
            "(the ICT Face Model topology); truncated or a different model"
        )
    keep = part_mask(*KEPT_PARTS)
    new_index = np.cumsum(keep) - 1
    face_kept = keep[mesh.faces].all(axis=1)
    if (keep[mesh.faces].any(axis=1) & ~face_kept).any():
        raise ModelFileError(f"{neutral_file}: kept and dropped parts share triangles")
    neutral = mesh.vertices[keep] * CENTIMETRE
    faces = outward_winding(neutral, new_index[mesh.faces[face_kept]]).astype(np.int32)
    materials = np.asarray(mesh.materials)[mesh.polygon_material[mesh.face_polygon[face_kept]]]
    uvs, face_uvs = _pack_atlas(mesh, face_kept, materials, neutral_file)
    face_material = _face_materials(faces, keep)

    counts = (len(mesh.vertices), len(mesh.polygon_sizes))  # every OBJ has the same topology
    identity = np.zeros((len(identity_files), neutral.size))
    for k, file in enumerate(identity_files):
        identity[k] = (read_obj_vertices(file, *counts)[keep] * CENTIMETRE - neutral).reshape(-1)
    identity_basis, identity_std, rotated = orthonormal_basis(identity, folder, "identity")
    names, deltas = _expressions(index["expressions"], expression_files, counts, keep, neutral)

    landmarks = _landmarks(index, keep, new_index, folder / INDEX_FILE)
    jaw_open = deltas[names.index("jawOpen")] if "jawOpen" in names else None
    regions = _regions(neutral, keep, landmarks, jaw_open)
    albedo = paint_albedo(
        PaintSurface(
            vertices=neutral,
            faces=faces,
            uvs=uvs,
            face_uvs=face_uvs,
            face_material=face_material,
            landmarks=landmarks,
            ear=(regions["ear_left"] | regions["ear_right"]).astype(np.float32),
        ),
        mean_size=MEAN_TEXTURE_SIZE,
        basis_size=BASIS_TEXTURE_SIZE,
    )
    k_id = len(identity_basis)
    data = MorphableModelData(
        name="ict-facekit",
        license=LICENSE,
        vertices=neutral.astype(np.float32),
        faces=faces,
        uvs=uvs,
        face_uvs=face_uvs,
        identity_basis=identity_basis.reshape(k_id, len(neutral), 3),
        identity_std=identity_std,
        identity_names=[f"identity_{k:03d}" for k in range(k_id)],
        expression_basis=deltas.astype(np.float32),
        expression_std=np.ones(len(names), np.float32),
        expression_names=names,
        expression_kind="blendshape",
        albedo_space="uv",
        albedo_mean=albedo.mean,
        albedo_basis=albedo.basis,
        albedo_std=albedo.std,
        albedo_names=albedo.names,
        landmarks=landmarks,
        regions=regions,
        description=(
            f"ICT Face Model Light from {folder}: {k_id} identity modes"
            + (" (principal axes of the kept vertices)" if rotated else "")
            + f", {len(names)} ARKit blendshapes, procedural albedo"
        ),
    ).validate(str(folder))
    log.info(
        "read ICT-FaceKit %s: %d vertices, %d triangles, %d identity, %d expressions in %.1f s",
        folder,
        data.n_vertices,
        len(faces),
        k_id,
        len(names),
        time.perf_counter() - started,
    )
    return data


def _read_index(path: Path) -> dict:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing (it lists the expressions and landmarks)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(index, dict):
        raise ModelFileError(f"{path}: expected a JSON object")
    for key in ("expressions", "idx_to_landmark_verts"):
        value = index.get(key)
        if not isinstance(value, list) or not value:
            raise ModelFileError(f"{path}: {key!r} is missing or not a non-empty list")
    if not all(
        isinstance(name, str) and re.fullmatch(r"\w+", name) for name in index["expressions"]
    ):
        raise ModelFileError(f"{path}: 'expressions' must be a list of plain names")
    return index


def _identity_files(folder: Path) -> list[Path]:
    found = []
    for file in folder.iterdir():
        match = _IDENTITY_FILE.fullmatch(file.name)
        if match:
            found.append((int(match.group(1)), file))
    if not found:
        log.warning("%s: no identity###.obj files; the model has no identity components", folder)
    return [file for _, file in sorted(found)]


def _pack_atlas(
    mesh: ObjMesh, face_kept: np.ndarray, materials: np.ndarray, source: Path
) -> tuple[np.ndarray, np.ndarray]:
    """ICT's tiled UVs (u in [0, 7]) of the kept triangles -> one [0, 1] atlas.

    Returns:
        uvs (T, 2) float32 and face_uvs (F, 3) int32 (one UV per used (uv, cell) pair).
    """
    face_uvs = mesh.face_uvs[face_kept]
    if (face_uvs < 0).any():
        raise ModelFileError(f"{source}: some kept faces have no texture coordinates")
    unknown = sorted(set(materials) - set(_ATLAS))
    if unknown:
        raise ModelFileError(f"{source}: unexpected materials {unknown} on kept faces")
    cell = np.array([_ATLAS[m] for m in materials])  # (F, 3)
    tile = np.floor(mesh.uvs[face_uvs, 0].mean(axis=1))  # ICT tile index of each triangle
    local = mesh.uvs[face_uvs] - np.stack([tile, np.zeros_like(tile)], axis=1)[:, None, :]
    inner = cell[:, 2] * (1.0 - 2.0 * _ATLAS_MARGIN)
    origin = cell[:, :2] + (cell[:, 2] * _ATLAS_MARGIN)[:, None]
    packed = origin[:, None, :] + np.clip(local, 0.0, 1.0) * inner[:, None, None]  # (F, 3, 2)
    # one output uv per distinct (source uv, cell origin)
    cell_id = np.unique(cell[:, :2], axis=0, return_inverse=True)[1].reshape(-1)
    pair = face_uvs.astype(np.int64) * 16 + cell_id[:, None]
    _, first, inverse = np.unique(pair.ravel(), return_index=True, return_inverse=True)
    uvs = packed.reshape(-1, 2)[first]
    return uvs.astype(np.float32), inverse.reshape(-1, 3).astype(np.int32)


def _face_materials(faces: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(F,) Material of each kept triangle, from the part of its first vertex."""
    part_of = np.full(ICT_VERTEX_COUNT, -1, np.int64)
    for part, material in KEPT_PARTS.items():
        first, stop = ICT_PARTS[part]
        part_of[first:stop] = int(material)
    return part_of[keep][faces[:, 0]].astype(np.int8)


def _expressions(
    ict_names: list[str],
    files: list[Path],
    counts: tuple[int, int],
    keep: np.ndarray,
    neutral: np.ndarray,
) -> tuple[list[str], np.ndarray]:
    """ARKit-named (K, V, 3) deltas in ARKit order (ICT halves summed), then any other names."""
    summed: dict[str, np.ndarray] = {}
    for ict_name, file in zip(ict_names, files, strict=True):
        delta = read_obj_vertices(file, *counts)[keep] * CENTIMETRE - neutral
        name = arkit_name(ict_name)
        summed[name] = summed[name] + delta if name in summed else delta
    order = [name for name in ARKIT_BLENDSHAPES if name in summed]
    order += sorted(name for name in summed if name not in ARKIT_BLENDSHAPES)
    return order, np.stack([summed[name] for name in order])


def _landmarks(index: dict, keep: np.ndarray, new_index: np.ndarray, source: Path) -> np.ndarray:
    ids = np.asarray(index["idx_to_landmark_verts"])
    if ids.shape != (68,) or ids.dtype.kind not in "iu":
        raise ModelFileError(f"{source}: 'idx_to_landmark_verts' must hold 68 vertex indices")
    if ids.min() < 0 or ids.max() >= ICT_VERTEX_COUNT or not keep[ids].all():
        raise ModelFileError(f"{source}: 'idx_to_landmark_verts' indexes unknown vertices")
    return new_index[ids].astype(np.int32)


def _regions(
    vertices: np.ndarray, keep: np.ndarray, landmarks: np.ndarray, jaw_open: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Region masks of the kept ICT vertices (``keep``: (26719,) mask of the kept ones)."""

    def part(*names: str) -> np.ndarray:
        return part_mask(*names)[keep]

    lm = vertices[landmarks]
    skin = part("face") | part("head_and_neck")
    x, y, z = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    iod = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))
    neck = skin & (y < lm[8, 1] - 0.35 * iod)
    # Ears stick out behind the jaw line's top points (landmarks 0 and 16).
    ear_zone = (
        part("face")
        & (np.abs(x) > np.abs(lm[[0, 16], 0]).mean() - 0.02 * iod)
        & (z < lm[[0, 16], 2].mean() - 0.05 * iod)
        & (y > lm[[0, 16], 1].mean() - 0.9 * iod)
        & (y < lm[[0, 16], 1].mean() + 0.45 * iod)
    )
    narrow = np.zeros(ICT_VERTEX_COUNT, bool)
    narrow[NARROW_FACE[0] : NARROW_FACE[1]] = True
    face = narrow[keep] & ~neck
    eyes = {}
    for name, sclera, socket, ids in (
        ("eye_left", "sclera_left", "eye_socket_left", slice(42, 48)),
        ("eye_right", "sclera_right", "eye_socket_right", slice(36, 42)),
    ):
        centre = lm[ids].mean(0)
        near = part("face") & (np.linalg.norm(vertices - centre, axis=1) < 0.3 * iod)
        eyes[name] = part(sclera) | part(socket) | near
    lip_contour = lm[48:60]
    lips = (
        part("face")
        & inside_polygon_xy(vertices, lip_contour)
        & (np.abs(z - lip_contour[:, 2].mean()) < 0.35 * iod)
    )
    if jaw_open is not None:
        moved = np.linalg.norm(jaw_open, axis=1)
        jaw = moved > 0.25 * moved.max()
    else:
        jaw = skin & (y < lm[57, 1]) & ~neck
    scalp = skin & ~face & ~ear_zone & ~neck & (y > lm[[0, 16], 1].mean())
    return {
        "face": face,
        "scalp": scalp,
        "ear_left": ear_zone & (x > 0),
        "ear_right": ear_zone & (x < 0),
        "eye_left": eyes["eye_left"],
        "eye_right": eyes["eye_right"],
        "lips": lips,
        "neck": neck,
        "jaw": jaw,
    }

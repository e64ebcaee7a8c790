"""A small, fast Wavefront OBJ reader for morphable-model files (vertex order kept as written).

Only what 3DMM folders use: ``v`` positions, ``vt`` texture coordinates, ``f`` polygons (``v``,
``v/vt``, ``v//vn`` or ``v/vt/vn`` corners, 1-based or negative indices) and ``usemtl`` material
names. Polygons are fan-triangulated in their written order, which keeps their winding. Parsing is
vectorised over the file's text (numpy on the tokens), about 15 ms for a 27k-vertex file, so a model
made of dozens of OBJs loads in a second or two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesh_avatar.errors import ModelFileError

_VERTEX_LINE = re.compile(rb"^v[ \t]+([^\r\n]*)", re.MULTILINE)


@dataclass(frozen=True)
class ObjMesh:
    """The geometry of one OBJ file.

    Attributes:
        vertices: (V, 3) float64 positions in the file's units.
        uvs: (T, 2) float64 texture coordinates (empty when the file has none).
        faces: (F, 3) int64 0-based triangles (polygons fan-triangulated).
        face_uvs: (F, 3) int64 0-based indices into ``uvs``, or -1 where a corner has none.
        face_polygon: (F,) int64 index of the polygon (``f`` line) each triangle comes from.
        polygon_sizes: (P,) int64 corner count of each polygon.
        materials: material names (``usemtl``) in order of first use by a face; ``""`` for faces
            before any ``usemtl``.
        polygon_material: (P,) int64 index into ``materials``.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    face_uvs: np.ndarray
    face_polygon: np.ndarray
    polygon_sizes: np.ndarray
    materials: list[str]
    polygon_material: np.ndarray


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def parse_vertices(data: bytes, source: str | Path = "OBJ") -> np.ndarray:
    """Positions of the ``v`` lines of OBJ text.

    Args:
        data: the file's bytes.
        source: file name used in error messages.

    Returns:
        (V, 3) float64; extra columns (``w`` or vertex colours) are dropped.

    Raises:
        ModelFileError: no vertices, unequal column counts or text that is not a number.
    """
    block = _vertex_block(data)
    if block is not None:  # fast path: the "v" lines are one contiguous run
        lines = range(block.count(b"\n"))
        tokens = block.replace(b"\nv ", b"\n").split()
    else:
        found = _VERTEX_LINE.findall(data)
        lines = range(len(found))
        tokens = b" ".join(found).split()
    if not lines:
        raise ModelFileError(f"{source}: no vertex ('v') lines; not an OBJ file or truncated")
    if len(tokens) % len(lines):
        raise ModelFileError(
            f"{source}: vertex lines have different numbers of values (truncated file?)"
        )
    columns = len(tokens) // len(lines)
    if columns < 3:
        raise ModelFileError(f"{source}: vertex lines have {columns} values, expected 3")
    values = _floats(tokens, source, "vertex")
    return values.reshape(len(lines), columns)[:, :3].copy()


def _vertex_block(data: bytes) -> bytes | None:
    """The text from the first to the last ``v`` line (each prefixed by a newline), if every line in
    between is a ``v`` line; else None."""
    text = b"\n" + data
    first = text.find(b"\nv ")
    if first < 0:
        return None
    last = text.rfind(b"\nv ")
    end = text.find(b"\n", last + 1)
    block = text[first : end if end >= 0 else len(text)]
    if block.count(b"\n") != block.count(b"\nv ") or b"\r" in block:
        return None
    return block


def read_obj_vertices(
    path: Path, n_vertices: int | None = None, n_polygons: int | None = None
) -> np.ndarray:
    """(V, 3) float64 positions of the OBJ at ``path``.

    ``n_vertices`` / ``n_polygons``, when given, must match the file's ``v`` and ``f`` line counts
    (faces are only counted, not parsed: a cheap check that the file is complete).
    """
    data = read_bytes(path)
    vertices = parse_vertices(data, path)
    if n_vertices is not None and len(vertices) != n_vertices:
        raise ModelFileError(
            f"{path}: has {len(vertices)} vertices, expected {n_vertices} "
            "(truncated, or not the same topology as the neutral mesh)"
        )
    if n_polygons is not None:
        found = data.count(b"\nf ") + data.startswith(b"f ")
        if found != n_polygons:
            raise ModelFileError(
                f"{path}: has {found} faces, expected {n_polygons} "
                "(truncated, or not the same topology as the neutral mesh)"
            )
    return vertices


def read_obj(path: Path) -> ObjMesh:
    """Read positions, UVs, polygons and materials of the OBJ at ``path`` (see :class:`ObjMesh`)."""
    data = read_bytes(path)
    vertices = parse_vertices(data, path)
    uv_lines: list[bytes] = []
    face_lines: list[bytes] = []
    polygon_material: list[int] = []
    materials: dict[str, int] = {}
    current = ""
    for line in data.splitlines():
        head = line[:2]
        if head == b"vt":
            uv_lines.append(line[3:])
        elif head == b"f ":
            face_lines.append(line[2:])
            polygon_material.append(materials.setdefault(current, len(materials)))
        elif line.startswith(b"usemtl"):
            current = line[6:].strip().decode("utf-8", "replace")
    if not face_lines:
        raise ModelFileError(f"{path}: no face ('f') lines; truncated or not a mesh")
    uvs = _parse_uvs(uv_lines, path)
    corners_v, corners_t, sizes = _parse_faces(face_lines, len(vertices), len(uvs), path)
    faces, face_uvs, face_polygon = _fan_triangulate(corners_v, corners_t, sizes)
    return ObjMesh(
        vertices=vertices,
        uvs=uvs,
        faces=faces,
        face_uvs=face_uvs,
        face_polygon=face_polygon,
        polygon_sizes=sizes,
        materials=list(materials),
        polygon_material=np.asarray(polygon_material, np.int64),
    )


# ---------------------------------------------------------------------------------- internals
def _floats(tokens: list[bytes], source: str | Path, what: str) -> np.ndarray:
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError as exc:
        raise ModelFileError(f"{source}: a {what} line holds text that is not a number") from exc
    if not np.isfinite(values).all():
        raise ModelFileError(f"{source}: a {what} line holds NaN or infinite values")
    return values


def _parse_uvs(lines: list[bytes], source: Path) -> np.ndarray:
    if not lines:
        return np.zeros((0, 2))
    tokens = b" ".join(lines).split()
    if len(tokens) % len(lines):
        raise ModelFileError(f"{source}: texture-coordinate lines have different numbers of values")
    columns = len(tokens) // len(lines)
    if columns < 2:
        raise ModelFileError(f"{source}: texture-coordinate lines have fewer than 2 values")
    return _floats(tokens, source, "texture-coordinate").reshape(len(lines), columns)[:, :2].copy()


def _parse_faces(
    lines: list[bytes], n_vertices: int, n_uvs: int, source: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corner vertex and uv indices (0-based, uv -1 if absent) and polygon sizes."""
    sizes = np.fromiter((len(line.split()) for line in lines), np.int64, len(lines))
    if sizes.min() < 3:
        raise ModelFileError(f"{source}: a face has fewer than 3 corners")
    text = b" ".join(lines)
    first = lines[0].split()[0]
    fields = first.count(b"/") + 1
    if text.count(b"/") != (fields - 1) * int(sizes.sum()):
        raise ModelFileError(f"{source}: faces mix corner formats (v, v/vt, v/vt/vn, v//vn)")
    # "v//vn" has an empty vt field: mark it 0 (= absent) before splitting on "/".
    text = text.replace(b"//", b"/0/").replace(b"/", b" ")
    try:
        values = np.array(text.split(), dtype=np.int64)
    except ValueError as exc:
        raise ModelFileError(f"{source}: a face line holds text that is not an index") from exc
    if values.size != fields * int(sizes.sum()):
        raise ModelFileError(f"{source}: a face line is malformed")
    values = values.reshape(-1, fields)
    corners_v = _resolve(values[:, 0], n_vertices, source, "vertex")
    if fields >= 2 and n_uvs:
        absent = values[:, 1] == 0
        corners_t = _resolve(np.where(absent, 1, values[:, 1]), n_uvs, source, "texture")
        corners_t[absent] = -1
    else:
        corners_t = np.full(len(corners_v), -1, np.int64)
    return corners_v, corners_t, sizes


def _resolve(index: np.ndarray, count: int, source: Path, what: str) -> np.ndarray:
    """1-based or negative (relative to the end) OBJ indices -> 0-based, range-checked."""
    if (index == 0).any():
        raise ModelFileError(f"{source}: a face uses {what} index 0 (OBJ indices start at 1)")
    out = np.where(index > 0, index - 1, index + count)
    if out.min() < 0 or out.max() >= count:
        raise ModelFileError(
            f"{source}: a face uses a {what} index outside 1..{count} (truncated file?)"
        )
    return out


def _fan_triangulate(
    corners_v: np.ndarray, corners_t: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygon corners -> triangles (0, k, k+1) per polygon, keeping the written winding."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_tris = sizes - 2
    polygon = np.repeat(np.arange(len(sizes)), n_tris)
    # k runs 1 .. size-2 within each polygon
    k = np.arange(int(n_tris.sum())) - np.repeat(np.cumsum(n_tris) - n_tris, n_tris) + 1
    base = starts[polygon]
    corner = np.stack([base, base + k, base + k + 1], axis=1)
    return corners_v[corner], corners_t[corner], polygon

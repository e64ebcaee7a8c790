"""glTF 2.0 writer: GLB bytes, or .gltf + .bin + texture files, from an AvatarMesh.

What a file holds: one skinned mesh (POSITION, NORMAL, TEXCOORD_0, JOINTS_0, WEIGHTS_0, indices)
with a PBR metallic-roughness material whose baseColorTexture is the sRGB albedo; the expressions as
morph targets (POSITION deltas, optionally NORMAL deltas; dense or sparse) named in
``mesh.extras.targetNames``, with the avatar's own expression as the mesh's default ``weights``;
the head skeleton of :mod:`mesh_avatar.rig`; and the avatar's metadata in ``asset.extras``.

Little-endian buffers, every bufferView 4-byte aligned, min/max on every POSITION accessor (morph
targets included). Everything that depends only on the topology and the model's expression deltas
(split vertices, indices, UVs, morph-target buffers) is computed once and reused, so the work per
avatar is mostly positions, normals, skin and the texture encode.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesh_avatar import __version__
from mesh_avatar.errors import ExportError
from mesh_avatar.export.options import ExportOptions
from mesh_avatar.export.textures import EncodedImage, encode_texture, resize_texture
from mesh_avatar.export.topology import MemoCache, SplitTopology, array_digest, split_topology
from mesh_avatar.mesh import AvatarMesh, vertex_normals
from mesh_avatar.rig import (
    JOINT_NAMES,
    JOINT_PARENTS,
    eyeball_masks,
    inverse_bind_matrices,
    local_translations,
    skin_weights,
)

# glTF constants.
BYTE, UNSIGNED_BYTE, UNSIGNED_SHORT, UNSIGNED_INT, FLOAT = 5120, 5121, 5123, 5125, 5126
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
LINEAR, LINEAR_MIPMAP_LINEAR, CLAMP_TO_EDGE = 9729, 9987, 33071
COMPONENT_TYPES = {
    np.dtype(np.uint8): UNSIGNED_BYTE,
    np.dtype(np.uint16): UNSIGNED_SHORT,
    np.dtype(np.uint32): UNSIGNED_INT,
    np.dtype(np.float32): FLOAT,
}
ELEMENT_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}

GLB_MAGIC, GLB_VERSION = 0x46546C67, 2
CHUNK_JSON, CHUNK_BIN = 0x4E4F534A, 0x004E4942

MATERIAL_ROUGHNESS = 0.6


def morph_target_name(name: str, style: str) -> str:
    """``arkit`` keeps ``eyeBlinkLeft``; ``lr`` writes ``eyeBlink_L`` (suffix Left/Right -> _L/_R)."""
    if style == "lr":
        for suffix, short in (("Left", "_L"), ("Right", "_R")):
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)] + short
    return name


# ------------------------------------------------------------------------------- buffer builder
@dataclass
class BufferBuilder:
    """Collects bufferViews and accessors over one binary buffer (4-byte aligned views)."""

    chunks: list[bytes] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    accessors: list[dict[str, Any]] = field(default_factory=list)
    length: int = 0

    def add_view(self, data: bytes, target: int | None = None) -> int:
        pad = -self.length % 4
        if pad:
            self.chunks.append(b"\0" * pad)
            self.length += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.chunks.append(data)
        self.length += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def add_accessor(self, accessor: dict[str, Any]) -> int:
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_array(
        self,
        array: np.ndarray,
        target: int | None = None,
        bounds: bool = False,
        normalized: bool = False,
        data: bytes | None = None,
    ) -> int:
        """Add ``array`` (N,) or (N, C) as a view + accessor; ``bounds`` writes min/max."""
        width = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        view = self.add_view(data if data is not None else _le_bytes(array), target)
        accessor = {
            "bufferView": view,
            "componentType": COMPONENT_TYPES[array.dtype],
            "count": int(array.shape[0]),
            "type": ELEMENT_TYPES[width],
        }
        if normalized:
            accessor["normalized"] = True
        if bounds:
            accessor.update(_bounds(array.reshape(len(array), width)))
        return self.add_accessor(accessor)

    def binary(self) -> bytes:
        pad = -self.length % 4
        return b"".join([*self.chunks, b"\0" * pad])


def _le_bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _bounds(array: np.ndarray) -> dict[str, list[float]]:
    """min/max per component, as the exact values stored in the buffer."""
    if len(array) == 0:
        return {"min": [0.0] * array.shape[1], "max": [0.0] * array.shape[1]}
    lo, hi = array.min(axis=0), array.max(axis=0)
    if array.dtype.kind == "f":
        return {"min": [float(x) for x in lo], "max": [float(x) for x in hi]}
    return {"min": [int(x) for x in lo], "max": [int(x) for x in hi]}


# ----------------------------------------------------------------------- cached morph targets
@dataclass(frozen=True, eq=False)
class MorphTargetBlock:
    """Encoded morph-target POSITION deltas for one topology and one set of deltas.

    ``targets`` holds, per target, either ``("dense", bytes, bounds)``, ``("sparse", index_bytes,
    index_component_type, value_bytes, count, bounds)`` or ``("zero", bounds)``. ``source`` keeps
    the (M, V, 3) deltas it was built from to check that a later mesh has the same ones.
    """

    source: np.ndarray
    targets: tuple[tuple[Any, ...], ...]


_MORPH_BLOCKS: MemoCache[MorphTargetBlock] = MemoCache(maxsize=4)


def morph_target_block(
    split: SplitTopology, deltas: list[np.ndarray], sparse: bool
) -> MorphTargetBlock:
    """Encode the POSITION deltas of every morph target (cached: a model's avatars share them).

    The cache key holds a strided sample of the deltas; a hit is confirmed against the full
    arrays, so a different set of deltas is never served stale bytes.
    """
    sample = [d.reshape(-1)[::101] for d in deltas]
    key = (split.key, array_digest(*sample), sparse)
    cached = _MORPH_BLOCKS.get(key, lambda: _encode_morph_targets(split, deltas, sparse))
    if len(cached.source) == len(deltas) and all(
        np.array_equal(a, b) for a, b in zip(cached.source, deltas, strict=True)
    ):
        return cached
    return _MORPH_BLOCKS.put(key, _encode_morph_targets(split, deltas, sparse))


def _encode_morph_targets(
    split: SplitTopology, deltas: list[np.ndarray], sparse: bool
) -> MorphTargetBlock:
    targets = []
    for delta in deltas:
        values = np.ascontiguousarray(delta[split.vertex], np.float32)
        bounds = _bounds(values)
        if not sparse:
            targets.append(("dense", _le_bytes(values), bounds))
            continue
        moving = np.flatnonzero(np.any(values != 0.0, axis=1))
        if len(moving) == 0:
            targets.append(("zero", bounds))
            continue
        index_type = np.uint16 if split.n_vertices <= 65535 else np.uint32
        targets.append(
            (
                "sparse",
                _le_bytes(moving.astype(index_type)),
                COMPONENT_TYPES[np.dtype(index_type)],
                _le_bytes(values[moving]),
                len(moving),
                bounds,
            )
        )
    source = np.stack(deltas) if deltas else np.zeros((0, 0, 3), np.float32)
    return MorphTargetBlock(source, tuple(targets))


def _add_morph_targets(
    builder: BufferBuilder, block: MorphTargetBlock, count: int
) -> list[dict[str, int]]:
    out = []
    for target in block.targets:
        kind, bounds = target[0], target[-1]
        accessor: dict[str, Any] = {"componentType": FLOAT, "count": count, "type": "VEC3"}
        if kind == "dense":
            accessor["bufferView"] = builder.add_view(target[1], ARRAY_BUFFER)
        elif kind == "sparse":
            _, index_bytes, index_type, value_bytes, n, _ = target
            accessor["sparse"] = {
                "count": n,
                "indices": {
                    "bufferView": builder.add_view(index_bytes),
                    "componentType": index_type,
                },
                "values": {"bufferView": builder.add_view(value_bytes)},
            }
        accessor.update(bounds)
        out.append({"POSITION": builder.add_accessor(accessor)})
    return out


# ---------------------------------------------------------------------------------- assembly
def _unit(normals: np.ndarray) -> np.ndarray:
    n = normals.astype(np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-12, n / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    return n.astype(np.float32)


_EYEBALLS: MemoCache[dict[str, np.ndarray]] = MemoCache(maxsize=4)


def _skin_arrays(
    mesh: AvatarMesh, split: SplitTopology, weight_type: str
) -> tuple[np.ndarray, np.ndarray]:
    groups = mesh.vertex_groups
    key = (split.key, array_digest(*(groups[k] for k in sorted(groups))), tuple(sorted(groups)))
    eyeballs = _EYEBALLS.get(key, lambda: eyeball_masks(mesh.n_vertices, mesh.faces, groups))
    joint_ids, weights = skin_weights(mesh.vertices, mesh.faces, groups, mesh.joints, eyeballs)
    joint_ids, weights = joint_ids[split.vertex], weights[split.vertex]
    if weight_type == "float":
        return joint_ids, weights.astype(np.float32)
    quantized = np.rint(weights * 255.0).astype(np.int32)
    rows = np.arange(len(quantized))
    quantized[rows, quantized.argmax(axis=1)] += 255 - quantized.sum(axis=1)
    joint_ids = np.where(quantized == 0, 0, joint_ids).astype(np.uint8)
    return joint_ids, quantized.astype(np.uint8)


def _metadata(mesh: AvatarMesh) -> dict[str, Any]:
    extras = {"generator": f"mesh-avatar {__version__}"}
    extras.update(mesh.metadata)
    try:
        json.dumps(extras, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"avatar metadata cannot be written as JSON: {exc}") from None
    return extras


def build_gltf(
    mesh: AvatarMesh,
    options: ExportOptions,
    image: EncodedImage,
    image_uri: str | None = None,
    name: str = "avatar",
) -> tuple[dict[str, Any], bytes]:
    """The glTF JSON document and its binary buffer (the buffer's ``uri`` is left to the caller).

    Args:
        mesh: the avatar (validated by the caller).
        options: export options.
        image: the encoded baseColor texture.
        image_uri: reference the texture by this relative file name; ``None`` embeds it in the
            binary buffer (GLB).
        name: name of the mesh and its node.
    """
    split = split_topology(mesh.n_vertices, mesh.faces, mesh.uvs, mesh.face_uvs)
    n = split.n_vertices
    builder = BufferBuilder()
    indices = builder.add_array(split.indices, ELEMENT_ARRAY_BUFFER)
    positions = mesh.vertices[split.vertex].astype(np.float32)
    attributes = {"POSITION": builder.add_array(positions, ARRAY_BUFFER, bounds=True)}
    neutral_normals = None
    if options.morph_normals and mesh.morph_targets:
        neutral_normals = vertex_normals(mesh.vertices, mesh.faces)
        normals = neutral_normals
    else:
        normals = mesh.normals
    attributes["NORMAL"] = builder.add_array(_unit(normals[split.vertex]), ARRAY_BUFFER)
    attributes["TEXCOORD_0"] = builder.add_array(split.texcoords, ARRAY_BUFFER)
    if options.skeleton:
        joint_ids, weights = _skin_arrays(mesh, split, options.joint_weight_type)
        attributes["JOINTS_0"] = builder.add_array(joint_ids, ARRAY_BUFFER)
        attributes["WEIGHTS_0"] = builder.add_array(
            weights, ARRAY_BUFFER, normalized=weights.dtype == np.uint8
        )
    primitive: dict[str, Any] = {"attributes": attributes, "indices": indices, "material": 0}
    mesh_json: dict[str, Any] = {"name": name, "primitives": [primitive]}

    if mesh.morph_targets:
        deltas = list(mesh.morph_targets.values())
        block = morph_target_block(split, deltas, options.sparse_morph_targets)
        targets = _add_morph_targets(builder, block, n)
        if neutral_normals is not None:
            for target, delta in zip(targets, deltas, strict=True):
                moved = vertex_normals(mesh.vertices + delta, mesh.faces)
                normal_delta = (moved - neutral_normals)[split.vertex].astype(np.float32)
                target["NORMAL"] = builder.add_array(normal_delta, ARRAY_BUFFER)
        primitive["targets"] = targets
        mesh_json["weights"] = [float(w) for w in mesh.morph_weights]
        names = [morph_target_name(k, options.morph_target_names) for k in mesh.morph_targets]
        mesh_json["extras"] = {"targetNames": names}

    doc: dict[str, Any] = {
        "asset": {
            "version": "2.0",
            "generator": f"mesh-avatar {__version__}",
            "extras": _metadata(mesh),
        },
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0}],
        "meshes": [mesh_json],
        "materials": [
            {
                "name": f"{name}_skin",
                "pbrMetallicRoughness": {
                    "baseColorTexture": {"index": 0},
                    "metallicFactor": 0.0,
                    "roughnessFactor": MATERIAL_ROUGHNESS,
                },
            }
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [
            {
                "magFilter": LINEAR,
                "minFilter": LINEAR_MIPMAP_LINEAR,
                "wrapS": CLAMP_TO_EDGE,
                "wrapT": CLAMP_TO_EDGE,
            }
        ],
    }
    if options.skeleton:
        _add_skeleton(doc, builder, mesh)
    if image_uri is None:
        view = builder.add_view(image.data)
        doc["images"] = [
            {"name": f"{name}_albedo", "bufferView": view, "mimeType": image.mime_type}
        ]
    else:
        doc["images"] = [{"name": f"{name}_albedo", "uri": image_uri, "mimeType": image.mime_type}]
    binary = builder.binary()
    doc["accessors"] = builder.accessors
    doc["bufferViews"] = builder.views
    doc["buffers"] = [{"byteLength": len(binary)}]
    return doc, binary


def _add_skeleton(doc: dict[str, Any], builder: BufferBuilder, mesh: AvatarMesh) -> None:
    missing = [k for k in ("neck", "head", "eye_left", "eye_right", "jaw") if k not in mesh.joints]
    if missing:
        raise ExportError(f"the avatar has no joint position for {', '.join(missing)}")
    joints = {"root": np.zeros(3, np.float32), **mesh.joints}
    first = len(doc["nodes"])
    translations = local_translations(joints)
    for k, joint_name in enumerate(JOINT_NAMES):
        node: dict[str, Any] = {"name": joint_name}
        if np.any(translations[k]):
            node["translation"] = [float(x) for x in translations[k]]
        children = [first + c for c, p in enumerate(JOINT_PARENTS) if p == k]
        if children:
            node["children"] = children
        doc["nodes"].append(node)
    # Column-major, as glTF stores matrices.
    ibm = inverse_bind_matrices(joints).transpose(0, 2, 1).reshape(len(JOINT_NAMES), 16)
    view = builder.add_view(_le_bytes(np.ascontiguousarray(ibm, np.float32)))
    accessor = builder.add_accessor(
        {"bufferView": view, "componentType": FLOAT, "count": len(JOINT_NAMES), "type": "MAT4"}
    )
    doc["skins"] = [
        {
            "name": "head_rig",
            "inverseBindMatrices": accessor,
            "joints": list(range(first, first + len(JOINT_NAMES))),
            "skeleton": first,
        }
    ]
    doc["nodes"][0]["skin"] = 0
    doc["scenes"][0]["nodes"].append(first)


def _json_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")


def glb_from_parts(doc: dict[str, Any], binary: bytes) -> bytes:
    """Pack a glTF document and its binary buffer into GLB 2.0 (JSON chunk padded with spaces)."""
    json_chunk = _json_bytes(doc)
    json_chunk += b" " * (-len(json_chunk) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(binary)
    header = struct.pack("<III", GLB_MAGIC, GLB_VERSION, total)
    return b"".join(
        [
            header,
            struct.pack("<II", len(json_chunk), CHUNK_JSON),
            json_chunk,
            struct.pack("<II", len(binary), CHUNK_BIN),
            binary,
        ]
    )


def texture_image(mesh: AvatarMesh, options: ExportOptions, fmt: str | None = None) -> EncodedImage:
    """The mesh's texture resized to ``options.texture_size`` and encoded."""
    pixels = resize_texture(mesh.texture, options.texture_size)
    return encode_texture(pixels, fmt or options.texture_format, options.jpeg_quality)


def glb_bytes(
    mesh: AvatarMesh, options: ExportOptions | None = None, image: EncodedImage | None = None
) -> bytes:
    """One avatar as a GLB file (bytes). ``image`` reuses an already encoded texture."""
    options = options or ExportOptions()
    image = image or texture_image(mesh, options)
    doc, binary = build_gltf(mesh, options, image)
    return glb_from_parts(doc, binary)


def gltf_files(
    mesh: AvatarMesh,
    stem: str,
    options: ExportOptions | None = None,
    image: EncodedImage | None = None,
    image_name: str | None = None,
) -> dict[str, bytes]:
    """One avatar as ``<stem>.gltf`` + ``<stem>.bin`` + its texture file: name -> bytes.

    ``image_name`` names the texture file (default ``<stem>_albedo.jpg``/``.png``), so several
    levels of detail can share one.
    """
    options = options or ExportOptions()
    image = image or texture_image(mesh, options)
    image_name = image_name or f"{stem}_albedo{image.suffix}"
    doc, binary = build_gltf(mesh, options, image, image_uri=image_name)
    doc["buffers"][0]["uri"] = f"{stem}.bin"
    text = json.dumps(doc, indent=1, allow_nan=False).encode("utf-8") + b"\n"
    return {f"{stem}.gltf": text, f"{stem}.bin": binary, image_name: image.data}


def read_metadata(data: bytes) -> dict[str, Any]:
    """``asset.extras`` of a GLB or .gltf file (bytes); raise ExportError if it is neither."""
    try:
        if data[:4] == b"glTF":
            length, kind = struct.unpack_from("<II", data, 12)
            if kind != CHUNK_JSON:
                raise ValueError("the first chunk is not JSON")
            doc = json.loads(data[20 : 20 + length])
        else:
            doc = json.loads(data)
        extras = doc["asset"].get("extras") or {}
    except (ValueError, KeyError, TypeError, AttributeError, struct.error) as exc:
        raise ExportError(f"not a readable glTF file ({exc})") from None
    if not isinstance(extras, dict):
        raise ExportError("the glTF file's asset.extras is not an object")
    return extras


__all__ = [
    "BufferBuilder",
    "build_gltf",
    "glb_bytes",
    "glb_from_parts",
    "gltf_files",
    "morph_target_name",
    "read_metadata",
    "texture_image",
]

"""Hand-written minimal glTF assets for testing the test tools themselves (validator, Blender, three.js).

Independent of mesh_avatar's exporters on purpose: these prove the checkers catch what they should.
"""

from __future__ import annotations

import json
import struct

# One triangle in the z=0 plane, float32 little-endian, 36 bytes.
TRIANGLE = struct.pack("<9f", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
# A morph target moving the top vertex forward by 0.5 along +Z.
TRIANGLE_DELTA = struct.pack("<9f", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5)

_GLB_MAGIC, _CHUNK_JSON, _CHUNK_BIN = 0x46546C67, 0x4E4F534A, 0x004E4942
_FLOAT, _ARRAY_BUFFER = 5126, 34962


def triangle_gltf(
    buffer_length: int | None = None,
    uri: str | None = None,
    morph_target: str | None = None,
) -> tuple[dict, bytes]:
    """A glTF document with one triangle mesh, and its binary buffer.

    buffer_length: what the document claims the buffer holds (default: the truth).
    uri: external .bin name for a .gltf (None: the GLB's BIN chunk).
    morph_target: name of one morph target (in mesh.extras.targetNames), or None for none.
    """
    binary = TRIANGLE + (TRIANGLE_DELTA if morph_target else b"")
    buffer: dict = {"byteLength": len(binary) if buffer_length is None else buffer_length}
    if uri is not None:
        buffer["uri"] = uri
    accessors = [_vec3_accessor(0, [0.0, 0.0, 0.0], [1.0, 1.0, 0.0])]
    views = [_view(0)]
    primitive: dict = {"attributes": {"POSITION": 0}}
    mesh: dict = {"primitives": [primitive]}
    if morph_target:
        accessors.append(_vec3_accessor(1, [0.0, 0.0, 0.0], [0.0, 0.0, 0.5]))
        views.append(_view(len(TRIANGLE)))
        primitive["targets"] = [{"POSITION": 1}]
        mesh["weights"] = [0.0]
        mesh["extras"] = {"targetNames": [morph_target]}
    document = {
        "asset": {"version": "2.0", "generator": "mesh-avatar tests"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "triangle"}],
        "meshes": [mesh],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [buffer],
    }
    return document, binary


def _vec3_accessor(view: int, lo: list[float], hi: list[float]) -> dict:
    return {
        "bufferView": view,
        "componentType": _FLOAT,
        "count": 3,
        "type": "VEC3",
        "min": lo,
        "max": hi,
    }


def _view(offset: int) -> dict:
    return {"buffer": 0, "byteOffset": offset, "byteLength": len(TRIANGLE), "target": _ARRAY_BUFFER}


def glb_bytes(document: dict, binary: bytes) -> bytes:
    """GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    json_chunk = json.dumps(document, separators=(",", ":")).encode()
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return (
        struct.pack("<III", _GLB_MAGIC, 2, total)
        + struct.pack("<II", len(json_chunk), _CHUNK_JSON)
        + json_chunk
        + struct.pack("<II", len(bin_chunk), _CHUNK_BIN)
        + bin_chunk
    )


def triangle_glb(**kwargs: object) -> bytes:
    """`glb_bytes(*triangle_gltf(**kwargs))`."""
    return glb_bytes(*triangle_gltf(**kwargs))  # type: ignore[arg-type]

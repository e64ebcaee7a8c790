"""A minimal GLB for live preview: one textured, lit mesh, no morph targets.

The exporters (``mesh_avatar.export``) write the full asset with ARKit morph targets; sending that
on every slider move would be tens of megabytes. The preview needs only the current positions and
normals, the constant UVs and indices, and the texture, which :class:`PreviewGlb` encodes once per
albedo change and reuses across geometry updates.
"""

from __future__ import annotations

import io
import json
import struct

import numpy as np

_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_FLOAT, _UINT16, _UINT32 = 5126, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def encode_texture(texture: np.ndarray, quality: int = 90) -> bytes:
    """(H, W, 3) uint8 -> JPEG bytes (small and fast; the preview does not need lossless)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(texture).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _pad4(data: bytes, fill: bytes = b"\0") -> bytes:
    return data + fill * (-len(data) % 4)


class PreviewGlb:
    """Builds preview GLBs for one topology.

    Args:
        uvs: (R, 2) float32 texture coordinates, origin bottom-left (flipped to glTF's top-left).
        faces: (F, 3) triangle indices into the R render vertices.
    """

    def __init__(self, uvs: np.ndarray, faces: np.ndarray) -> None:
        self.n_vertices = int(uvs.shape[0])
        index_type = np.uint16 if self.n_vertices < 65536 else np.uint32
        self._index_component = _UINT16 if index_type is np.uint16 else _UINT32
        self._indices = _pad4(np.ascontiguousarray(faces, dtype=index_type).tobytes())
        self._n_indices = int(faces.size)
        flipped = np.stack([uvs[:, 0], 1.0 - uvs[:, 1]], axis=1)
        self._uvs = np.ascontiguousarray(flipped, dtype="<f4").tobytes()

    def build(self, positions: np.ndarray, normals: np.ndarray, texture_jpeg: bytes) -> bytes:
        """A GLB with the given (R, 3) positions and normals and the JPEG texture."""
        pos = np.ascontiguousarray(positions, dtype="<f4")
        nrm = np.ascontiguousarray(normals, dtype="<f4")
        if pos.shape != (self.n_vertices, 3) or nrm.shape != (self.n_vertices, 3):
            raise ValueError(f"positions and normals must have shape ({self.n_vertices}, 3)")
        chunks = [self._indices, pos.tobytes(), nrm.tobytes(), self._uvs, _pad4(texture_jpeg)]
        views, offset = [], 0
        targets = [_ELEMENT_ARRAY_BUFFER, _ARRAY_BUFFER, _ARRAY_BUFFER, _ARRAY_BUFFER, None]
        for chunk, target, length in zip(
            chunks,
            targets,
            [len(self._indices), pos.nbytes, nrm.nbytes, len(self._uvs), len(texture_jpeg)],
            strict=True,
        ):
            view = {"buffer": 0, "byteOffset": offset, "byteLength": length}
            if target is not None:
                view["target"] = target
            views.append(view)
            offset += len(chunk)
        n = self.n_vertices
        gltf = {
            "asset": {"version": "2.0", "generator": "mesh-avatar viewer preview"},
            "scene": 0,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "name": "avatar"}],
            "meshes": [
                {
                    "primitives": [
                        {
                            "attributes": {"POSITION": 1, "NORMAL": 2, "TEXCOORD_0": 3},
                            "indices": 0,
                            "material": 0,
                        }
                    ]
                }
            ],
            "accessors": [
                {
                    "bufferView": 0,
                    "componentType": self._index_component,
                    "count": self._n_indices,
                    "type": "SCALAR",
                },
                {
                    "bufferView": 1,
                    "componentType": _FLOAT,
                    "count": n,
                    "type": "VEC3",
                    "min": pos.min(axis=0).tolist(),
                    "max": pos.max(axis=0).tolist(),
                },
                {"bufferView": 2, "componentType": _FLOAT, "count": n, "type": "VEC3"},
                {"bufferView": 3, "componentType": _FLOAT, "count": n, "type": "VEC2"},
            ],
            "bufferViews": views,
            "buffers": [{"byteLength": offset}],
            "materials": [
                {
                    "pbrMetallicRoughness": {
                        "baseColorTexture": {"index": 0},
                        "metallicFactor": 0.0,
                        "roughnessFactor": 0.7,
                    }
                }
            ],
            "textures": [{"source": 0, "sampler": 0}],
            "samplers": [{"magFilter": 9729, "minFilter": 9987}],
            "images": [{"bufferView": 4, "mimeType": "image/jpeg"}],
        }
        json_chunk = _pad4(json.dumps(gltf, separators=(",", ":")).encode(), b" ")
        binary = b"".join(chunks)
        total = 12 + 8 + len(json_chunk) + 8 + len(binary)
        return b"".join(
            [
                struct.pack("<III", _GLB_MAGIC, 2, total),
                struct.pack("<II", len(json_chunk), _CHUNK_JSON),
                json_chunk,
                struct.pack("<II", len(binary), _CHUNK_BIN),
                binary,
            ]
        )

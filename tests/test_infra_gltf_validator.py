"""The glTF validator wrapper must tell a valid asset from broken ones (else export tests prove nothing)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from support.gltf_validator import assert_valid_gltf, validate_gltf

# One triangle in the z=0 plane, float32 little-endian, 36 bytes.
TRIANGLE = struct.pack("<9f", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def triangle_gltf(buffer_length: int = len(TRIANGLE), uri: str | None = None) -> dict:
    """A glTF document with one triangle mesh; `buffer_length` is what the document claims."""
    buffer: dict = {"byteLength": buffer_length}
    if uri is not None:
        buffer["uri"] = uri
    return {
        "asset": {"version": "2.0", "generator": "mesh-avatar tests"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 3,
                "type": "VEC3",
                "min": [0.0, 0.0, 0.0],
                "max": [1.0, 1.0, 0.0],
            }
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(TRIANGLE), "target": 34962}
        ],
        "buffers": [buffer],
    }


def glb_bytes(document: dict, binary: bytes) -> bytes:
    """GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    json_chunk = json.dumps(document, separators=(",", ":")).encode()
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return (
        struct.pack("<III", 0x46546C67, 2, total)
        + struct.pack("<II", len(json_chunk), 0x4E4F534A)
        + json_chunk
        + struct.pack("<II", len(bin_chunk), 0x004E4942)
        + bin_chunk
    )


def error_codes(report: dict) -> set[str]:
    return {m["code"] for m in report["issues"]["messages"] if m["severity"] == 0}


def test_valid_glb_has_no_errors_or_warnings(tmp_path: Path) -> None:
    path = tmp_path / "triangle.glb"
    path.write_bytes(glb_bytes(triangle_gltf(), TRIANGLE))
    report = assert_valid_gltf(path)
    assert report["issues"]["numErrors"] == 0
    assert report["issues"]["numWarnings"] == 0
    assert report["info"]["drawCallCount"] == 1
    assert report["info"]["totalVertexCount"] == 3


def test_glb_with_wrong_buffer_byte_length_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "broken.glb"
    path.write_bytes(glb_bytes(triangle_gltf(buffer_length=len(TRIANGLE) + 64), TRIANGLE))
    report = validate_gltf(path)
    assert report["issues"]["numErrors"] > 0
    with pytest.raises(AssertionError, match=r"broken\.glb: glTF validator found [1-9]\d* error"):
        assert_valid_gltf(path, allow_warnings=True)


def test_glb_with_wrong_total_length_header_is_caught(tmp_path: Path) -> None:
    data = bytearray(glb_bytes(triangle_gltf(), TRIANGLE))
    struct.pack_into("<I", data, 8, len(data) + 16)  # header claims more bytes than the file has
    path = tmp_path / "truncated.glb"
    path.write_bytes(bytes(data))
    assert validate_gltf(path)["issues"]["numErrors"] > 0


def test_gltf_external_buffer_is_resolved_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "tri.bin").write_bytes(TRIANGLE)
    good = tmp_path / "good.gltf"
    good.write_text(json.dumps(triangle_gltf(uri="tri.bin")))
    assert_valid_gltf(good)

    missing = tmp_path / "missing.gltf"
    missing.write_text(json.dumps(triangle_gltf(uri="absent.bin")))
    report = validate_gltf(missing)
    assert report["issues"]["numErrors"] > 0
    assert "IO_ERROR" in error_codes(report)


def test_warnings_fail_unless_allowed(tmp_path: Path) -> None:
    document = triangle_gltf()
    document["asset"]["unknownProperty"] = 1  # the validator warns about unexpected properties
    path = tmp_path / "warned.glb"
    path.write_bytes(glb_bytes(document, TRIANGLE))
    report = assert_valid_gltf(path, allow_warnings=True)
    assert report["issues"]["numWarnings"] > 0
    with pytest.raises(AssertionError, match="UNEXPECTED_PROPERTY"):
        assert_valid_gltf(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such glTF file"):
        validate_gltf(tmp_path / "nope.glb")

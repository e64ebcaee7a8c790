"""The glTF validator wrapper must tell a valid asset from broken ones (else export tests prove nothing)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from support.gltf_validator import assert_valid_gltf, validate_gltf
from support.minimal_gltf import TRIANGLE, glb_bytes, triangle_glb, triangle_gltf


def error_codes(report: dict) -> set[str]:
    return {m["code"] for m in report["issues"]["messages"] if m["severity"] == 0}


def test_valid_glb_has_no_errors_or_warnings(tmp_path: Path) -> None:
    path = tmp_path / "triangle.glb"
    path.write_bytes(triangle_glb())
    report = assert_valid_gltf(path)
    assert report["issues"]["numErrors"] == 0
    assert report["issues"]["numWarnings"] == 0
    assert report["info"]["drawCallCount"] == 1
    assert report["info"]["totalVertexCount"] == 3


def test_glb_with_wrong_buffer_byte_length_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "broken.glb"
    path.write_bytes(triangle_glb(buffer_length=len(TRIANGLE) + 64))
    report = validate_gltf(path)
    assert report["issues"]["numErrors"] > 0
    with pytest.raises(AssertionError, match=r"broken\.glb: glTF validator found [1-9]\d* error"):
        assert_valid_gltf(path, allow_warnings=True)


def test_glb_with_wrong_total_length_header_is_caught(tmp_path: Path) -> None:
    data = bytearray(triangle_glb())
    struct.pack_into("<I", data, 8, len(data) + 16)  # header claims more bytes than the file has
    path = tmp_path / "truncated.glb"
    path.write_bytes(bytes(data))
    assert validate_gltf(path)["issues"]["numErrors"] > 0


def test_gltf_external_buffer_is_resolved_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "tri.bin").write_bytes(TRIANGLE)
    good = tmp_path / "good.gltf"
    good.write_text(json.dumps(triangle_gltf(uri="tri.bin")[0]))
    assert_valid_gltf(good)

    missing = tmp_path / "missing.gltf"
    missing.write_text(json.dumps(triangle_gltf(uri="absent.bin")[0]))
    report = validate_gltf(missing)
    assert report["issues"]["numErrors"] > 0
    assert "IO_ERROR" in error_codes(report)


def test_warnings_fail_unless_allowed(tmp_path: Path) -> None:
    document, binary = triangle_gltf()
    document["asset"]["unknownProperty"] = 1  # the validator warns about unexpected properties
    path = tmp_path / "warned.glb"
    path.write_bytes(glb_bytes(document, binary))
    report = assert_valid_gltf(path, allow_warnings=True)
    assert report["issues"]["numWarnings"] > 0
    with pytest.raises(AssertionError, match="UNEXPECTED_PROPERTY"):
        assert_valid_gltf(path)


def test_glb_with_a_named_morph_target_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "morph.glb"
    path.write_bytes(triangle_glb(morph_target="jawOpen"))
    report = assert_valid_gltf(path)
    assert report["info"]["maxAttributes"] >= 1


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such glTF file"):
        validate_gltf(tmp_path / "nope.glb")

"""The embedded default head (data/default_head.npz) and its builder."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from mesh_avatar.morphable import (
    ARKIT_BLENDSHAPES,
    REGION_NAMES,
    MorphableModel,
    MorphableModelData,
    load_model_npz,
)
from mesh_avatar.morphable.default_builder import FLOAT16_ARRAYS, build_default_head
from mesh_avatar.morphable.npz_format import model_to_bytes

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "default_head.npz"


@pytest.fixture(scope="module")
def data() -> MorphableModelData:
    return load_model_npz(MODEL_FILE)


@pytest.fixture(scope="module")
def model(data: MorphableModelData) -> MorphableModel:
    return MorphableModel(data)


def _face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def _edge_counts(faces: np.ndarray) -> Counter:
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    return Counter(map(tuple, edges.tolist()))


def test_sizes_and_layout(data: MorphableModelData) -> None:
    assert 5000 <= data.n_vertices <= 15000
    assert len(data.faces) <= 12000
    assert data.identity_basis.shape[0] >= 40
    assert data.expression_names == list(ARKIT_BLENDSHAPES)
    assert data.expression_kind == "blendshape"
    assert data.albedo_space == "uv"
    assert data.albedo_mean.shape[0] >= 512 and data.albedo_mean.shape[1] >= 512
    assert data.albedo_basis.shape[0] >= 10
    height = data.vertices[:, 1].max() - data.vertices[:, 1].min()
    assert 0.25 <= height <= 0.31
    # The face looks down +Z: the nose tip is the vertex with the largest z, near the midline.
    tip = data.vertices[np.argmax(data.vertices[:, 2])]
    assert abs(tip[0]) < 1e-3 and -0.03 < tip[1] < 0.01


def test_semantic_names_come_first(data: MorphableModelData) -> None:
    for name in ("face_width", "jaw_width", "nose_length", "nose_width", "nose_bridge",
                 "eye_spacing", "eye_size", "brow_height", "lip_fullness", "chin_protrusion",
                 "cheekbones", "forehead_slope", "head_length", "ear_size"):  # fmt: skip
        assert name in data.identity_names[:35]
    for name in ("melanin", "haemoglobin", "lip_colour", "cheek_redness", "brow_darkness",
                 "eyelash_darkness", "iris_colour"):  # fmt: skip
        assert name in data.albedo_names


def test_identity_basis_is_orthonormal(data: MorphableModelData) -> None:
    flat = data.identity_basis.reshape(data.identity_basis.shape[0], -1).astype(np.float64)
    gram = flat @ flat.T
    # Stored at half precision: unit norms and zero products hold to about 1e-3.
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=5e-3)
    assert (data.identity_std > 0).all()
    # Standard deviations are plausible: no direction moves any vertex by more than 2 cm at 1 sigma.
    per_vertex = np.linalg.norm(data.identity_basis * data.identity_std[:, None, None], axis=2)
    assert per_vertex.max() < 0.02


def test_mean_is_mirror_symmetric(data: MorphableModelData) -> None:
    v = data.vertices
    tree = cKDTree(v)
    dist, mirror = tree.query(v * np.array([-1.0, 1.0, 1.0]))
    assert dist.max() < 1e-6
    assert np.array_equal(mirror[mirror], np.arange(len(v)))
    # Mirror pairs are mirrored in the semantic identity directions too.
    for k, name in enumerate(data.identity_names[:10]):
        direction = data.identity_basis[k]
        mirrored = direction[mirror] * np.array([-1.0, 1.0, 1.0])
        assert np.abs(direction - mirrored).max() < 2e-3, name


def test_closed_except_at_the_neck(data: MorphableModelData) -> None:
    counts = _edge_counts(data.faces)
    assert max(counts.values()) == 2, "an edge is shared by more than two triangles"
    boundary = [edge for edge, n in counts.items() if n == 1]
    assert boundary, "the neck must be open"
    boundary_vertices = np.unique(np.asarray(boundary))
    y = data.vertices[boundary_vertices, 1]
    assert np.allclose(y, data.vertices[:, 1].min(), atol=1e-4), "only the neck cut is open"
    # The boundary is one loop around the neck.
    assert len(boundary) == len(boundary_vertices)
    # Triangles are not degenerate and face outwards: eyeballs away from their centres, the head
    # away from its centre on the whole.
    normals = _face_normals(data.vertices.astype(np.float64), data.faces)
    assert np.linalg.norm(normals, axis=1).min() > 0
    for region in ("eye_left", "eye_right"):
        mask = data.regions[region]
        eyeball = np.nonzero(mask)[0]
        faces = data.faces[np.isin(data.faces, eyeball).all(axis=1)]
        tri = data.vertices[faces]
        center = data.vertices[np.unique(faces)].mean(axis=0)
        outward = np.sum(_face_normals(data.vertices, faces) * (tri.mean(1) - center), axis=1)
        assert (outward > 0).mean() > 0.3
    tri = data.vertices[data.faces]
    outward = np.sum(normals * (tri.mean(1) - np.array([0.0, 0.0, -0.01])), axis=1)
    assert outward.sum() > 0 and (outward > 0).mean() > 0.9


def test_no_inverted_faces_at_three_sigma(model: MorphableModel, data: MorphableModelData) -> None:
    """Every coefficient anywhere within +-3 sigma (uniform), each direction alone at +-3 sigma,
    and prior-like samples."""
    rng = np.random.default_rng(0)
    k = model.layout.n_identity
    coeffs = np.concatenate(
        [
            rng.uniform(-3.0, 3.0, size=(100, k)),
            3.0 * np.eye(k),
            -3.0 * np.eye(k),
            np.clip(rng.normal(size=(50, k)), -3.0, 3.0),
        ]
    )
    expression = torch.zeros(len(coeffs), model.layout.n_expression)
    shapes = model.shape(torch.from_numpy(coeffs).float(), expression).numpy().astype(np.float64)
    mean_normals = _face_normals(data.vertices.astype(np.float64), data.faces)
    mean_unit = mean_normals / np.linalg.norm(mean_normals, axis=1, keepdims=True)
    for shape in shapes:
        normals = _face_normals(shape, data.faces)
        unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
        cosine = np.sum(unit * mean_unit, axis=1)
        assert cosine.min() > 0.0, f"{int((cosine <= 0).sum())} faces flipped"


def test_every_arkit_shape_is_present_and_localized(data: MorphableModelData) -> None:
    x = data.vertices[:, 0]
    for name, delta in zip(data.expression_names, data.expression_basis, strict=True):
        moved = np.linalg.norm(delta, axis=1)
        assert moved.max() > 1e-3, f"{name} does not move anything"
        assert moved.max() < 0.05, f"{name} moves a vertex by {moved.max():.3f} m"
        if name in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
            continue  # sideways motions of a central part, not one-sided shapes
        if name.endswith("Left"):
            assert moved[x < -0.01].max() < 0.2 * moved.max(), f"{name} moves the right side"
        if name.endswith("Right"):
            assert moved[x > 0.01].max() < 0.2 * moved.max(), f"{name} moves the left side"
        # Localized: the crown and the neck bottom never move.
        top = data.vertices[:, 1] > 0.1
        bottom = data.vertices[:, 1] < -0.15
        assert moved[top | bottom].max() < 1e-4, name


def _eyeballs(data: MorphableModelData) -> dict[str, np.ndarray]:
    """Vertex indices of the two eyeballs (the mesh components besides the head)."""
    v = data.n_vertices
    graph = coo_matrix(
        (np.ones(data.faces.size), (np.repeat(data.faces[:, 0], 3), data.faces.reshape(-1))),
        shape=(v, v),
    )
    _, labels = connected_components(graph, directed=False)
    parts = [np.nonzero(labels == k)[0] for k in np.unique(labels) if k != labels[0]]
    assert len(parts) == 2
    parts.sort(key=lambda idx: -data.vertices[idx, 0].mean())
    return {"Left": parts[0], "Right": parts[1]}


def test_blink_closes_the_lids_and_jaw_open_opens_the_mouth(data: MorphableModelData) -> None:
    names = data.expression_names
    lm = data.landmarks
    for eye, ball in _eyeballs(data).items():
        center = data.vertices[ball].mean(axis=0)
        radius = np.linalg.norm(data.vertices[ball] - center, axis=1).min()
        skin = np.setdiff1d(np.nonzero(data.regions[f"eye_{eye.lower()}"])[0], ball)
        closed = data.vertices + data.expression_basis[names.index(f"eyeBlink{eye}")]
        # Open: the socket behind the opening hides inside the eyeball. Closed: skin covers it.
        assert (np.linalg.norm(data.vertices[skin] - center, axis=1) < radius).sum() >= 10
        assert (np.linalg.norm(closed[skin] - center, axis=1) > radius + 5e-4).all()
        # The pupil (front of the eyeball) is behind lid skin: some skin vertex right in front.
        pupil = data.vertices[ball][np.argmax(data.vertices[ball, 2])]
        ahead = closed[skin] - pupil
        in_front = (ahead[:, 2] > 0) & (np.hypot(ahead[:, 0], ahead[:, 1]) < 0.002)
        assert in_front.any()
        assert not ((np.abs(data.vertices[skin] - pupil)[:, :2].max(axis=1) < 0.002)
                    & (data.vertices[skin, 2] > pupil[2])).any()  # fmt: skip
    jaw = data.vertices + data.expression_basis[names.index("jawOpen")]
    assert data.vertices[lm[62], 1] - data.vertices[lm[66], 1] < 0.003  # lips meet at rest
    assert jaw[lm[62], 1] - jaw[lm[66], 1] > 0.012  # and part when the jaw opens
    assert jaw[lm[8], 1] < data.vertices[lm[8], 1] - 0.015  # the chin drops


def test_smile_lifts_the_mouth_corner_like_a_scanned_smile(data: MorphableModelData) -> None:
    # Scanned ARKit rigs (ICT-FaceKit) move the corner about 15 mm; a weak smile is invisible in
    # 64 px renders, and the GAN benchmark's smiling share could not be learned.
    smile = data.expression_basis[data.expression_names.index("mouthSmileLeft")]
    left, right = data.landmarks[54], data.landmarks[48]  # the subject's left and right corner
    up_out_back = smile[left] * np.array([1.0, 1.0, -1.0])
    assert (up_out_back > [0.004, 0.007, 0.002]).all(), smile[left]
    assert np.linalg.norm(smile[left]) > 0.01
    assert np.linalg.norm(smile[right]) < 1e-4


def test_albedo_stays_in_srgb_range(model: MorphableModel) -> None:
    k = model.layout.n_albedo
    single = torch.cat([3.0 * torch.eye(k), -3.0 * torch.eye(k)])
    generator = torch.Generator().manual_seed(0)
    mixed = torch.randn(20, k, generator=generator).clamp(-3.0, 3.0)
    with torch.no_grad():
        for coeffs in (single, mixed):
            texture = model.albedo(coeffs)
            assert texture.min() > -0.02 and texture.max() < 1.02
    mean = model.albedo_mean
    assert mean.min() >= 0.0 and mean.max() <= 1.0


def test_landmarks_are_on_the_face(data: MorphableModelData) -> None:
    lm = data.landmarks
    assert lm.shape == (68,) and len(set(lm.tolist())) == 68
    v = data.vertices[lm]
    on_face = (
        data.regions["face"] | data.regions["lips"] | data.regions["eye_left"]
        | data.regions["eye_right"] | data.regions["jaw"]
    )  # fmt: skip
    assert on_face[lm[17:]].all()
    assert (v[:, 2] > 0.0).all()
    # iBUG order: point 0 and the right eye on the subject's right (-X), chin at the midline.
    assert v[0, 0] < -0.05 and v[16, 0] > 0.05 and abs(v[8, 0]) < 1e-4
    assert v[36:42, 0].max() < 0 and v[42:48, 0].min() > 0
    assert np.argmax(v[27:36, 2]) == 3  # the nose tip (30) sticks out furthest
    assert v[8, 1] < v[57, 1] < v[51, 1] < v[33, 1] < v[27, 1]


def test_regions(data: MorphableModelData) -> None:
    for name in REGION_NAMES:
        assert data.regions[name].any(), name
    x = data.vertices[:, 0]
    assert (x[data.regions["ear_left"]] > 0).all() and (x[data.regions["ear_right"]] < 0).all()
    assert (x[data.regions["eye_left"]] > 0).all() and (x[data.regions["eye_right"]] < 0).all()
    assert not (data.regions["face"] & data.regions["scalp"]).any()


def test_builder_reproduces_the_committed_file_bit_for_bit(data: MorphableModelData) -> None:
    rebuilt = build_default_head().data
    payload = model_to_bytes(rebuilt, float16=FLOAT16_ARRAYS)
    with np.load(MODEL_FILE) as committed, np.load(__import__("io").BytesIO(payload)) as fresh:
        assert sorted(committed.files) == sorted(fresh.files)
        for key in committed.files:
            assert np.array_equal(committed[key], fresh[key]), f"{key} differs"
    assert payload == MODEL_FILE.read_bytes()

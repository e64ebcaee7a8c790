"""A minimal head rig: joint positions from region masks, and skin weights.

Skeleton (glTF node names)::

    root -> neck -> head -> leftEye
                         -> rightEye
                         -> jaw

``root`` sits at the model origin, ``neck`` at the base of the neck, ``head`` between the ears at ear
height, the eye joints at the eyeball centres and ``jaw`` at the hinge, in front of and below the
ears. "left" is the subject's left (+X). Skin weights bind eyeballs rigidly to their eye joints, the
jaw region to ``jaw``, the neck region to a blend of ``neck`` and ``head`` by height, and everything
else to ``head``, so engines can attach the head to a body and drive gaze.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: glTF node names of the skeleton, parents before children.
JOINT_NAMES: tuple[str, ...] = ("root", "neck", "head", "leftEye", "rightEye", "jaw")
#: Parent of each joint (index into :data:`JOINT_NAMES`), -1 for the root.
JOINT_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 2, 2)
#: Keys of :func:`head_joints` (as stored in ``AvatarMesh.joints``) for each skeleton joint.
JOINT_KEYS: dict[str, str] = {
    "root": "root",
    "neck": "neck",
    "head": "head",
    "leftEye": "eye_left",
    "rightEye": "eye_right",
    "jaw": "jaw",
}
#: Influences per vertex written to JOINTS_0 / WEIGHTS_0.
INFLUENCES = 4

# Fallback offsets from the head joint (metres) for heads without the regions to measure them.
_EYE_OFFSET = np.array([0.032, 0.035, 0.075])
_JAW_OFFSET = np.array([0.0, -0.012, 0.012])
_EYE_DEPTH = 0.012  # eyeball centre behind the eye-region surface when it cannot be fitted


def head_joints(
    vertices: np.ndarray,
    vertex_groups: Mapping[str, np.ndarray],
    faces: np.ndarray | None = None,
    eyeballs: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Joint positions of one head, in metres.

    Args:
        vertices: (V, 3) positions, +Y up, face looking down +Z.
        vertex_groups: region name -> (V,) bool masks (``neck``, ``ear_left``, ``eye_left``, ...);
            any may be missing, a fallback from the head's extent is used then.
        faces: (F, 3) triangles; when given, eyeballs are found as connected components lying
            wholly inside an eye region (their centre is exact), otherwise a sphere is fitted to the
            eye region.
        eyeballs: :func:`eyeball_masks` of this topology if already computed (used with ``faces``).

    Returns:
        ``root``, ``neck``, ``head``, ``eye_left``, ``eye_right``, ``jaw`` -> (3,) float32.
    """
    v = np.asarray(vertices, np.float64)
    groups = {k: np.asarray(m, bool) for k, m in vertex_groups.items() if np.any(m)}
    neck = _neck_base(v, groups.get("neck"))
    head = _head_centre(v, groups)
    joints = {"root": np.zeros(3), "neck": neck, "head": head}
    if faces is not None and eyeballs is None:
        eyeballs = eyeball_masks(len(v), faces, groups)
    for name, side in (("eye_left", 1.0), ("eye_right", -1.0)):
        ball = eyeballs.get(name) if eyeballs is not None else None
        joints[name] = _eye_centre(v, groups.get(name), ball, head, side)
    joints["jaw"] = head + _JAW_OFFSET
    return {name: position.astype(np.float32) for name, position in joints.items()}


def eyeball_masks(
    n_vertices: int, faces: np.ndarray, vertex_groups: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """``eye_left`` / ``eye_right`` -> (V,) bool: connected components wholly inside that region."""
    labels = _components(n_vertices, faces)
    out = {}
    for name in ("eye_left", "eye_right"):
        mask = vertex_groups.get(name)
        if mask is None or not np.any(mask):
            out[name] = np.zeros(n_vertices, bool)
            continue
        mask = np.asarray(mask, bool)
        outside = np.unique(labels[~mask])
        inside = np.setdiff1d(np.unique(labels[mask]), outside)
        out[name] = np.isin(labels, inside) & mask
    return out


def skin_weights(
    vertices: np.ndarray,
    faces: np.ndarray,
    vertex_groups: Mapping[str, np.ndarray],
    joints: Mapping[str, np.ndarray],
    eyeballs: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights for the skeleton in :data:`JOINT_NAMES` order.

    Args:
        vertices: (V, 3) positions (the neck blend follows height).
        faces: (F, 3) triangles (to tell eyeballs from eyelid skin).
        vertex_groups: region masks as in :func:`head_joints`.
        joints: positions from :func:`head_joints`.
        eyeballs: :func:`eyeball_masks` of this topology if already computed.

    Returns:
        joint_indices (V, 4) uint8 and weights (V, 4) float32; each row's weights sum to 1, unused
        influences have weight 0 and joint 0.
    """
    n = len(vertices)
    index = {name: k for k, name in enumerate(JOINT_NAMES)}
    joint_ids = np.zeros((n, INFLUENCES), np.uint8)
    weights = np.zeros((n, INFLUENCES), np.float32)
    joint_ids[:, 0] = index["head"]
    weights[:, 0] = 1.0

    neck = np.asarray(vertex_groups.get("neck", np.zeros(n, bool)), bool)
    if neck.any():
        y_lo = float(joints["neck"][1])
        y_hi = float(np.asarray(vertices)[neck, 1].max())
        t = np.clip((vertices[neck, 1] - y_lo) / max(y_hi - y_lo, 1e-6), 0.0, 1.0)
        joint_ids[neck, 0], weights[neck, 0] = index["neck"], 1.0 - t
        joint_ids[neck, 1], weights[neck, 1] = index["head"], t
    jaw = np.asarray(vertex_groups.get("jaw", np.zeros(n, bool)), bool) & ~neck
    _bind(joint_ids, weights, jaw, index["jaw"])
    if eyeballs is None:
        eyeballs = eyeball_masks(n, faces, vertex_groups)
    for name, joint in (("eye_left", "leftEye"), ("eye_right", "rightEye")):
        _bind(joint_ids, weights, eyeballs[name], index[joint])
    # A zero weight gets joint 0, so no joint repeats among a vertex's influences.
    joint_ids[weights == 0.0] = 0
    return joint_ids, weights


def inverse_bind_matrices(joints: Mapping[str, np.ndarray]) -> np.ndarray:
    """(J, 4, 4) float32 inverse bind matrices (row-major) for joints without rotation.

    Each joint's bind pose is a pure translation to its position, so its inverse is a translation
    by minus that position.
    """
    out = np.tile(np.eye(4, dtype=np.float32), (len(JOINT_NAMES), 1, 1))
    for k, name in enumerate(JOINT_NAMES):
        out[k, :3, 3] = -np.asarray(joints[JOINT_KEYS[name]], np.float32)
    return out


def local_translations(joints: Mapping[str, np.ndarray]) -> np.ndarray:
    """(J, 3) float32 joint translations relative to the parent joint (glTF node translations)."""
    world = np.stack([np.asarray(joints[JOINT_KEYS[n]], np.float32) for n in JOINT_NAMES])
    parents = np.asarray(JOINT_PARENTS)
    local = world.copy()
    local[parents >= 0] -= world[parents[parents >= 0]]
    return local


# ---------------------------------------------------------------------------------- internals
def _bind(joint_ids: np.ndarray, weights: np.ndarray, mask: np.ndarray, joint: int) -> None:
    joint_ids[mask] = 0
    weights[mask] = 0.0
    joint_ids[mask, 0] = joint
    weights[mask, 0] = 1.0


def _components(n_vertices: int, faces: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n_vertices, n_vertices))
    return connected_components(graph, directed=False)[1]


def _neck_base(v: np.ndarray, neck: np.ndarray | None) -> np.ndarray:
    points = v[neck] if neck is not None else v
    y = points[:, 1]
    band = y <= y.min() + 0.1 * (y.max() - y.min()) + 1e-9
    centre = points.mean(axis=0)
    return np.array([centre[0], y[band].mean(), centre[2]])


def _head_centre(v: np.ndarray, groups: Mapping[str, np.ndarray]) -> np.ndarray:
    if "ear_left" in groups and "ear_right" in groups:
        return 0.5 * (v[groups["ear_left"]].mean(0) + v[groups["ear_right"]].mean(0))
    neck = groups.get("neck")
    points = v[~neck] if neck is not None and not neck.all() else v
    return 0.5 * (points.min(0) + points.max(0))


def _eye_centre(
    v: np.ndarray,
    region: np.ndarray | None,
    ball: np.ndarray | None,
    head: np.ndarray,
    side: float,
) -> np.ndarray:
    if region is None:
        return head + _EYE_OFFSET * np.array([side, 1.0, 1.0])
    if ball is not None and ball.sum() >= 4:
        points = v[ball]
        return 0.5 * (points.min(0) + points.max(0))
    points = v[region]
    fitted = _fit_sphere(points)
    if fitted is not None:
        centre, radius = fitted
        if 0.005 <= radius <= 0.02 and centre[2] < points[:, 2].max():
            return centre
    return points.mean(0) - np.array([0.0, 0.0, _EYE_DEPTH])


def _fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Least-squares sphere through ``points`` (N, 3): (centre, radius), or None if degenerate."""
    if len(points) < 4:
        return None
    a = np.concatenate([2.0 * points, np.ones((len(points), 1))], axis=1)
    b = (points**2).sum(1)
    solution, _, rank, _ = np.linalg.lstsq(a, b, rcond=None)
    if rank < 4:
        return None
    centre = solution[:3]
    r2 = solution[3] + centre @ centre
    if r2 <= 0:
        return None
    return centre, float(np.sqrt(r2))

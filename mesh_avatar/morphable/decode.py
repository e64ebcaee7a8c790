"""Pure tensor functions of a morphable model: blending, albedo, rigid pose, normals."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def blend_linear(
    mean: torch.Tensor, directions: torch.Tensor, coeffs: torch.Tensor
) -> torch.Tensor:
    """``mean + coeffs @ directions``, batched.

    Args:
        mean: (N,) flattened mean (for shapes N = 3V).
        directions: (K, N) scaled directions (basis rows multiplied by their std).
        coeffs: (B, K) coefficients.

    Returns:
        (B, N) blended values.
    """
    if directions.shape[0] == 0:
        return mean.expand(coeffs.shape[0], -1)
    # out_bn = mean_n + sum_k c_bk d_kn
    return torch.addmm(mean.unsqueeze(0), coeffs, directions)


def albedo_texture(
    mean: torch.Tensor, directions: torch.Tensor, coeffs: torch.Tensor
) -> torch.Tensor:
    """Linear UV albedo: mean texture plus upsampled low-resolution directions.

    Args:
        mean: (H, W, 3) mean texture, sRGB [0, 1].
        directions: (K, h, w, 3) scaled directions (h, w may be smaller than H, W).
        coeffs: (B, K).

    Returns:
        (B, H, W, 3) albedo (not clamped; clamp at display or export time).
    """
    batch = coeffs.shape[0]
    height, width = mean.shape[:2]
    if directions.shape[0] == 0:
        return mean.expand(batch, -1, -1, -1)
    k, h, w, _ = directions.shape
    offset = (coeffs @ directions.reshape(k, h * w * 3)).reshape(batch, h, w, 3)
    if (h, w) != (height, width):
        offset = F.interpolate(
            offset.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False
        ).permute(0, 2, 3, 1)
    return mean.unsqueeze(0) + offset


def albedo_texture_uint8(
    mean_255: torch.Tensor, directions: torch.Tensor, coeffs: torch.Tensor
) -> torch.Tensor:
    """The albedo of one avatar as an 8-bit image, in three full-resolution passes.

    Same result as ``round(clamp(albedo_texture(...), 0, 1) * 255)`` up to float rounding, which
    is what an exporter of many avatars needs: the offset is formed (and scaled to 0-255) at the
    basis resolution, upsampled channels-last (torch's fast layout for it, and already the
    layout of the image), then added, clamped and converted in place.

    Args:
        mean_255: (H, W, 3) ``mean * 255 + 0.5`` of the sRGB [0, 1] mean texture, contiguous.
        directions: (K, h, w, 3) scaled directions.
        coeffs: (K,) coefficients of one avatar.

    Returns:
        (H, W, 3) uint8 texture.
    """
    height, width = mean_255.shape[:2]
    k, h, w, _ = directions.shape
    offset = ((coeffs * 255.0) @ directions.reshape(k, h * w * 3)).reshape(1, h, w, 3)
    if (h, w) != (height, width):
        # A channels-last view (no copy); built with permute, not unsqueeze, whose batch stride
        # makes torch miss the layout and take a 4x slower path.
        nchw = offset.permute(0, 3, 1, 2)
        offset = F.interpolate(nchw, size=(height, width), mode="bilinear", align_corners=False)
        offset = offset.permute(0, 2, 3, 1)  # channels-last output: contiguous already
    offset = offset[0].contiguous()
    # x * 255 + 0.5, clamped to [0.5, 255.5) and truncated, rounds clamp(x, 0, 1) * 255.
    return offset.add_(mean_255).clamp_(0.5, 255.49).to(torch.uint8)


def euler_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``R_y(yaw) @ R_x(pitch) @ R_z(roll)`` from (..., 3) angles in radians.

    Returns:
        (..., 3, 3) rotation matrices acting on column vectors.
    """
    yaw, pitch, roll = angles.unbind(-1)
    cy, sy = torch.cos(yaw), torch.sin(yaw)
    cp, sp = torch.cos(pitch), torch.sin(pitch)
    cr, sr = torch.cos(roll), torch.sin(roll)
    one, zero = torch.ones_like(yaw), torch.zeros_like(yaw)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*yaw.shape, 3, 3)
    rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(*yaw.shape, 3, 3)
    rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*yaw.shape, 3, 3)
    return ry @ rx @ rz


def apply_pose(vertices: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    """Rotate about the origin, then translate.

    Args:
        vertices: (B, V, 3) model-space positions.
        pose: (B, 6) yaw, pitch, roll (radians), x, y, z (metres).

    Returns:
        (B, V, 3) posed positions.
    """
    rotation = euler_to_matrix(pose[:, :3])
    return vertices @ rotation.transpose(1, 2) + pose[:, None, 3:]


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals, differentiable.

    Args:
        vertices: (B, V, 3).
        faces: (F, 3) int64, counter-clockwise seen from outside.

    Returns:
        (B, V, 3) unit normals (zero-area neighbourhoods give zero vectors).
    """
    tri = vertices[:, faces]  # (B, F, 3, 3)
    face_normals = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    normals = torch.zeros_like(vertices)
    for corner in range(3):
        normals = normals.index_add(1, faces[:, corner], face_normals)
    return F.normalize(normals, dim=-1, eps=1e-12)

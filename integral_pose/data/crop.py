"""The top-down crop: box -> crop region -> affine matrix image -> input pixels, and back.

Pixel convention (see :mod:`integral_pose.coords`): integer coordinates are pixel centres in the image, the
input crop and the heatmap alike. A crop region is a centre ``(x, y)`` and a size ``(H, W)`` in image pixels;
the crop maps the region's extent ``[cx - sw/2, cx + sw/2]`` onto the input's ``[-0.5, W_in - 0.5]``:

    x_in = (W_in / sw) * (x - cx) + (W_in - 1) / 2          (likewise for y)

with an optional rotation about the centre and a horizontal flip of the input. ``cv2.warpAffine`` samples
destination pixel centres at integer coordinates and reads the source with the same convention, so the warped
image and the points mapped by the matrix agree exactly. A box ``(x, y, w, h)`` is centred at
``(x + w/2, y + h/2)``: boxes are read in the keypoints' frame, and the crop's inverse is exact whatever the
framing.

Matrices are ``(..., 2, 3)`` float64 arrays ``[A | t]`` acting on column points: ``p' = A p + t``.

:func:`crop_box` is the whole plain crop in one call (no dataset needed); the dataset's plain crop is the same
three steps, :func:`box_to_region`, :func:`crop_matrix`, :func:`warp_crop`. :func:`heatmap_to_image` maps decoded
heatmap pixels back to the image, also under the heatmap conventions of models trained elsewhere (``"msra"``,
``"udp"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from integral_pose.coords import grid_mean, heatmap_to_input, strides
from integral_pose.data._limits import check_size

__all__ = [
    "CONVENTIONS",
    "DEFAULT_PADDING",
    "apply_affine",
    "box_to_region",
    "crop_box",
    "crop_matrix",
    "heatmap_to_image",
    "invert_affine",
    "warp_crop",
]

DEFAULT_PADDING = 1.25
CONVENTIONS = ("centre", "msra", "udp")  # heatmap -> input mappings, see heatmap_to_image


def box_to_region(
    bbox: Sequence[float], input_size: Sequence[int] = (256, 192), padding: float = DEFAULT_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Crop region of a box: grown to the input's aspect ratio, then by ``padding``.

    Args:
        bbox: COCO ``(x, y, w, h)`` in image pixels; w, h > 0.
        input_size: ``(H, W)`` of the network input; the region gets the aspect ratio ``W / H``.
        padding: factor applied to both sides after matching the aspect ratio (1.25 as in SimpleBaseline/HRNet).

    Returns:
        ``centre`` (2,) as ``(x, y)`` and ``size`` (2,) as ``(H, W)``, float64, image pixels.

    Example:
        >>> centre, size = box_to_region((10, 20, 30, 80), (256, 192), 1.25)
        >>> centre.tolist(), size.tolist()   # 80 x 30 -> 80 x 60 (ratio 4:3) -> x 1.25
        ([25.0, 60.0], [100.0, 75.0])
    """
    x, y, w, h = (float(v) for v in bbox)
    if not (w > 0 and h > 0):
        raise ValueError(f"bbox: expected positive width and height, got {tuple(bbox)}")
    if not padding > 0:
        raise ValueError(f"padding: expected a number > 0, got {padding!r}")
    aspect = input_size[1] / input_size[0]  # W / H
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return np.array([x + bbox[2] / 2, y + bbox[3] / 2]), np.array([h, w]) * padding


def crop_matrix(
    centre: Sequence[float],
    size: Sequence[float],
    input_size: Sequence[int],
    *,
    rotation: float = 0.0,
    flip: bool = False,
) -> np.ndarray:
    """Affine matrix from image pixels to input pixels.

    Args:
        centre: ``(x, y)`` of the region, image pixels.
        size: ``(H, W)`` of the region, image pixels.
        input_size: ``(H, W)`` of the input.
        rotation: degrees; the crop's content appears turned counter-clockwise by this angle (y points down).
        flip: mirror the input horizontally, ``x_in -> (W_in - 1) - x_in``, after the crop.

    Returns:
        ``(2, 3)`` float64.
    """
    h_in, w_in = input_size
    sx, sy = w_in / float(size[1]), h_in / float(size[0])
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    a = np.array([[sx * cos, sx * sin], [-sy * sin, sy * cos]])
    if flip:
        a[0] = -a[0]
    out_centre = np.array(grid_mean(input_size))
    t = out_centre - a @ np.asarray(centre, dtype=np.float64)
    return np.concatenate([a, t[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine matrix, float64."""
    a, t = matrix[:, :2].astype(np.float64), matrix[:, 2].astype(np.float64)
    a_inv = np.linalg.inv(a)
    return np.concatenate([a_inv, (-a_inv @ t)[:, None]], axis=1)


def apply_affine(points, matrix):
    """Map points through affine matrices; NumPy arrays or torch tensors alike.

    Args:
        points: ``(..., N, 2)`` as ``(x, y)``.
        matrix: ``(..., 2, 3)`` with leading dimensions broadcasting against those of ``points``.

    Returns:
        ``(..., N, 2)``: ``A p + t`` for every point.
    """
    a, t = matrix[..., None, :, :2], matrix[..., None, :, 2]
    return (a @ points[..., None])[..., 0] + t


def warp_crop(image: np.ndarray, matrix: np.ndarray, input_size: Sequence[int]) -> np.ndarray:
    """The input crop: ``image`` resampled bilinearly through ``matrix``, zero outside the image.

    Args:
        image: ``(H_img, W_img[, C])`` uint8 or float.
        matrix: ``(2, 3)`` image -> input, as from :func:`crop_matrix`.
        input_size: ``(H, W)``.

    Returns:
        ``(H, W[, C])``, same dtype as ``image``.
    """
    h, w = input_size
    return cv2.warpAffine(image, matrix, (int(w), int(h)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def crop_box(
    image: np.ndarray,
    bbox: Sequence[float],
    input_size: Sequence[int] = (256, 192),
    padding: float = DEFAULT_PADDING,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plain top-down crop of one box, without a dataset: :func:`box_to_region`, :func:`crop_matrix`,
    :func:`warp_crop`.

    Args:
        image: ``(H_img, W_img, 3)`` (or ``(H_img, W_img)``) uint8 or float, e.g. RGB from
            :func:`integral_pose.data.dataset.read_rgb`.
        bbox: COCO ``(x, y, w, h)`` in image pixels; w, h > 0.
        input_size: ``(H, W)`` of the crop (never ``(w, h)``).
        padding: box padding, see :func:`box_to_region`.

    Returns:
        ``crop`` ``(H, W[, C])`` of the image's dtype, zero outside the image; ``matrix`` ``(2, 3)`` float64
        image -> input pixels; ``inverse`` ``(2, 3)`` float64 input -> image pixels.

    Example:
        >>> crop, matrix, inverse = crop_box(np.zeros((100, 80, 3), np.uint8), (10, 20, 30, 80), (256, 192))
        >>> crop.shape, apply_affine(np.array([[95.5, 127.5]]), inverse).tolist()  # input centre -> box centre
        ((256, 192, 3), [[25.0, 60.0]])
    """
    size = check_size("input_size", input_size)
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or 0 in image.shape[:2]:
        got = image.shape if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image: expected a NumPy array (H, W) or (H, W, C), got {got}")
    centre, region = box_to_region(bbox, size, padding)
    matrix = crop_matrix(centre, region, size)
    return warp_crop(image, matrix, size), matrix, invert_affine(matrix)


def _heatmap_to_input(points: Tensor, input_size: Sequence[int], heatmap_size: Sequence[int],
                      convention: str) -> Tensor:
    if convention == "centre":
        return heatmap_to_input(points, strides(input_size, heatmap_size))
    if convention == "msra":
        s = torch.as_tensor(strides(input_size, heatmap_size), dtype=points.dtype, device=points.device)
        return points * s
    if convention == "udp":
        if min(heatmap_size) < 2:
            raise ValueError(f"heatmap_size: the 'udp' convention needs at least 2 pixels a side, got "
                             f"{tuple(heatmap_size)}")
        scale = [(i - 1) / (h - 1) for i, h in zip(reversed(input_size), reversed(heatmap_size), strict=True)]
        return points * torch.as_tensor(scale, dtype=points.dtype, device=points.device)
    raise ValueError(f"convention: expected one of {', '.join(CONVENTIONS)}, got {convention!r}")


def heatmap_to_image(
    points: Tensor, inverse: Tensor, input_size: Sequence[int], heatmap_size: Sequence[int], *,
    convention: str = "centre",
) -> Tensor:
    """Heatmap pixels -> image pixels: heatmap -> input under ``convention``, then the inverse crop.

    Conventions (``s`` the stride, ``W_in``/``W_hm`` input and heatmap widths; likewise for y):

    - ``"centre"`` (this library, :func:`integral_pose.coords.heatmap_to_input`): ``x_in = s x_hm + (s - 1) / 2``,
      heatmap pixel 0 is the centre of input pixels ``0 .. s - 1``.
    - ``"msra"`` (SimpleBaseline/HRNet, mmpose's MSRA heatmaps): ``x_in = s x_hm``, 1.5 input pixels to the
      top-left of ``"centre"`` at stride 4.
    - ``"udp"`` (unbiased data processing, mmpose's UDP heatmaps): ``x_in = x_hm (W_in - 1) / (W_hm - 1)``,
      equal to ``"centre"`` at the map's centre and 1.5 input pixels from it at its edges (stride 4).

    Use the foreign conventions only for heatmaps of models trained with them; the inverse crop is always
    this library's (pixel centres, :func:`crop_matrix`).

    Args:
        points: ``(B, K, 2)`` heatmap pixels, as returned by a decoder.
        inverse: ``(B, 2, 3)`` input -> image matrices (the ``inverse`` of each sample).
        input_size: ``(H, W)`` of the input; heatmap_size: ``(H, W)`` of the heatmap.
        convention: ``"centre"``, ``"msra"`` or ``"udp"``.

    Returns:
        ``(B, K, 2)`` image pixels, in the dtype of ``points`` promoted with ``inverse`` (float64 matrices give
        float64 results).
    """
    dtype = torch.promote_types(points.dtype, inverse.dtype)
    on_input = _heatmap_to_input(points.to(dtype), input_size, heatmap_size, convention)
    return apply_affine(on_input, inverse.to(dtype))

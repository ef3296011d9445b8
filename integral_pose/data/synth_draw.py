"""Posing and drawing of synthetic people, occluders and cluttered backgrounds (used by :mod:`.synth`).

A figure is a 2D kinematic chain in front view (its left side on the image's right) with the 17 COCO
keypoints: pelvis -> torso -> neck -> head, shoulders -> elbows -> wrists, hips -> knees -> ankles, each joint
angle drawn within limits (see :data:`JOINT_LIMITS`). Limb lengths shrink at random to mimic foreshortening.
Points are ``(x, y)`` image pixels, integer coordinates at pixel centres (see :mod:`integral_pose.coords`);
drawing uses OpenCV's fixed-point coordinates (4 fractional bits) so shapes sit at sub-pixel positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4  # fractional bits of OpenCV drawing coordinates
ONE = 1 << SHIFT

# Joint limits in degrees. Arm and leg angles are measured from the torso's downward axis, positive away from
# the body; elbow and knee angles from the upper segment's direction, positive bending outwards.
JOINT_LIMITS = {
    "torso_lean": (-35.0, 35.0),
    "head_tilt": (-25.0, 25.0),
    "shoulder": (-25.0, 170.0),
    "elbow": (-30.0, 150.0),
    "hip": (-20.0, 85.0),
    "knee": (-15.0, 120.0),
}
# Segment lengths as fractions of the figure's height.
PROPORTIONS = {
    "torso": 0.30, "neck": 0.10, "head": 0.065, "shoulders": 0.22, "hips": 0.15,
    "upper_arm": 0.16, "forearm": 0.14, "thigh": 0.23, "shin": 0.23,
}  # fmt: skip
FORESHORTENING = (0.55, 1.0)  # random factor on each limb segment's length


@dataclass(frozen=True)
class Figure:
    """A posed figure: COCO keypoints plus what drawing needs.

    Attributes:
        keypoints: ``(17, 2)`` image pixels in COCO order.
        pelvis: ``(2,)`` image pixels.
        head_centre: ``(2,)`` image pixels.
        height: nominal height in pixels (head top to feet when upright and unforeshortened).
        head_angle: degrees, direction of the head's up axis (0: image up).
        limb_width: half-width of arms and legs in pixels; the torso and head scale with the height.
    """

    keypoints: np.ndarray
    pelvis: np.ndarray
    head_centre: np.ndarray
    height: float
    head_angle: float
    limb_width: float


def _unit(degrees: float) -> np.ndarray:
    """Unit vector at ``degrees`` from image-down (+y), positive towards image-right (+x)."""
    t = np.deg2rad(degrees)
    return np.array([np.sin(t), np.cos(t)])


def _limited(rng: np.random.Generator, joint: str, spread: float = 0.35) -> float:
    """An angle within the joint's limits: mostly near the relaxed pose 0, sometimes anywhere up to the limit."""
    low, high = JOINT_LIMITS[joint]
    if rng.random() < 0.3:
        return float(rng.uniform(low, high))
    return float(np.clip(rng.normal(0.0, spread * (high - low) / 2), low, high))


def pose_figure(rng: np.random.Generator, pelvis: np.ndarray, height: float) -> Figure:
    """Draw a random pose within the joint limits, at ``pelvis`` with nominal ``height`` in pixels."""
    p = {k: v * height for k, v in PROPORTIONS.items()}
    lean = _limited(rng, "torso_lean")
    up, right = _unit(lean + 180.0), _unit(lean + 90.0)  # right: the figure's left side, front view
    neck = pelvis + p["torso"] * up
    width_factor = rng.uniform(0.45, 1.1)  # body turned away from the camera looks narrower
    shoulders = neck + np.outer([1.0, -1.0], right * p["shoulders"] * width_factor / 2)  # left, right
    hips = pelvis + np.outer([1.0, -1.0], right * p["hips"] * width_factor / 2)

    def chain(start: np.ndarray, side: float, joints: tuple[str, str], lengths: tuple[float, float]):
        first = lean + side * _limited(rng, joints[0])
        second = first + side * _limited(rng, joints[1])
        mid = start + lengths[0] * rng.uniform(*FORESHORTENING) * _unit(first)
        return mid, mid + lengths[1] * rng.uniform(*FORESHORTENING) * _unit(second)

    arms = [chain(shoulders[i], s, ("shoulder", "elbow"), (p["upper_arm"], p["forearm"])) for i, s in ((0, 1), (1, -1))]
    legs = [chain(hips[i], s, ("hip", "knee"), (p["thigh"], p["shin"])) for i, s in ((0, 1), (1, -1))]

    head_angle = lean + _limited(rng, "head_tilt")
    head_up, head_right = _unit(head_angle + 180.0), _unit(head_angle + 90.0)
    head = neck + p["neck"] * head_up
    yaw = rng.uniform(-0.6, 0.6)
    r = p["head"]

    def on_head(a: float, b: float) -> np.ndarray:
        return head + r * (a * head_right + b * head_up)

    face = [on_head(0.6 * yaw, -0.15), on_head(0.35 + 0.5 * yaw, 0.2), on_head(-0.35 + 0.5 * yaw, 0.2),
            on_head(min(0.85 + 0.1 * yaw, 0.9), 0.0), on_head(max(-0.85 + 0.1 * yaw, -0.9), 0.0)]
    keypoints = np.array([
        *face, shoulders[0], shoulders[1], arms[0][0], arms[1][0], arms[0][1], arms[1][1],
        hips[0], hips[1], legs[0][0], legs[1][0], legs[0][1], legs[1][1],
    ])  # fmt: skip
    return Figure(
        keypoints=keypoints,
        pelvis=np.asarray(pelvis, dtype=np.float64),
        head_centre=head,
        height=float(height),
        head_angle=float(head_angle),
        limb_width=float(max(height * rng.uniform(0.03, 0.05), 1.2)),
    )


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * ONE).astype(np.int32)


def _disc(layer: np.ndarray, mask: np.ndarray | None, centre: np.ndarray, radius: float, colour) -> None:
    """A filled circle into the colour layer and, unless None, the mask."""
    c, r = tuple(_fixed(centre)), round(radius * ONE)
    cv2.circle(layer, c, r, colour, -1, cv2.LINE_8, SHIFT)
    if mask is not None:
        cv2.circle(mask, c, r, 1, -1, cv2.LINE_8, SHIFT)


def _capsule(layer: np.ndarray, mask: np.ndarray, a: np.ndarray, b: np.ndarray, half_width: float, colour) -> None:
    """A limb: a quadrilateral from a to b of the given half-width, with round ends."""
    d = b - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6) * half_width
    quad = _fixed([a + n, b + n, b - n, a - n])
    cv2.fillConvexPoly(layer, quad, colour, cv2.LINE_8, SHIFT)
    cv2.fillConvexPoly(mask, quad, 1, cv2.LINE_8, SHIFT)
    for end in (a, b):
        _disc(layer, mask, end, half_width, colour)


def _ellipse(layer, mask, centre, axes, angle: float, colour) -> None:
    c, ax = tuple(_fixed(centre)), tuple(round(a * ONE) for a in axes)
    cv2.ellipse(layer, c, ax, angle, 0, 360, colour, -1, cv2.LINE_8, SHIFT)
    cv2.ellipse(mask, c, ax, angle, 0, 360, 1, -1, cv2.LINE_8, SHIFT)


def _polygon(layer, mask, points: np.ndarray, colour) -> None:
    pts = [_fixed(points)]
    cv2.fillPoly(layer, pts, colour, cv2.LINE_8, SHIFT)
    cv2.fillPoly(mask, pts, 1, cv2.LINE_8, SHIFT)


def random_colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(low, high, 3))


def texture(rng: np.random.Generator, shape: tuple[int, int], cells: int = 6) -> np.ndarray:
    """``(H, W)`` float32 multiplicative texture around 1: smooth noise, sometimes with stripes."""
    h, w = shape
    coarse = rng.uniform(0.7, 1.3, (cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.4:
        angle, period = rng.uniform(0, np.pi), rng.uniform(3.0, 10.0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        field *= 1.0 + 0.25 * np.sign(np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period))
    return field


@dataclass
class Layer:
    """A drawn object before compositing: its box in the image, its colours and its mask (1 where drawn)."""

    x0: int
    y0: int
    pixels: np.ndarray  # (h, w, 3) uint8
    mask: np.ndarray  # (h, w) uint8


def _empty_layer(points: np.ndarray, margin: float, image_size: tuple[int, int]) -> Layer | None:
    """A blank layer covering the points plus a margin, clipped to the image; None when outside the image."""
    h, w = image_size
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return Layer(x0, y0, np.zeros((y1 - y0, x1 - x0, 3), np.uint8), np.zeros((y1 - y0, x1 - x0), np.uint8))


def draw_figure(rng: np.random.Generator, figure: Figure, image_size: tuple[int, int]) -> Layer | None:
    """Draw one figure into its own layer: legs, torso, arms, head with face marks; textured.

    Every keypoint inside the layer lies on the figure (its pixel is in the mask). None when the figure falls
    wholly outside the image.
    """
    kp = figure.keypoints
    r_head = PROPORTIONS["head"] * figure.height
    layer = _empty_layer(kp, 1.3 * r_head + 2 * figure.limb_width + 2, image_size)
    if layer is None:
        return None
    offset = np.array([layer.x0, layer.y0], dtype=np.float64)
    k = kp - offset
    skin = random_colour(rng, 60, 240)
    shirt, trousers = random_colour(rng), random_colour(rng)
    sleeve = shirt if rng.random() < 0.5 else skin
    lw = figure.limb_width
    pix, mask = layer.pixels, layer.mask
    for hip, knee, ankle in ((11, 13, 15), (12, 14, 16)):
        _capsule(pix, mask, k[hip], k[knee], lw * 1.25, trousers)
        _capsule(pix, mask, k[knee], k[ankle], lw * 1.05, trousers)
        shoe = random_colour(rng, 0, 90)
        _ellipse(pix, mask, k[ankle] + (k[ankle] - k[knee]) * 0.08, (lw * 1.3, lw * 0.9), 0.0, shoe)
    torso = np.array([k[5], k[6], k[12], k[11]])
    outward = (torso - torso.mean(axis=0)) * 0.12
    _polygon(pix, mask, torso + outward, shirt)
    for shoulder, elbow, wrist in ((5, 7, 9), (6, 8, 10)):
        _capsule(pix, mask, k[shoulder], k[elbow], lw * 1.1, shirt)
        _capsule(pix, mask, k[elbow], k[wrist], lw * 0.95, sleeve)
        _disc(pix, mask, k[wrist], lw * 1.1, skin)
    neck_width = max(r_head * 0.45, 1.0)
    _capsule(pix, mask, (k[5] + k[6]) / 2, figure.head_centre - offset, neck_width, skin)
    _ellipse(pix, mask, figure.head_centre - offset, (r_head, 1.2 * r_head), -figure.head_angle, skin)
    if r_head >= 4:
        for eye in (1, 2):  # face marks lie on the head, already in the mask
            _disc(pix, None, k[eye], max(0.12 * r_head, 1.0), tuple(int(c * 0.35) for c in skin))
        _disc(pix, None, k[0], max(0.1 * r_head, 1.0), tuple(int(c * 0.7) for c in skin))
    _cover_keypoints(layer, k, skin)
    _apply_texture(rng, layer)
    return layer


def _cover_keypoints(layer: Layer, k: np.ndarray, colour) -> None:
    """Make sure the pixel of every keypoint inside the layer belongs to the figure (OpenCV's fixed-point discs
    can miss the nearest pixel of a one-pixel disc)."""
    h, w = layer.mask.shape
    px = np.round(k).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    for x, y in px[inside]:
        if not layer.mask[y, x]:
            layer.mask[y, x] = 1
            layer.pixels[y, x] = colour


def _apply_texture(rng: np.random.Generator, layer: Layer) -> None:
    field = texture(rng, layer.mask.shape)
    layer.pixels[:] = np.clip(layer.pixels * field[..., None], 0, 255).astype(np.uint8)


def draw_occluder(rng: np.random.Generator, near: np.ndarray, size: float, image_size: tuple[int, int]) -> Layer | None:
    """A textured rectangle, ellipse or polygon of about ``size`` pixels placed near the point ``near``."""
    centre = near + rng.normal(0, 0.25 * size, 2)
    layer = _empty_layer(np.array([centre]), size, image_size)
    if layer is None:
        return None
    c = centre - (layer.x0, layer.y0)
    colour = random_colour(rng)
    kind = rng.integers(3)
    if kind == 0:  # rotated rectangle (a box, a post, a table edge)
        half = rng.uniform(0.15, 0.5, 2) * size
        box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(2 * half[0]), float(2 * half[1])),
                             float(rng.uniform(0, 180))))
        _polygon(layer.pixels, layer.mask, box, colour)
    elif kind == 1:
        _ellipse(layer.pixels, layer.mask, c, tuple(rng.uniform(0.15, 0.5, 2) * size), float(rng.uniform(0, 180)),
                 colour)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 7)))
        radii = rng.uniform(0.2, 0.5, len(angles)) * size
        _polygon(layer.pixels, layer.mask, c + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None], colour)
    _apply_texture(rng, layer)
    return layer


def draw_background(rng: np.random.Generator, image_size: tuple[int, int]) -> np.ndarray:
    """``(H, W, 3)`` uint8 clutter: a colour gradient, then random rectangles, ellipses, polygons and limb-like
    strokes, then noise."""
    h, w = image_size
    a, b = np.array(random_colour(rng), np.float32), np.array(random_colour(rng), np.float32)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    image = (a * (1 - t) + b * t).repeat(w, axis=1).astype(np.uint8)
    image = np.ascontiguousarray(image)
    for _ in range(int(rng.integers(10, 30))):
        colour = random_colour(rng)
        kind = rng.integers(4)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        s = rng.uniform(0.03, 0.3) * max(h, w)
        if kind == 0:
            cv2.rectangle(image, (int(x), int(y)), (int(x + s * rng.uniform(0.2, 1.5)), int(y + s)), colour, -1)
        elif kind == 1:
            cv2.ellipse(image, (int(x), int(y)), (int(s / 2), int(s * rng.uniform(0.1, 0.6))),
                        float(rng.uniform(0, 180)), 0, 360, colour, -1)
        elif kind == 2:
            pts = np.array([x, y]) + rng.normal(0, s / 2, (int(rng.integers(3, 6)), 2))
            cv2.fillPoly(image, [pts.astype(np.int32)], colour)
        else:  # limb-like distractors
            end = np.array([x, y]) + rng.normal(0, s, 2)
            cv2.line(image, (int(x), int(y)), (int(end[0]), int(end[1])), colour, int(rng.integers(2, 9)))
    noise = rng.normal(0, rng.uniform(2, 12), (h, w, 1)).astype(np.float32)
    return np.clip(image * texture(rng, (h, w), cells=8)[..., None] + noise, 0, 255).astype(np.uint8)


def composite(image: np.ndarray, labels: np.ndarray, layer: Layer, label: int) -> None:
    """Paint ``layer`` over ``image`` where its mask is set, and write ``label`` there into ``labels``."""
    h, w = layer.mask.shape
    region = (slice(layer.y0, layer.y0 + h), slice(layer.x0, layer.x0 + w))
    on = layer.mask.astype(bool)
    image[region][on] = layer.pixels[on]
    labels[region][on] = label

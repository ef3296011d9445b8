"""Bounds on the data package's size and seed arguments, with their error messages.

A size or seed from a command line or a config reaches NumPy and OpenCV allocations unchecked otherwise: a
mistyped image size once took a run to 23 GB before the kernel killed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_SIDE = 4096  # pixels per side of a generated image, an input crop or a heatmap
MAX_SEED = 2**63  # seeds are integers in [0, 2**63): they fit int64 tensors and NumPy's SeedSequence


def _is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_seed(name: str, seed: Any) -> int:
    """An integer in ``[0, 2**63)``."""
    if not _is_integer(seed) or not 0 <= seed < MAX_SEED:
        raise ValueError(f"{name}: expected an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def check_size(name: str, size: Any, *, minimum: int = 1, maximum: int = MAX_SIDE) -> tuple[int, int]:
    """``(H, W)``: two integers in ``[minimum, maximum]``."""
    if not isinstance(size, Sequence) or len(size) != 2 or not all(_is_integer(v) for v in size):
        raise ValueError(f"{name}: expected (H, W), two integers, got {size!r}")
    if not all(minimum <= v <= maximum for v in size):
        raise ValueError(f"{name}: expected (H, W) with {minimum} <= H, W <= {maximum}, got {tuple(size)}")
    return int(size[0]), int(size[1])

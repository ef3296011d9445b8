"""The bias study's settings, and the error measures every experiment shares.

Lengths and errors are in heatmap pixels (see integral_pose.coords).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["PRESETS", "Rows", "StudySettings", "Tick", "errors", "statistics"]

Tick = Callable[[], None]
Rows = list[dict[str, object]]
# Section 1 holds one float64 map per position, several copies deep: about 30 bytes per value in all. The
# default settings hold 1.5e7 values (0.8 GB at peak); 1e8 keeps a run under about 3 GB.
MAX_MAP_VALUES = 100_000_000
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class StudySettings:
    """Sizes of the study. Lengths in heatmap pixels.

    Attributes:
        shape: ``(H, W)`` of the heatmaps.
        sigma: width of the section-1 blobs (peak 1, background 0); DARK smooths with the same sigma.
        betas: the section-1 inverse temperatures.
        position_step: spacing of the section-1 position grid; not a whole pixel, so sub-pixel phases vary.
        limit_maps: maps per setting in the closed-form limits (background, noise, second peak).
        realistic_maps: maps per condition in section 2.
        seed: seeds the one generator every random draw comes from.
    """

    shape: tuple[int, int] = (64, 48)
    sigma: float = 2.0
    betas: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 50.0)
    position_step: float = 0.8
    limit_maps: int = 256
    realistic_maps: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        height, width = self.shape
        if min(height, width) < 40:
            raise ValueError(f"shape: expected (H, W) of at least 40 x 40 (section 2 places a second peak up to "
                             f"16 px from a main peak 9 px inside the map), got {self.shape}")
        for name in ("sigma", "position_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        if not 0.5 <= self.sigma <= min(height, width) / 10:
            raise ValueError(f"sigma: expected 0.5 to min(H, W) / 10 = {min(height, width) / 10:g} px for shape "
                             f"{self.shape} (interior positions lie 4 sigma inside every border), got {self.sigma!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED):
            raise ValueError(f"seed: expected an integer from 0 to 2**63 - 1, got {self.seed!r}")
        if not self.betas or any(not (math.isfinite(b) and b > 0) for b in self.betas):
            raise ValueError(f"betas: expected numbers > 0, got {self.betas!r}")
        for name in ("limit_maps", "realistic_maps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected at least 1, got {getattr(self, name)!r}")
        positions = max(1, round(width / self.position_step)) * max(1, round(height / self.position_step))
        for name, maps in (("shape and position_step", positions), ("realistic_maps", self.realistic_maps),
                           ("limit_maps", self.limit_maps)):
            if maps * height * width > MAX_MAP_VALUES:
                raise ValueError(f"{name}: {maps} maps of {height} x {width} hold {maps * height * width:.2g} "
                                 f"values, more than the {MAX_MAP_VALUES:.0e} a run may hold in memory; choose a "
                                 "smaller shape, a larger position_step or fewer maps")


PRESETS = {
    "quick": StudySettings(position_step=3.7, limit_maps=16, realistic_maps=48),
    "default": StudySettings(),
    "large": StudySettings(position_step=0.4, limit_maps=1024, realistic_maps=4096),
}


def errors(coords: Tensor, truth: Tensor) -> Tensor:
    """``(N, 2), (N, 2) -> (N,)`` Euclidean distance in heatmap pixels, float64."""
    return (coords.double() - truth.double()).norm(dim=-1)


def statistics(values: Tensor) -> dict[str, float]:
    """Mean, 95th percentile and maximum of ``(N,)`` errors."""
    values = values.double()
    return {"mean": float(values.mean()), "p95": float(torch.quantile(values, 0.95)), "max": float(values.max())}

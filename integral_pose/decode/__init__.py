"""Heatmap decoders: tensors of heatmaps in, heatmap-pixel coordinates out (see integral_pose.coords)."""

from integral_pose.decode.argmax import argmax
from integral_pose.decode.modules import Argmax, SoftArgmax
from integral_pose.decode.soft_argmax import Integral, integrate, soft_argmax

__all__ = ["Argmax", "Integral", "SoftArgmax", "argmax", "integrate", "soft_argmax"]

"""integral-pose: 2D/3D keypoint estimation with unbiased integral regression.

The functional API lives at the top level; nothing heavy is imported here beyond torch.
See :mod:`integral_pose.coords` for the pixel convention every function follows.
"""

from integral_pose.decode import argmax, soft_argmax

__all__ = ["argmax", "soft_argmax"]
__version__ = "0.1.0"

"""integral-pose: 2D/3D keypoint estimation with unbiased integral regression.

The functional API lives at the top level (``from integral_pose import soft_argmax, argmax``). Importing the
package imports nothing heavy: the decoders, and torch with them, load on first use of those names, so the
command line's ``--help`` starts without torch. See :mod:`integral_pose.coords` for the pixel convention
every function follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["argmax", "soft_argmax"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from integral_pose.decode import argmax, soft_argmax


def __getattr__(name: str):
    if name in __all__:
        from integral_pose import decode

        value = getattr(decode, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'integral_pose' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""The bias of soft-argmax and its closed form, with a study on synthetic heatmaps.

Soft-argmax takes the expectation of the pixel coordinates under ``softmax(beta * H)``. On a map whose
background logits are 0, each of the ``n`` cells weighs at least ``exp(0) = 1`` before normalisation, so
with ``C = sum exp(beta * H)`` the plain expectation splits into the peak's part and a uniform part:

    J_soft = (1 - n / C) J + (n / C) c

where ``J`` is the expectation under the weights ``exp(beta * H) - 1`` (the peak alone) and ``c`` the mean
pixel coordinate of the grid. Solving for ``J`` gives the compensated soft-argmax of
:func:`integral_pose.soft_argmax` with ``debias=True``. The split is exact for any map; reading ``J`` as the
keypoint is what needs a zero background and a peak whose sampled weights are centred on the keypoint.

Coordinates are heatmap pixels, point order (x, y) (see integral_pose.coords). :func:`run_study` runs the
whole study behind ``integral-pose bias``.
"""

from integral_pose.bias.closed_form import background_share, closed_form, predicted_soft_argmax
from integral_pose.bias.study import StudySettings, run_study

__all__ = ["StudySettings", "background_share", "closed_form", "predicted_soft_argmax", "run_study"]

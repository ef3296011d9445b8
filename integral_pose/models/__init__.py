"""Pose networks: backbones, heads and :class:`PoseModel`.

``BACKBONES`` maps a name to a factory that takes no arguments and returns a backbone module with
``out_channels``, ``stride`` and ``input_multiple`` attributes; :func:`build_model` adds the head.

    >>> from integral_pose.models import BACKBONES, build_model
    >>> sorted(BACKBONES)
    ['hrnet_w32', 'hrnet_w48', 'resnet101', 'resnet18', 'resnet34', 'resnet50', 'small']
    >>> build_model("small", num_keypoints=17).stride
    4
"""

from collections.abc import Callable

from torch import nn

from integral_pose.models.heads import ConvHead, SimpleBaselineHead
from integral_pose.models.hrnet import hrnet_w32, hrnet_w48
from integral_pose.models.model import PoseModel, build_model
from integral_pose.models.resnet import resnet18, resnet34, resnet50, resnet101
from integral_pose.models.small import small
from integral_pose.models.weights import LoadReport, load_weights

__all__ = ["BACKBONES", "ConvHead", "LoadReport", "PoseModel", "SimpleBaselineHead", "build_model", "load_weights"]

BACKBONES: dict[str, Callable[[], nn.Module]] = {
    "small": small,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "hrnet_w32": hrnet_w32,
    "hrnet_w48": hrnet_w48,
}

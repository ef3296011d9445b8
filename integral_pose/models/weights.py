"""Loading weights into a :class:`~integral_pose.models.PoseModel`, strictly, with a readable report.

One explicit key-remap function per checkpoint format, each ``state dict -> (state dict with PoseModel
names, keys dropped on purpose)``:

=====================  =====================================================================================
format                 file
=====================  =====================================================================================
``integral_pose``      this library's checkpoints, ``{"model": state_dict, ...}``, or a bare state dict with
                       ``backbone.*`` and ``head.*`` keys
``torchvision_resnet`` torchvision ImageNet ResNet: ``conv1``, ``layer1`` .. -> ``backbone.*``; ``fc.*`` dropped
``hrnet_imagenet``     official HRNet ImageNet checkpoints (``hrnet_w32-36af842e.pth``): -> ``backbone.*``;
                       the classifier (``incre_modules``, ``downsamp_modules``, ``final_layer``,
                       ``classifier``) and the lower-resolution outputs of the last ``stage4`` module
                       (``stage4.2.fuse_layers.{1,2,3}``, unused by the pose network) dropped
``official_pose``      official HRNet and SimpleBaseline pose checkpoints (``pose_hrnet_w32_256x192.pth``,
                       ``pose_resnet_50_256x192.pth``): ``final_layer``/``deconv_layers`` -> ``head.*``, the
                       rest -> ``backbone.*``
``mmpose``             mmpose top-down heatmap checkpoints, ``{"state_dict": ..., "meta": ...}``: ``backbone.*``
                       and ``head.*`` (mmpose 1.x) kept, ``keypoint_head.*`` (mmpose 0.x) -> ``head.*``
=====================  =====================================================================================

Every format first loses a ``module.`` (DataParallel) or ``_orig_mod.`` (``torch.compile``) prefix.
``format="auto"`` tells them apart by their keys. ``part="backbone"`` loads ``model.backbone`` only and leaves
the head at its initialisation (ImageNet weights); head entries of the file are then dropped and reported.

Loading is strict: a key missing from the file, an unexpected key, or a shape that differs raises a
``ValueError`` naming the file and listing the keys. The one tolerance is the one ``torch`` itself grants:
BatchNorm ``num_batches_tracked`` counters absent from old checkpoints keep the model's values and are listed
in the report as ``filled``.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "FORMATS",
    "LoadReport",
    "detect_format",
    "load_weights",
    "read_checkpoint",
    "remap_hrnet_imagenet",
    "remap_integral_pose",
    "remap_mmpose",
    "remap_official_pose",
    "remap_torchvision_resnet",
]

StateDict = dict[str, Tensor]
Remapped = tuple[StateDict, list[str]]
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_SHOW = 10


def remap_integral_pose(state: Mapping[str, Tensor]) -> Remapped:
    """This library's names already: ``backbone.*`` and ``head.*`` pass unchanged."""
    return dict(state), []


def remap_torchvision_resnet(state: Mapping[str, Tensor]) -> Remapped:
    """torchvision ImageNet ResNet -> ``backbone.*``; the classifier ``fc.*`` is dropped."""
    out, dropped = {}, []
    for key, value in state.items():
        if key.startswith("fc."):
            dropped.append(key)
        else:
            out["backbone." + key] = value
    return out, dropped


_HRNET_CLASSIFIER = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")
_STAGE4_FUSE = re.compile(r"stage4\.(\d+)\.fuse_layers\.(\d+)\.")


def remap_hrnet_imagenet(state: Mapping[str, Tensor]) -> Remapped:
    """Official HRNet ImageNet classifier -> ``backbone.*``.

    Dropped: the classification head (``incre_modules``, ``downsamp_modules``, ``final_layer``,
    ``classifier``) and, in the last ``stage4`` module, the fuse layers of the three lower-resolution outputs
    (``fuse_layers.1`` .. ``3``), which the classifier uses and the pose network does not build.
    """
    modules = [int(m.group(1)) for key in state if (m := _STAGE4_FUSE.match(key))]
    last = max(modules, default=-1)
    out, dropped = {}, []
    for key, value in state.items():
        fuse = _STAGE4_FUSE.match(key)
        if key.startswith(_HRNET_CLASSIFIER) or (fuse and int(fuse.group(1)) == last and int(fuse.group(2)) > 0):
            dropped.append(key)
        else:
            out["backbone." + key] = value
    return out, dropped


def remap_official_pose(state: Mapping[str, Tensor]) -> Remapped:
    """Official HRNet / SimpleBaseline pose network: ``final_layer``, ``deconv_layers`` -> ``head.*``, rest ->
    ``backbone.*``."""
    out = {}
    for key, value in state.items():
        head = key.startswith(("final_layer.", "deconv_layers."))
        out[("head." if head else "backbone.") + key] = value
    return out, []


def remap_mmpose(state: Mapping[str, Tensor]) -> Remapped:
    """mmpose top-down heatmap model: ``backbone.*``, ``head.*`` kept; ``keypoint_head.*`` (0.x) -> ``head.*``.

    Any other key is kept as it is and so fails the strict comparison.
    """
    out = {}
    for key, value in state.items():
        out["head." + key.removeprefix("keypoint_head.") if key.startswith("keypoint_head.") else key] = value
    return out, []


REMAPS: dict[str, Callable[[Mapping[str, Tensor]], Remapped]] = {
    "integral_pose": remap_integral_pose,
    "torchvision_resnet": remap_torchvision_resnet,
    "hrnet_imagenet": remap_hrnet_imagenet,
    "official_pose": remap_official_pose,
    "mmpose": remap_mmpose,
}
FORMATS = ("auto", *REMAPS)
PARTS = ("all", "backbone")


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_weights` did.

    Attributes:
        path: the file.
        format: the format used (detected where ``format="auto"``).
        part: ``"all"`` or ``"backbone"``.
        loaded: number of tensors copied into the model.
        dropped: keys of the file left out on purpose (a classifier, or the head with ``part="backbone"``).
        filled: ``num_batches_tracked`` counters absent from the file, left at the model's values.
    """

    path: str
    format: str
    part: str
    loaded: int
    dropped: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.path}: loaded {self.loaded} tensors into {self.part!r} (format {self.format!r})"]
        if self.dropped:
            lines.append(f"  dropped {_listing(self.dropped)}")
        if self.filled:
            lines.append(f"  kept the model's value for {_listing(self.filled)}")
        return "\n".join(lines)


def read_checkpoint(path: str | os.PathLike) -> tuple[StateDict, str | None]:
    """The state dict inside a checkpoint file and the entry it came from (``"model"``, ``"state_dict"`` or
    ``None`` for a bare state dict), with ``module.`` / ``_orig_mod.`` prefixes removed.

    Uses ``torch.load(weights_only=True)``: files holding arbitrary Python objects are refused.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path}: not loadable with torch.load(weights_only=True) ({str(error).splitlines()[0]}); if the file "
            "comes from a source you trust, save its state dict alone and load that"
        ) from error
    entry = None
    if isinstance(obj, Mapping):
        for name in ("model", "state_dict"):
            if isinstance(obj.get(name), Mapping):
                entry, obj = name, obj[name]
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(f"{path}: expected a state dict (str -> Tensor), or a dict holding one under 'model' or "
                         f"'state_dict', got {type(obj).__name__}")
    state = {}
    for key, value in obj.items():
        for prefix in _WRAPPER_PREFIXES:
            key = key.removeprefix(prefix)
        state[key] = value
    return state, entry


def detect_format(keys: list[str] | tuple[str, ...], entry: str | None = None) -> str | None:
    """The format of a checkpoint from its (prefix-stripped) keys and entry; ``None`` when unrecognised."""
    keyset = set(keys)
    if any(k.startswith("keypoint_head.") for k in keys):
        return "mmpose"
    if keys and all(k.startswith(("backbone.", "head.")) for k in keys):
        return "mmpose" if entry == "state_dict" else "integral_pose"
    if "fc.weight" in keyset and any(k.startswith("layer4.") for k in keys):
        return "torchvision_resnet"
    if any(k.startswith(("incre_modules.", "downsamp_modules.", "classifier.")) for k in keys):
        return "hrnet_imagenet"
    if "final_layer.weight" in keyset and "conv1.weight" in keyset:
        return "official_pose"
    return None


def load_weights(model: nn.Module, path: str | os.PathLike, *, format: str = "auto", part: str = "all") -> LoadReport:
    """Load a checkpoint into ``model`` strictly and report what was loaded.

    Args:
        model: a :class:`~integral_pose.models.PoseModel` (state dict keys ``backbone.*`` and ``head.*``).
        path: the checkpoint file.
        format: ``"auto"`` or one of ``integral_pose``, ``torchvision_resnet``, ``hrnet_imagenet``,
            ``official_pose``, ``mmpose`` (see the module docstring).
        part: ``"all"`` loads the whole model; ``"backbone"`` loads ``model.backbone`` only (ImageNet
            weights), dropping any head entries of the file.

    Returns:
        A :class:`LoadReport`; ``print(report)`` gives a summary.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, for an unknown format or part, an undetectable format, or keys that do
            not match: the first 10 missing, unexpected and mis-shaped keys with their counts.
    """
    if format not in FORMATS:
        raise ValueError(f"format: unknown format {format!r}; choose from {', '.join(FORMATS)}")
    if part not in PARTS:
        raise ValueError(f"part: expected one of {', '.join(PARTS)}, got {part!r}")
    path = os.fspath(path)
    state, entry = read_checkpoint(path)
    if format == "auto":
        detected = detect_format(list(state), entry)
        if detected is None:
            raise ValueError(f"{path}: cannot tell the checkpoint format from its keys (first: "
                             f"{', '.join(list(state)[:5])}); pass format= one of {', '.join(REMAPS)}")
        format = detected
    state, dropped = REMAPS[format](state)

    target: nn.Module = model
    if part == "backbone":
        dropped += [k for k in state if not k.startswith("backbone.")]
        state = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        target = model.backbone
    expected = target.state_dict()
    filled = [k for k in expected if k not in state and k.endswith(".num_batches_tracked")]
    for key in filled:
        state[key] = expected[key]
    _check_keys(path, format, part, state, expected)
    target.load_state_dict(state, strict=True)
    return LoadReport(path, format, part, loaded=len(state) - len(filled), dropped=tuple(dropped),
                      filled=tuple(filled))


def _check_keys(path: str, format: str, part: str, state: Mapping[str, Tensor],
                expected: Mapping[str, Tensor]) -> None:
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: file {tuple(state[k].shape)}, model {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or shapes):
        return
    lines = [f"{path}: the weights do not match the model (format {format!r}, part {part!r})"]
    for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shapes)):
        if items:
            lines.append(f"  {title}: {_listing(items)}")
    if missing and part == "all" and all(k.startswith("head.") for k in missing) and not unexpected:
        lines.append("  the file holds no head: load backbone weights with part='backbone'")
    raise ValueError("\n".join(lines))


def _listing(keys: list[str] | tuple[str, ...]) -> str:
    more = f", ... ({len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return f"{len(keys)}: " + ", ".join(keys[:_SHOW]) + more

"""Checkpoints: written atomically, read safely, and turned back into a model with its method.

A checkpoint of :mod:`integral_pose.train` is a dict with ``model`` (the state dict), ``config`` (the resolved
config as plain data, :func:`integral_pose.config.to_dict`), ``version`` and, for ``last.pt``, the optimiser,
scheduler, RNG and position of the run.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from integral_pose.config import Config, from_dict

__all__ = ["load_checkpoint", "load_model", "save_checkpoint"]


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` atomically: a temporary file in the same folder, fsync, rename.

    A crash at any moment leaves either the previous file or the new one, never a truncated file (a temporary
    ``.NAME.*.tmp`` may stay behind after a kill; it is never read).
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint (tensors and plain data only: ``torch.load(weights_only=True)``).

    Raises:
        ValueError: naming the file when it is missing, truncated or not a checkpoint.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such checkpoint") from None
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise ValueError(f"{path}: cannot read the checkpoint: {error}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a checkpoint dict, got {type(state).__name__}")
    return state


def load_model(path: str | os.PathLike[str], config: Config | None = None) -> tuple[nn.Module, Config]:
    """The model of a checkpoint, in eval mode, and its config (whose ``method`` decodes it).

    Args:
        path: a checkpoint of this library (its config inside), or, with ``config``, weights in a foreign format
            (torchvision, official HRNet, mmpose; see :func:`integral_pose.models.weights.load_weights`).
        config: the model, method and data settings for foreign weights; with a checkpoint of this library it
            overrides the stored config's method and data (the model must match the weights).

    Raises:
        ValueError: naming the file when it holds no config and none is given, or when the weights do not fit.
    """
    from integral_pose.models import build_model
    from integral_pose.models.weights import load_weights

    state = load_checkpoint(path)
    stored = from_dict(state["config"]) if isinstance(state.get("config"), dict) else None
    if config is None and stored is None:
        raise ValueError(f"{path}: holds no config (not a checkpoint of integral-pose); pass a config that names "
                         "the backbone, the method and the data")
    config = config or stored
    num_keypoints = _num_keypoints(state, config)
    model = build_model(config.model.backbone, num_keypoints)
    load_weights(model, path)
    return model.eval(), config


def _num_keypoints(state: dict[str, Any], config: Config) -> int:
    weights = state.get("model", state.get("state_dict", state))
    for key in ("head.final_layer.weight", "final_layer.weight", "keypoint_head.final_layer.weight"):
        if isinstance(weights, dict) and key in weights:
            return int(weights[key].shape[0])
    from integral_pose.inference import spec_of

    return spec_of(config).num_keypoints

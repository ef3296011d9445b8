"""ONNX export: the network with its preprocessing and its method's decoder in one graph.

The graph takes ``images`` ``(B, 3, H, W)`` (uint8 RGB 0..255, as :func:`integral_pose.data.crop.crop_box` crops,
or float32 with the same values) with a dynamic batch B and returns ``keypoints`` ``(B, K, 2)`` in input (crop)
pixels and ``scores`` ``(B, K)``. The image-pixel coordinates are the crop's ``inverse`` matrix applied to
``keypoints`` (see :mod:`integral_pose.coords` and :func:`integral_pose.data.crop.apply_affine`). Normalisation
lives inside :class:`~integral_pose.models.PoseModel`, so nothing else is needed before the graph.

The export uses PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``): in torch 2.13 the
default is the ``torch.export``-based exporter, which needs the ``onnxscript`` package. The TorchScript exporter
traces one run: Python control flow that depends on tensor values is frozen to the branch the example took, so a
decoder exports correctly only where its outputs never depend on such a branch (see docs/inference.md for the
decoders that do and do not). Requires the ``export`` extra (``onnx``, ``onnxruntime`` to check the result).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from integral_pose.coords import heatmap_to_input

__all__ = ["DecodedModel", "export_onnx", "run_onnx"]

DEFAULT_OPSET = 17


class DecodedModel(nn.Module):
    """A model and its decoder as one module: ``images (B, 3, H, W) -> (keypoints (B, K, 2) input px, scores (B, K))``.

    Args:
        model: a :class:`~integral_pose.models.PoseModel` (or any module with ``stride``).
        method: has ``decode(logits) -> (coords heatmap px, scores)``.
    """

    def __init__(self, model: nn.Module, method) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self.stride = int(model.stride)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        coords, scores = self.method.decode(self.model(images))
        return heatmap_to_input(coords, (self.stride, self.stride)), scores

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


def _exp2(g, x):
    """ONNX has no exp2: ``2 ** x`` as Pow (the decoders use exp2, the fast exponential on CPU)."""
    return g.op("Pow", g.op("Constant", value_t=torch.tensor(2.0, dtype=torch.float32)), x)


def _expm1(g, x):
    """ONNX has no expm1. ``exp(x) - 1`` loses the relative precision of small x (the local compensated weights on
    flat maps), so for ``|x| < 0.5`` use ``2 t / (1 - t)`` with ``t = tanh(x / 2)``, exact to float32 rounding."""
    def constant(value: float):
        return g.op("Constant", value_t=torch.tensor(value, dtype=torch.float32))

    t = g.op("Tanh", g.op("Mul", x, constant(0.5)))
    small = g.op("Div", g.op("Mul", t, constant(2.0)), g.op("Sub", constant(1.0), t))
    large = g.op("Sub", g.op("Exp", x), constant(1.0))
    return g.op("Where", g.op("Less", g.op("Abs", x), constant(0.5)), small, large)


def export_onnx(model: nn.Module, method, path: str | os.PathLike[str], *, input_size: Sequence[int] = (256, 192),
                dtype: torch.dtype = torch.uint8, opset: int = DEFAULT_OPSET, example: Tensor | None = None) -> Path:
    """Write the model and its decoder as one ONNX graph with a dynamic batch dimension.

    Args:
        model: the network (put in eval mode here).
        method: its test-time decoder (``decode``).
        path: the ``.onnx`` file to write (its folder is created).
        input_size: ``(H, W)`` of the crops the graph takes (fixed in the graph).
        dtype: of the ``images`` input, ``torch.uint8`` or ``torch.float32``.
        opset: ONNX opset version.
        example: ``(B, 3, H, W)`` images to trace with; a seeded random batch of 2 where None. Decoders with a
            value-dependent branch are frozen to what this example takes.

    Returns:
        ``path``.
    """
    if dtype not in (torch.uint8, torch.float32):
        raise ValueError(f"dtype: expected torch.uint8 or torch.float32, got {dtype}")
    h, w = int(input_size[0]), int(input_size[1])
    if example is None:
        generator = torch.Generator().manual_seed(0)
        example = torch.randint(0, 256, (2, 3, h, w), generator=generator, dtype=torch.uint8).to(dtype)
    elif tuple(example.shape[1:]) != (3, h, w):
        raise ValueError(f"example: expected shape (B, 3, {h}, {w}), got {tuple(example.shape)}")
    wrapped = DecodedModel(model, method).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.register_custom_op_symbolic("aten::exp2", _exp2, opset)
    torch.onnx.register_custom_op_symbolic("aten::expm1", _expm1, opset)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TorchScript-based ONNX export.*")
        torch.onnx.export(
            wrapped, (example,), str(path), dynamo=False, opset_version=opset, input_names=["images"],
            output_names=["keypoints", "scores"],
            dynamic_axes={"images": {0: "batch"}, "keypoints": {0: "batch"}, "scores": {0: "batch"}},
        )
    return path


def run_onnx(path: str | os.PathLike[str], images: np.ndarray | Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Run an exported graph with onnxruntime on CPU: ``images -> (keypoints (B, K, 2) input px, scores (B, K))``."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("onnxruntime is not installed: pip install 'integral-pose[export]'") from None
    images = images.numpy() if isinstance(images, Tensor) else np.asarray(images)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    keypoints, scores = session.run(["keypoints", "scores"], {"images": images})
    return keypoints, scores

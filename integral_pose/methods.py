"""The four training methods: what each one trains on and how each one decodes at test time.

- ``detection``: MSE to Gaussian heatmaps; decoded by argmax with a refinement (or a local soft-argmax).
- ``integral``: soft-argmax at ``beta``, then L1 on the coordinates; the same decoder at test time.
- ``compensated``: the same with the background bias removed: the global form (the expectation under
  ``exp(beta H) - 1``, optionally with its factor ``n / (C - n)`` clamped or detached) or the local form.
- ``combined``: one head, both losses; at test time either decoding or a fusion of the two.

A :class:`Method` is a frozen set of plain options (a config section maps onto it one to one). Its
:meth:`Method.loss` is the training step's loss, free of host synchronisation; :meth:`Method.decode` is the
test-time decoder that inference, validation and export share. Coordinates are heatmap pixels (see
:mod:`integral_pose.coords`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from integral_pose.coords import grid_mean
from integral_pose.decode import argmax
from integral_pose.decode.soft_argmax import integrate
from integral_pose.losses import coordinate_l1, heatmap_mse, js_to_target, masked_mean

__all__ = ["FUSIONS", "KINDS", "Method"]

KINDS = ("detection", "integral", "compensated", "combined")
_ACTIVATIONS = {"none": lambda x: x, "relu": F.relu, "softplus": F.softplus}
_DETECTION_DECODERS = ("argmax", "quarter", "dark", "local")
FUSIONS = ("regression", "detection", "average", "agreement")


@dataclass(frozen=True)
class Method:
    """One training method and its test-time decoder.

    Attributes:
        kind: ``detection``, ``integral``, ``compensated`` or ``combined``.
        beta: inverse temperature of the soft-argmax (regression kinds).
        window: compensated and combined: radius of the local compensated form; None: the global form.
        max_factor: global compensated form: clamp the factor ``n / (C - n)`` that scales ``J_soft - c`` to at
            most this. None trains on the exact form, whose undefined maps (``C <= n``, or a location off the map)
            are masked out of the loss and counted as ``dead``.
        detach_factor: global compensated form: no gradient through the factor ``n / (C - n)``.
        activation: applied to the network's logits before every loss and decoder: ``none``, ``relu`` or
            ``softplus`` (non-negative maps make ``exp(beta H) - 1`` non-negative, so no map is ever undefined).
        heatmap_weight: weight of the heatmap MSE (detection, combined).
        coord_weight: weight of the coordinate L1 (regression kinds, combined).
        shape_weight: weight of the Jensen-Shannon term between ``softmax(beta H)`` and the target Gaussian
            (regression kinds, combined; 0 leaves it out).
        decoder: detection and combined: the heatmap decoder, ``argmax``, ``quarter``, ``dark`` or ``local``
            (the local compensated soft-argmax with ``decoder_window`` and ``decoder_beta``).
        decoder_window, decoder_beta: options of the ``local`` decoder.
        blur_sigma: DARK's smoothing, heatmap pixels.
        fusion: combined: the test-time location, ``regression`` (the compensated soft-argmax), ``detection``
            (the heatmap decoder), ``average`` of the two, or ``agreement`` (their average where they lie within
            ``fusion_radius`` heatmap pixels of each other, else the heatmap decoder's).
        fusion_radius: see ``fusion``.
    """

    kind: Literal["detection", "integral", "compensated", "combined"] = "detection"
    beta: float = 1.0
    window: int | None = None
    max_factor: float | None = None
    detach_factor: bool = False
    activation: Literal["none", "relu", "softplus"] = "none"
    heatmap_weight: float = 1.0
    coord_weight: float = 1.0
    shape_weight: float = 0.0
    decoder: Literal["argmax", "quarter", "dark", "local"] = "dark"
    decoder_window: int = 4
    decoder_beta: float = 1.0
    blur_sigma: float = 2.0
    fusion: Literal["regression", "detection", "average", "agreement"] = "regression"
    fusion_radius: float = 1.0

    def __post_init__(self) -> None:
        choices = {"kind": KINDS, "activation": tuple(_ACTIVATIONS), "decoder": _DETECTION_DECODERS,
                   "fusion": FUSIONS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"method.{name}: unknown value {getattr(self, name)!r}; choose from "
                                 + ", ".join(allowed))
        for name in ("beta", "decoder_beta", "blur_sigma", "fusion_radius"):
            if not getattr(self, name) > 0:
                raise ValueError(f"method.{name}: expected a number > 0, got {getattr(self, name)!r}")
        for name in ("heatmap_weight", "coord_weight", "shape_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"method.{name}: expected a number >= 0, got {getattr(self, name)!r}")
        if self.window is not None and self.window < 1:
            raise ValueError(f"method.window: expected a radius >= 1 or none, got {self.window!r}")
        if self.max_factor is not None and not self.max_factor > 0:
            raise ValueError(f"method.max_factor: expected a number > 0 or none, got {self.max_factor!r}")

    @property
    def regresses(self) -> bool:
        """Whether the method trains on coordinates (every kind but detection)."""
        return self.kind != "detection"

    @property
    def debias(self) -> bool:
        """Whether the regression is bias-compensated (compensated and combined)."""
        return self.kind in ("compensated", "combined")

    @property
    def flip_merge(self) -> str:
        """How the flip test merges: ``heatmaps`` (average the maps, then decode) or ``coords``."""
        return "heatmaps" if self.kind == "detection" else "coords"

    def maps(self, logits: Tensor) -> Tensor:
        """The maps every loss and decoder reads: ``activation(logits)``, float32. ``(B, K, H, W)``."""
        return _ACTIVATIONS[self.activation](logits.float())

    def regress(self, maps: Tensor) -> tuple[Tensor, Tensor]:
        """The method's soft-argmax: ``maps (B, K, H, W) -> (coords (B, K, 2), valid (B, K))``.

        Invalid maps (only the exact global compensated form has them) hold the argmax cell, without gradient.
        """
        if not self.debias:
            out = integrate(maps, beta=self.beta)
            return out.coords, out.valid
        if self.window is not None or (self.max_factor is None and not self.detach_factor):
            out = integrate(maps, beta=self.beta, debias=True, window=self.window)
            return out.coords, out.valid
        return _factor_form(maps, self.beta, self.max_factor, self.detach_factor)

    def loss(self, logits: Tensor, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """The training loss of one batch.

        Args:
            logits: ``(B, K, H, W)`` network output.
            batch: at least ``heatmaps (B, K, H, W)``, ``coords (B, K, 2)`` and ``weights (B, K)`` (the
                dataset's samples, see :class:`integral_pose.data.dataset.TopDownDataset`).

        Returns:
            ``(loss, stats)``: the scalar loss and detached scalar tensors for logging (``heatmap``, ``coord``,
            ``shape`` terms where used; ``dead``: the share of labelled maps whose compensated location is
            undefined, for the compensated kinds).
        """
        maps = self.maps(logits)
        weights = batch["weights"]
        stats: dict[str, Tensor] = {}
        loss = maps.new_zeros(())
        if self.kind in ("detection", "combined"):
            term = masked_mean(heatmap_mse(maps, batch["heatmaps"]), weights)
            loss = loss + self.heatmap_weight * term
            stats["heatmap"] = term.detach()
        if self.regresses:
            coords, valid = self.regress(maps)
            used = weights * valid
            term = masked_mean(coordinate_l1(coords, batch["coords"]), used)
            loss = loss + self.coord_weight * term
            stats["coord"] = term.detach()
            if self.debias:
                stats["dead"] = ((weights > 0) & ~valid).sum() / (weights > 0).sum().clamp(min=1)
            if self.shape_weight > 0:
                term = masked_mean(js_to_target(maps, batch["heatmaps"], beta=self.beta), weights)
                loss = loss + self.shape_weight * term
                stats["shape"] = term.detach()
        stats["loss"] = loss.detach()
        return loss, stats

    def decode(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """The test-time decoder: ``logits (B, K, H, W) -> (coords (B, K, 2) heatmap px, scores (B, K))``.

        Scores are the maps' peak values (other confidences: :func:`integral_pose.inference.keypoint_scores`).
        """
        maps = self.maps(logits)
        if self.kind == "detection":
            return self._detect(maps)
        coords, _ = self.regress(maps)
        if self.kind == "combined" and self.fusion != "regression":
            found, scores = self._detect(maps)
            if self.fusion == "detection":
                return found, scores
            mean = 0.5 * (coords + found)
            if self.fusion == "average":
                return mean, scores
            close = (coords - found).norm(dim=-1, keepdim=True) <= self.fusion_radius
            return torch.where(close, mean, found), scores
        return coords, maps.flatten(-2).amax(dim=-1)

    def _detect(self, maps: Tensor) -> tuple[Tensor, Tensor]:
        if self.decoder == "local":
            out = integrate(maps, beta=self.decoder_beta, debias=True, window=self.decoder_window)
            return out.coords, out.peak
        refine = None if self.decoder == "argmax" else self.decoder
        return argmax(maps, refine=refine, blur_sigma=self.blur_sigma)


def _factor_form(maps: Tensor, beta: float, max_factor: float | None, detach: bool) -> tuple[Tensor, Tensor]:
    """Global compensation written as ``J = J_soft + f (J_soft - c)`` with ``f = n / (C - n)`` clamped or detached.

    ``(B, K, H, W) -> (coords (B, K, 2), valid (B, K))``; unclamped and attached, this is the exact form. With a
    clamp every map is valid: where ``C <= n`` the factor takes its clamp (the limit as ``C`` falls to ``n``).
    """
    soft = integrate(maps, beta=beta).coords
    n = maps.shape[-1] * maps.shape[-2]
    log_ratio = torch.logsumexp(beta * maps.flatten(-2), dim=-1) - math.log(n)  # log(C / n)
    alive = log_ratio > 0
    factor = torch.where(alive, 1.0 / torch.expm1(log_ratio.clamp(min=1e-30)), torch.full_like(log_ratio, math.inf))
    if max_factor is not None:
        factor = factor.clamp(max=max_factor)
        alive = torch.ones_like(alive)
    else:
        factor = torch.where(alive, factor, torch.zeros_like(factor))
    if detach:
        factor = factor.detach()
    centre = soft.new_tensor(grid_mean(maps.shape[-2:]))
    return soft + factor.unsqueeze(-1) * (soft - centre), alive

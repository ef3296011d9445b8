"""Section 1 of the bias study: the paper's analysis on zero-background blobs.

Unit Gaussian blobs over a grid of positions covering the map, every decoder at each position, the plain
bias against the closed form, the sources of the compensated error; then where the closed form stops being
exact (a background level, noise, a second peak). Errors in heatmap pixels (see integral_pose.coords).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from integral_pose import argmax, soft_argmax
from integral_pose.bias.closed_form import background_share, closed_form, predicted_soft_argmax
from integral_pose.bias.maps import gaussian_maps, position_grid, random_peaks, realistic_maps
from integral_pose.bias.settings import Rows, StudySettings, Tick, errors, statistics
from integral_pose.bias.variants import expectation64
from integral_pose.coords import grid_mean as mean_pixel
from integral_pose.coords import on_map

DETECTION = ("argmax", "quarter", "dark")
SOFT = ("plain", "compensated")
METHODS = DETECTION + SOFT
_CHUNK = 2048  # maps per float64 batch on the padded canvas, to bound memory


@dataclass
class PositionSweep:
    """Section-1 results on the position grid; P positions, B betas.

    Attributes:
        positions: ``(P, 2)`` true centres (x, y).
        interior: ``(P,)`` True where the centre is at least ``4 sigma`` from every border.
        detection: ``{method: (P, 2)}`` argmax, quarter, DARK (independent of beta).
        plain, compensated: ``(B, P, 2)`` the library's soft-argmax in float32, plain and compensated.
        predicted: ``(B, P, 2)`` the closed form with the true centre as J.
        exact64: ``(B, P, 2)`` the compensated expectation of the same map in float64.
        untruncated64: ``(B, P, 2)`` the same expectation on a canvas wide enough to hold the whole blob.
        share: ``(B, P)`` the background's share n / C.
    """

    positions: Tensor
    interior: Tensor
    detection: dict[str, Tensor]
    plain: Tensor
    compensated: Tensor
    predicted: Tensor
    exact64: Tensor
    untruncated64: Tensor
    share: Tensor
    betas: tuple[float, ...]

    def method_errors(self, method: str, beta_index: int) -> Tensor:
        """``(P,)`` error of one method at one beta."""
        if method in self.detection:
            return errors(self.detection[method], self.positions)
        coords = self.plain if method == "plain" else self.compensated
        return errors(coords[beta_index], self.positions)


def position_sweep(settings: StudySettings, tick: Tick) -> PositionSweep:
    """Every section-1 decoder on zero-background blobs over the whole map; ``tick`` once per beta, plus one."""
    shape, sigma = settings.shape, settings.sigma
    positions = position_grid(shape, settings.position_step)
    maps64 = gaussian_maps(shape, positions, sigma)
    maps = maps64.float()
    height, width = shape
    margin = 4 * sigma
    interior = ((positions >= margin) & (positions <= torch.tensor([width - 1, height - 1]) - margin)).all(dim=-1)
    detection = {"argmax": argmax(maps)[0], "quarter": argmax(maps, "quarter")[0],
                 "dark": argmax(maps, "dark", blur_sigma=sigma)[0]}
    tick()
    pad = math.ceil(8 * sigma)  # beyond 8 sigma a unit-height blob's weights are below 1e-13 of the peak's
    results: dict[str, list[Tensor]] = {k: [] for k in ("plain", "compensated", "predicted", "exact64", "untruncated")}
    shares = []
    for beta in settings.betas:
        results["plain"].append(soft_argmax(maps, beta=beta).double())
        results["compensated"].append(soft_argmax(maps, beta=beta, debias=True).double())
        results["predicted"].append(predicted_soft_argmax(maps64, positions, beta=beta))
        shares.append(background_share(maps64, beta=beta))
        results["exact64"].append(expectation64(maps64, beta=beta))
        results["untruncated"].append(torch.cat([
            expectation64(gaussian_maps((height + 2 * pad, width + 2 * pad), chunk + pad, sigma), beta=beta) - pad
            for chunk in positions.split(_CHUNK)
        ]))
        tick()
    stacked = {k: torch.stack(v) for k, v in results.items()}
    return PositionSweep(positions, interior, detection, stacked["plain"], stacked["compensated"],
                         stacked["predicted"], stacked["exact64"], stacked["untruncated"], torch.stack(shares),
                         tuple(settings.betas))


def headline_rows(sweep: PositionSweep) -> Rows:
    """Per beta and method: error statistics over all positions and over the interior ones."""
    rows = []
    for b, beta in enumerate(sweep.betas):
        for method in METHODS:
            err = sweep.method_errors(method, b)
            everywhere, inside = statistics(err), statistics(err[sweep.interior])
            rows.append({"beta": beta, "method": method, "mean": everywhere["mean"], "p95": everywhere["p95"],
                         "max": everywhere["max"], "interior_mean": inside["mean"], "interior_max": inside["max"]})
    return rows


def position_rows(sweep: PositionSweep) -> Rows:
    """One row per beta and position: every method's error, the plain result and its closed-form prediction."""
    rows = []
    for b, beta in enumerate(sweep.betas):
        per_method = {m: sweep.method_errors(m, b) for m in METHODS}
        for p in range(sweep.positions.shape[0]):
            x, y = sweep.positions[p].tolist()
            row: dict[str, object] = {"beta": beta, "x": x, "y": y, "interior": int(sweep.interior[p])}
            row.update({f"error_{m}": float(per_method[m][p]) for m in METHODS})
            row.update({"plain_x": float(sweep.plain[b, p, 0]), "plain_y": float(sweep.plain[b, p, 1]),
                        "predicted_x": float(sweep.predicted[b, p, 0]), "predicted_y": float(sweep.predicted[b, p, 1]),
                        "background_share": float(sweep.share[b, p])})
            rows.append(row)
    return rows


def closed_form_rows(sweep: PositionSweep, shape: tuple[int, int]) -> Rows:
    """Per beta: the plain bias, and how far plain soft-argmax lies from the closed form.

    Two readings of the closed form: with the true centre as J (the paper's prediction), and with the
    peak's own float64 expectation as J (an identity, so only rounding remains).
    """
    grid_mean = torch.tensor(mean_pixel(shape), dtype=torch.float64)
    rows = []
    for b, beta in enumerate(sweep.betas):
        bias = errors(sweep.plain[b], sweep.positions)
        to_prediction = errors(sweep.plain[b], sweep.predicted[b])
        to_identity = errors(sweep.plain[b], closed_form(sweep.exact64[b], sweep.share[b], grid_mean))
        rows.append({"beta": beta, "plain_bias_mean": float(bias.mean()), "plain_bias_max": float(bias.max()),
                     "share_min": float(sweep.share[b].min()), "share_max": float(sweep.share[b].max()),
                     "prediction_residual_interior_max": float(to_prediction[sweep.interior].max()),
                     "prediction_residual_max": float(to_prediction.max()),
                     "identity_residual_max": float(to_identity.max())})
    return rows


def error_source_rows(sweep: PositionSweep) -> Rows:
    """Per beta, the compensated error split into grid sampling, the border and float32 rounding.

    - sampling: the float64 expectation on a canvas holding the whole blob, against the true centre;
    - border: the expectation on the map against the one on the wide canvas (support cut by the border);
    - rounding: the library's float32 result against the float64 expectation of the same map.
    Also the plain soft-argmax bias on the same maps, for scale.
    """
    rows = []
    for b, beta in enumerate(sweep.betas):
        sampling = errors(sweep.untruncated64[b], sweep.positions)
        border = errors(sweep.exact64[b], sweep.untruncated64[b])
        rounding = errors(sweep.compensated[b], sweep.exact64[b])
        total = errors(sweep.compensated[b], sweep.positions)
        plain = errors(sweep.plain[b], sweep.positions)
        rows.append({"beta": beta, "sampling_mean": float(sampling.mean()), "sampling_max": float(sampling.max()),
                     "border_interior_max": float(border[sweep.interior].max()), "border_max": float(border.max()),
                     "float32_vs_float64_mean": float(rounding.mean()),
                     "float32_vs_float64_max": float(rounding.max()),
                     "compensated_interior_max": float(total[sweep.interior].max()),
                     "compensated_max": float(total.max()),
                     "plain_bias_mean": float(plain.mean()), "plain_bias_max": float(plain.max())})
    return rows


LIMITS = {
    "background": (-1.0, -0.3, -0.1, -0.01, 0.0, 0.01, 0.1, 0.3, 1.0),
    "noise": (0.0, 0.003, 0.01, 0.03, 0.1, 0.3),
    "second_peak": (0.0, 0.1, 0.25, 0.5, 0.75),
}
_LIMIT_DISTANCE = 12.0  # px between the main and the second peak


def closed_form_limits(settings: StudySettings, generator: torch.Generator, tick: Tick) -> Rows:
    """Blobs away from the border under one departure from the closed form's assumptions at a time.

    For each kind in ``LIMITS`` (background level b, noise standard deviation, second peak's relative
    height at 12 px) and each beta: the compensated error against the true centre, the plain error, the
    residual of plain soft-argmax against the closed form's prediction, and the share of maps whose total
    compensated weight is not positive or whose signed expectation falls off the map (the decoder returns
    the argmax cell there). ``tick`` per kind.
    """
    shape, sigma, n = settings.shape, settings.sigma, settings.limit_maps
    rows = []
    for kind, values in LIMITS.items():
        for value in values:
            ratio = value if kind == "second_peak" else 0.0
            peaks = random_peaks(n, shape, generator, sigma=(sigma, sigma), amplitude=(1.0, 1.0),
                                 margin=4 * sigma, second_peak=ratio > 0, distance=(_LIMIT_DISTANCE,) * 2,
                                 ratio=(ratio, ratio))
            background = value if kind == "background" else 0.0
            noise = value if kind == "noise" else 0.0
            maps = realistic_maps(peaks, shape, background, noise, generator)
            for beta in settings.betas:
                compensated = errors(soft_argmax(maps, beta=beta, debias=True), peaks.centres)
                plain = soft_argmax(maps, beta=beta)
                residual = errors(plain, predicted_soft_argmax(maps, peaks.centres, beta=beta))
                total = torch.expm1(beta * maps.double()).sum(dim=(1, 2))
                signed = expectation64(maps, beta=beta)
                off_map = ~on_map(signed, shape)
                rows.append({"kind": kind, "value": value, "beta": beta,
                             "compensated_mean": float(compensated.mean()),
                             "compensated_p95": float(torch.quantile(compensated, 0.95)),
                             "plain_mean": float(errors(plain, peaks.centres).mean()),
                             "closed_form_residual_mean": float(residual.mean()),
                             "closed_form_residual_max": float(residual.max()),
                             "fallback_share": float(((total <= 0) | off_map).double().mean())})
        tick()
    return rows

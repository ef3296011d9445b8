"""The bias study's figures, written as PNG through matplotlib's object interface (no pyplot, no global backend).

Errors are in heatmap pixels (see integral_pose.coords). One colour per decoder and one per beta, the same
in every figure.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from integral_pose._files import atomic_path
from integral_pose.bias.closed_form import background_share
from integral_pose.bias.experiments import StudyResults
from integral_pose.bias.positions import LIMITS, PositionSweep
from integral_pose.bias.realistic import BACKGROUNDS, NOISE_LEVELS, SECOND_PEAK, condition_name
from integral_pose.bias.settings import errors
from integral_pose.coords import grid_mean as mean_pixel
from integral_pose.coords import map_extent

METHOD_COLOURS = {"argmax": "#7f7f7f", "quarter": "#8c564b", "dark": "#1f77b4", "plain": "#d62728",
                  "compensated": "#2ca02c"}
METHOD_LABELS = {"argmax": "argmax", "quarter": "quarter offset", "dark": "DARK", "plain": "plain soft-argmax",
                 "compensated": "compensated soft-argmax"}
RULE_COLOURS = {"max": "#d62728", "mean": "#9467bd", "median": "#e377c2", "log-mean-exp": "#17becf",
                "mean+2sd": "#bcbd22"}
_ERROR_NORM = {"vmin": 1e-6, "vmax": 50.0}  # the colour range of every error map, px
_DPI = 110


def beta_colour(index: int, count: int) -> tuple[float, float, float, float]:
    """A viridis colour for the ``index``-th of ``count`` betas."""
    return colormaps["viridis"](index / max(count - 1, 1) * 0.9)


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], layout: str | None = None,
              **kwargs) -> tuple[Figure, Any]:
    """A new :class:`~matplotlib.figure.Figure` (not registered with pyplot) and its axes, as ``plt.subplots``."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def write_figures(results: StudyResults, out: Path) -> dict[str, str]:
    """Write every figure into ``out``; returns ``{file name: what it shows}``."""
    figures = {
        "expectation_1d.png": plot_expectation_1d,
        "error_maps_soft_argmax.png": plot_soft_error_maps,
        "error_maps_detection.png": plot_detection_error_maps,
        "closed_form.png": plot_closed_form,
        "compensation_error_sources.png": plot_error_sources,
        "closed_form_limits.png": plot_closed_form_limits,
        "realistic_errors.png": plot_realistic,
        "window_radius.png": plot_window,
        "ring_rules.png": plot_ring_rules,
    }
    captions = {}
    for name, plot in figures.items():
        fig, caption = plot(results)
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=_DPI, format="png")
        captions[name] = caption
    return captions


def plot_expectation_1d(results: StudyResults) -> tuple[Figure, str]:
    """A 1D map of 64 cells with a Gaussian at 15.3: the softmax mass split into peak and background."""
    sigma, centre, n = results.settings.sigma, 15.3, 64
    x = np.arange(n, dtype=np.float64)
    heatmap = np.exp(-0.5 * ((x - centre) / sigma) ** 2)
    fig, axes = _subplots(2, 2, figsize=(12, 6.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    for column, beta in enumerate((1.0, 5.0)):
        weights = np.exp(beta * heatmap)
        total = weights.sum()
        peak = (weights - 1) / total
        plain = (weights * x).sum() / total
        compensated = ((weights - 1) * x).sum() / (weights - 1).sum()
        share = float(background_share(torch.from_numpy(heatmap).view(1, n), beta=beta))
        top, bottom = axes[0, column], axes[1, column]
        top.bar(x, heatmap, width=0.9, color="#444444")
        top.set_title(f"beta = {beta:g}: the heatmap H")
        top.set_ylabel("logit H")
        bottom.bar(x, np.full(n, 1 / total), width=0.9, color="#bbbbbb", label="background part 1 / C per cell")
        bottom.bar(x, peak, bottom=1 / total, width=0.9, color=METHOD_COLOURS["compensated"],
                   label="peak part (exp(beta H) - 1) / C")
        for value, colour, style, label in (
            (centre, "black", "--", f"true centre {centre:.2f}"),
            (mean_pixel((n,))[0], "#7f7f7f", ":", f"grid mean c = {mean_pixel((n,))[0]:.1f}"),
            (plain, METHOD_COLOURS["plain"], "-", f"plain soft-argmax {plain:.2f}"),
            (compensated, METHOD_COLOURS["compensated"], "-.", f"compensated {compensated:.2f}"),
        ):
            bottom.axvline(value, color=colour, linestyle=style, linewidth=1.8, label=label)
        bottom.set_ylabel("softmax weight exp(beta H) / C")
        bottom.set_xlabel("x (heatmap px)")
        bottom.set_title(f"softmax: the background's share n / C = {share:.3f} pulls towards c")
        bottom.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"1D map of {n} cells, unit Gaussian (sigma {sigma:g}) at x = {centre} on a zero background")
    fig.tight_layout()
    return fig, ("The 1D illustration: softmax(beta H) of a unit Gaussian on a zero background is a uniform "
                 "floor 1 / C on every cell plus the peak's own part. The floor's share n / C pulls plain "
                 "soft-argmax (red) from the true centre towards the grid mean; dropping the floor (green) "
                 "gives the centre back.")


def _grid_shape(sweep: PositionSweep) -> tuple[int, int]:
    xs, ys = sweep.positions[:, 0].unique(), sweep.positions[:, 1].unique()
    return ys.numel(), xs.numel()


def _error_image(ax, sweep: PositionSweep, values: torch.Tensor, shape: tuple[int, int], title: str,
                 ylabel: str | None):
    image = values.clamp(min=_ERROR_NORM["vmin"]).view(_grid_shape(sweep)).numpy()
    (left, right), (top, bottom) = map_extent(shape)
    artist = ax.imshow(image, origin="upper", extent=(left, right, bottom, top),
                       norm=LogNorm(**_ERROR_NORM), cmap="magma", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("keypoint x (px)")
    if ylabel:
        ax.set_ylabel(ylabel)
    return artist


def plot_soft_error_maps(results: StudyResults) -> tuple[Figure, str]:
    """Plain and compensated soft-argmax error over keypoint position, one column per beta."""
    sweep, shape = results.sweep, results.settings.shape
    betas = sweep.betas
    fig, axes = _subplots(2, len(betas), figsize=(2.4 * len(betas) + 1.6, 7.4), squeeze=False,
                             layout="constrained")
    for b, beta in enumerate(betas):
        for row, method in enumerate(("plain", "compensated")):
            err = sweep.method_errors(method, b)
            ylabel = f"{METHOD_LABELS[method]}\nkeypoint y (px)" if b == 0 else None
            artist = _error_image(axes[row, b], sweep, err, shape, f"beta={beta:g}, mean {err.mean():.3g} px", ylabel)
    fig.colorbar(artist, ax=axes, label="error |decoded - true| (px, log scale)", shrink=0.8)
    fig.suptitle("Soft-argmax error over keypoint position (zero background)")
    return fig, (f"Error over keypoint position on the {shape[0]}x{shape[1]} map (zero background, sigma "
                 f"{results.settings.sigma:g}), plain soft-argmax (top) and compensated (bottom), per beta; "
                 "colours clipped below 1e-6 px.")


def plot_detection_error_maps(results: StudyResults) -> tuple[Figure, str]:
    """Argmax, quarter and DARK error over keypoint position (independent of beta)."""
    sweep, shape = results.sweep, results.settings.shape
    fig, axes = _subplots(1, 3, figsize=(9.5, 4.4), squeeze=False, layout="constrained")
    for column, method in enumerate(("argmax", "quarter", "dark")):
        err = sweep.method_errors(method, 0)
        artist = _error_image(axes[0, column], sweep, err, shape, f"{METHOD_LABELS[method]}\nmean {err.mean():.3g} px",
                              "keypoint y (px)" if column == 0 else None)
    fig.colorbar(artist, ax=axes, label="error |decoded - true| (px, log scale)", shrink=0.8)
    return fig, ("Error over keypoint position of argmax, the quarter offset and DARK on the same maps "
                 "(their result does not depend on beta); same colour scale as the soft-argmax maps.")


def _border_distance(sweep: PositionSweep, shape: tuple[int, int]) -> torch.Tensor:
    height, width = shape
    limits = torch.tensor([width - 1, height - 1], dtype=torch.float64)
    return torch.minimum(sweep.positions, limits - sweep.positions).amin(dim=-1)


def _against_border_distance(ax: Axes, results: StudyResults, values: list[torch.Tensor], ylabel: str,
                             title: str) -> None:
    """Scatter one ``(positions,)`` series per beta against the keypoint's distance to the nearest border."""
    sweep = results.sweep
    distance = _border_distance(sweep, results.settings.shape)
    for b, (beta, series) in enumerate(zip(sweep.betas, values, strict=True)):
        ax.scatter(distance, series.clamp(min=1e-7), s=4, color=beta_colour(b, len(sweep.betas)),
                   label=f"beta={beta:g}", alpha=0.6)
    ax.set_yscale("log")
    ax.set_xlabel("distance from the keypoint to the nearest border (px)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, markerscale=3)


def plot_closed_form(results: StudyResults) -> tuple[Figure, str]:
    """Measured plain bias against the closed form's prediction, and the residual near the border."""
    sweep = results.sweep
    fig, (left, right) = _subplots(1, 2, figsize=(12, 5))
    for b, beta in enumerate(sweep.betas):
        measured = (sweep.plain[b] - sweep.positions)[:, 0]
        predicted = (sweep.predicted[b] - sweep.positions)[:, 0]
        left.scatter(predicted, measured, s=4, color=beta_colour(b, len(sweep.betas)), label=f"beta={beta:g}",
                     alpha=0.6)
    lims = left.get_xlim()
    left.plot(lims, lims, color="black", linewidth=0.8, linestyle="--", label="measured = predicted")
    left.set_xlabel("predicted plain bias along x, (1 - n/C) x + (n/C) c - x (px)")
    left.set_ylabel("measured plain bias along x (px)")
    left.set_title("Plain soft-argmax bias: measured against the closed form")
    left.legend(fontsize=8, markerscale=3)
    _against_border_distance(right, results, [errors(p, q) for p, q in zip(sweep.plain, sweep.predicted, strict=True)],
                             "|measured - predicted| (px, log scale)", "Residual of the closed form (true centre as J)")
    fig.tight_layout()
    return fig, ("Left: the plain soft-argmax bias along x at every position and beta against the closed form "
                 "J_soft = (1 - n/C) J + (n/C) c with the true centre as J; the points lie on the diagonal. "
                 "Right: the residual by distance to the border; it grows where the border cuts the blob "
                 "(and at large beta, where the sampled peak's own expectation is off the centre).")


def plot_error_sources(results: StudyResults) -> tuple[Figure, str]:
    """Compensated error split into sampling, border and float32 rounding, per beta."""
    sweep = results.sweep
    rows = results.tables["error_sources"]
    betas = [row["beta"] for row in rows]
    fig, (left, right) = _subplots(1, 2, figsize=(12, 5))
    series = (("sampling_max", "grid sampling (max)", "o-"), ("border_max", "border, all positions (max)", "s-"),
              ("border_interior_max", "border, interior positions (max)", "s--"),
              ("float32_vs_float64_max", "float32 vs float64 (max)", "^-"),
              ("plain_bias_mean", "plain soft-argmax bias (mean), for scale", "x:"))
    for key, label, style in series:
        left.plot(betas, [max(row[key], 1e-16) for row in rows], style, label=label)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("beta (log scale)")
    left.set_ylabel("error (px, log scale)")
    left.set_title("Compensated soft-argmax: where the error comes from")
    left.legend(fontsize=8)
    _against_border_distance(right, results, [errors(c, sweep.positions) for c in sweep.compensated],
                             "compensated error (px, log scale)", "Compensated error against distance to the border")
    fig.tight_layout()
    return fig, ("Left: the compensated error split into grid sampling (the float64 expectation on a canvas "
                 "holding the whole blob, against the centre), the border (the map's expectation against the "
                 "wide canvas's) and float32 rounding (library against float64), per beta. Right: the "
                 "compensated error by distance to the border.")


def plot_closed_form_limits(results: StudyResults) -> tuple[Figure, str]:
    """Compensated error and closed-form residual under a background level, noise and a second peak."""
    rows = results.tables["closed_form_limits"]
    betas = results.settings.betas
    titles = {"background": "background level b", "noise": "noise standard deviation",
              "second_peak": "second peak's height / main's"}
    fig, axes = _subplots(2, len(LIMITS), figsize=(15, 8), squeeze=False)
    for column, kind in enumerate(LIMITS):
        for b, beta in enumerate(betas):
            chosen = [row for row in rows if row["kind"] == kind and row["beta"] == beta]
            values = [row["value"] for row in chosen]
            colour = beta_colour(b, len(betas))
            axes[0, column].plot(values, [max(r["compensated_mean"], 1e-7) for r in chosen], "o-", color=colour,
                                 label=f"beta={beta:g}")
            axes[1, column].plot(values, [max(r["closed_form_residual_mean"], 1e-7) for r in chosen], "o-",
                                 color=colour, label=f"beta={beta:g}")
        for row, ylabel in enumerate(("compensated error, mean (px)", "|plain - closed form|, mean (px)")):
            ax = axes[row, column]
            ax.set_yscale("log")
            if kind != "second_peak":
                ax.set_xscale("symlog", linthresh=0.01)
            if kind == "noise":
                ax.set_xlim(left=-0.001)
            ax.set_xlabel(titles[kind] + (" (symlog)" if kind != "second_peak" else ""))
            ax.set_ylabel(ylabel + ", log scale")
            ax.grid(alpha=0.3)
        axes[0, column].set_title(f"compensated error vs {titles[kind]}", fontsize=10)
        axes[1, column].set_title(f"closed-form residual vs {titles[kind]}", fontsize=10)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig, ("Where the closed form stops being exact: unit blobs (sigma "
                 f"{results.settings.sigma:g}) away from the border under a constant background b, additive "
                 "Gaussian noise, or a second peak 12 px away; top the compensated error against the true "
                 "centre, bottom plain soft-argmax against the closed form's prediction, per beta.")


def plot_realistic(results: StudyResults) -> tuple[Figure, str]:
    """Section 2: mean and 95th-percentile error of every decoder under every condition, as tables of colour."""
    rows = results.tables["realistic"]
    decoders = list(dict.fromkeys(row["decoder"] for row in rows))
    conditions = [(b, s, second) for second in SECOND_PEAK for b in BACKGROUNDS for s in NOISE_LEVELS]
    lookup = {(row["background"], row["noise"], bool(row["second_peak"]), row["decoder"]): row for row in rows}
    fig, axes = _subplots(2, 1, figsize=(19, 14))
    for ax, statistic in zip(axes, ("mean", "p95"), strict=True):
        table = np.array([[lookup[(*c, d)][statistic] for c in conditions] for d in decoders])
        artist = ax.imshow(np.clip(table, 1e-4, None), norm=LogNorm(vmin=1e-3, vmax=20), cmap="RdYlGn_r",
                           aspect="auto")
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                ax.text(j, i, _short(table[i, j]), ha="center", va="center", fontsize=6.5)
        ax.set_yticks(range(len(decoders)), decoders, fontsize=8)
        ax.set_xticks(range(len(conditions)), [condition_name(*c).replace(" ", "\n") for c in conditions],
                      fontsize=7)
        ax.set_title(f"{statistic} error (px) per decoder (rows) and condition (columns: background b, noise "
                     "std, second peak)")
        fig.colorbar(artist, ax=ax, label=f"{statistic} error (px, log scale)", shrink=0.9)
    fig.tight_layout()
    return fig, ("Decoders under realistic conditions: peaks of height 1 to 10 and sigma 1 to 3 at sub-pixel "
                 "centres on a background b, with noise and a second peak 8 to 16 px away at 0.5 to 0.9 of the "
                 "height; mean (top) and 95th-percentile (bottom) error against the true centre.")


def _short(value: float) -> str:
    """Two significant digits, compact: 0.0031, 0.12, 1.5, 15."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.0e}"
    digits = max(0, 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}"


def _sweep_panels() -> list[tuple[float, int, str]]:
    """``(noise, second peak, title)`` of the sweeps' six conditions, in reading order."""
    return [(noise, second, f"noise {noise:g}" + (", second peak" if second else ""))
            for second in (0, 1) for noise in NOISE_LEVELS]


def plot_window(results: StudyResults) -> tuple[Figure, str]:
    """Local compensated error against the window radius r / sigma, per beta and condition."""
    rows = results.tables["window"]
    betas = list(dict.fromkeys(row["beta"] for row in rows))
    fig, axes = _subplots(2, 3, figsize=(15, 8.5), squeeze=False)
    for index, (noise, second, title) in enumerate(_sweep_panels()):
        ax = axes[index // 3, index % 3]
        chosen = [row for row in rows if row["noise"] == noise and row["second_peak"] == second]
        for b, beta in enumerate(betas):
            line = [row for row in chosen if row["beta"] == beta]
            ax.plot([r["factor"] for r in line], [max(r["mean"], 1e-6) for r in line], "o-",
                    color=beta_colour(b, len(betas)), label=f"local, beta={beta:g}")
        ax.axhline(chosen[0]["dark_shifted_mean"], color=METHOD_COLOURS["dark"], linestyle="--",
                   label="DARK (map - min) on the same maps")
        if noise == 0 and not second:
            ax.axhline(0.01, color="black", linestyle=":", label="0.01 px target")
        ax.set_yscale("log")
        ax.set_xlabel("window radius r / sigma  (r = ceil(k sigma))")
        ax.set_ylabel("mean error (px, log scale)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=6, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig, ("The local compensated soft-argmax (the library's, ring maximum) with r = ceil(k sigma) per map: "
                 "too small a window cuts the peak (clean maps), too large a window takes in noise and the "
                 "second peak's flank; per beta, with DARK on the same maps for reference.")


def plot_ring_rules(results: StudyResults) -> tuple[Figure, str]:
    """Mean error of each ring background rule, per condition, window and beta."""
    rows = results.tables["ring_rules"]
    settings = list(dict.fromkeys((row["factor"], row["beta"]) for row in rows))
    rules = list(dict.fromkeys(row["rule"] for row in rows))
    panels = _sweep_panels()
    columns = 2
    rows_of_panels = math.ceil(len(settings) / columns)
    fig, axes = _subplots(rows_of_panels, columns, figsize=(14, 4.6 * rows_of_panels), squeeze=False, sharey=True)
    width = 0.8 / len(rules)
    for ax, (factor, beta) in zip(axes.flat, settings, strict=False):
        for k, rule in enumerate(rules):
            values = [next(r["mean"] for r in rows if (r["noise"], r["second_peak"], r["factor"], r["beta"],
                                                       r["rule"]) == (noise, second, factor, beta, rule))
                      for noise, second, _ in panels]
            ax.bar(np.arange(len(panels)) + (k - (len(rules) - 1) / 2) * width, values, width,
                   color=RULE_COLOURS[rule], label=rule)
        ax.set_xticks(range(len(panels)), [title.replace(", ", "\n") for _, _, title in panels], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("mean error (px, log scale)")
        ax.set_title(f"ring rules, r = ceil({factor:g} sigma), beta = {beta:g}", fontsize=10)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=len(rules), fontsize=9,
               title="background level b of the window, from its outer ring")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig, (f"The local window's background level from its outer ring by {len(rules)} rules "
                 f"({', '.join(rules)}; the library's rule is the maximum), per condition, window and beta.")

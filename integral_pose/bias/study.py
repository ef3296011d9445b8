"""The experiments of the bias study, each on one batched ``(N, H, W)`` tensor per condition.

Section 1 (the paper's analysis): zero-background Gaussian blobs over a grid of positions, every decoder at
each position, the plain bias against the closed form, the sources of the compensated error, and where the
closed form stops being exact (a background level, noise, a second peak).
Section 2 (decoders under realistic conditions): peaks of random height, width and sub-pixel centre on a
constant background, with noise and a second peak, scored against the true centre.

Errors are Euclidean distances in heatmap pixels (see integral_pose.coords). Every experiment takes a
seeded ``torch.Generator``; the same settings give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from integral_pose import argmax, soft_argmax
from integral_pose.bias.closed_form import closed_form, predicted_soft_argmax
from integral_pose.bias.maps import Peaks, gaussian_maps, position_grid, random_peaks, realistic_maps
from integral_pose.bias.variants import (
    RING_RULES,
    clamped_compensated,
    dark_inputs,
    expectation64,
    local_compensated,
    per_radius,
    radius_for,
)

__all__ = ["PRESETS", "StudyResults", "StudySettings", "run_experiments", "run_study"]

Tick = Callable[[], None]
Rows = list[dict[str, object]]

DETECTION = ("argmax", "quarter", "dark")
SOFT = ("plain", "compensated")
METHODS = DETECTION + SOFT
_CHUNK = 2048  # maps per float64 batch on the padded canvas, to bound memory


@dataclass(frozen=True)
class StudySettings:
    """Sizes of the study. Lengths in heatmap pixels.

    Attributes:
        shape: ``(H, W)`` of the heatmaps.
        sigma: width of the section-1 blobs (peak 1, background 0); DARK smooths with the same sigma.
        betas: the section-1 inverse temperatures.
        position_step: spacing of the section-1 position grid; not a whole pixel, so sub-pixel phases vary.
        limit_maps: maps per setting in the closed-form limits (background, noise, second peak).
        realistic_maps: maps per condition in section 2.
        seed: seeds the one generator every random draw comes from.
    """

    shape: tuple[int, int] = (64, 48)
    sigma: float = 2.0
    betas: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 50.0)
    position_step: float = 0.8
    limit_maps: int = 256
    realistic_maps: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        height, width = self.shape
        if min(height, width) < 40:
            raise ValueError(f"shape: expected (H, W) of at least 40 x 40 (section 2 places a second peak up to "
                             f"16 px from a main peak 9 px inside the map), got {self.shape}")
        for name in ("sigma", "position_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        if not self.betas or any(not (math.isfinite(b) and b > 0) for b in self.betas):
            raise ValueError(f"betas: expected numbers > 0, got {self.betas!r}")
        for name in ("limit_maps", "realistic_maps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected at least 1, got {getattr(self, name)!r}")


PRESETS = {
    "quick": StudySettings(position_step=3.7, limit_maps=16, realistic_maps=48),
    "default": StudySettings(),
    "large": StudySettings(position_step=0.4, limit_maps=1024, realistic_maps=4096),
}

# Section 2's grid of conditions and decoders.
BACKGROUNDS = (-8.0, -2.0, 0.0, 0.5)
NOISE_LEVELS = (0.0, 0.1, 0.5)
SECOND_PEAK = (False, True)
PLAIN_BETAS = (1.0, 10.0, 50.0)
LOCAL_RADII = (2, 3, 5)
WINDOW_FACTOR = 3.0  # r = ceil(3 sigma): a window holding the whole peak
# The setting the window, beta and ring sweeps favour (chosen on a separate draw of maps): a smaller window
# keeps out the noise and a neighbour's flank, a smaller beta keeps the weights wide enough for the grid.
TUNED_FACTOR, TUNED_BETA = 1.5, 0.5
LOCAL_CANDIDATES = ("local r=3sigma", "local r=1.5sigma beta=0.5")
FACTORS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)  # r / sigma in the window sweep
SWEEP_BETAS = (0.25, 0.5, 1.0, 4.0)
RING_FACTORS = (1.5, 3.0)
RING_BETAS = (0.5, 1.0)
DARK_BLUR = 2.0  # DARK's smoothing sigma in section 2: the middle of the peaks' range, as a user would fix it


def errors(coords: Tensor, truth: Tensor) -> Tensor:
    """``(N, 2), (N, 2) -> (N,)`` Euclidean distance in heatmap pixels, float64."""
    return (coords.double() - truth.double()).norm(dim=-1)


def statistics(values: Tensor) -> dict[str, float]:
    """Mean, 95th percentile and maximum of ``(N,)`` errors."""
    values = values.double()
    return {"mean": float(values.mean()), "p95": float(torch.quantile(values, 0.95)), "max": float(values.max())}


# ---------------------------------------------------------------- section 1: blobs over a grid of positions


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
    betas: tuple[float, ...] = field(default=())

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
        shares.append(_share64(maps64, beta))
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


def _share64(maps64: Tensor, beta: float) -> Tensor:
    scaled = beta * maps64.flatten(1)
    return torch.exp(math.log(scaled.shape[-1]) - torch.logsumexp(scaled, dim=-1))


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
    height, width = shape
    grid_mean = torch.tensor([(width - 1) / 2, (height - 1) / 2], dtype=torch.float64)
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


# ---------------------------------------------------------------- section 1: where the closed form stops being exact

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
    compensated weight is not positive (the decoder falls back to the argmax cell there). ``tick`` per kind.
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
                rows.append({"kind": kind, "value": value, "beta": beta,
                             "compensated_mean": float(compensated.mean()),
                             "compensated_p95": float(torch.quantile(compensated, 0.95)),
                             "plain_mean": float(errors(plain, peaks.centres).mean()),
                             "closed_form_residual_mean": float(residual.mean()),
                             "closed_form_residual_max": float(residual.max()),
                             "fallback_share": float((total <= 0).double().mean())})
        tick()
    return rows


# ---------------------------------------------------------------- section 2: realistic maps


def realistic_decoders(shape: tuple[int, int], sigmas: Tensor) -> dict[str, Callable[[Tensor], Tensor]]:
    """Section 2's decoders by name, each ``(N, H, W) -> (N, 2)``; ``sigmas (N,)`` sets the default windows."""
    decoders: dict[str, Callable[[Tensor], Tensor]] = {
        "argmax": lambda m: argmax(m)[0],
        "quarter": lambda m: argmax(m, "quarter")[0],
    }
    for name in ("dark", "dark-sigmoid", "dark-shifted"):
        decoders[name] = lambda m, name=name: argmax(dark_inputs(m)[name], "dark", blur_sigma=DARK_BLUR)[0]
    for beta in PLAIN_BETAS:
        decoders[f"plain beta={beta:g}"] = lambda m, beta=beta: soft_argmax(m, beta=beta)
    decoders["compensated"] = lambda m: soft_argmax(m, debias=True)
    decoders["clamped"] = clamped_compensated
    for radius in LOCAL_RADII:
        decoders[f"local r={radius}"] = lambda m, radius=radius: soft_argmax(m, debias=True, window=radius)
    default_radii = radius_for(sigmas, WINDOW_FACTOR, shape)
    tuned_radii = radius_for(sigmas, TUNED_FACTOR, shape)
    decoders[LOCAL_CANDIDATES[0]] = lambda m: per_radius(m, default_radii, _library_local)
    decoders[LOCAL_CANDIDATES[1]] = lambda m: per_radius(m, tuned_radii, lambda w, r: _library_local(w, r, TUNED_BETA))
    return decoders


def _library_local(maps: Tensor, radius: int, beta: float = 1.0) -> Tensor:
    return soft_argmax(maps, debias=True, window=radius, beta=beta)


def condition_name(background: float, noise: float, second: bool) -> str:
    """``b=-2 noise=0.1 second`` style label of a section-2 condition."""
    return f"b={background:g} noise={noise:g}" + (" second" if second else "")


@dataclass
class Realistic:
    """Section-2 per-map results: ``errors[condition][decoder]`` is ``(N,)``, with the drawn peaks per condition."""

    errors: dict[tuple[float, float, bool], dict[str, Tensor]]
    peaks: dict[bool, Peaks]


def realistic_study(settings: StudySettings, generator: torch.Generator, tick: Tick) -> Realistic:
    """Every section-2 decoder on every condition; the same peaks under every background and noise level.

    ``tick`` once per condition.
    """
    shape, n = settings.shape, settings.realistic_maps
    results: dict[tuple[float, float, bool], dict[str, Tensor]] = {}
    all_peaks = {}
    for second in SECOND_PEAK:
        peaks = random_peaks(n, shape, generator, second_peak=second)
        all_peaks[second] = peaks
        decoders = realistic_decoders(shape, peaks.sigmas)
        for background in BACKGROUNDS:
            for noise in NOISE_LEVELS:
                maps = realistic_maps(peaks, shape, background, noise, generator)
                results[(background, noise, second)] = {
                    name: errors(decode(maps), peaks.centres) for name, decode in decoders.items()
                }
                tick()
    return Realistic(results, all_peaks)


def realistic_rows(result: Realistic) -> Rows:
    """Per condition and decoder: mean, 95th percentile and maximum error."""
    return [{"background": b, "noise": s, "second_peak": int(second), "decoder": name, **statistics(err)}
            for (b, s, second), per_decoder in result.errors.items() for name, err in per_decoder.items()]


def realistic_map_rows(result: Realistic) -> Rows:
    """One row per map and condition: the peak's parameters and every decoder's error."""
    rows = []
    for (b, s, second), per_decoder in result.errors.items():
        peaks = result.peaks[second]
        for i in range(peaks.centres.shape[0]):
            row: dict[str, object] = {
                "background": b, "noise": s, "second_peak": int(second), "x": float(peaks.centres[i, 0]),
                "y": float(peaks.centres[i, 1]), "sigma": float(peaks.sigmas[i]),
                "amplitude": float(peaks.amplitudes[i]), "second_ratio": float(peaks.ratios[i]),
                "second_x": float(peaks.second[i, 0]), "second_y": float(peaks.second[i, 1]),
            }
            row.update({f"error {name}": float(err[i]) for name, err in per_decoder.items()})
            rows.append(row)
    return rows


def target_rows(result: Realistic) -> Rows:
    """Per condition and local candidate: its mean error against the best of the three DARK inputs.

    The targets: at most 0.01 px mean error on clean maps (no noise, no second peak) at any background,
    and elsewhere a mean no worse than DARK's on the same maps.
    """
    rows = []
    for (b, s, second), per_decoder in result.errors.items():
        dark = {name: float(per_decoder[name].mean()) for name in ("dark", "dark-sigmoid", "dark-shifted")}
        best_dark = min(dark, key=dark.get)
        clean = s == 0 and not second
        for candidate in LOCAL_CANDIDATES:
            local = float(per_decoder[candidate].mean())
            met = local <= 0.01 if clean else local <= dark[best_dark]
            rows.append({"background": b, "noise": s, "second_peak": int(second), "decoder": candidate,
                         "mean": local, "best_dark": best_dark, "best_dark_mean": dark[best_dark],
                         "target": "mean <= 0.01 px" if clean else "mean <= best DARK", "met": int(met)})
    return rows


def _sweep_conditions(settings: StudySettings, generator: torch.Generator):
    """The window and ring sweeps' maps: background 0 (the local form ignores a constant), each noise level,
    with and without a second peak. Yields ``(noise, second, maps, peaks)``."""
    for second in SECOND_PEAK:
        peaks = random_peaks(settings.realistic_maps, settings.shape, generator, second_peak=second)
        for noise in NOISE_LEVELS:
            yield noise, second, realistic_maps(peaks, settings.shape, 0.0, noise, generator), peaks


def window_rows(settings: StudySettings, generator: torch.Generator, tick: Tick) -> Rows:
    """The library's local compensated decoder at ``r = ceil(k sigma)`` for each k in ``FACTORS`` and beta.

    Shows how the error grows when the window is too small (clean maps) or too large (noise, a second
    peak); each row also holds DARK's mean error (on the map minus its minimum) on the same maps.
    ``tick`` once per condition.
    """
    rows = []
    for noise, second, maps, peaks in _sweep_conditions(settings, generator):
        shifted = dark_inputs(maps)["dark-shifted"]
        dark = float(errors(argmax(shifted, "dark", blur_sigma=DARK_BLUR)[0], peaks.centres).mean())
        for beta in SWEEP_BETAS:
            for factor in FACTORS:
                radii = radius_for(peaks.sigmas, factor, settings.shape)
                coords = per_radius(maps, radii, lambda m, r, beta=beta: _library_local(m, r, beta))
                rows.append({"noise": noise, "second_peak": int(second), "beta": beta, "factor": factor,
                             **statistics(errors(coords, peaks.centres)), "dark_shifted_mean": dark})
        tick()
    return rows


def ring_rows(settings: StudySettings, generator: torch.Generator, tick: Tick) -> Rows:
    """Each background rule of ``RING_RULES`` for the local window, per ``r = ceil(k sigma)`` and beta.

    ``tick`` once per condition.
    """
    rows = []
    for noise, second, maps, peaks in _sweep_conditions(settings, generator):
        for factor in RING_FACTORS:
            radii = radius_for(peaks.sigmas, factor, settings.shape)
            for beta in RING_BETAS:
                for rule in RING_RULES:
                    coords = per_radius(maps, radii, lambda m, r, beta=beta, rule=rule:
                                        local_compensated(m, radius=r, beta=beta, rule=rule))
                    rows.append({"noise": noise, "second_peak": int(second), "factor": factor, "beta": beta,
                                 "rule": rule, **statistics(errors(coords, peaks.centres))})
        tick()
    return rows


# ---------------------------------------------------------------- the whole study


@dataclass
class StudyResults:
    """Everything the figures and the report need."""

    settings: StudySettings
    sweep: PositionSweep
    tables: dict[str, Rows]
    realistic: Realistic


def run_experiments(settings: StudySettings, tick: Tick = lambda: None) -> StudyResults:
    """All experiments; ``tick`` is called :func:`work_units` times in all."""
    generator = torch.Generator().manual_seed(settings.seed)
    sweep = position_sweep(settings, tick)
    realistic = realistic_study(settings, generator, tick)
    tables = {
        "headline": headline_rows(sweep),
        "positions": position_rows(sweep),
        "closed_form": closed_form_rows(sweep, settings.shape),
        "error_sources": error_source_rows(sweep),
        "closed_form_limits": closed_form_limits(settings, generator, tick),
        "realistic": realistic_rows(realistic),
        "realistic_maps": realistic_map_rows(realistic),
        "targets": target_rows(realistic),
        "window": window_rows(settings, generator, tick),
        "ring_rules": ring_rows(settings, generator, tick),
    }
    return StudyResults(settings, sweep, tables, realistic)


def work_units(settings: StudySettings) -> int:
    """How many times :func:`run_experiments` calls ``tick``."""
    conditions = len(BACKGROUNDS) * len(NOISE_LEVELS) * len(SECOND_PEAK)
    sweeps = 2 * len(NOISE_LEVELS) * len(SECOND_PEAK)
    return 1 + len(settings.betas) + conditions + len(LIMITS) + sweeps


def run_study(out: str | Path, settings: StudySettings | None = None, *, progress: bool = True) -> Path:
    """Run every experiment and write the CSV tables, the figures and ``summary.md`` into ``out``.

    Args:
        out: output directory, created if needed.
        settings: the study's sizes; the default preset when None.
        progress: show a rich progress bar on stderr.

    Returns:
        The path of ``summary.md``.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from integral_pose.bias.figures import write_figures
    from integral_pose.bias.report import write_report

    settings = settings or PRESETS["default"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("bias study: experiments", total=work_units(settings))
        results = run_experiments(settings, lambda: bar.advance(task))
        bar.update(task, description="bias study: figures")
        figures = write_figures(results, out)
        bar.update(task, description="bias study: tables and summary")
        summary = write_report(results, figures, out)
        bar.update(task, description="bias study: done")
    return summary



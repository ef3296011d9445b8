"""Section 2 of the bias study: decoders on maps like those trained networks output.

Peaks of random height, width and sub-pixel centre on a constant background, with noise and a second peak,
scored against the true centre; sweeps of the local compensated decoder's window radius, beta and ring rule.
Errors in heatmap pixels (see integral_pose.coords).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from integral_pose import argmax, soft_argmax
from integral_pose.bias.maps import Peaks, random_peaks, realistic_maps
from integral_pose.bias.settings import Rows, StudySettings, Tick, errors, statistics
from integral_pose.bias.variants import (
    RING_RULES,
    clamped_compensated,
    dark_inputs,
    local_compensated,
    per_radius,
    radius_for,
)

# Section 2's grid of conditions and decoders.
BACKGROUNDS = (-8.0, -2.0, 0.0, 0.5)
NOISE_LEVELS = (0.0, 0.1, 0.5)
SECOND_PEAK = (False, True)
PLAIN_BETAS = (1.0, 10.0, 50.0)
LOCAL_RADII = (2, 3, 5)
WINDOW_FACTOR = 3.0  # r = ceil(3 sigma): a window holding the whole peak
# The setting the window, beta and ring sweeps favour (chosen on a separate draw of maps, seed 123): a window
# of about 2 sigma keeps out most of the noise and a neighbour's flank, a small beta keeps the weights wide
# enough for the grid.
TUNED_FACTOR, TUNED_BETA = 2.0, 0.25
LOCAL_CANDIDATES = ("local r=3sigma", "local r=2sigma beta=0.25")
FACTORS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)  # r / sigma in the window sweep
SWEEP_BETAS = (0.25, 0.5, 1.0, 4.0)
RING_FACTORS = (2.0, 3.0)
RING_BETAS = (0.25, 1.0)
DARK_BLUR = 2.0  # DARK's smoothing sigma in section 2: the middle of the peaks' range, as a user would fix it
DARK_INPUTS = ("dark", "dark-sigmoid", "dark-shifted")
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


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
        dark = {name: float(per_decoder[name].mean()) for name in DARK_INPUTS}
        best_dark = min(dark, key=dark.get)
        clean = s == 0 and not second
        for candidate in LOCAL_CANDIDATES:
            local = float(per_decoder[candidate].mean())
            met = local <= 0.01 if clean else local <= dark[best_dark]
            rows.append({"background": b, "noise": s, "second_peak": int(second), "decoder": candidate,
                         "mean": local, "best_dark": best_dark, "best_dark_mean": dark[best_dark],
                         "target": "mean <= 0.01 px" if clean else "mean <= best DARK", "met": int(met)})
    return rows


def paired_bootstrap(differences: Tensor, generator: torch.Generator, resamples: int = BOOTSTRAP_RESAMPLES,
                     confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences ``(N,)``.

    Each resample draws N maps with replacement (the same maps for both decoders, so the pairing is kept)
    and takes the mean difference; the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    quantiles of the ``resamples`` means.

    Returns:
        ``(low, high)`` in the unit of ``differences``.

    Example:
        >>> low, high = paired_bootstrap(torch.tensor([1.0, 1.0, 1.0]), torch.Generator().manual_seed(0))
        >>> low, high
        (1.0, 1.0)
    """
    differences = differences.double()
    n = differences.shape[0]
    index = torch.randint(n, (resamples, n), generator=generator)
    means = differences[index].mean(dim=1)
    tail = (1 - confidence) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    return low, high


def local_vs_dark_rows(result: Realistic, generator: torch.Generator,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> Rows:
    """Per condition and local candidate: its mean error minus the best DARK input's, with a bootstrap interval.

    The best DARK input is the one with the lowest mean on the condition's maps (chosen on the same maps,
    which favours DARK). The interval is a paired percentile bootstrap over the maps
    (:func:`paired_bootstrap`, ``CONFIDENCE``). ``verdict`` says which decoder the interval supports:
    "local better" where it lies below 0, "DARK better" where it lies above 0, "unclear" where it holds 0.
    """
    rows = []
    for (b, s, second), per_decoder in result.errors.items():
        best_dark = min(DARK_INPUTS, key=lambda name: float(per_decoder[name].mean()))
        dark = per_decoder[best_dark].double()
        for candidate in LOCAL_CANDIDATES:
            local = per_decoder[candidate].double()
            difference = float((local - dark).mean())
            low, high = paired_bootstrap(local - dark, generator, resamples)
            verdict = "local better" if high < 0 else "DARK better" if low > 0 else "unclear"
            rows.append({"background": b, "noise": s, "second_peak": int(second), "decoder": candidate,
                         "mean": float(local.mean()), "best_dark": best_dark, "best_dark_mean": float(dark.mean()),
                         "difference": difference, "ci_low": low, "ci_high": high,
                         "maps": local.shape[0], "resamples": resamples, "verdict": verdict})
    return rows


def _sweep_conditions(settings: StudySettings,
                      generator: torch.Generator) -> Iterator[tuple[float, bool, Tensor, Peaks]]:
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

import math

import torch

from integral_pose.bias.maps import gaussian_maps, position_grid, random_peaks, realistic_maps


def test_gaussian_maps_by_hand():
    # amplitude 2, sigma 1, centre (x, y) = (1.5, 0): at pixel (x=1, y=0) the value is 2 exp(-0.25 / 2).
    # torch's vectorised exp may differ from math.exp by an ulp, depending on the CPU's instruction set.
    maps = gaussian_maps((2, 3), torch.tensor([[1.5, 0.0]]), 1.0, 2.0)
    assert maps.shape == (1, 2, 3)
    assert abs(maps[0, 0, 1].item() - 2 * math.exp(-0.125)) < 1e-15
    # one row down (y = 1): times exp(-1 / 2).
    assert abs(maps[0, 1, 1].item() - 2 * math.exp(-0.125 - 0.5)) < 1e-15


def test_position_grid_by_hand():
    # a 4 x 2 map (H x W) in tiles of 2 px: one column at x = 0.5, rows at y = 0.5 and 2.5.
    grid = position_grid((4, 2), 2.0)
    torch.testing.assert_close(grid, torch.tensor([[0.5, 0.5], [0.5, 2.5]], dtype=torch.float64))


def test_random_peaks_respect_margin_distance_and_seed():
    shape = (64, 48)
    peaks = random_peaks(500, shape, torch.Generator().manual_seed(3), second_peak=True)
    assert ((peaks.centres >= 9) & (peaks.centres <= torch.tensor([47 - 9, 63 - 9]))).all()
    distance = (peaks.second - peaks.centres).norm(dim=-1)
    assert ((distance >= 8) & (distance <= 16)).all()
    assert ((peaks.second >= 0) & (peaks.second <= torch.tensor([47, 63]))).all()
    assert ((peaks.ratios >= 0.5) & (peaks.ratios <= 0.9)).all()
    again = random_peaks(500, shape, torch.Generator().manual_seed(3), second_peak=True)
    assert torch.equal(peaks.centres, again.centres)


def test_realistic_maps_background_and_noise_levels():
    shape = (64, 48)
    generator = torch.Generator().manual_seed(0)
    peaks = random_peaks(64, shape, generator, sigma=(1.0, 1.0), margin=20.0)
    maps = realistic_maps(peaks, shape, -2.0, 0.5, generator)
    # Rows 0..7 are at least 12 sigma from every peak: pure background plus noise, 64 * 8 * 48 cells.
    corner = maps[:, :8, :].double()
    assert abs(corner.mean().item() + 2.0) < 0.01
    assert abs(corner.std().item() - 0.5) < 0.01
    clean = realistic_maps(peaks, shape, 0.5, 0.0, generator)
    assert clean.amin().item() == 0.5

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import gaussian

from integral_pose import argmax
from integral_pose.decode import Argmax


def test_integer_peak_and_score_by_hand():
    hm = torch.zeros(2, 4, 5)
    hm[0, 1, 3] = 1.0
    hm[1, 3, 0] = 2.5
    coords, scores = argmax(hm)
    torch.testing.assert_close(coords, torch.tensor([[3.0, 1.0], [0.0, 3.0]]))
    torch.testing.assert_close(scores, torch.tensor([1.0, 2.5]))


def test_first_maximum_wins_ties():
    hm = torch.zeros(3, 4)
    hm[2, 1] = hm[1, 3] = 1.0  # (x, y) = (1, 2) and (3, 1): row-major order reaches (3, 1) first
    torch.testing.assert_close(argmax(hm)[0], torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(argmax(torch.zeros(3, 4))[0], torch.tensor([0.0, 0.0]))


def test_large_maps_find_the_same_cell_as_torch():
    # Maps larger than 128 cells take the two-stage maximum; ties included, the first cell must win.
    hm = torch.randint(0, 5, (6, 3, 64, 48)).float()
    flat_index = hm.flatten(-2).argmax(dim=-1)
    expected = torch.stack([flat_index % 48, flat_index // 48], dim=-1).float()
    torch.testing.assert_close(argmax(hm)[0], expected)


def test_quarter_moves_towards_the_higher_neighbour():
    hm = torch.zeros(3, 5, 6)
    hm[0, 2, 3], hm[0, 2, 4], hm[0, 1, 3] = 1.0, 0.5, 0.2  # right and up are higher: +x, -y
    hm[1, 2, 3], hm[1, 2, 2], hm[1, 2, 4] = 1.0, 0.5, 0.5  # equal neighbours along x: no shift
    hm[2, 3, 1], hm[2, 3, 0], hm[2, 4, 1] = 1.0, 0.9, 0.3  # x = 1 has both neighbours: it is refined
    coords, _ = argmax(hm, refine="quarter")
    torch.testing.assert_close(coords, torch.tensor([[3.25, 1.75], [3.0, 2.0], [0.75, 3.25]]))


def test_quarter_skips_axes_on_the_border():
    hm = torch.zeros(5, 6)
    hm[0, 2], hm[0, 3], hm[1, 2] = 1.0, 0.5, 0.2  # y = 0 has no upper neighbour: only x moves
    torch.testing.assert_close(argmax(hm, refine="quarter")[0], torch.tensor([2.25, 0.0]))


@given(x=st.floats(8.0, 39.0), y=st.floats(8.0, 55.0), sigma=st.floats(1.0, 3.0))
def test_dark_within_005_px_on_clean_gaussians(x, y, sigma):
    hm = torch.from_numpy(gaussian((64, 48), (x, y), sigma)).float()
    coords, _ = argmax(hm, refine="dark", blur_sigma=2.0)
    assert torch.dist(coords, torch.tensor([x, y])) < 0.05


@given(x=st.floats(2.0, 45.0), y=st.floats(2.0, 61.0), sigma=st.floats(0.8, 3.0))
def test_dark_without_blur_is_exact_on_a_sampled_gaussian(x, y, sigma):
    # The log of a sampled Gaussian is a quadratic, whose central differences are exact.
    hm = torch.from_numpy(gaussian((64, 48), (x, y), sigma))
    coords, _ = argmax(hm, refine="dark", blur_sigma=0.0)
    torch.testing.assert_close(coords, torch.tensor([x, y], dtype=torch.float64), atol=1e-6, rtol=0)


def test_dark_3d_and_batches(device):
    centres = [(10.3, 7.6, 5.2), (4.5, 9.1, 8.8)]
    hm = torch.from_numpy(np.stack([gaussian((14, 16, 18), c, 1.5) for c in centres])).to(device)
    coords, scores = argmax(hm, refine="dark", ndim=3, blur_sigma=0.0)
    torch.testing.assert_close(coords, torch.tensor(centres, dtype=torch.float64, device=device), atol=1e-6, rtol=0)
    assert coords.shape == (2, 3) and scores.shape == (2,)


def test_dark_border_axis_is_not_refined():
    # Peak on the left border: x stays at 0, y is refined along the column.
    hm = torch.from_numpy(gaussian((20, 20), (0.2, 9.4), 1.5))
    coords, _ = argmax(hm, refine="dark", blur_sigma=0.0)
    assert coords[0] == 0.0
    assert abs(coords[1].item() - 9.4) < 1e-6


def test_dark_skips_a_peak_whose_log_is_not_concave():
    # A diagonal ridge through the peak (3, 3) with empty anti-diagonal corners: log values 0 on the ridge,
    # log 0.9 on the axis neighbours, log 1e-10 = -23 in the corners. Hxx = Hyy = 2 log 0.9 = -0.21 but
    # Hxy = (0 + 23 + 23 + log 0.99) / 4 = 11.5, so det < 0: no Newton step is taken.
    hm = torch.zeros(9, 9)
    hm[3, 3] = hm[4, 4] = 1.0
    hm[2, 2] = 0.99
    hm[3, 2] = hm[3, 4] = hm[2, 3] = hm[4, 3] = 0.9
    torch.testing.assert_close(argmax(hm, refine="dark", blur_sigma=0.0)[0], torch.tensor([3.0, 3.0]))


def test_dark_on_half_precision_returns_float32(device):
    hm = torch.from_numpy(gaussian((64, 48), (20.3, 30.6), 2.0)).to(device)
    coords, _ = argmax(hm.to(torch.bfloat16), refine="dark")
    assert coords.dtype == torch.float32
    torch.testing.assert_close(coords, torch.tensor([20.3, 30.6], device=device), atol=0.1, rtol=0)


def test_module_equals_function():
    hm = torch.randn(2, 3, 16, 12)
    module = Argmax("dark", blur_sigma=1.0)
    for got, expected in zip(module(hm), argmax(hm, "dark", blur_sigma=1.0), strict=True):
        torch.testing.assert_close(got, expected)
    assert repr(module) == "Argmax(refine='dark', ndim=2, blur_sigma=1.0)"


@pytest.mark.parametrize(
    ("heatmaps", "kwargs", "message"),
    [
        (torch.zeros(5), {}, r"heatmaps: expected at least 2 dimensions for ndim=2, got shape \(5,\)"),
        (torch.zeros(4, 5, dtype=torch.int32), {}, "heatmaps: expected a floating-point dtype, got torch.int32"),
        (torch.zeros(0, 5), {}, r"heatmaps: spatial dimensions must be non-empty, got shape \(0, 5\)"),
        (torch.tensor([[float("nan"), 1.0]]), {}, "heatmaps: expected finite values, got 1 NaN or Inf of 2"),
        (torch.zeros(4, 5), {"refine": "udp"}, "refine: expected one of None, 'quarter', 'dark', got 'udp'"),
        (torch.zeros(4, 5), {"refine": "dark", "blur_sigma": -1.0}, r"blur_sigma: expected a number in \[0, 64\]"),
        (torch.zeros(4, 5), {"refine": "dark", "blur_sigma": 1e9}, r"blur_sigma: expected a number in \[0, 64\]"),
    ],
)
def test_bad_input(heatmaps, kwargs, message):
    with pytest.raises(ValueError, match=message):
        argmax(heatmaps, **kwargs)

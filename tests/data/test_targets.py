import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from integral_pose.data.targets import border_distance, gaussian_heatmaps, keypoint_weights


def test_gaussian_values_by_hand():
    coords = torch.tensor([[1.5, 2.0]], dtype=torch.float64)
    hm = gaussian_heatmaps(coords, torch.ones(1, dtype=torch.float64), (4, 3), sigma=1.0)[0]
    # Pixel (x, y) = (1, 2): d^2 = 0.25 -> exp(-0.125); pixel (0, 0): d^2 = 2.25 + 4 -> exp(-3.125).
    assert hm[2, 1].item() == pytest.approx(math.exp(-0.125), rel=1e-15)
    assert hm[0, 0].item() == pytest.approx(math.exp(-3.125), rel=1e-15)
    assert hm[2, 1].item() == hm[2, 2].item()  # symmetric about x = 1.5: never rounded to a whole pixel


def test_zero_weight_gives_an_all_zero_map_and_batches_keep_their_peaks():
    coords = torch.tensor([[[10.0, 20.0], [30.25, 5.5]], [[3.0, 60.0], [40.0, 40.0]]])
    weights = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    hm = gaussian_heatmaps(coords, weights, (64, 48), sigma=2.0)
    assert hm[0, 1].abs().max().item() == 0.0
    for b, k, (x, y) in ((0, 0, (10, 20)), (1, 0, (3, 60)), (1, 1, (40, 40))):
        flat = int(hm[b, k].argmax())
        assert (flat % 48, flat // 48) == (x, y)
        assert hm[b, k, y, x].item() == 1.0


@given(x=st.floats(14.0, 33.0), y=st.floats(14.0, 49.0), sigma=st.floats(1.0, 2.5))
def test_weighted_mean_recovers_the_sub_pixel_centre(x, y, sigma):
    # The weighted mean of a Gaussian sampled on the integer grid differs from its centre by the aliasing term
    # (Poisson summation) of about 4 pi sigma^2 exp(-2 pi^2 sigma^2) < 1e-7 for sigma >= 1, plus the cut tails,
    # about exp(-14^2 / (2 * 2.5^2)) < 2e-7 at 14 px from the edges.
    hm = gaussian_heatmaps(torch.tensor([[x, y]], dtype=torch.float64), torch.ones(1, dtype=torch.float64),
                           (64, 48), sigma)[0].numpy()
    ys, xs = np.mgrid[0:64, 0:48]
    mean = np.array([(hm * xs).sum(), (hm * ys).sum()]) / hm.sum()
    np.testing.assert_allclose(mean, [x, y], atol=1e-6)


def test_weights_need_a_label_and_a_point_inside_the_crop():
    coords = torch.tensor([[-0.5, 0.0], [-0.51, 0.0], [47.5, 63.5], [47.5, 63.6], [10.0, 10.0], [10.0, 10.0]])
    visibility = torch.tensor([2, 2, 1, 1, 1, 0])
    np.testing.assert_array_equal(keypoint_weights(coords, visibility, (64, 48)).numpy(), [1, 0, 1, 0, 1, 0])


def test_sigma_must_be_positive_and_bounded():
    with pytest.raises(ValueError, match=r"sigma: expected a finite number > 0, got 0\.0"):
        gaussian_heatmaps(torch.zeros(1, 2), torch.ones(1), (4, 4), 0.0)
    with pytest.raises(ValueError, match=r"sigma: expected at most 64 heatmap pixels, got 65\.0"):
        gaussian_heatmaps(torch.zeros(1, 2), torch.ones(1), (4, 4), 65.0)


def test_border_distance_by_hand():
    # Map 64 x 48 spans x in [-0.5, 47.5], y in [-0.5, 63.5].
    coords = np.array([[3.0, 30.0], [46.0, 0.0], [-1.0, 5.0], [24.0, 62.0]])
    np.testing.assert_array_equal(border_distance(coords, (64, 48)), [3.5, 0.5, -0.5, 1.5])
    torch.testing.assert_close(border_distance(torch.from_numpy(coords), (64, 48)),
                               torch.tensor([3.5, 0.5, -0.5, 1.5], dtype=torch.float64))


def test_numpy_arrays_give_the_same_targets_as_tensors():
    coords = np.array([[3.25, 7.5], [50.0, 2.0], [10.0, 60.0]])
    visibility = np.array([2.0, 1.0, 1.0])
    weights = keypoint_weights(coords, visibility, (64, 48))
    assert isinstance(weights, np.ndarray) and weights.tolist() == [1.0, 0.0, 1.0]
    maps = gaussian_heatmaps(coords, weights, (64, 48), 1.5)
    assert isinstance(maps, np.ndarray) and maps.dtype == np.float64
    expected = gaussian_heatmaps(torch.from_numpy(coords), torch.from_numpy(weights), (64, 48), 1.5)
    np.testing.assert_allclose(maps, expected.numpy(), rtol=1e-13, atol=0)  # exp differs in the last ulp


def test_one_gaussian_sampler_for_targets_and_bias_maps():
    from integral_pose.bias.maps import gaussian_maps
    from integral_pose.data.targets import sample_gaussians

    centres = torch.tensor([[2.25, 1.5], [0.0, 3.0]], dtype=torch.float64)
    # exp(-((1 - 2.25)^2 + (2 - 1.5)^2) / (2 * 1.5^2)) = exp(-1.8125 / 4.5)
    assert torch.isclose(sample_gaussians(centres, (4, 5), 1.5)[0, 2, 1], torch.tensor(math.exp(-1.8125 / 4.5),
                                                                                        dtype=torch.float64))
    per_map = sample_gaussians(centres, (4, 5), torch.tensor([1.5, 0.5], dtype=torch.float64))
    assert torch.equal(per_map[0], sample_gaussians(centres[:1], (4, 5), 1.5)[0])
    assert torch.equal(gaussian_maps((4, 5), centres, torch.tensor([1.5, 0.5]), 2.0), 2.0 * per_map)
    weights = torch.ones(2, dtype=torch.float64)
    assert torch.equal(gaussian_heatmaps(centres, weights, (4, 5), 1.5), sample_gaussians(centres, (4, 5), 1.5))

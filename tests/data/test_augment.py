import numpy as np
import pytest
import torch

from integral_pose.data.augment import (
    Augmentation,
    annotation_order,
    flip_heatmaps,
    flip_points,
    half_body_region,
    sample_jitter,
    sample_rng,
    upper_body_indices,
)
from integral_pose.data.spec import COCO_PERSON
from integral_pose.data.targets import gaussian_heatmaps

FLIP = COCO_PERSON.flip_index


def test_flip_points_by_hand_and_twice_is_identity():
    points = torch.arange(34, dtype=torch.float64).reshape(17, 2)  # keypoint k at (2k, 2k + 1)
    flipped = flip_points(points, 48, FLIP)
    # Keypoint 1 (left eye) takes the right eye's point (4, 5) mirrored: x = 47 - 4.
    np.testing.assert_array_equal(flipped[1].numpy(), [43.0, 5.0])
    np.testing.assert_array_equal(flipped[0].numpy(), [47.0, 1.0])
    torch.testing.assert_close(flip_points(flipped, 48, FLIP), points, rtol=0, atol=0)
    np.testing.assert_array_equal(flip_points(points.numpy(), 48, FLIP), flipped.numpy())


def test_flipped_heatmaps_are_the_heatmaps_of_flipped_points():
    coords = torch.rand(2, 17, 2, dtype=torch.float64) * torch.tensor([47.0, 63.0], dtype=torch.float64)
    ones = torch.ones(2, 17, dtype=torch.float64)
    flipped_maps = flip_heatmaps(gaussian_heatmaps(coords, ones, (64, 48), 2.0), FLIP)
    maps_of_flipped = gaussian_heatmaps(flip_points(coords, 48, FLIP), ones, (64, 48), 2.0)
    torch.testing.assert_close(flipped_maps, maps_of_flipped, rtol=0, atol=1e-14)  # float64 rounding of 47 - x


def test_jitter_is_a_function_of_seed_epoch_index_and_stays_in_range():
    params = Augmentation()
    draws = [sample_jitter(sample_rng(7, 0, i), params, 17) for i in range(400)]
    assert draws == [sample_jitter(sample_rng(7, 0, i), params, 17) for i in range(400)]
    assert draws != [sample_jitter(sample_rng(7, 1, i), params, 17) for i in range(400)]
    scales = np.array([d.scale for d in draws])
    rotations = np.array([d.rotation for d in draws])
    assert scales.min() >= 0.65 and scales.max() <= 1.35
    assert np.abs(rotations).max() <= 90.0
    # Rates against the parameters: 0.5 flips, 0.6 rotated, 0.3 half-body (binomial sd ~ 0.025 at n = 400).
    assert abs(np.mean([d.flip for d in draws]) - 0.5) < 0.1
    assert abs(np.mean(rotations != 0) - 0.6) < 0.1
    assert abs(np.mean([d.half_body is not None for d in draws]) - 0.3) < 0.1
    assert all(sample_jitter(sample_rng(7, 0, i), params, 8).half_body is None for i in range(50))


def test_half_body_region_by_hand():
    keypoints = np.zeros((17, 3))
    keypoints[5] = [10, 20, 2]
    keypoints[6] = [30, 20, 1]
    keypoints[9] = [20, 60, 2]
    keypoints[0] = [0, 0, 0]  # unlabelled: ignored
    # Extent 20 x 40 (w x h); ratio 0.75 -> w = 30; x 1.5 -> 45 x 60; centre (20, 40).
    centre, size = half_body_region(keypoints, upper_body_indices(COCO_PERSON), (256, 192))
    np.testing.assert_array_equal(centre, [20.0, 40.0])
    np.testing.assert_array_equal(size, [60.0, 45.0])
    assert half_body_region(keypoints, range(11, 17), (256, 192)) is None


def test_upper_body_of_coco_is_the_first_eleven():
    assert upper_body_indices(COCO_PERSON) == tuple(range(11))


def test_augmentation_parameters_are_checked():
    with pytest.raises(ValueError, match=r"flip_prob: expected a probability in \[0, 1\], got 1.5"):
        Augmentation(flip_prob=1.5)
    with pytest.raises(ValueError, match="scale_factor"):
        Augmentation(scale_factor=1.0)


def test_annotation_order_undoes_the_flip_permutation_per_sample():
    points = torch.arange(2 * 17 * 2, dtype=torch.float64).reshape(2, 17, 2)
    flipped = torch.tensor([True, False])
    out = annotation_order(points, flipped, FLIP)
    # Sample 0 is flipped: its entry 1 (left eye) takes entry 2 (right eye); sample 1 is unchanged.
    np.testing.assert_array_equal(out[0, 1].numpy(), points[0, 2].numpy())
    np.testing.assert_array_equal(out[0, 0].numpy(), points[0, 0].numpy())
    torch.testing.assert_close(out[1], points[1], rtol=0, atol=0)
    torch.testing.assert_close(annotation_order(out, flipped, FLIP), points, rtol=0, atol=0)  # an involution
    np.testing.assert_array_equal(annotation_order(points.numpy(), flipped.numpy(), FLIP), out.numpy())
    scores = torch.arange(34.0).reshape(2, 17)
    assert annotation_order(scores, flipped, FLIP)[0, :3].tolist() == [0.0, 2.0, 1.0]

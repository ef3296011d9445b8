import numpy as np
import pytest
import torch

from integral_pose.coords import (
    grid_mean,
    heatmap_to_input,
    input_to_heatmap,
    map_extent,
    on_map,
    pixel_grid,
    strides,
)


def test_strides_are_in_point_order_with_unequal_axes():
    # Input (H, W) = (256, 96) over a heatmap (64, 48): s_y = 256 / 64 = 4, s_x = 96 / 48 = 2; point order is (x, y).
    assert strides((256, 96), (64, 48)) == (2.0, 4.0)
    # (D, H, W) = (30, 256, 96) over (10, 64, 48): (s_x, s_y, s_z) = (2, 4, 3).
    assert strides((30, 256, 96), (10, 64, 48)) == (2.0, 4.0, 3.0)


def test_heatmap_to_input_with_unequal_strides_by_hand():
    # s = (2, 4): x_in = 2 x + 0.5, y_in = 4 y + 1.5. Heatmap (3, 5) -> input (6.5, 21.5).
    s = strides((256, 96), (64, 48))
    points = torch.tensor([[3.0, 5.0], [0.0, 0.0]], dtype=torch.float64)
    expected = torch.tensor([[6.5, 21.5], [0.5, 1.5]], dtype=torch.float64)
    torch.testing.assert_close(heatmap_to_input(points, s), expected)
    torch.testing.assert_close(input_to_heatmap(expected, s), points)


def test_heatmap_pixel_covers_its_block_of_input_pixels():
    # Heatmap pixel 0 covers input pixels 0 .. s - 1, so its centre is their mean (s - 1) / 2; the map's extent
    # [-0.5, W - 0.5] maps onto the input's [-0.5, s W - 0.5].
    s = strides((256, 96), (64, 48))
    corners = torch.tensor([[-0.5, -0.5], [47.5, 63.5]], dtype=torch.float64)
    torch.testing.assert_close(heatmap_to_input(corners, s), torch.tensor([[-0.5, -0.5], [95.5, 255.5]],
                                                                          dtype=torch.float64))


def test_strides_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        strides((256, 192), (64, 48, 2))
    with pytest.raises(ValueError, match="sizes must be positive"):
        strides((256, 0), (64, 48))


def test_grid_mean_is_the_mean_of_the_pixel_grid():
    assert grid_mean((64, 48)) == (23.5, 31.5)
    assert grid_mean((5, 6, 7)) == (3.0, 2.5, 2.0)
    torch.testing.assert_close(pixel_grid((5, 6, 7), dtype=torch.float64).mean(dim=0),
                               torch.tensor(grid_mean((5, 6, 7)), dtype=torch.float64))


def test_map_extent_and_on_map():
    assert map_extent((64, 48)) == ((-0.5, 47.5), (-0.5, 63.5))
    assert map_extent((2, 3, 4)) == ((-0.5, 3.5), (-0.5, 2.5), (-0.5, 1.5))
    points = torch.tensor([[47.5, 63.5], [-0.5, 0.0], [47.6, 0.0], [0.0, -0.51], [float("nan"), 1.0], [10.0, 63.0]])
    expected = torch.tensor([True, True, False, False, False, True])
    assert torch.equal(on_map(points, (64, 48)), expected)
    # NumPy arrays give the same answer; an unequal shape tells x from y: x may reach 63 only on a (48, 64) map.
    np.testing.assert_array_equal(on_map(points.numpy(), (64, 48)), expected.numpy())
    assert not on_map(torch.tensor([63.0, 10.0]), (64, 48)) and on_map(torch.tensor([63.0, 10.0]), (48, 64))


def test_pixel_grid_is_point_order_row_major():
    grid = pixel_grid((2, 3, 4))
    assert grid.shape == (24, 3)
    torch.testing.assert_close(grid[1], torch.tensor([1.0, 0.0, 0.0]))  # x moves fastest
    torch.testing.assert_close(grid[4], torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(grid[12], torch.tensor([0.0, 0.0, 1.0]))

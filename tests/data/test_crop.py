import numpy as np
import pytest
import torch
from conftest import shared_dataset
from hypothesis import given
from hypothesis import strategies as st

from integral_pose.coords import heatmap_to_input, input_to_heatmap, strides
from integral_pose.data.coco import load_coco_keypoints
from integral_pose.data.crop import (
    apply_affine,
    box_to_region,
    crop_box,
    crop_matrix,
    heatmap_to_image,
    invert_affine,
    warp_crop,
)

INPUT, HEATMAP = (256, 192), (64, 48)


def test_box_to_region_by_hand():
    # Tall box 30 x 80 (w x h): ratio W/H = 0.75 needs w = 60; then x 1.25 -> 75 x 100.
    centre, size = box_to_region((10, 20, 30, 80), INPUT, 1.25)
    np.testing.assert_array_equal(centre, [25.0, 60.0])
    np.testing.assert_array_equal(size, [100.0, 75.0])
    # Wide box 90 x 30: h = 120; x 1.25 -> 112.5 x 150.
    centre, size = box_to_region((0, 0, 90, 30), INPUT, 1.25)
    np.testing.assert_array_equal(centre, [45.0, 15.0])
    np.testing.assert_array_equal(size, [150.0, 112.5])
    with pytest.raises(ValueError, match=r"bbox: expected positive width and height, got \(0, 0, 0, 30\)"):
        box_to_region((0, 0, 0, 30), INPUT)


def test_crop_matrix_maps_the_region_onto_the_input_extent():
    # Region centred at (100, 50), 75 wide x 100 high onto 192 x 256: scale 2.56 both ways.
    m = crop_matrix((100.0, 50.0), (100.0, 75.0), INPUT)
    np.testing.assert_allclose(m, [[2.56, 0, 95.5 - 256.0], [0, 2.56, 127.5 - 128.0]], atol=1e-12)
    # Region edges x = 62.5 and 137.5 land on the input's outer pixel edges -0.5 and 191.5.
    edges = apply_affine(np.array([[62.5, 0.0], [137.5, 100.0]]), m)
    np.testing.assert_allclose(edges, [[-0.5, -0.5], [191.5, 255.5]], atol=1e-12)


def test_rotation_turns_content_counter_clockwise_and_flip_mirrors():
    m = crop_matrix((0.0, 0.0), (4.0, 4.0), (4, 4), rotation=90.0)  # scale 1, centre -> (1.5, 1.5)
    # A point to the right of the centre appears above it after a counter-clockwise turn (y points down).
    np.testing.assert_allclose(apply_affine(np.array([[1.0, 0.0]]), m), [[1.5, 0.5]], atol=1e-12)
    flipped = crop_matrix((0.0, 0.0), (4.0, 4.0), (4, 4), flip=True)
    np.testing.assert_allclose(apply_affine(np.array([[1.0, 0.0]]), flipped), [[0.5, 1.5]], atol=1e-12)


def test_warp_puts_a_pixel_where_the_matrix_maps_its_centre():
    image = np.zeros((40, 50), np.float32)
    image[13, 21] = 1.0  # the point (21, 13)
    m = crop_matrix((20.0, 10.0), (16.0, 12.0), (32, 24))  # scale 2
    target = apply_affine(np.array([[21.0, 13.0]]), m)[0]  # (x, y) = (11.5 + 2, 15.5 + 6)
    np.testing.assert_allclose(target, [13.5, 21.5])
    crop = warp_crop(image, m, (32, 24))
    ys, xs = np.mgrid[0:32, 0:24]
    mean = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
    np.testing.assert_allclose(mean, target, atol=1e-3)  # bilinear upsampling is symmetric about the centre


@given(
    x=st.floats(-50, 700), y=st.floats(-50, 500), cx=st.floats(0, 640), cy=st.floats(0, 480),
    h=st.floats(5, 800), rotation=st.floats(-90, 90), flip=st.booleans(),
)
def test_image_input_heatmap_round_trip_float64(x, y, cx, cy, h, rotation, flip):
    m = crop_matrix((cx, cy), (h, 0.75 * h), INPUT, rotation=rotation, flip=flip)
    stride = strides(INPUT, HEATMAP)
    hm = input_to_heatmap(torch.from_numpy(apply_affine(np.array([[x, y]]), m)), stride)
    back = heatmap_to_image(hm[None], torch.from_numpy(invert_affine(m))[None], INPUT, HEATMAP)[0]
    np.testing.assert_allclose(back.numpy(), [[x, y]], atol=1e-9)


def test_heatmap_to_image_by_hand():
    # Heatmap pixel (0, 0) is the centre of input pixels 0..3: input (1.5, 1.5); the inverse crop halves and
    # shifts by (10, 20).
    inverse = torch.tensor([[[0.5, 0.0, 10.0], [0.0, 0.5, 20.0]]], dtype=torch.float64)
    points = torch.tensor([[[0.0, 0.0], [47.0, 63.0]]], dtype=torch.float64)
    np.testing.assert_allclose(heatmap_to_image(points, inverse, INPUT, HEATMAP)[0].numpy(),
                               [[10.75, 20.75], [10.0 + 0.5 * 189.5, 20.0 + 0.5 * 253.5]])


def test_round_trip_on_every_coco_mini_person():
    root = shared_dataset("coco-mini")
    stride = strides(INPUT, HEATMAP)
    worst = 0.0
    for split in ("train2017", "val2017"):
        data = load_coco_keypoints(root / "annotations" / f"person_keypoints_{split}.json")
        for person in data.training_persons():
            centre, size = box_to_region(person.bbox, INPUT)
            for rotation, flip in ((0.0, False), (30.0, True)):
                m = crop_matrix(centre, size, INPUT, rotation=rotation, flip=flip)
                labelled = person.keypoints[person.keypoints[:, 2] > 0, :2]
                on_heatmap = input_to_heatmap(torch.from_numpy(apply_affine(labelled, m)), stride)
                on_input = heatmap_to_input(on_heatmap, stride)
                back = apply_affine(on_input.numpy(), invert_affine(m))
                worst = max(worst, float(np.abs(back - labelled).max()))
    assert worst < 1e-3


def test_crop_box_without_a_dataset():
    image = np.zeros((100, 80, 3), np.uint8)
    image[60, 25] = (255, 128, 0)  # the box centre (25, 60)
    crop, matrix, inverse = crop_box(image, (10, 20, 30, 80), (256, 192))
    # Box 30 x 80 -> region 75 x 100 (see test_box_to_region_by_hand): scale 2.56, centre -> (95.5, 127.5).
    np.testing.assert_allclose(matrix, [[2.56, 0, 95.5 - 2.56 * 25], [0, 2.56, 127.5 - 2.56 * 60]], atol=1e-12)
    np.testing.assert_allclose(apply_affine(np.array([[95.5, 127.5]]), inverse), [[25.0, 60.0]], atol=1e-12)
    assert crop.shape == (256, 192, 3) and crop.dtype == np.uint8
    assert tuple(crop[127, 95]) > (0, 0, 0) and crop[127, 95, 0] == crop.max()  # the marked pixel, upsampled
    np.testing.assert_allclose(inverse, invert_affine(matrix), atol=0)
    with pytest.raises(ValueError, match=r"input_size: expected \(H, W\), two integers, got \(256.0, 192\)"):
        crop_box(image, (10, 20, 30, 80), (256.0, 192))
    with pytest.raises(ValueError, match=r"image: expected a NumPy array \(H, W\) or \(H, W, C\), got \(100,\)"):
        crop_box(np.zeros(100, np.uint8), (10, 20, 30, 80))


def test_heatmap_conventions_by_hand():
    # Stride 4 (256 x 192 input, 64 x 48 heatmap), identity inverse: image pixels are input pixels.
    identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    points = torch.tensor([[[0.0, 0.0], [23.5, 31.5], [47.0, 63.0]]], dtype=torch.float64)
    expected = {
        "centre": [[1.5, 1.5], [95.5, 127.5], [189.5, 253.5]],  # 4 x + 1.5
        "msra": [[0.0, 0.0], [94.0, 126.0], [188.0, 252.0]],  # 4 x: 1.5 px to the top-left everywhere
        "udp": [[0.0, 0.0], [95.5, 127.5], [191.0, 255.0]],  # x 191 / 47, y 255 / 63: -1.5 to +1.5 px
    }
    for convention, values in expected.items():
        got = heatmap_to_image(points, identity, INPUT, HEATMAP, convention=convention)[0]
        np.testing.assert_allclose(got.numpy(), values, atol=1e-12)
    assert heatmap_to_image(points, identity, INPUT, HEATMAP).tolist() == [expected["centre"]]
    with pytest.raises(ValueError, match="convention: expected one of centre, msra, udp, got 'center'"):
        heatmap_to_image(points, identity, INPUT, HEATMAP, convention="center")

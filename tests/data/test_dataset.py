import json
import pickle
import warnings

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_dataset
from synthetic import synth_files

from integral_pose.coords import heatmap_to_input
from integral_pose.data import dataset as dataset_module
from integral_pose.data.augment import Augmentation, annotation_order
from integral_pose.data.coco import COCO_PERSON, DetectedBox, load_coco_keypoints
from integral_pose.data.crop import apply_affine, crop_box, heatmap_to_image
from integral_pose.data.dataset import TopDownDataset, make_loader, read_rgb
from integral_pose.data.targets import border_distance


@pytest.fixture(scope="module")
def synth_train(tmp_path_factory):
    path = synth_files(tmp_path_factory)["train"]
    return load_coco_keypoints(path, image_dir=path.parents[1] / "train")


def keypoints_in_target_order(samples, index):
    keypoints = samples.items[index].person.keypoints
    return keypoints[list(COCO_PERSON.flip_index)] if samples.jitter(index).flip else keypoints


def round_trip_error(samples, index, sample) -> float:
    """Largest distance between a labelled keypoint and its regression target mapped back to the image."""
    keypoints = keypoints_in_target_order(samples, index)
    back = heatmap_to_image(sample["coords"].double()[None], sample["inverse"][None], samples.input_size,
                            samples.heatmap_size)[0].numpy()
    weighted = sample["weights"].numpy() > 0
    return float(np.abs(back - keypoints[:, :2])[weighted].max(initial=0.0))


@pytest.mark.parametrize("augment", [None, Augmentation()])
def test_coco_mini_round_trip_and_targets_on_every_person(augment):
    root = shared_dataset("coco-mini")
    data = load_coco_keypoints(root / "annotations" / "person_keypoints_val2017.json", image_dir=root / "val2017")
    samples = TopDownDataset(data, augment=augment, seed=5)
    assert len(samples) == 68
    worst, inside = 0.0, 0
    for index in range(len(samples)):
        sample = samples[index]
        worst = max(worst, round_trip_error(samples, index, sample))
        keypoints = keypoints_in_target_order(samples, index)
        # Weight 1 exactly for labelled keypoints inside the input crop, checked in input pixels.
        on_input = apply_affine(keypoints[:, :2], samples.crop_matrix(index))
        inside_crop = (on_input >= -0.5).all(1) & (on_input[:, 0] <= 191.5) & (on_input[:, 1] <= 255.5)
        expected = (keypoints[:, 2] > 0) & inside_crop
        np.testing.assert_array_equal(sample["weights"].numpy(), expected)
        inside += int(expected.sum())
        # Each weighted heatmap peaks at the pixel nearest its target, with the value of the Gaussian there.
        for k in np.flatnonzero(expected):
            x, y = sample["coords"][k].tolist()
            j, i = min(max(round(x), 0), 47), min(max(round(y), 0), 63)
            assert sample["heatmaps"][k, i, j].item() == pytest.approx(
                np.exp(-((j - x) ** 2 + (i - y) ** 2) / 8.0), rel=1e-5)
            assert sample["heatmaps"][k].max().item() == sample["heatmaps"][k, i, j].item()
        assert torch.count_nonzero(sample["heatmaps"][~torch.from_numpy(expected)]) == 0
    assert worst < 1e-3
    assert inside > 500


def one_image_dataset(tmp_path, image, name="a.png", record_size=(40, 30)):
    """A one-person dataset over one image file written from ``image`` (RGB)."""
    cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    content = {
        "images": [{"id": 1, "file_name": name, "height": record_size[0], "width": record_size[1]}],
        "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [5, 5, 15, 20], "area": 300,
                         "iscrowd": 0, "num_keypoints": 1, "keypoints": [10, 10, 2] + [0] * 48}],
        "categories": [COCO_PERSON.to_category()],
    }
    (tmp_path / "a.json").write_text(json.dumps(content))
    return load_coco_keypoints(tmp_path / "a.json", image_dir=tmp_path)


def test_image_is_cropped_to_uint8_rgb(tmp_path):
    image = np.zeros((40, 30, 3), np.uint8)
    image[:, :] = (200, 100, 50)  # RGB
    data = one_image_dataset(tmp_path, image)
    sample = TopDownDataset(data, input_size=(32, 24), heatmap_size=(8, 6))[0]
    # Box 15 x 20 at ratio 0.75 stays 15 x 20, x 1.25: the whole crop lies inside the image, so every pixel is
    # the image's colour, unnormalised (the model normalises).
    assert sample["image"].dtype == torch.uint8 and sample["image"].shape == (3, 32, 24)
    np.testing.assert_array_equal(sample["image"].numpy(), np.broadcast_to(np.array([200, 100, 50])[:, None, None],
                                                                           (3, 32, 24)))
    assert sample["flipped"].dtype == torch.bool and not sample["flipped"]
    # Keypoint (10, 10): centre (12.5, 15), scale 24 / 18.75 = 1.28 -> input (11.5 - 3.2, 15.5 - 6.4).
    on_input = heatmap_to_input(sample["coords"][0].double(), (4.0, 4.0))
    np.testing.assert_allclose(on_input.numpy(), [8.3, 9.1], atol=1e-5)
    assert sample["annotation_id"].item() == 4 and sample["image_id"].item() == 1


def test_detections_give_samples_without_keypoints(synth_train):
    box = DetectedBox(image_id=1, bbox=(10.0, 20.0, 50.0, 80.0), score=0.75)
    sample = TopDownDataset(synth_train, detections=[box])[0]
    assert sample["annotation_id"].item() == -1 and sample["score"].item() == 0.75
    assert sample["weights"].abs().sum().item() == 0 and sample["heatmaps"].abs().sum().item() == 0
    # The inverse maps the input's centre pixel back to the box centre (35, 60).
    np.testing.assert_allclose(apply_affine(np.array([[95.5, 127.5]]), sample["inverse"].numpy()), [[35.0, 60.0]],
                               atol=1e-9)


def test_images_are_decoded_once_per_sample(synth_train, monkeypatch):
    calls = []
    real = cv2.imdecode
    monkeypatch.setattr(dataset_module.cv2, "imdecode", lambda *a: calls.append(a) or real(*a))
    samples = TopDownDataset(synth_train, augment=Augmentation())
    for index in range(5):
        samples[index]
    assert len(calls) == 5


def test_batches_do_not_depend_on_the_number_of_workers(synth_train):
    samples = TopDownDataset(synth_train, augment=Augmentation(), seed=11)
    samples.set_epoch(3)
    batches = {
        workers: list(make_loader(samples, batch_size=16, shuffle=True, num_workers=workers, seed=1))
        for workers in (0, 2)
    }
    assert len(batches[0]) == len(batches[2]) > 1
    for one, two in zip(batches[0], batches[2], strict=True):
        for key in ("image", "heatmaps", "coords", "weights", "flipped", "inverse", "annotation_id"):
            torch.testing.assert_close(one[key], two[key], rtol=0, atol=0)
    epoch3 = [samples.jitter(i) for i in range(len(samples))]
    samples.set_epoch(4)
    assert [samples.jitter(i) for i in range(len(samples))] != epoch3


def test_datasets_pickle_for_spawned_workers(synth_train):
    """spawn and forkserver (Python 3.14's default) start DataLoader workers by pickling the dataset."""
    samples = TopDownDataset(synth_train, augment=Augmentation(), seed=11)
    copy = pickle.loads(pickle.dumps(samples))
    assert copy.dataset.images == synth_train.images and copy.dataset.report == synth_train.report
    for key in ("image", "heatmaps", "coords"):
        torch.testing.assert_close(copy[0][key], samples[0][key], rtol=0, atol=0)


def test_errors_name_the_file(synth_train, tmp_path):
    annotations_only = load_coco_keypoints(synth_train.path)
    with pytest.raises(ValueError, match="was loaded without image_dir"):
        TopDownDataset(annotations_only)
    broken = load_coco_keypoints(synth_train.path, image_dir=synth_train.image_dir)
    object.__setattr__(broken, "image_dir", tmp_path)  # files vanish after loading
    for name in {broken.images[p.image_id].file_name for p in broken.training_persons()[:1]}:
        (tmp_path / name).write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"person_keypoints_train.json: image \d+: .*cannot read or decode"):
        TopDownDataset(broken)[0]


def test_targets_map_back_to_the_keypoints_through_inverse_and_flip_index(synth_train):
    # The inverse includes the mirror; a flipped sample's target k is annotated keypoint flip_index[k], so after
    # annotation_order every labelled target maps back onto `keypoints` (float32 targets: 1e-3 px).
    samples = TopDownDataset(synth_train, augment=Augmentation(), seed=2)
    batch = next(iter(make_loader(samples, batch_size=32, shuffle=False)))
    flipped = batch["flipped"]
    assert flipped.shape == (32,) and flipped.dtype == torch.bool
    assert flipped.tolist() == [samples.jitter(i).flip for i in range(32)]
    assert 5 < flipped.sum() < 27  # flipped and unflipped samples alike
    back = heatmap_to_image(batch["coords"].double(), batch["inverse"], samples.input_size, samples.heatmap_size)
    back = annotation_order(back, flipped, COCO_PERSON.flip_index)
    weights = annotation_order(batch["weights"], flipped, COCO_PERSON.flip_index) > 0
    error = (back - batch["keypoints"][..., :2]).norm(dim=-1)
    assert weights.sum() > 200
    assert error[weights].max() < 1e-3
    # Without the reordering, flipped samples are off by the distance between left and right keypoints.
    unordered = heatmap_to_image(batch["coords"].double(), batch["inverse"], samples.input_size, samples.heatmap_size)
    wrong = (unordered - batch["keypoints"][..., :2]).norm(dim=-1)[flipped]
    swapped = weights[flipped] & torch.tensor([i != j for i, j in enumerate(COCO_PERSON.flip_index)])
    assert wrong[swapped].mean() > 5.0


def test_plain_crop_is_crop_box(synth_train):
    samples = TopDownDataset(synth_train)
    for index in (0, 7):
        sample = samples[index]
        item = samples.items[index]
        crop, matrix, inverse = crop_box(read_rgb(synth_train.image_path(item.image_id)), item.bbox, (256, 192))
        np.testing.assert_array_equal(sample["image"].permute(1, 2, 0).numpy(), crop)
        np.testing.assert_array_equal(sample["inverse"].numpy(), inverse)
        np.testing.assert_array_equal(samples.crop_matrix(index), matrix)


def test_an_image_whose_size_differs_from_its_record_is_an_error(tmp_path):
    data = one_image_dataset(tmp_path, np.full((20, 20, 3), 90, np.uint8), "small.jpg")  # record says 40 x 30
    with pytest.raises(ValueError, match=r"a.json: image 1: .*small.jpg: decoded size 20 x 20 differs from its "
                                         r"record's 40 x 30 \(height x width\)"):
        TopDownDataset(data)[0]


def jpeg_bytes(seed=0, shape=(64, 48, 3)):
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def test_truncated_jpegs_are_errors_naming_the_file(tmp_path):
    data = jpeg_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    # cv2.imread decodes the first half and fills the rest with grey, without an error (a warning on stderr):
    assert cv2.imread(str(path), cv2.IMREAD_COLOR).shape == (64, 48, 3)
    with pytest.raises(ValueError, match=r"cut.jpg: truncated JPEG \(no end-of-image marker FFD9"):
        read_rgb(path)
    # An EXIF-like APP1 segment holding its own end marker (a thumbnail's) does not hide the cut.
    app1 = b"Exif\x00\x00\xff\xd8\xff\xd9"
    with_thumbnail = data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:]
    path.write_bytes(with_thumbnail[: len(with_thumbnail) - 100])
    with pytest.raises(ValueError, match="truncated JPEG"):
        read_rgb(path)
    # Complete files read, also with bytes after the end marker (camera trailers).
    path.write_bytes(with_thumbnail + b"\x00" * 16)
    assert read_rgb(path, (64, 48)).shape == (64, 48, 3)
    path.write_bytes(data[:-2])  # only the end marker missing
    with pytest.raises(ValueError, match="truncated JPEG"):
        read_rgb(path)


def test_sizes_are_h_w_with_equal_strides(synth_train):
    with pytest.raises(ValueError, match=r"strides differ along y \(3\) and x \(5.33333\); both sizes are \(H, W\)"):
        TopDownDataset(synth_train, input_size=(192, 256), heatmap_size=(64, 48))
    with pytest.warns(UserWarning, match=r"input_size \(192, 256\) is \(H, W\): a landscape crop .* did you mean "
                                         r"\(256, 192\)"):
        TopDownDataset(synth_train, input_size=(192, 256), heatmap_size=(48, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TopDownDataset(synth_train, input_size=(256, 256), heatmap_size=(64, 64))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": 0.0}, r"sigma: expected a finite number > 0, got 0.0"),
        ({"sigma": 1e6}, r"sigma: expected at most 64 heatmap pixels, got 1000000.0"),
        ({"seed": -1}, r"seed: expected an integer in \[0, 2\*\*63\), got -1"),
        ({"seed": 2**63}, r"seed: expected an integer in \[0, 2\*\*63\)"),
        ({"input_size": (40000, 30000), "heatmap_size": (10000, 7500)},
         r"input_size: expected \(H, W\) with 1 <= H, W <= 4096, got \(40000, 30000\)"),
        ({"heatmap_size": (64.0, 48.0)}, r"heatmap_size: expected \(H, W\), two integers"),
        ({"padding": 0.0}, r"padding: expected a finite number > 0"),
        ({"padding": 1e4}, r"padding: expected at most 10"),
    ],
)
def test_arguments_are_bounded(synth_train, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TopDownDataset(synth_train, **kwargs)


def test_loader_seed_is_bounded(synth_train):
    with pytest.raises(ValueError, match=r"seed: expected an integer in \[0, 2\*\*63\), got -3"):
        make_loader(TopDownDataset(synth_train), batch_size=2, shuffle=True, seed=-3)


def test_reprs_are_one_short_line(synth_train):
    text = repr(synth_train)
    assert "\n" not in text and len(text) < 300
    assert f"images={len(synth_train.images)}, persons={len(synth_train.persons)}" in text
    assert "person_keypoints_train.json" in text
    samples = TopDownDataset(synth_train, augment=Augmentation())
    assert repr(samples) == (
        f"TopDownDataset('person_keypoints_train.json', {len(samples)} persons, keypoints=17, input_size=(256, 192), "
        "heatmap_size=(64, 48), sigma=2, padding=1.25, augment=on, seed=0)"
    )


def test_border_targets_keep_weight_one_and_decode_to_their_coordinates_away_from_the_border(synth_train):
    # Decision: a labelled keypoint inside the crop keeps weight 1 even when its Gaussian is cut by the border.
    # Its heatmap's centroid (the beta -> 0 limit of the compensated soft-argmax) is the coordinate target
    # wherever the Gaussian is whole (>= 3 sigma from the edge: the cut tail exp(-4.5) moves it < 1e-2 px), and
    # is pulled inwards, by less than the mean of a half-Gaussian (sigma sqrt(2 / pi) = 1.60 px per axis), nearer.
    samples = TopDownDataset(synth_train, augment=Augmentation(), seed=0)
    maps, coords, weights = [], [], []
    for index in range(len(samples)):
        sample = samples[index]
        maps.append(sample["heatmaps"])
        coords.append(sample["coords"])
        weights.append(sample["weights"])
    keep = torch.stack(weights) > 0
    maps, coords = torch.stack(maps)[keep].double(), torch.stack(coords)[keep].double()
    ys, xs = torch.meshgrid(torch.arange(64.0, dtype=torch.float64), torch.arange(48.0, dtype=torch.float64),
                            indexing="ij")
    centroid = torch.stack([(maps * xs).sum((-2, -1)), (maps * ys).sum((-2, -1))], -1) / maps.sum((-2, -1))[:, None]
    error = (centroid - coords).abs()
    near = border_distance(coords, (64, 48)) < 3 * 2.0
    assert 0.05 < near.double().mean() < 0.25  # augmented crops put many keypoints near the border
    assert error[~near].max() < 1e-2
    assert error[near].max() < 2.0 * np.sqrt(2 / np.pi)
    assert (error[near].max(-1).values > 0.1).sum() > 10  # the cut is real: these do not decode to their target

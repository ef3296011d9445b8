import json

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_dataset
from synthetic import synth_files

from integral_pose.coords import heatmap_to_input
from integral_pose.data import dataset as dataset_module
from integral_pose.data.augment import Augmentation
from integral_pose.data.coco import COCO_PERSON, DetectedBox, load_coco_keypoints
from integral_pose.data.crop import apply_affine, heatmap_to_image
from integral_pose.data.dataset import IMAGENET_MEAN, IMAGENET_STD, TopDownDataset, make_loader


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


def test_image_is_cropped_and_normalised(tmp_path):
    image = np.zeros((40, 30, 3), np.uint8)
    image[:, :] = (200, 100, 50)  # RGB
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    content = {
        "images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 30}],
        "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [5, 5, 15, 20], "area": 300,
                         "iscrowd": 0, "num_keypoints": 1, "keypoints": [10, 10, 2] + [0] * 48}],
        "categories": [COCO_PERSON.to_category()],
    }
    (tmp_path / "a.json").write_text(json.dumps(content))
    data = load_coco_keypoints(tmp_path / "a.json", image_dir=tmp_path)
    sample = TopDownDataset(data, input_size=(32, 24), heatmap_size=(8, 6))[0]
    # Box 15 x 20 at ratio 0.75 stays 15 x 20, x 1.25: the whole crop lies inside the image.
    expected = (np.array([200, 100, 50]) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(sample["image"].numpy(), np.broadcast_to(expected[:, None, None], (3, 32, 24)),
                               atol=1e-5)
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
    real = cv2.imread
    monkeypatch.setattr(dataset_module.cv2, "imread", lambda *a: calls.append(a) or real(*a))
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
        for key in ("image", "heatmaps", "coords", "weights", "inverse", "annotation_id"):
            torch.testing.assert_close(one[key], two[key], rtol=0, atol=0)
    epoch3 = [samples.jitter(i) for i in range(len(samples))]
    samples.set_epoch(4)
    assert [samples.jitter(i) for i in range(len(samples))] != epoch3


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

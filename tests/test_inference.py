import hashlib
import math

import numpy as np
import pytest
import torch
from conftest import shared_dataset
from torch import nn

from integral_pose.coords import input_to_heatmap
from integral_pose.data.augment import CropJitter, flip_heatmaps
from integral_pose.data.coco import load_coco_keypoints
from integral_pose.data.crop import apply_affine
from integral_pose.data.dataset import TopDownDataset, make_loader
from integral_pose.data.synth import generate
from integral_pose.data.targets import gaussian_heatmaps
from integral_pose.decode import argmax, soft_argmax
from integral_pose.inference import (
    BoxCrops,
    Predictions,
    keypoint_scores,
    oks_nms,
    pairwise_oks,
    person_scores,
    predict,
    to_results,
)
from integral_pose.metrics import evaluate_keypoints

INPUT, HEATMAP, STRIDE, SIGMA = (64, 48), (16, 12), 4, 1.5


class SoftArgmaxMethod:
    """Stand-in for integral_pose.methods.Method: the compensated soft-argmax, peak logit as the score."""

    def __init__(self, flip_merge: str = "coords", beta: float = 2.0) -> None:
        self.flip_merge, self.beta = flip_merge, beta

    def decode(self, logits):
        return soft_argmax(logits, beta=self.beta, debias=True, return_scores=True)


class ExactMethod(SoftArgmaxMethod):
    """Stand-in whose decoder is exact on an untruncated or truncated Gaussian: one Newton step on the log of
    the map (DARK without smoothing) fits the quadratic log-Gaussian exactly, borders or not."""

    def decode(self, logits):
        return argmax(logits, refine="dark", blur_sigma=0)


def _key(image: torch.Tensor) -> str:
    return hashlib.sha1(image.contiguous().cpu().numpy().tobytes()).hexdigest()


class OracleModel(nn.Module):
    """The perfect model of a dataset: for each crop it has seen (plain or mirrored), the Gaussian heatmaps of
    the labelled keypoints, rendered from the annotations through the dataset's own crop matrices."""

    stride = STRIDE

    def __init__(self, samples: TopDownDataset) -> None:
        super().__init__()
        self.maps: dict[str, torch.Tensor] = {}
        spec = samples.dataset.spec
        for index in range(len(samples)):
            crop = samples[index]["image"]
            keypoints = samples.items[index].person.keypoints
            for flip in (False, True):
                matrix = samples.crop_matrix(index, CropJitter(flip=flip))
                order = list(spec.flip_index) if flip else list(range(spec.num_keypoints))
                on_input = torch.from_numpy(apply_affine(keypoints[:, :2], matrix)[order])
                coords = input_to_heatmap(on_input, samples.stride).numpy()
                weights = (keypoints[order, 2] > 0).astype(np.float64)
                maps = gaussian_heatmaps(coords, weights, samples.heatmap_size, SIGMA)
                image = torch.flip(crop, dims=(-1,)) if flip else crop
                self.maps[_key(image)] = torch.from_numpy(maps.astype(np.float32))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.maps[_key(image)] for image in images])


def samples_of(annotations, image_dir, input_size=INPUT, heatmap_size=HEATMAP, padding=1.25) -> TopDownDataset:
    return TopDownDataset(load_coco_keypoints(annotations, image_dir=image_dir), input_size=input_size,
                          heatmap_size=heatmap_size, sigma=SIGMA, padding=padding)


@pytest.fixture(scope="module")
def synth_samples(tmp_path_factory) -> TopDownDataset:
    root = tmp_path_factory.mktemp("synth")
    files = generate(root, images=4, seed=5, val_fraction=0.5, image_size=(128, 160), workers=1, progress=False)
    return samples_of(files["val"], root / "val")


@pytest.fixture(scope="module")
def synth_oracle(synth_samples) -> OracleModel:
    return OracleModel(synth_samples)


def run(samples, model, method, **options) -> Predictions:
    loader = make_loader(samples, batch_size=5, shuffle=False)
    return predict(model, method, loader, flip_index=samples.dataset.spec.flip_index, **options)


@pytest.mark.parametrize("flip_merge", ["heatmaps", "coords"])
@pytest.mark.parametrize("flip_test", [False, True])
def test_perfect_heatmaps_give_ap_1_and_zero_error_on_synthetic_data(synth_samples, synth_oracle, flip_merge,
                                                                    flip_test):
    pred = run(synth_samples, synth_oracle, ExactMethod(flip_merge), flip_test=flip_test)
    results = to_results(pred, category_id=synth_samples.dataset.category_id)
    assert results.annotation_ids is not None  # ground-truth boxes: paired by annotation id
    report = evaluate_keypoints(synth_samples.dataset, results)
    assert report["n"] == len(synth_samples) >= 4
    assert report["AP"] == pytest.approx(1.0) and report["AR"] == pytest.approx(1.0)
    assert report["EPE"] < 1e-3  # image pixels; float32 decoding of maps 16 x 12
    assert report["PCK@0.05"] == 1.0


def test_perfect_heatmaps_on_coco_mini():
    root = shared_dataset("coco-mini")
    # COCO labels keypoints outside the person box: with the usual padding of 1.25, 6 labelled keypoints of these
    # 68 persons fall outside their crop (no model can place them) and 3 on its border row or column. Padding 2
    # puts every one inside, so the perfect maps must give exact results.
    samples = samples_of(root / "annotations/person_keypoints_val2017.json", root / "val2017", (128, 96), (32, 24),
                         padding=2.0)
    oracle = OracleModel(samples)
    pred = run(samples, oracle, ExactMethod("coords"), flip_test=True)
    report = evaluate_keypoints(samples.dataset, to_results(pred, category_id=1))
    assert report["n"] == 68 and report["paired"] == 68 and report["keypoints"] == 652  # sum of num_keypoints
    assert report["AP"] == pytest.approx(1.0) and report["AR"] == pytest.approx(1.0)
    assert report["EPE"] < 1e-3


def test_hrnet_flip_shift_moves_x_by_half_a_heatmap_pixel(synth_samples, synth_oracle):
    """The exact mirror needs no shift: HRNet's one-pixel shift of the flipped branch moves x by half a heatmap
    pixel, an error of 0.5 * stride input pixels on perfect maps."""
    inverse = np.stack([synth_samples[i]["inverse"].numpy() for i in range(len(synth_samples))])
    expected = 0.5 * STRIDE * inverse[:, 0, 0]  # 0.5 heatmap px -> input px -> image px along x
    labelled = np.stack([s.person.keypoints[:, 2] > 0 for s in synth_samples.items])
    for flip_merge, atol in (("coords", 1e-6), ("heatmaps", 1e-3)):
        exact = run(synth_samples, synth_oracle, ExactMethod(flip_merge), flip_test=True)
        shifted = run(synth_samples, synth_oracle, ExactMethod(flip_merge), flip_test=True, flip_shift=1)
        dx = (shifted.keypoints - exact.keypoints)[..., 0]
        # Averaging coordinates moves x by exactly half the shift. Averaging maps gives a mixture of two
        # Gaussians 1 px apart, symmetric about the half-way point; DARK's quadratic fit of its log (fitted at the
        # peak cell, not at the centre) lands within 1e-3 heatmap px of it at sigma 1.5 (2e-4 measured).
        np.testing.assert_allclose((dx / expected[:, None])[labelled], 1.0, atol=atol / 0.5)
        np.testing.assert_allclose(shifted.keypoints[..., 1], exact.keypoints[..., 1], atol=1e-6)


class TinyNet(nn.Module):
    """A small random network with stride 4 (not mirror-symmetric by itself)."""

    stride = 4

    def __init__(self, k: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 5, stride=4, padding=2),
                                  nn.ReLU(), nn.Conv2d(8, k, 3, padding=1))

    def forward(self, images):
        return self.body(images.float() / 255)


class Symmetrised(nn.Module):
    """``f(x) = (g(x) + flip(g(flip(x)))) / 2``: exactly mirror-symmetric, ``f(flip(x)) = flip(f(x))``."""

    stride = 4

    def __init__(self, net: nn.Module, flip_index) -> None:
        super().__init__()
        self.net, self.flip_index = net, list(flip_index)

    def forward(self, images):
        return 0.5 * (self.net(images) + flip_heatmaps(self.net(torch.flip(images, dims=(-1,))), self.flip_index))


@pytest.mark.parametrize("flip_merge", ["heatmaps", "coords"])
def test_flip_test_of_a_mirror_symmetric_model_changes_nothing(synth_samples, flip_merge):
    spec = synth_samples.dataset.spec
    model = Symmetrised(TinyNet(spec.num_keypoints), spec.flip_index)
    method = SoftArgmaxMethod(flip_merge, beta=1.0)
    plain = run(synth_samples, model, method, flip_test=False)
    flipped = run(synth_samples, model, method, flip_test=True)
    np.testing.assert_allclose(flipped.keypoints, plain.keypoints, atol=1e-4)  # image px, float32 decoding
    np.testing.assert_allclose(flipped.scores, plain.scores, atol=1e-5)
    # ... while for the unsymmetrised network it does change the result.
    raw, raw_flipped = (run(synth_samples, model.net, method, flip_test=flip) for flip in (False, True))
    assert np.abs(raw_flipped.keypoints - raw.keypoints).max() > 0.1


def test_predictions_carry_the_batch_fields_and_restore_training_mode(synth_samples, synth_oracle):
    synth_oracle.train()
    pred = run(synth_samples, synth_oracle, SoftArgmaxMethod(), flip_test=False)
    assert synth_oracle.training
    n, k = len(synth_samples), synth_samples.dataset.spec.num_keypoints
    assert pred.keypoints.shape == (n, k, 2) and pred.keypoints.dtype == np.float64
    assert pred.scores.shape == (n, k) and pred.box_scores.tolist() == [1.0] * n
    assert pred.annotation_ids.tolist() == [p.person.id for p in synth_samples.items]
    assert pred.image_ids.tolist() == [p.image_id for p in synth_samples.items]
    # The crop region of box (x, y, w, h): grown to 3:4 (W:H), then by 1.25 on both sides.
    w, h = pred.boxes[:, 2], pred.boxes[:, 3]
    region = np.maximum(h, w * 4 / 3) * np.maximum(w, h * 3 / 4) * 1.25**2
    np.testing.assert_allclose(pred.areas, region, rtol=1e-9)
    np.testing.assert_array_equal(pred.select(np.array([1, 0])).image_ids, pred.image_ids[[1, 0]])


def test_predict_rejects_a_wrong_flip_index_and_options(synth_samples, synth_oracle):
    with pytest.raises(ValueError, match=r"flip_index: expected a permutation of 0..16"):
        predict(synth_oracle, SoftArgmaxMethod(), make_loader(synth_samples, batch_size=2, shuffle=False),
                flip_index=[0, 1])
    with pytest.raises(ValueError, match="keypoint_score"):
        run(synth_samples, synth_oracle, SoftArgmaxMethod(), keypoint_score="area")
    with pytest.raises(ValueError, match="flip_shift"):
        run(synth_samples, synth_oracle, SoftArgmaxMethod("heatmaps"), flip_shift=0.5)


def test_keypoint_scores_hand_computed():
    logits = torch.zeros(2, 5, 5)
    logits[0, 2, 2] = math.log(10.0)  # softmax weights: 10 at (2, 2), 1 on the 24 other cells; total 34
    logits[1, 0, 4] = math.log(10.0)
    assert keypoint_scores(logits, "peak").tolist() == pytest.approx([math.log(10.0)] * 2)
    # mass within radius 1 of the peak: (10 + 8) / 34 in the middle; in the corner the window holds 4 cells.
    assert keypoint_scores(logits, "mass", radius=1).tolist() == pytest.approx([18 / 34, 13 / 34])
    # spread of map 0: the peak is at the grid centre, so var_x = sum w (x - 2)^2 / 34 with 24 cells of weight 1:
    # each x offset in {-2..2} appears 5 times except the peak's own cell (offset 0): 5 * (4 + 1) * 2 = 50.
    sd = math.sqrt(50 / 34)
    assert keypoint_scores(logits[:1], "spread").item() == pytest.approx(1 / (1 + sd))
    with pytest.raises(ValueError, match="kind"):
        keypoint_scores(logits, "area")


def test_person_scores_rescoring():
    scores = np.array([[0.9, 0.1, 0.5], [0.1, 0.2, 0.0]])
    np.testing.assert_allclose(person_scores(scores, np.array([0.8, 1.0])), [(0.9 + 0.5) / 2 * 0.8, 0.0])


def test_oks_nms_hand_computed():
    # Sigma 0.5 -> (2 sigma)^2 = 1; area 1 -> OKS = mean exp(-d^2 / 2) over the keypoints.
    a = np.array([[0.0, 0.0], [10.0, 0.0]])
    keypoints = np.stack([a, a + np.array([1.0, 0]), a + np.array([0.2, 0]), a + np.array([0.4, 0]), a])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    image_ids = np.array([1, 1, 1, 1, 2])
    areas = np.ones(5)
    oks = pairwise_oks(keypoints[:4], areas[:4], [0.5, 0.5])
    # A-B: exp(-1/2) = 0.607; A-C: exp(-0.02) = 0.980; A-D: exp(-0.08) = 0.923; C-D: 0.980; B-D: exp(-0.18) = 0.835
    np.testing.assert_allclose(oks[0, 1:], np.exp([-0.5, -0.02, -0.08]), rtol=1e-12)
    np.testing.assert_allclose([oks[2, 3], oks[1, 3]], np.exp([-0.02, -0.18]), rtol=1e-12)
    # At 0.95: A keeps, suppresses C (0.980); B stays (0.607); D stays: A-D 0.923 <= 0.95, and C, which
    # overlaps D by 0.980, was suppressed first and suppresses nothing. E is alone on image 2.
    keep = oks_nms(keypoints, scores, areas, image_ids, sigmas=[0.5, 0.5], threshold=0.95)
    assert keep.tolist() == [0, 1, 3, 4]
    # At 0.9, A also suppresses D (0.923).
    assert oks_nms(keypoints, scores, areas, image_ids, sigmas=[0.5, 0.5], threshold=0.9).tolist() == [0, 1, 4]
    # Counting only keypoints both predictions are confident in: B's second keypoint is unsure, so A-B is
    # exp(-1/2) on keypoint 0 alone: unchanged; make D's first keypoint far and unsure: A-D counts keypoint 1 only.
    far = keypoints.copy()
    far[3, 0] = [50.0, 50.0]
    confident = np.ones((5, 2))
    confident[3, 0] = 0.1
    keep = oks_nms(far, scores, areas, image_ids, sigmas=[0.5, 0.5], threshold=0.9, keypoint_scores=confident,
                   keypoint_threshold=0.2)
    assert keep.tolist() == [0, 1, 4]  # A-D on keypoint 1: exp(-0.08) = 0.923 > 0.9
    assert oks_nms(far, scores, areas, image_ids, sigmas=[0.5, 0.5], threshold=0.9).tolist() == [0, 1, 3, 4]


def test_oks_nms_rejects_bad_shapes():
    with pytest.raises(ValueError, match="scores"):
        oks_nms(np.zeros((2, 1, 2)), np.zeros(3), np.ones(2), np.zeros(2), sigmas=[0.1])
    with pytest.raises(ValueError, match="threshold"):
        oks_nms(np.zeros((2, 1, 2)), np.zeros(2), np.ones(2), np.zeros(2), sigmas=[0.1], threshold=1.5)


def test_box_crops_whole_image_and_given_boxes():
    image = np.zeros((40, 30, 3), np.uint8)
    image[10, 20] = 255
    crops = BoxCrops([image], input_size=(40, 30))
    sample = crops[0]
    assert sample["image"].dtype == torch.uint8 and sample["image"].shape == (3, 40, 30)
    # The whole image with no padding at the input's own size is the identity crop.
    np.testing.assert_allclose(sample["inverse"].numpy(), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    assert sample["image"][:, 10, 20].tolist() == [255, 255, 255]
    boxed = BoxCrops([image, image], [(1, (5, 5, 10, 20), 0.7)], input_size=(40, 30), padding=1.0)
    assert len(boxed) == 1 and boxed[0]["image_id"].item() == 1 and boxed[0]["score"].item() == pytest.approx(0.7)
    with pytest.raises(ValueError, match="image index 2"):
        BoxCrops([image], [(2, (0, 0, 1, 1), 1.0)])

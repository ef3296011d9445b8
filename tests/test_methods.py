import math

import numpy as np
import pytest
import torch

from integral_pose.methods import Method


def gaussians(points, shape=(24, 20), sigma=1.5, background=0.0):
    """``(B, K, H, W)`` float32 maps, peak 1 at each ``(x, y)`` of ``points (B, K, 2)``, plus ``background``."""
    points = torch.as_tensor(points, dtype=torch.float64)
    ys = torch.arange(shape[0], dtype=torch.float64)[:, None]
    xs = torch.arange(shape[1], dtype=torch.float64)[None, :]
    d2 = (xs - points[..., 0, None, None]) ** 2 + (ys - points[..., 1, None, None]) ** 2
    return (torch.exp(-d2 / (2 * sigma**2)) + background).float()


POINTS = [[[6.3, 9.6], [10.0, 7.2]], [[12.25, 15.5], [7.7, 6.1]]]  # 3 sigma or more inside the map


def batch_for(points, shape=(24, 20), sigma=1.5):
    return {"heatmaps": gaussians(points, shape, sigma), "coords": torch.tensor(points),
            "weights": torch.ones(len(points), len(points[0]))}


def reference_expectation(maps, beta, minus_one):
    """float64 NumPy expectation of the pixel grid under exp(beta H) (- 1), per map: ``(B, K, 2)``."""
    maps = maps.double().numpy()
    w = np.exp(beta * maps) - (1.0 if minus_one else 0.0)
    h, wd = maps.shape[-2:]
    ys, xs = np.mgrid[0:h, 0:wd]
    total = w.sum(axis=(-2, -1))
    return np.stack([(w * xs).sum(axis=(-2, -1)) / total, (w * ys).sum(axis=(-2, -1)) / total], axis=-1)


def test_detection_loss_and_decoder_on_perfect_maps():
    method = Method(kind="detection", decoder="dark", blur_sigma=1.5)
    batch = batch_for(POINTS)
    loss, stats = method.loss(batch["heatmaps"], batch)
    assert loss == 0 and stats["heatmap"] == 0
    coords, scores = method.decode(batch["heatmaps"])
    assert torch.allclose(coords, batch["coords"], atol=0.05)  # DARK with blur: within 0.05 px
    assert scores.shape == (2, 2) and (scores > 0.9).all()


def test_integral_loss_is_the_l1_of_the_plain_expectation():
    method = Method(kind="integral", beta=2.0)
    batch = batch_for(POINTS)
    logits = batch["heatmaps"]
    expected = reference_expectation(logits, 2.0, minus_one=False)
    l1 = np.abs(expected - np.array(POINTS)).sum(-1).mean()
    loss, stats = method.loss(logits, batch)
    assert math.isclose(float(loss), l1, rel_tol=1e-5)
    assert l1 > 1.0  # the plain expectation is biased towards the centre
    assert "dead" not in stats
    coords, _ = method.decode(logits)
    assert np.allclose(coords.numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("options", [{}, {"window": 5}, {"max_factor": 1e6}, {"detach_factor": True}],
                         ids=["exact", "local", "clamped", "detached"])
def test_compensated_forms_are_unbiased_on_zero_background(options):
    method = Method(kind="compensated", beta=1.0, **options)
    batch = batch_for(POINTS)
    loss, stats = method.loss(batch["heatmaps"], batch)
    assert float(loss) < 2e-3  # the Gaussians' tails are sampled on a grid: exact to about 1e-4 px
    assert stats["dead"] == 0
    coords, _ = method.decode(batch["heatmaps"])
    assert np.allclose(coords.numpy(), POINTS, atol=1e-3)


def test_exact_form_masks_and_counts_dead_maps():
    method = Method(kind="compensated", beta=1.0)
    batch = batch_for(POINTS)
    logits = batch["heatmaps"].clone()
    logits[0, 1] -= 0.5  # background -0.5: C < n, the compensated location is undefined
    logits.requires_grad_(True)
    loss, stats = method.loss(logits, batch)
    assert stats["dead"] == 0.25
    loss.backward()
    assert logits.grad[0, 1].abs().sum() == 0  # no gradient from an undefined map
    assert logits.grad[1].abs().sum() > 0


def test_clamped_factor_keeps_every_map_alive():
    # All-zero maps: C = n, the factor n / (C - n) is infinite and takes its clamp; J_soft is the grid mean.
    method = Method(kind="compensated", beta=1.0, max_factor=5.0)
    logits = torch.zeros(1, 2, 5, 7)
    logits[0, 1, 1, 2] = -3.0  # C < n: also clamped to 5
    batch = {"heatmaps": torch.zeros(1, 2, 5, 7), "coords": torch.zeros(1, 2, 2), "weights": torch.ones(1, 2)}
    _, stats = method.loss(logits, batch)
    assert stats["dead"] == 0
    coords, _ = method.regress(logits)
    assert coords[0, 0].tolist() == [3.0, 2.0]
    # map 1: J_soft by hand, then J = J_soft + 5 (J_soft - c)
    w = np.ones((5, 7))
    w[1, 2] = math.exp(-3.0)
    ys, xs = np.mgrid[0:5, 0:7]
    soft = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()
    assert np.allclose(coords[0, 1].numpy(), soft + 5 * (soft - [3.0, 2.0]), atol=1e-5)


def test_factor_form_matches_the_exact_form_and_its_gradient():
    torch.manual_seed(1)
    logits = (gaussians(POINTS) * 3 + 0.01 * torch.rand(2, 2, 24, 20)).requires_grad_(True)
    target = torch.tensor(POINTS)
    exact, _ = Method(kind="compensated", beta=1.0).regress(logits)
    from integral_pose.methods import _factor_form

    factor, valid = _factor_form(logits, 1.0, None, False)
    assert valid.all()
    assert torch.allclose(exact, factor, atol=1e-4)
    g_exact = torch.autograd.grad((exact - target).abs().sum(), logits)[0]
    g_factor = torch.autograd.grad((factor - target).abs().sum(), logits)[0]
    assert torch.allclose(g_exact, g_factor, atol=1e-4)


def test_relu_activation_gives_non_negative_weights():
    method = Method(kind="compensated", beta=1.0, activation="relu")
    logits = gaussians(POINTS, background=-0.5)
    _, stats = method.loss(logits, batch_for(POINTS))
    assert stats["dead"] == 0


def test_combined_sums_both_terms_and_fuses():
    batch = batch_for(POINTS)
    logits = batch["heatmaps"] + 0.1  # both terms non-zero: MSE 0.01, compensated location off
    method = Method(kind="combined", beta=1.0, heatmap_weight=10.0, coord_weight=2.0)
    loss, stats = method.loss(logits, batch)
    assert math.isclose(float(stats["heatmap"]), 0.01, rel_tol=1e-4)
    assert math.isclose(float(loss), 10 * 0.01 + 2 * float(stats["coord"]), rel_tol=1e-5)
    regression, _ = method.decode(logits)
    detection, _ = Method(kind="detection", decoder="dark", blur_sigma=1.5).decode(logits)
    fused = Method(kind="combined", fusion="detection", decoder="dark", blur_sigma=1.5).decode(logits)[0]
    assert torch.equal(fused, detection)
    average = Method(kind="combined", fusion="average", decoder="dark", blur_sigma=1.5).decode(logits)[0]
    assert torch.allclose(average, (regression + detection) / 2)
    far = Method(kind="combined", fusion="agreement", fusion_radius=1e-6, decoder="dark", blur_sigma=1.5)
    assert torch.equal(far.decode(logits)[0], detection)


def test_shape_term_is_logged_and_added():
    batch = batch_for(POINTS)
    method = Method(kind="integral", beta=1.0, shape_weight=3.0)
    loss, stats = method.loss(batch["heatmaps"], batch)
    assert stats["shape"] > 0
    assert math.isclose(float(loss), float(stats["coord"]) + 3 * float(stats["shape"]), rel_tol=1e-5)


def test_flip_merge():
    assert Method(kind="detection").flip_merge == "heatmaps"
    assert {Method(kind=k).flip_merge for k in ("integral", "compensated", "combined")} == {"coords"}


@pytest.mark.parametrize(("options", "match"), [
    ({"kind": "dsnt"}, "method.kind: unknown value 'dsnt'"),
    ({"activation": "gelu"}, "method.activation"),
    ({"beta": 0.0}, "method.beta: expected a number > 0"),
    ({"window": 0}, "method.window"),
    ({"max_factor": -1.0}, "method.max_factor"),
    ({"coord_weight": -1.0}, "method.coord_weight"),
])
def test_bad_options_name_the_key(options, match):
    with pytest.raises(ValueError, match=match):
        Method(**options)

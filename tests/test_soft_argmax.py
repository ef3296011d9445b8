import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference import expectation, gaussian
from reference import soft_argmax as reference_soft_argmax

from integral_pose import soft_argmax
from integral_pose.decode import SoftArgmax
from integral_pose.decode.soft_argmax import integrate

soft_argmax_module = sys.modules["integral_pose.decode.soft_argmax"]  # the package exports the function by that name


def single_peak(shape=(5, 7), cell=(2, 1), value=2.0, dtype=torch.float32):
    hm = torch.zeros(shape, dtype=dtype)
    hm[cell[1], cell[0]] = value
    return hm


def test_single_cell_by_hand():
    # 5x7 map, logit 2 at (x, y) = (2, 1), zero elsewhere. C = 34 + e^2.
    # sum of x over the grid = 5 * 21 = 105, of y = 7 * 10 = 70.
    # plain x = (105 - 2 + 2 e^2) / C, y = (70 - 1 + e^2) / C; compensated: only the peak weighs, (2, 1).
    e2 = math.exp(2.0)
    c = 34 + e2
    expected = torch.tensor([(103 + 2 * e2) / c, (69 + e2) / c])
    torch.testing.assert_close(soft_argmax(single_peak()), expected)
    torch.testing.assert_close(soft_argmax(single_peak(), debias=True), torch.tensor([2.0, 1.0]))


def test_beta_multiplies_logits():
    # beta = 2 on a peak of 1 is the same map as beta = 1 on a peak of 2.
    torch.testing.assert_close(soft_argmax(single_peak(value=1.0), beta=2.0), soft_argmax(single_peak(value=2.0)))


def test_gaussian_recovered_exactly_and_plain_bias_matches_closed_form():
    shape, centre = (64, 48), (20.25, 30.5)
    blob = gaussian(shape, centre, 2.0)
    hm = torch.from_numpy(blob).float()
    compensated = soft_argmax(hm, debias=True)
    torch.testing.assert_close(compensated, torch.tensor(centre), atol=1e-4, rtol=0)
    # Closed form of the bias: J_soft = (1 - n / C) J + (n / C) c, with c the grid mean.
    n = blob.size
    big_c = np.exp(blob).sum()
    grid_mean = np.array([(48 - 1) / 2, (64 - 1) / 2])
    predicted = (1 - n / big_c) * np.array(centre) + (n / big_c) * grid_mean
    torch.testing.assert_close(soft_argmax(hm).double(), torch.from_numpy(predicted), atol=1e-4, rtol=0)
    assert abs(soft_argmax(hm)[0].item() - centre[0]) > 3.0  # the plain bias is large here: about 3.2 px


def test_batch_of_maps_each_with_its_own_peak(device):
    centres = [[(10.2, 40.7), (30.5, 5.25)], [(24.0, 31.0), (3.75, 12.5)], [(40.1, 60.3), (8.9, 20.6)]]
    maps = np.stack([np.stack([gaussian((64, 48), c, 1.5) for c in row]) for row in centres])
    hm = torch.from_numpy(maps).float().to(device)
    out = soft_argmax(hm, debias=True)
    assert out.shape == (3, 2, 2)
    # Each output is its own map's expectation, and peaks well inside the map land on their centre.
    reference = np.array([[reference_soft_argmax(m, 1.0, True) for m in row] for row in maps])
    torch.testing.assert_close(out.cpu().double(), torch.from_numpy(reference), atol=2e-4, rtol=0)
    interior = torch.tensor([centres[0][0], centres[1][0]], device=device)
    torch.testing.assert_close(out[[0, 1], [0, 0]], interior, atol=2e-4, rtol=0)


@st.composite
def blob_maps(draw, ndim):
    """Zero-background maps with one or two anisotropic, cut-off Gaussian blobs of random amplitude."""
    shape = tuple(draw(st.integers(3, 24 if ndim == 2 else 10)) for _ in range(ndim))
    hm = np.zeros(shape)
    for _ in range(draw(st.integers(1, 2))):
        centre = tuple(draw(st.floats(-1.0, n)) for n in reversed(shape))
        sigma = tuple(draw(st.floats(0.3, 4.0)) for _ in range(ndim))
        cutoff = draw(st.one_of(st.none(), st.floats(1.0, 4.0)))
        hm += gaussian(shape, centre, sigma, draw(st.floats(0.05, 8.0)), cutoff)
    return hm


@given(hm=blob_maps(2), beta=st.sampled_from([1.0, 2.0, 5.0, 10.0]))
def test_compensated_matches_float64_reference_2d(hm, beta):
    if not (np.expm1(beta * hm) > 0).any():
        return  # an all-zero map is the fallback case, tested separately
    out = soft_argmax(torch.from_numpy(hm).float(), beta=beta, debias=True).double().numpy()
    np.testing.assert_allclose(out, reference_soft_argmax(hm, beta, True), atol=2e-4, rtol=0)


@given(hm=blob_maps(3), beta=st.sampled_from([1.0, 5.0]))
def test_compensated_matches_float64_reference_3d(hm, beta):
    if not (np.expm1(beta * hm) > 0).any():
        return
    out = soft_argmax(torch.from_numpy(hm).float(), beta=beta, debias=True, ndim=3).double().numpy()
    np.testing.assert_allclose(out, reference_soft_argmax(hm, beta, True), atol=2e-4, rtol=0)


@given(hm=blob_maps(2), beta=st.sampled_from([0.5, 1.0, 10.0]), offset=st.floats(-3.0, 3.0))
def test_plain_matches_float64_reference(hm, beta, offset):
    hm = hm + offset  # plain soft-argmax is invariant to a constant
    out = soft_argmax(torch.from_numpy(hm).float(), beta=beta).double().numpy()
    np.testing.assert_allclose(out, reference_soft_argmax(hm, beta, False), atol=2e-4, rtol=0)


def test_float64_input_is_exact():
    hm = gaussian((40, 30), (11.3, 17.9), (1.5, 2.5), 3.0)
    out = soft_argmax(torch.from_numpy(hm), beta=2.0, debias=True)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), reference_soft_argmax(hm, 2.0, True), atol=1e-10, rtol=0)


def test_weak_peak_on_large_3d_grid_does_not_cancel():
    # n = 48^3 = 110592 cells; the peak's mass exp(0.05) - 1 = 0.05 is 5e-7 of C. Summing C and subtracting n
    # in float32 would lose every digit of it; the result must still be the peak cell.
    hm = torch.zeros(48, 48, 48)
    hm[5, 40, 7] = 0.05
    torch.testing.assert_close(soft_argmax(hm, debias=True, ndim=3), torch.tensor([7.0, 40.0, 5.0]))


def test_signed_weights_below_zero_logits():
    # Negative logits weigh exp(beta H) - 1 in (-1, 0): the result is the signed expectation.
    hm = gaussian((20, 30), (12.0, 8.0), 1.5, 4.0)
    hm[2, 25] = -0.5
    out = soft_argmax(torch.from_numpy(hm), debias=True).numpy()
    np.testing.assert_allclose(out, expectation(np.expm1(hm)), atol=1e-9, rtol=0)
    assert out[0] < 12.0  # the negative cell on the right pushes x to the left


@pytest.mark.parametrize("background", [-8.0, -0.01])
def test_total_weight_not_positive_falls_back_to_argmax(background):
    hm = torch.full((64, 48), background)
    hm[30, 20] = 1.0  # mass e - 1 = 1.7 against 3071 * (exp(b) - 1) < 0
    coords, scores = soft_argmax(hm, debias=True, return_scores=True)
    torch.testing.assert_close(coords, torch.tensor([20.0, 30.0]))
    torch.testing.assert_close(scores, torch.tensor(1.0))


def test_all_zero_map():
    hm = torch.zeros(2, 6, 9)
    torch.testing.assert_close(soft_argmax(hm), torch.tensor([[4.0, 2.5]] * 2))  # the grid mean
    torch.testing.assert_close(soft_argmax(hm, debias=True), torch.zeros(2, 2))  # argmax: the first cell


def test_peak_on_the_border():
    # A single cell in the corner is its own expectation; a blob cut by the border gives the mean of what
    # is left on the map (pulled inwards), exactly as the weights say.
    torch.testing.assert_close(soft_argmax(single_peak((6, 8), (7, 0)), debias=True), torch.tensor([7.0, 0.0]))
    hm = gaussian((32, 32), (0.0, 15.0), 2.0)
    out = soft_argmax(torch.from_numpy(hm).float(), debias=True).double().numpy()
    np.testing.assert_allclose(out, expectation(np.expm1(hm)), atol=1e-5, rtol=0)
    assert 1.0 < out[0] < 2.0


@pytest.mark.parametrize("debias", [False, True])
def test_extreme_logits_stay_finite(debias):
    hm = torch.from_numpy(gaussian((16, 12), (5.3, 8.6), 1.0)).float().mul(1e4).requires_grad_()
    out = soft_argmax(hm, debias=debias)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(hm.grad).all()
    torch.testing.assert_close(out, torch.tensor([5.0, 9.0]))  # beta H = 1e4: all weight on the top cell
    very_negative = torch.full((16, 12), -1e4)
    very_negative[3, 4] = -9e3
    assert torch.isfinite(soft_argmax(very_negative, debias=debias)).all()


def test_gradients_float64():
    hm = torch.from_numpy(gaussian((7, 6), (2.3, 3.6), 1.2, 2.0) + 0.1 * np.random.default_rng(0).random((7, 6)))
    hm.requires_grad_()
    for kwargs in [{}, {"debias": True}, {"beta": 3.0, "debias": True}, {"window": 2}, {"window": 2, "debias": True}]:
        assert torch.autograd.gradcheck(lambda h, kw=kwargs: soft_argmax(h, **kw), (hm,)), kwargs


def test_gradient_by_hand():
    # J_x = sum w x / sum w with w = exp(H) - 1; dJ_x / dH_i = exp(H_i) (x_i - J_x) / sum w.
    hm = torch.zeros(1, 4, dtype=torch.float64)
    hm[0, 1], hm[0, 3] = 1.0, 2.0
    hm.requires_grad_()
    soft_argmax(hm, debias=True)[0].backward()
    w1, w3 = math.e - 1, math.exp(2) - 1
    jx = (1 * w1 + 3 * w3) / (w1 + w3)
    expected = [math.exp(h) * (x - jx) / (w1 + w3) for x, h in enumerate([0.0, 1.0, 0.0, 2.0])]
    torch.testing.assert_close(hm.grad[0], torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_accumulates_in_float32(dtype, device):
    hm32 = torch.from_numpy(gaussian((64, 48), (17.4, 44.2), 2.0)).float().to(device)
    out = soft_argmax(hm32.to(dtype), debias=True)
    assert out.dtype == torch.float32
    # The input is rounded to 8 (bfloat16) or 11 (float16) bits; the decoder adds nothing on top.
    expected = soft_argmax(hm32.to(dtype).float(), debias=True)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out, torch.tensor([17.4, 44.2], device=device), atol=0.05, rtol=0)


def test_any_leading_shape():
    hm = torch.from_numpy(gaussian((10, 12), (5.5, 4.5), 1.0)).float()  # centred: symmetric support
    for lead in [(), (3,), (2, 3), (2, 1, 3)]:
        out = soft_argmax(hm.expand(*lead, 10, 12), debias=True)
        assert out.shape == (*lead, 2)
        torch.testing.assert_close(out, torch.tensor([5.5, 4.5]).expand(*lead, 2), atol=1e-5, rtol=0)


def test_3d_single_cell_and_gaussian():
    hm = torch.zeros(2, 5, 6, 7)
    hm[0, 1, 2, 3] = 3.0
    hm[1] = torch.from_numpy(gaussian((5, 6, 7), (3.0, 2.5, 2.0), (1.0, 0.7, 0.8))).float()  # centred
    out = soft_argmax(hm, debias=True, ndim=3)
    torch.testing.assert_close(out[0], torch.tensor([3.0, 2.0, 1.0]))
    torch.testing.assert_close(out[1], torch.tensor([3.0, 2.5, 2.0]), atol=1e-5, rtol=0)


def test_scores_are_the_peak_logits():
    hm = torch.stack([single_peak(value=2.0), single_peak(value=-0.5) - 1.0])
    for kwargs in [{}, {"debias": True}, {"window": 1, "debias": True}]:
        _, scores = soft_argmax(hm, return_scores=True, **kwargs)
        torch.testing.assert_close(scores, torch.tensor([2.0, -1.0]))


def test_module_equals_function():
    hm = torch.randn(2, 3, 16, 12)
    module = SoftArgmax(beta=2.0, debias=True, window=3)
    torch.testing.assert_close(module(hm), soft_argmax(hm, beta=2.0, debias=True, window=3))
    assert repr(module) == "SoftArgmax(beta=2.0, debias=True, window=3, ndim=2)"
    assert list(module.parameters()) == [] and list(module.buffers()) == []


@pytest.mark.parametrize(
    ("heatmaps", "kwargs", "message"),
    [
        (torch.zeros(64), {}, r"heatmaps: expected at least 2 dimensions for ndim=2, got shape \(64,\)"),
        (torch.zeros(4, 5), {"ndim": 3}, r"heatmaps: expected at least 3 dimensions for ndim=3, got shape \(4, 5\)"),
        (torch.zeros(4, 5, dtype=torch.int64), {}, "heatmaps: expected a floating-point dtype, got torch.int64"),
        (torch.zeros(3, 0, 5), {}, r"heatmaps: spatial dimensions must be non-empty, got shape \(3, 0, 5\)"),
        (torch.tensor([[0.0, math.nan]]), {}, "heatmaps: expected finite values, got 1 NaN or Inf of 2"),
        (torch.tensor([[0.0, -math.inf]]), {}, "heatmaps: expected finite values, got 1 NaN or Inf of 2"),
        (torch.zeros(4, 5), {"beta": 0.0}, "beta: expected a finite number > 0, got 0.0"),
        (torch.zeros(4, 5), {"beta": -1}, "beta: expected a finite number > 0, got -1"),
        (torch.zeros(4, 5), {"beta": math.nan}, "beta: expected a finite number > 0, got nan"),
        (torch.zeros(4, 5), {"ndim": 1}, "ndim: expected 2 or 3, got 1"),
        (torch.zeros(9, 9), {"window": 0}, "window: expected an integer radius >= 1, got 0"),
        (torch.zeros(9, 9), {"window": 1.5}, "window: expected an integer radius >= 1, got 1.5"),
        (torch.zeros(9, 7), {"window": 4}, r"window: a radius of 4 spans 9 cells, larger than the map \(9, 7\)"),
    ],
)
def test_bad_input(heatmaps, kwargs, message):
    with pytest.raises(ValueError, match=message):
        soft_argmax(heatmaps, **kwargs)


def test_non_tensor_input():
    with pytest.raises(TypeError, match=r"heatmaps: expected a torch\.Tensor, got ndarray"):
        soft_argmax(np.zeros((4, 5)))


# The local compensated form (window=r).


@st.composite
def windowed_maps(draw):
    """A zero-background map with one cut-off blob that fits inside the window around its peak."""
    radius = draw(st.integers(2, 6))
    shape = (draw(st.integers(2 * radius + 1, 40)), draw(st.integers(2 * radius + 1, 40)))
    sigma = draw(st.floats(0.4, radius / 3))
    cutoff = draw(st.floats(1.0, 2.5))
    # Support radius cutoff * sigma < radius - 1, so it lies strictly inside the window and off the ring.
    centre = tuple(draw(st.floats(0.0, n - 1.0)) for n in reversed(shape))
    amplitude = draw(st.floats(0.2, 6.0))
    return gaussian(shape, centre, sigma, amplitude, cutoff=min(cutoff, (radius - 1.01) / sigma)), radius


@given(case=windowed_maps(), beta=st.sampled_from([1.0, 3.0]))
def test_local_equals_global_on_zero_background_inside_the_window(case, beta):
    hm, radius = case
    if not (hm > 0).any():
        return
    hm_t = torch.from_numpy(hm).float()
    local = soft_argmax(hm_t, beta=beta, debias=True, window=radius)
    torch.testing.assert_close(local, soft_argmax(hm_t, beta=beta, debias=True), atol=1e-4, rtol=0)


@given(case=windowed_maps(), constant=st.floats(-10.0, 10.0))
def test_local_is_invariant_to_a_constant(case, constant):
    hm, radius = case
    if not (hm > 0).any():
        return
    hm_t = torch.from_numpy(hm)
    torch.testing.assert_close(soft_argmax(hm_t + constant, debias=True, window=radius),
                               soft_argmax(hm_t, debias=True, window=radius), atol=1e-9, rtol=0)


@given(noise_seed=st.integers(0, 2**16), second=st.floats(0.1, 0.95))
def test_local_ignores_everything_outside_the_window(noise_seed, second):
    radius = 3
    hm = gaussian((40, 40), (12.3, 20.6), 1.0, 2.0)
    outside = np.ones_like(hm, dtype=bool)
    outside[21 - radius : 21 + radius + 1, 12 - radius : 12 + radius + 1] = False  # the window around (12, 21)
    changed = hm.copy()
    changed[outside] += np.random.default_rng(noise_seed).normal(0.0, 0.3, outside.sum())
    changed += gaussian((40, 40), (30.0, 8.0), 1.0, 2.0 * second)  # a second, lower peak outside the window
    changed[outside] = np.minimum(changed[outside], 0.95 * hm.max())  # the argmax stays in the window
    changed[~outside] = hm[~outside]
    torch.testing.assert_close(soft_argmax(torch.from_numpy(changed), debias=True, window=radius),
                               soft_argmax(torch.from_numpy(hm), debias=True, window=radius), atol=1e-12, rtol=0)


def test_local_background_from_the_ring_by_hand():
    # 7x7 map at background -8 with a 3x3 bump: the ring mean is -8, so the weights are
    # exp(H + 8) - 1 on the bump and 0 elsewhere; the result is the bump's weighted mean.
    hm = torch.full((7, 7), -8.0, dtype=torch.float64)
    hm[2:5, 2:5] = -7.0
    hm[3, 3], hm[3, 4] = -6.0, -6.5
    w_side, w_peak, w_right = math.e - 1, math.exp(2) - 1, math.exp(1.5) - 1
    total = 7 * w_side + w_peak + w_right
    x = (3 * w_peak + 4 * w_right + w_side * (2 + 2 + 2 + 3 + 3 + 4 + 4)) / total
    y = (3 * w_peak + 3 * w_right + w_side * (2 + 3 + 4 + 2 + 4 + 2 + 4)) / total
    out = soft_argmax(hm, debias=True, window=3)
    torch.testing.assert_close(out, torch.tensor([x, y], dtype=torch.float64))


def test_local_flat_window_falls_back_to_argmax():
    hm = torch.full((2, 9, 9), -3.0)
    hm[1, 4, 6] = -2.0  # all negative, but above its own ring: weighs as a peak
    out = soft_argmax(hm, debias=True, window=2)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [6.0, 4.0]]))


def test_local_window_clipped_at_the_border():
    # A bump in the corner: the window is clipped to the map and the ring is what remains of it.
    hm = torch.zeros(10, 10, dtype=torch.float64)
    hm[0, 0], hm[0, 1], hm[1, 0] = 2.0, 1.0, 1.0
    w0, w1 = math.exp(2) - 1, math.e - 1
    expected = torch.tensor([w1 / (w0 + 2 * w1)] * 2, dtype=torch.float64)
    torch.testing.assert_close(soft_argmax(hm, debias=True, window=3), expected)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_local_extreme_logits_stay_finite(scale):
    hm = (torch.from_numpy(gaussian((16, 12), (5.3, 8.6), 1.0)).float() * scale).requires_grad_()
    out = soft_argmax(hm, debias=True, window=3)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(hm.grad).all()


def test_local_plain_is_the_softmax_inside_the_window():
    hm = torch.zeros(9, 9, dtype=torch.float64)
    hm[4, 4], hm[4, 5] = 2.0, 1.0
    hm[0, 0] = 1.5  # outside the radius-1 window around (4, 4): ignored
    e2, e1 = math.exp(2), math.e
    total = e2 + e1 + 7  # nine cells, seven of them at logit 0
    expected = torch.tensor([(4 * e2 + 5 * e1 + (3 * 3 + 4 * 2 + 5 * 2)) / total, 4.0], dtype=torch.float64)
    torch.testing.assert_close(soft_argmax(hm, window=1), expected)


def test_local_3d_and_half_precision(device):
    hm = gaussian((12, 13, 14), (6.2, 5.7, 4.4), 1.0, 3.0, cutoff=2.5)  # support inside the radius-3 window
    expected = torch.from_numpy(expectation(np.expm1(hm))).float().to(device)
    hm_t = torch.from_numpy(hm).float().to(device)
    torch.testing.assert_close(soft_argmax(hm_t - 4.0, debias=True, window=3, ndim=3), expected, atol=1e-4, rtol=0)
    out = soft_argmax(hm_t.to(torch.bfloat16), debias=True, window=3, ndim=3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, atol=0.02, rtol=0)


def test_compensated_location_off_the_map_falls_back_to_argmax():
    # Background -0.01 under a Gaussian of height 1: C - n is small but positive, and the signed expectation
    # lands at x = -23.6, off the map [-0.5, 47.5]. The argmax cell is returned instead.
    hm = torch.from_numpy(gaussian((64, 48), (20.3, 30.7), 2.0)).float() - 0.01
    expected_off_map = expectation(np.expm1(hm.double().numpy()))
    assert expected_off_map[0] < -0.5
    torch.testing.assert_close(soft_argmax(hm, debias=True), torch.tensor([20.0, 31.0]))


def test_local_background_is_the_ring_maximum_not_its_mean():
    # 7x7 map, window r = 3 around the peak (3, 3): the ring is the 24 border cells, all 0 but one at 1.2.
    # Ring maximum b = 1.2: only the three cells above 1.2 weigh, exp(H - 1.2) - 1, and the raised ring cell
    # weighs 0. (The ring mean, 0.05, would let the ring cell at (6, 0) weigh exp(1.15) - 1 = 2.16.)
    hm = torch.zeros(7, 7, dtype=torch.float64)
    hm[3, 3], hm[3, 4], hm[2, 3] = 3.0, 2.0, 1.5
    hm[0, 6] = 1.2
    w_peak, w_right, w_up = math.exp(1.8) - 1, math.exp(0.8) - 1, math.exp(0.3) - 1
    total = w_peak + w_right + w_up
    expected = torch.tensor([(3 * w_peak + 4 * w_right + 3 * w_up) / total,
                             (3 * w_peak + 3 * w_right + 2 * w_up) / total], dtype=torch.float64)
    torch.testing.assert_close(soft_argmax(hm, debias=True, window=3), expected)


# The training hot path: integrate().


def test_integrate_returns_coords_validity_peak_and_total_by_hand():
    # Map 0: logit 2 at (2, 1) on 0. Compensated: only the peak weighs, total e^2 - 1. Plain: total
    # sum exp(H - 2) = 1 + 34 e^-2. Map 1 is flat: no mass above 0, so the compensated form is undefined there
    # and returns the argmax cell (0, 0); plain soft-argmax gives the grid mean (3, 2) with total 35.
    hm = torch.zeros(2, 5, 7)
    hm[0, 1, 2] = 2.0
    out = integrate(hm, beta=1.0, debias=True)
    torch.testing.assert_close(out.coords, torch.tensor([[2.0, 1.0], [0.0, 0.0]]))
    assert out.valid.tolist() == [True, False]
    torch.testing.assert_close(out.peak, torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(out.total, torch.tensor([math.exp(2) - 1, 0.0]))
    plain = integrate(hm, beta=1.0)
    torch.testing.assert_close(plain.coords[1], torch.tensor([3.0, 2.0]))
    assert plain.valid.tolist() == [True, True]
    torch.testing.assert_close(plain.total, torch.tensor([1 + 34 * math.exp(-2), 35.0]))


@pytest.mark.parametrize("kwargs", [{}, {"debias": True}, {"window": 2}, {"window": 2, "debias": True},
                                    {"debias": True, "ndim": 3}])
def test_integrate_equals_soft_argmax_with_number_or_tensor_beta(kwargs):
    generator = torch.Generator().manual_seed(3)
    hm = torch.randn(3, 2, 6, 7, 8, generator=generator) + 2.0 * torch.rand(3, 2, 1, 1, 1, generator=generator)
    expected, scores = soft_argmax(hm, beta=1.7, return_scores=True, **kwargs)
    for beta in (1.7, torch.tensor(1.7), torch.tensor(1.7, dtype=torch.float64, requires_grad=True)):
        out = integrate(hm, beta=beta, **kwargs)
        torch.testing.assert_close(out.coords, expected)
        torch.testing.assert_close(out.peak, scores)
        assert out.valid.shape == out.total.shape == expected.shape[:-1]


def test_integrate_never_reads_back_to_the_host(monkeypatch):
    # Every way a tensor's value reaches Python raises here: integrate must not branch on data, except where that
    # is free (the compensated form's fast path on CPU), which is switched off as on a GPU.
    monkeypatch.setattr(soft_argmax_module, "_host_reads_are_free", lambda _tensor: False)

    def refuse(*_args, **_kwargs):
        raise AssertionError("host synchronisation")

    hm = (torch.randn(2, 3, 9, 10, generator=torch.Generator().manual_seed(0)) + 1.0).requires_grad_()
    for name in ("__bool__", "item", "tolist", "__int__", "__float__", "__index__", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for kwargs in [{}, {"debias": True}, {"window": 2}, {"window": 2, "debias": True}]:
        out = integrate(hm, beta=torch.tensor(2.0), **kwargs)
        torch.autograd.grad(out.coords.sum(), hm)
    monkeypatch.undo()


def test_integrate_does_not_synchronise_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    hm = torch.randn(4, 17, 64, 48, device="cuda").requires_grad_()
    beta = torch.tensor(1.5)  # a CPU scalar enters GPU arithmetic without a copy
    integrate(hm, beta=beta, debias=True)  # warm-up: lazy initialisation may synchronise once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for kwargs in [{}, {"debias": True}, {"window": 3, "debias": True}]:
            out = integrate(hm, beta=beta, **kwargs)
            torch.autograd.grad(out.coords.sum(), hm)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("beta", [0.7, 20.0])  # 20 * a peak of 3 = 60 > 50: the shifted exponents
@pytest.mark.parametrize("debias", [False, True])
def test_closed_form_backward_gradcheck(ndim, beta, debias):
    generator = torch.Generator().manual_seed(1)
    shape = (2, 5, 6) if ndim == 2 else (2, 4, 5, 3)
    hm = torch.rand(shape, generator=generator, dtype=torch.float64) * 3.0
    hm.requires_grad_()
    assert torch.autograd.gradcheck(lambda h: integrate(h, beta=beta, debias=debias, ndim=ndim).coords, (hm,))
    assert torch.autograd.gradcheck(lambda h: integrate(h, beta=torch.tensor(beta), debias=debias, ndim=ndim).coords,
                                    (hm,))


def test_local_form_gradcheck_3d():
    noise = 0.1 * np.random.default_rng(0).random((7, 8, 9))  # no ties on the ring: its maximum has a gradient
    hm = torch.from_numpy(gaussian((7, 8, 9), (4.2, 3.6, 3.3), 1.0, 2.0) - 0.3 + noise).requires_grad_()
    for debias in (False, True):
        assert torch.autograd.gradcheck(lambda h, d=debias: soft_argmax(h, debias=d, window=2, ndim=3), (hm,))


def test_closed_form_backward_by_hand_plain():
    # One row of 4 cells, logits (0, 1, 0, 2), beta 1: p_i = exp(H_i) / C, J = sum p_i x_i and
    # dJ / dH_i = p_i (x_i - J).
    hm = torch.tensor([[0.0, 1.0, 0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    soft_argmax(hm)[0].backward()
    c = 2 + math.e + math.exp(2)
    p = [math.exp(h) / c for h in (0.0, 1.0, 0.0, 2.0)]
    jx = sum(pi * x for x, pi in enumerate(p))
    torch.testing.assert_close(hm.grad[0], torch.tensor([pi * (x - jx) for x, pi in enumerate(p)],
                                                        dtype=torch.float64))


def test_undefined_maps_get_no_gradient():
    # Map 0 is fine; map 1 has no mass above 0 (fallback); map 2's location falls off the map (fallback).
    hm = torch.zeros(3, 64, 48)
    hm[0] = torch.from_numpy(gaussian((64, 48), (20.3, 30.7), 2.0)).float()
    hm[1] = -1.0
    hm[1, 10, 10] = 0.5
    hm[2] = hm[0] - 0.01
    hm.requires_grad_()
    out = integrate(hm, beta=1.0, debias=True)
    assert out.valid.tolist() == [True, False, False]
    torch.testing.assert_close(out.coords[1:], torch.tensor([[10.0, 10.0], [20.0, 31.0]]))
    (grad,) = torch.autograd.grad(out.coords.sum(), hm)
    assert torch.isfinite(grad).all() and grad[0].abs().sum() > 0
    assert (grad[1:] == 0).all()


# Numeric range.


@pytest.mark.parametrize("scale", [1e9, 3e9])
@pytest.mark.parametrize("debias", [False, True])
def test_logits_near_1e9_give_the_argmax_with_finite_gradients(scale, debias):
    # Cells differ by about 1e8 here, so all weight sits on the top cell. Rounding beta * H (a step of 64 or 256
    # at this size) must not reach the exponent of the top cell, which would overflow to inf / inf = NaN.
    hm = (torch.rand(64, 8, 6, generator=torch.Generator().manual_seed(0)) * scale).requires_grad_()
    coords = soft_argmax(hm, debias=debias)
    (grad,) = torch.autograd.grad(coords.sum(), hm)
    index = hm.detach().flatten(-2).argmax(dim=-1)
    torch.testing.assert_close(coords.detach(), torch.stack([index % 6, index // 6], dim=-1).float())
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("debias", [False, True])
@pytest.mark.parametrize("window", [None, 3])
def test_beta_beyond_the_float32_range_is_the_hard_argmax(debias, window):
    hm = torch.from_numpy(gaussian((16, 12), (5.3, 8.6), 1.0)).float().requires_grad_()
    coords = soft_argmax(hm, beta=1e300, debias=debias, window=window)
    (grad,) = torch.autograd.grad(coords.sum(), hm)
    torch.testing.assert_close(coords.detach(), torch.tensor([5.0, 9.0]))
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("beta", [1e-6, 1e-4, 1e-2])
def test_compensated_at_tiny_beta_does_not_cancel(beta):
    # Weights exp(beta H) - 1 of about 1e-6: computed as exp(beta H) then minus 1 in float32 they keep one or two
    # digits (0.02 px off here at beta 1e-6); expm1 keeps them all.
    hm = gaussian((64, 48), (20.3, 30.6), 2.0)
    out = soft_argmax(torch.from_numpy(hm).float(), beta=beta, debias=True).double().numpy()
    np.testing.assert_allclose(out, reference_soft_argmax(hm, beta, True), atol=1e-5, rtol=0)


@pytest.mark.parametrize("background", ["zero", "noise", "negative"])
@pytest.mark.parametrize("beta", [1e-3, 0.1, 1.0, 4.0, 30.0])
def test_compensated_cpu_fast_path_matches_expm1_in_value_and_gradient(monkeypatch, beta, background):
    # The fast path computes exp2(...) - 1 and falls back to expm1 per map; against a float64 reference it must
    # stay within its 1e-4 px rounding budget, and its gradient must equal the expm1 path's.
    rng = np.random.default_rng(int(beta * 1000) + len(background))
    maps = np.stack([gaussian((64, 48), (rng.uniform(5, 43), rng.uniform(5, 59)), 2.0, amplitude=rng.uniform(0.5, 4))
                     for _ in range(24)])
    maps += {"zero": 0.0, "noise": rng.normal(0, 0.05, maps.shape), "negative": -0.2}[background]
    hm = torch.from_numpy(maps).float().requires_grad_()
    g = torch.from_numpy(rng.normal(size=(24, 2))).float()
    out = integrate(hm, beta=beta, debias=True)
    (grad,) = torch.autograd.grad(out.coords, hm, g)
    monkeypatch.setattr(soft_argmax_module, "_host_reads_are_free", lambda _tensor: False)
    exact = integrate(hm, beta=beta, debias=True)
    (exact_grad,) = torch.autograd.grad(exact.coords, hm, g)
    assert out.valid.tolist() == exact.valid.tolist()
    valid = out.valid.numpy()
    expected = np.stack([reference_soft_argmax(m, beta, True) for m in maps.astype(np.float32)])
    np.testing.assert_allclose(out.coords.detach().numpy()[valid], expected[valid], atol=1e-4, rtol=0)
    torch.testing.assert_close(grad, exact_grad, rtol=1e-3, atol=1e-5 * exact_grad.abs().max().item())

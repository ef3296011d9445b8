import math

import numpy as np
import pytest
import torch
from reference import expectation

from integral_pose import soft_argmax
from integral_pose.bias.maps import random_peaks, realistic_maps
from integral_pose.bias.variants import (
    RING_RULES,
    clamped_compensated,
    dark_inputs,
    expectation64,
    local_compensated,
    per_radius,
    radius_for,
)


def test_ring_rules_by_hand():
    # 16 ring cells: eight at 0, eight at 1. max 1; mean 0.5; lower median 0; log-mean-exp (beta 1) =
    # log((1 + e) / 2); standard deviation 0.5, so mean + 2 sd = 1.5. Two cells outside the ring (9) are ignored.
    values = torch.tensor([[0.0] * 8 + [1.0] * 8 + [9.0, 9.0]], dtype=torch.float64)
    ring = torch.tensor([[True] * 16 + [False, False]])
    expected = {"max": 1.0, "mean": 0.5, "median": 0.0, "log-mean-exp": math.log((1 + math.e) / 2), "mean+2sd": 1.5}
    for rule, value in expected.items():
        assert RING_RULES[rule](values, ring, 1.0).item() == pytest.approx(value, abs=1e-12), rule
    # log-mean-exp at beta = 2: log((1 + e^2) / 2) / 2.
    assert RING_RULES["log-mean-exp"](values, ring, 2.0).item() == pytest.approx(math.log((1 + math.e**2) / 2) / 2)


def test_clamped_compensation_by_hand():
    # 3x3: logit ln 3 at (1, 1) weighs 2, ln 2 at (0, 1) weighs 1, -1 at (2, 2) weighs max(e^-1 - 1, 0) = 0.
    # x = (2 * 1 + 1 * 0) / 3, y = 1. The signed compensation would count the -0.63 at (2, 2).
    hm = torch.zeros(1, 3, 3, dtype=torch.float64)
    hm[0, 1, 1], hm[0, 1, 0], hm[0, 2, 2] = math.log(3.0), math.log(2.0), -1.0
    torch.testing.assert_close(clamped_compensated(hm), torch.tensor([[2 / 3, 1.0]], dtype=torch.float64))
    # Signed: total 2 + 1 + (e^-1 - 1) = 2 + e^-1; x = (2 * 1 + 1 * 0 + (e^-1 - 1) * 2) / total,
    # y = (2 * 1 + 1 * 1 + (e^-1 - 1) * 2) / total.
    total = 2 + math.exp(-1)
    signed = ((2 + 2 * (math.exp(-1) - 1)) / total, (3 + 2 * (math.exp(-1) - 1)) / total)
    torch.testing.assert_close(soft_argmax(hm, debias=True), torch.tensor(signed, dtype=torch.float64).view(1, 2))


def test_clamped_compensation_falls_back_to_argmax_on_a_negative_map():
    hm = torch.full((1, 4, 5), -3.0)
    hm[0, 2, 3] = -1.0
    torch.testing.assert_close(clamped_compensated(hm), torch.tensor([[3.0, 2.0]]))


def test_expectation64_matches_the_numpy_reference():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0.0, 2.0, size=(3, 6, 5))
    out = expectation64(torch.from_numpy(maps), beta=1.5)
    reference = np.stack([expectation(np.expm1(1.5 * m)) for m in maps])
    np.testing.assert_allclose(out.numpy(), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("radius", [2, 3, 5])
def test_local_with_the_max_rule_is_the_library_decoder(radius):
    shape = (32, 40)
    generator = torch.Generator().manual_seed(1)
    peaks = random_peaks(40, shape, generator, margin=3.0, second_peak=True)
    maps = realistic_maps(peaks, shape, -2.0, 0.1, generator)  # peaks near the border too: the window is clipped
    ours = local_compensated(maps, radius=radius, beta=0.7, rule="max")
    library = soft_argmax(maps, beta=0.7, debias=True, window=radius)
    torch.testing.assert_close(ours, library.double(), atol=1e-4, rtol=0)


def test_local_rules_are_blind_to_a_constant():
    shape = (24, 24)
    generator = torch.Generator().manual_seed(2)
    peaks = random_peaks(16, shape, generator, sigma=(1.0, 1.5), margin=6.0)
    maps = realistic_maps(peaks, shape, 0.0, 0.1, generator, dtype=torch.float64)
    for rule in RING_RULES:
        torch.testing.assert_close(local_compensated(maps, radius=4, rule=rule),
                                   local_compensated(maps - 7.0, radius=4, rule=rule), atol=1e-9, rtol=0)


def test_radius_for_and_per_radius():
    sigmas = torch.tensor([1.0, 1.2, 3.0])
    assert radius_for(sigmas, 3.0, (64, 48)).tolist() == [3, 4, 9]
    assert radius_for(sigmas, 3.0, (7, 9)).tolist() == [3, 3, 3]  # at most (7 - 1) // 2
    maps = torch.zeros(3, 4, 4)
    out = per_radius(maps, torch.tensor([2, 5, 2]), lambda m, r: torch.full((m.shape[0], 2), float(r)))
    torch.testing.assert_close(out, torch.tensor([[2.0, 2.0], [5.0, 5.0], [2.0, 2.0]], dtype=torch.float64))


def test_dark_inputs_are_positive_where_dark_needs_it():
    maps = torch.tensor([[[-8.0, -7.0], [-6.0, -8.0]]])
    inputs = dark_inputs(maps)
    torch.testing.assert_close(inputs["dark-shifted"], torch.tensor([[[0.0, 1.0], [2.0, 0.0]]]))
    assert (inputs["dark-sigmoid"] > 0).all()
    assert inputs["dark"] is maps

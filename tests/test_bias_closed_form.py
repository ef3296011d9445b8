import math

import pytest
import torch

from integral_pose import soft_argmax
from integral_pose.bias import background_share, closed_form, predicted_soft_argmax


def test_closed_form_by_hand():
    # share 0.2 of the mass on a grid whose mean is (3, 2): x = 0.8 * 1 + 0.2 * 3 = 1.4, y = 0.8 * 4 + 0.2 * 2 = 3.6;
    # second map: share 1 (all background) lands on the grid mean.
    peak = torch.tensor([[1.0, 4.0], [5.0, 0.0]])
    share = torch.tensor([0.2, 1.0])
    out = closed_form(peak, share, torch.tensor([3.0, 2.0]))
    torch.testing.assert_close(out, torch.tensor([[1.4, 3.6], [3.0, 2.0]]))


def test_background_share_by_hand():
    # logits (0, 0, ln 4): C = 1 + 1 + 4 = 6, n = 3, n / C = 0.5. beta = 2 on (0, 0, ln 2) gives the same C.
    hm = torch.tensor([[0.0, 0.0, math.log(4.0)]], dtype=torch.float64)
    assert background_share(hm).item() == pytest.approx(0.5, abs=1e-12)
    hm2 = torch.tensor([[0.0, 0.0, math.log(2.0)]], dtype=torch.float64)
    assert background_share(hm2, beta=2.0).item() == pytest.approx(0.5, abs=1e-12)


def test_background_share_does_not_overflow():
    # beta * H = 5000: exp overflows even float64, the share is exp(log 4 - 5000) = 0 without NaN.
    hm = torch.zeros(2, 2)
    hm[0, 0] = 100.0
    share = background_share(hm, beta=50.0)
    assert share.item() == 0.0


def test_prediction_equals_plain_soft_argmax_for_a_single_cell_peak():
    # 5x7 map, logit 2 at (x, y) = (2, 1): the peak's own expectation is exactly (2, 1), n = 35, C = 34 + e^2,
    # grid mean (3, 2). x = (1 - 35/C) 2 + (35/C) 3 = (103 + 2 e^2) / C, y = (1 - 35/C) 1 + (35/C) 2 = (69 + e^2) / C.
    hm = torch.zeros(5, 7, dtype=torch.float64)
    hm[1, 2] = 2.0
    c = 34 + math.exp(2.0)
    expected = torch.tensor([(103 + 2 * math.exp(2.0)) / c, (69 + math.exp(2.0)) / c], dtype=torch.float64)
    predicted = predicted_soft_argmax(hm, torch.tensor([2.0, 1.0]))
    torch.testing.assert_close(predicted, expected)
    torch.testing.assert_close(soft_argmax(hm), expected)


def test_beta_is_checked():
    with pytest.raises(ValueError, match="beta"):
        background_share(torch.zeros(3, 3), beta=0.0)

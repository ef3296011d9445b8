import math

import torch

from integral_pose.losses import coordinate_l1, heatmap_mse, js_to_target, masked_mean


def test_heatmap_mse_per_map():
    pred = torch.zeros(2, 3, 4, 5)
    target = torch.zeros(2, 3, 4, 5)
    target[1, 2, 0, 0] = 2.0  # one cell off by 2 in 20 cells: 4 / 20
    loss = heatmap_mse(pred, target)
    assert loss.shape == (2, 3)
    assert loss[1, 2] == 0.2
    assert loss.sum() == 0.2


def test_coordinate_l1():
    loss = coordinate_l1(torch.tensor([[[1.0, 1.0], [3.0, -1.0]]]), torch.tensor([[[0.0, 0.0], [3.0, 1.0]]]))
    assert loss.tolist() == [[2.0, 2.0]]


def test_js_is_zero_for_equal_and_ln2_for_disjoint():
    target = torch.zeros(1, 2, 3, 3)
    target[0, 0, 1, 1] = 1.0
    target[0, 1, 0, 0] = 1.0
    # beta * logits large on the target cell: the softmax puts (almost) all its mass there.
    logits = torch.zeros(1, 2, 3, 3)
    logits[0, 0, 1, 1] = 40.0
    logits[0, 1, 2, 2] = 40.0
    js = js_to_target(logits, target)
    assert js[0, 0] < 1e-6
    assert math.isclose(float(js[0, 1]), math.log(2), rel_tol=1e-5)


def test_masked_mean_ignores_zero_weights_and_empty_batches():
    losses = torch.tensor([[1.0, 5.0], [3.0, 1e30]])
    weights = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    assert masked_mean(losses, weights) == 3.0
    assert masked_mean(losses, torch.zeros(2, 2)) == 0.0
    x = torch.tensor([[2.0, 4.0]], requires_grad=True)
    masked_mean(x * x, torch.tensor([[1.0, 0.0]])).backward()
    assert x.grad.tolist() == [[4.0, 0.0]]

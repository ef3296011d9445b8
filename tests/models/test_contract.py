"""One contract over every backbone in BACKBONES: shape, finite logits, a gradient for every parameter through
each training method's loss."""

import pytest
import torch

from integral_pose.data.targets import gaussian_heatmaps
from integral_pose.methods import KINDS, Method
from integral_pose.models import BACKBONES, PoseModel, build_model

# (H, W): every stage of every backbone keeps a map of at least 2x2. The cost is per layer rather than per
# pixel: the HRNet cases (about 300 convolutions) take 1-3 s on two CPU cores, the others well under 1 s.
INPUT = (64, 64)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_contract(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_keypoints=3)
    assert isinstance(model, PoseModel)
    assert model.stride == 4
    images = torch.randint(0, 256, (2, 3, *INPUT), dtype=torch.uint8)

    logits = model(images)

    assert logits.shape == (2, 3, INPUT[0] // 4, INPUT[1] // 4)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()

    h, w = logits.shape[-2:]
    coords = torch.rand(2, 3, 2, generator=torch.Generator().manual_seed(1)) * torch.tensor([w - 1.0, h - 1.0])
    weights = torch.ones(2, 3)
    batch = {"coords": coords, "weights": weights, "heatmaps": gaussian_heatmaps(coords, weights, (h, w), 1.0)}
    parameters = dict(model.named_parameters())
    for kind in KINDS:
        loss, _ = Method(kind=kind, max_factor=10.0).loss(logits, batch)  # clamped: no map undefined at init
        grads = torch.autograd.grad(loss, list(parameters.values()), retain_graph=True, allow_unused=True)
        no_grad = [n for n, g in zip(parameters, grads, strict=True) if g is None or not bool(g.abs().sum() > 0)]
        assert no_grad == [], kind
        assert all(bool(torch.isfinite(g).all()) for g in grads), kind


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_attributes(name: str) -> None:
    with torch.device("meta"):
        backbone = BACKBONES[name]()
    assert backbone.stride in (4, 32)
    assert backbone.input_multiple in (4, 32)
    assert isinstance(backbone.out_channels, int)

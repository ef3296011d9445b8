"""One contract over every backbone in BACKBONES: shape, finite logits, a gradient for every parameter."""

import pytest
import torch

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

    target = torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))
    torch.nn.functional.mse_loss(logits, target).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert no_grad == []
    assert all(bool(torch.isfinite(p.grad).all()) for p in model.parameters())


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_attributes(name: str) -> None:
    with torch.device("meta"):
        backbone = BACKBONES[name]()
    assert backbone.stride in (4, 32)
    assert backbone.input_multiple in (4, 32)
    assert isinstance(backbone.out_channels, int)

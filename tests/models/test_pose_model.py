"""PoseModel and build_model: normalisation, state dict names, head initialisation, argument checks."""

import pytest
import torch
from torch import nn

from integral_pose.models import BACKBONES, ConvHead, PoseModel, SimpleBaselineHead, build_model
from integral_pose.models.small import SmallNet


class _Pixels(nn.Module):
    """A backbone that hands the normalised image on unchanged (stride 1)."""

    out_channels, stride, input_multiple = 3, 1, 1

    def forward(self, x):
        return x


def _identity_model() -> PoseModel:
    head = ConvHead(3, 3, init_std=0.0)
    with torch.no_grad():
        head.final_layer.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    return PoseModel(_Pixels(), head, stride=1)


def test_normalisation_by_hand() -> None:
    images = torch.tensor([0, 255, 128], dtype=torch.uint8).view(1, 1, 1, 3).expand(1, 3, 1, 3).contiguous()
    out = _identity_model()(images)
    # channel R, pixel 255: (255 - 0.485 * 255) / (0.229 * 255) = 0.515 / 0.229 = 2.248908...
    # channel G, pixel 0: -0.456 / 0.224 = -2.035714...; channel B, pixel 128: (128 / 255 - 0.406) / 0.225
    assert out[0, 0, 0, 1].item() == pytest.approx(0.515 / 0.229, rel=1e-6)
    assert out[0, 1, 0, 0].item() == pytest.approx(-0.456 / 0.224, rel=1e-6)
    assert out[0, 2, 0, 2].item() == pytest.approx((128 / 255 - 0.406) / 0.225, rel=1e-6)


def test_uint8_and_float_inputs_agree() -> None:
    model = build_model("small", num_keypoints=4, init_std=0.1).eval()
    images = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
    with torch.no_grad():
        a = model(images)
        b = model(images.float())
        c = model(images.double())
    assert a.dtype == b.dtype == c.dtype == torch.float32
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)


def test_state_dict_holds_backbone_and_head_only() -> None:
    model = build_model("small", num_keypoints=5)
    keys = list(model.state_dict())
    assert all(k.startswith(("backbone.", "head.")) for k in keys)
    assert "mean" not in keys and "std" not in keys
    assert torch.allclose(model.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]) * 255)
    assert torch.allclose(model.std.flatten(), torch.tensor([0.229, 0.224, 0.225]) * 255)
    assert model.num_keypoints == 5 and model.stride == 4 and model.input_multiple == 4


def test_heads_by_backbone() -> None:
    with torch.device("meta"):
        resnet = build_model("resnet18", 17)
        hrnet = build_model("hrnet_w32", 17)
        small = build_model("small", 17)
    assert isinstance(resnet.head, SimpleBaselineHead) and resnet.head.num_deconv == 3
    assert isinstance(hrnet.head, ConvHead) and isinstance(small.head, ConvHead)
    assert resnet.input_multiple == hrnet.input_multiple == 32


def test_final_layer_init() -> None:
    model = build_model("small", num_keypoints=17, init_std=0.01, init_bias=-2.5)
    weight, bias = model.head.final_layer.weight, model.head.final_layer.bias
    assert torch.equal(bias, torch.full((17,), -2.5))
    # 17 * 32 = 544 draws of N(0, 0.01^2): the sample std lies within 15% of 0.01 (about 5 standard errors)
    assert weight.std().item() == pytest.approx(0.01, rel=0.15)
    default = build_model("small", num_keypoints=17).head.final_layer
    assert default.weight.std().item() == pytest.approx(0.001, rel=0.15)
    assert torch.equal(default.bias, torch.zeros(17))


def test_simple_baseline_head_names_and_shape() -> None:
    head = SimpleBaselineHead(64, 5, channels=16)
    names = [k for k in head.state_dict() if k.endswith("weight")]
    assert names == ["deconv_layers.0.weight", "deconv_layers.1.weight", "deconv_layers.3.weight",
                     "deconv_layers.4.weight", "deconv_layers.6.weight", "deconv_layers.7.weight",
                     "final_layer.weight"]
    assert head.deconv_layers[0].bias is None
    assert head(torch.zeros(2, 64, 3, 2)).shape == (2, 5, 24, 16)


def test_small_backbone() -> None:
    net = SmallNet()
    assert sum(p.numel() for p in net.parameters()) < 1_000_000
    assert net(torch.zeros(2, 3, 128, 96)).shape == (2, 32, 32, 24)
    # H, W multiples of 4 but not of 16: the top-down path follows the finer maps' shapes
    assert net(torch.zeros(1, 3, 100, 76)).shape == (1, 32, 25, 19)


def test_unknown_backbone_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"model.backbone: unknown name 'hrnet_w31'; choose from hrnet_w32, "):
        build_model("hrnet_w31", 17)
    with pytest.raises(ValueError) as info:
        build_model("resnet", 17)
    assert all(name in str(info.value) for name in BACKBONES)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_keypoints": 0}, "num_keypoints"),
    ({"num_keypoints": 2.0}, "num_keypoints"),
    ({"num_keypoints": 2, "init_std": -1.0}, "init_std"),
    ({"num_keypoints": 2, "init_bias": float("nan")}, "init_bias"),
])
def test_build_model_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_model("small", **kwargs)


def test_image_checks() -> None:
    model = build_model("small", 2)
    with pytest.raises(TypeError, match="images"):
        model([[0.0]])
    with pytest.raises(ValueError, match=r"expected shape \(B, 3, H, W\), got \(3, 64, 48\)"):
        model(torch.zeros(3, 64, 48))
    with pytest.raises(ValueError, match=r"got \(1, 1, 64, 48\)"):
        model(torch.zeros(1, 1, 64, 48))
    with pytest.raises(ValueError, match=r"torch\.int64"):
        model(torch.zeros(1, 3, 64, 48, dtype=torch.long))
    with pytest.raises(ValueError, match=r"multiples of 4 .* got shape \(1, 3, 64, 50\)"):
        model(torch.zeros(1, 3, 64, 50))
    resnet = build_model("resnet18", 2)
    with pytest.raises(ValueError, match=r"multiples of 32 .* got shape \(1, 3, 80, 64\)"):
        resnet(torch.zeros(1, 3, 80, 64))


def test_device(device: torch.device) -> None:
    model = build_model("small", 3, init_std=0.1).eval()
    images = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
    with torch.no_grad():
        expected = model(images)
        out = model.to(device)(images.to(device))
    assert out.device.type == device.type and out.dtype == torch.float32
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-4, atol=1e-5)

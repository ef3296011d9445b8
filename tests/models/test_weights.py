"""load_weights and the key remaps, against key lists of the published checkpoints (tests/models/data)."""

import math
from pathlib import Path

import pytest
import torch

from integral_pose.models import build_model, load_weights
from integral_pose.models.hrnet import hrnet_w48
from integral_pose.models.resnet import resnet18, resnet34, resnet50, resnet101
from integral_pose.models.weights import (
    detect_format,
    remap_hrnet_imagenet,
    remap_mmpose,
    remap_official_pose,
    remap_torchvision_resnet,
)

DATA = Path(__file__).resolve().parent / "data"


def key_list(name: str) -> dict[str, tuple[int, ...]]:
    """``key -> shape`` from a list in tests/models/data (see the header of each file for its source)."""
    out = {}
    for line in (DATA / name).read_text().splitlines():
        if line.startswith("#"):
            continue
        key, shape = line.split("\t")
        out[key] = tuple(int(n) for n in shape.split(",")) if shape else ()
    return out


def meta_state(keys: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def shapes(state) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def meta_model(backbone: str, num_keypoints: int = 17):
    with torch.device("meta"):
        return build_model(backbone, num_keypoints)


def n_params(keys: dict[str, tuple[int, ...]]) -> int:
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    return sum(math.prod(s) for k, s in keys.items() if not k.endswith(buffers))


# --- key compatibility with the published architectures -------------------------------------------------


def test_torchvision_resnet50_list_is_the_published_one() -> None:
    keys = key_list("torchvision_resnet50.txt")
    assert len(keys) == 320 and n_params(keys) == 25_557_032  # torchvision's published totals


def test_torchvision_resnet50_maps_onto_backbone() -> None:
    state, dropped = remap_torchvision_resnet(meta_state(key_list("torchvision_resnet50.txt")))
    assert dropped == ["fc.weight", "fc.bias"]
    model = meta_model("resnet50")
    assert shapes(state) == shapes({k: v for k, v in model.state_dict().items() if k.startswith("backbone.")})


@pytest.mark.parametrize(("factory", "with_fc"), [
    (resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032), (resnet101, 44_549_160),
])
def test_resnet_parameter_counts(factory, with_fc: int) -> None:
    # torchvision's published parameter counts, which include the classifier fc (C -> 1000)
    with torch.device("meta"):
        net = factory()
    fc = net.out_channels * 1000 + 1000
    assert sum(p.numel() for p in net.parameters()) + fc == with_fc


def test_official_pose_hrnet_w32_maps_onto_model() -> None:
    keys = key_list("pose_hrnet_w32_coco.txt")
    assert round(n_params(keys) / 1e6, 1) == 28.5  # HRNet paper, Table 1
    state, dropped = remap_official_pose(meta_state(keys))
    assert dropped == []
    assert shapes(state) == shapes(meta_model("hrnet_w32").state_dict())
    assert detect_format(list(keys)) == "official_pose"


def test_hrnet_w48_parameter_count() -> None:
    with torch.device("meta"):
        net = hrnet_w48()
    final = 48 * 17 + 17
    assert round((sum(p.numel() for p in net.parameters()) + final) / 1e6, 1) == 63.6  # HRNet paper, Table 1


def test_hrnet_imagenet_maps_onto_backbone() -> None:
    keys = key_list("hrnet_w32_imagenet.txt")
    assert round(n_params(keys) / 1e6, 1) == 41.2  # HRNet-W32-C, published
    state, dropped = remap_hrnet_imagenet(meta_state(keys))
    model = meta_model("hrnet_w32")
    assert shapes(state) == shapes({k: v for k, v in model.state_dict().items() if k.startswith("backbone.")})
    assert {k.split(".")[0] for k in dropped} == {"incre_modules", "downsamp_modules", "final_layer", "classifier",
                                                  "stage4"}
    assert {".".join(k.split(".")[:4]) for k in dropped if k.startswith("stage4")} == {
        "stage4.2.fuse_layers.1", "stage4.2.fuse_layers.2", "stage4.2.fuse_layers.3"}
    assert detect_format(list(keys)) == "hrnet_imagenet"


@pytest.mark.parametrize("head_prefix", ["head.", "keypoint_head."])
def test_mmpose_res50_maps_onto_model(head_prefix: str) -> None:
    backbone = {"backbone." + k: s for k, s in key_list("torchvision_resnet50.txt").items() if not k.startswith("fc.")}
    head = {head_prefix + k: s for k, s in key_list("mmpose_heatmap_head_res50.txt").items()}
    state, dropped = remap_mmpose(meta_state(backbone | head))
    assert dropped == []
    assert shapes(state) == shapes(meta_model("resnet50").state_dict())
    assert detect_format(list(backbone | head), "state_dict") == "mmpose"


def test_detect_format() -> None:
    assert detect_format(list(key_list("torchvision_resnet50.txt"))) == "torchvision_resnet"
    assert detect_format(["backbone.conv1.weight", "head.final_layer.weight"]) == "integral_pose"
    assert detect_format(["conv1.weight", "layer1.0.conv1.weight"]) is None


# --- loading files ----------------------------------------------------------------------------------------


def _outputs(model, seed: int = 0) -> torch.Tensor:
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval()(images)


def _trained_small(k: int = 3):
    model = build_model("small", k, init_std=0.1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    model.train()(torch.rand(2, 3, 64, 48) * 255)  # move the BatchNorm statistics
    return model


@pytest.mark.parametrize("wrap", ["training", "bare", "module", "compiled"])
def test_own_checkpoint_round_trip(tmp_path: Path, wrap: str) -> None:
    source = _trained_small()
    state = source.state_dict()
    if wrap == "module":
        state = {"module." + k: v for k, v in state.items()}
    if wrap == "compiled":
        state = {"_orig_mod." + k: v for k, v in state.items()}
    payload = {"model": state, "epoch": 7, "config": "lr = 1e-3"} if wrap == "training" else state
    torch.save(payload, tmp_path / "ckpt.pt")
    target = build_model("small", 3)
    report = load_weights(target, tmp_path / "ckpt.pt")
    assert report.format == "integral_pose" and report.part == "all"
    assert report.loaded == len(state) and report.dropped == () and report.filled == ()
    torch.testing.assert_close(_outputs(target), _outputs(source), rtol=0, atol=0)


def test_torchvision_checkpoint_into_backbone(tmp_path: Path) -> None:
    tv = build_model("resnet18", 17).backbone.state_dict()
    tv["fc.weight"], tv["fc.bias"] = torch.randn(1000, 512), torch.randn(1000)
    tv["conv1.weight"] = torch.randn(64, 3, 7, 7)
    torch.save(tv, tmp_path / "resnet18-f37072fd.pth")

    model = build_model("resnet18", 17)
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    report = load_weights(model, tmp_path / "resnet18-f37072fd.pth", part="backbone")

    assert report.format == "torchvision_resnet" and report.dropped == ("fc.weight", "fc.bias")
    assert report.loaded == len(tv) - 2
    assert torch.equal(model.backbone.conv1.weight, tv["conv1.weight"])
    assert all(torch.equal(v, head_before[k]) for k, v in model.head.state_dict().items())
    assert "dropped 2: fc.weight, fc.bias" in str(report)

    with pytest.raises(ValueError, match="part='backbone'") as info:
        load_weights(model, tmp_path / "resnet18-f37072fd.pth")
    assert "resnet18-f37072fd.pth" in str(info.value) and "missing: 17: head.deconv_layers.0.weight" in str(info.value)


def test_official_pose_with_module_prefix(tmp_path: Path) -> None:
    # str.lstrip("module.") would also eat the "de" of "deconv_layers"; removeprefix must not
    source = build_model("resnet18", 2, init_std=0.1)
    official = {("module." + k.split(".", 1)[1]): v for k, v in source.state_dict().items()}
    assert "module.deconv_layers.0.weight" in official
    torch.save(official, tmp_path / "pose_resnet.pth")
    target = build_model("resnet18", 2)
    assert load_weights(target, tmp_path / "pose_resnet.pth").format == "official_pose"
    torch.testing.assert_close(_outputs(target), _outputs(source), rtol=0, atol=0)


@pytest.mark.parametrize("prefix", ["head.", "keypoint_head."])
def test_mmpose_checkpoint(tmp_path: Path, prefix: str) -> None:
    source = _trained_small()
    state = {(prefix + k.removeprefix("head.") if k.startswith("head.") else k): v
             for k, v in source.state_dict().items()}
    torch.save({"meta": {"epoch": 210, "mmpose_version": "1.0.0"}, "state_dict": state}, tmp_path / "mm.pth")
    target = build_model("small", 3)
    assert load_weights(target, tmp_path / "mm.pth").format == "mmpose"
    torch.testing.assert_close(_outputs(target), _outputs(source), rtol=0, atol=0)


def test_full_checkpoint_into_backbone_drops_head(tmp_path: Path) -> None:
    source = _trained_small(k=5)
    torch.save({"model": source.state_dict()}, tmp_path / "other_k.pt")
    target = build_model("small", 3)
    report = load_weights(target, tmp_path / "other_k.pt", part="backbone")
    assert report.dropped == ("head.final_layer.weight", "head.final_layer.bias")
    assert all(torch.equal(v, source.state_dict()["backbone." + k]) for k, v in target.backbone.state_dict().items())


def test_mismatches_are_listed(tmp_path: Path) -> None:
    state = build_model("small", 5).state_dict()
    state["head.extra.weight"] = torch.zeros(1)
    del state["backbone.stem.0.0.weight"]
    torch.save({"model": state}, tmp_path / "bad.pt")
    with pytest.raises(ValueError) as info:
        load_weights(build_model("small", 3), tmp_path / "bad.pt")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'bad.pt'}: the weights do not match the model")
    assert "missing: 1: backbone.stem.0.0.weight" in message
    assert "unexpected: 1: head.extra.weight" in message
    assert "shape mismatch: 2: head.final_layer.weight: file (5, 32, 1, 1), model (3, 32, 1, 1)" in message


def test_long_lists_are_cut_at_ten(tmp_path: Path) -> None:
    torch.save({"model": {"head.final_layer.weight": torch.zeros(3, 32, 1, 1)}}, tmp_path / "head_only.pt")
    with pytest.raises(ValueError, match=r"missing: \d+: backbone\.[^\n]*\.\.\. \(\d+ more\)"):
        load_weights(build_model("small", 3), tmp_path / "head_only.pt")


def test_missing_batch_counters_are_filled(tmp_path: Path) -> None:
    source = _trained_small()
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    target = build_model("small", 3)
    report = load_weights(target, tmp_path / "old.pth")
    assert len(report.filled) == sum(isinstance(m, torch.nn.BatchNorm2d) for m in target.modules())
    assert report.loaded == len(state)
    torch.testing.assert_close(_outputs(target), _outputs(source), rtol=0, atol=0)


class Opaque:
    """Stands for an arbitrary pickled Python object in a checkpoint."""


def test_refuses_pickled_objects(tmp_path: Path) -> None:
    torch.save({"model": build_model("small", 3).state_dict(), "extra": Opaque()}, tmp_path / "pickle.pt")
    with pytest.raises(ValueError, match=r"pickle\.pt: not loadable with torch\.load\(weights_only=True\)"):
        load_weights(build_model("small", 3), tmp_path / "pickle.pt")


def test_argument_errors(tmp_path: Path) -> None:
    model = build_model("small", 3)
    with pytest.raises(FileNotFoundError, match=r"absent\.pt"):
        load_weights(model, tmp_path / "absent.pt")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "unknown.pt")
    with pytest.raises(ValueError, match=r"unknown\.pt: cannot tell the checkpoint format .* conv1\.weight"):
        load_weights(model, tmp_path / "unknown.pt")
    with pytest.raises(ValueError, match="format: unknown format 'timm'"):
        load_weights(model, tmp_path / "unknown.pt", format="timm")
    with pytest.raises(ValueError, match="part: expected one of all, backbone, got 'head'"):
        load_weights(model, tmp_path / "unknown.pt", part="head")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list\.pt: expected a state dict"):
        load_weights(model, tmp_path / "list.pt")

"""Regenerate the key lists in this folder: ``python tests/models/data/make_key_lists.py``.

The lists are written from this library's modules, whose names were checked by reading the published
sources (torchvision ``torchvision/models/resnet.py``; HRNet ``lib/models/pose_hrnet.py`` of
leoxiaobin/deep-high-resolution-net.pytorch with ``experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml``;
``lib/models/cls_hrnet.py`` of HRNet/HRNet-Image-Classification; mmpose 1.x ``HeatmapHead``) and against
published totals (torchvision ResNet-50: 320 state dict entries, 25,557,032 parameters; pose HRNet-W32:
28.5M parameters; HRNet-W32-C: 41.2M parameters). The classification head of HRNet-W32-C is built here
from ``cls_hrnet.py``'s ``_make_head`` (it is not part of the library).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from torch import nn

HERE = Path(__file__).resolve().parent


def _write(name: str, header: str, module_or_items) -> None:
    items = module_or_items.state_dict().items() if isinstance(module_or_items, nn.Module) else module_or_items
    lines = [f"# {line}".rstrip() for line in header.strip().splitlines()]
    lines += [f"{key}\t{','.join(map(str, value.shape))}" for key, value in items]
    (HERE / name).write_text("\n".join(lines) + "\n")


def main() -> None:
    from integral_pose.models.hrnet import HighResolutionModule, HRNet
    from integral_pose.models.resnet import Bottleneck, make_layer, resnet50

    net = resnet50()
    net.fc = nn.Linear(2048, 1000)
    _write("torchvision_resnet50.txt", """
torchvision resnet50 ImageNet state dict: key<TAB>shape (comma-separated; empty for a scalar).
Names and order as torchvision/models/resnet.py (ResNet(Bottleneck, [3, 4, 6, 3]), fc 2048 -> 1000).
Written by make_key_lists.py; 320 entries, 25,557,032 parameters, as published.
""", net)

    pose = HRNet(32)
    pose.final_layer = nn.Conv2d(32, 17, 1)
    _write("pose_hrnet_w32_coco.txt", """
Official HRNet pose network, W32, COCO (17 joints): key<TAB>shape.
Names as lib/models/pose_hrnet.py of leoxiaobin/deep-high-resolution-net.pytorch with
experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml (FINAL_CONV_KERNEL 1): the file pose_hrnet_w32_256x192.pth.
Written by make_key_lists.py.
""", pose)

    cls = HRNet(32)
    cls.stage4[2] = HighResolutionModule((32, 64, 128, 256), multi_scale_output=True)
    head_channels = (32, 64, 128, 256)
    cls.incre_modules = nn.ModuleList(make_layer(Bottleneck, c, h, 1) for c, h in zip((32, 64, 128, 256),
                                                                                     head_channels, strict=True))
    cls.downsamp_modules = nn.ModuleList(
        nn.Sequential(nn.Conv2d(4 * a, 4 * b, 3, 2, 1), nn.BatchNorm2d(4 * b), nn.ReLU())
        for a, b in pairwise(head_channels)
    )
    cls.final_layer = nn.Sequential(nn.Conv2d(1024, 2048, 1), nn.BatchNorm2d(2048), nn.ReLU())
    cls.classifier = nn.Linear(2048, 1000)
    _write("hrnet_w32_imagenet.txt", """
Official HRNet-W32-C ImageNet classifier: key<TAB>shape (the file hrnet_w32-36af842e.pth).
Names as lib/models/cls_hrnet.py of HRNet/HRNet-Image-Classification with
experiments/cls_hrnet_w32_sgd_lr5e-2_wd1e-4_bs32_x100.yaml: the pose trunk, except that the last stage4
module fuses into all four branches, plus incre_modules, downsamp_modules, final_layer and classifier.
Written by make_key_lists.py; 41.2M parameters, as published.
""", cls)

    head = nn.Module()
    layers: list[nn.Module] = []
    for i in range(3):
        layers += [nn.ConvTranspose2d(2048 if i == 0 else 256, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256),
                   nn.ReLU()]
    head.deconv_layers = nn.Sequential(*layers)
    head.final_layer = nn.Conv2d(256, 17, 1)
    _write("mmpose_heatmap_head_res50.txt", """
mmpose 1.x HeatmapHead of td-hm_res50_8xb64-210e_coco-256x192 (SimpleBaseline, 17 keypoints): key<TAB>shape,
without the "head." prefix. Names as mmpose/models/heads/heatmap_heads/heatmap_head.py: deconv_layers is a
Sequential of (ConvTranspose2d without bias, BatchNorm2d, ReLU) x 3, final_layer a 1x1 Conv2d.
mmpose 0.x (TopdownHeatmapSimpleHead) uses the same names under "keypoint_head.".
Written by make_key_lists.py.
""", head)


if __name__ == "__main__":
    main()

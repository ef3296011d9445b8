"""Checkpoints: atomic writes, clear errors, and models rebuilt from this library's and foreign checkpoints."""

import os

import pytest
import torch

from integral_pose.checkpoints import load_checkpoint, load_model, save_checkpoint
from integral_pose.config import load_config, to_dict
from integral_pose.models import build_model


def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_unreadable_checkpoints_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"nowhere\.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"broken\.pt: cannot read the checkpoint"):
        load_checkpoint(broken)


def test_a_checkpoint_rebuilds_its_model_and_method(tmp_path):
    config = load_config(None, ["model.backbone=small", "method.kind=compensated", "method.window=2"],
                         check_paths=False)
    model = build_model("small", 5, init_std=0.1)
    save_checkpoint(tmp_path / "best.pt", {"model": model.state_dict(), "config": to_dict(config)})
    loaded, loaded_config = load_model(tmp_path / "best.pt")
    assert loaded_config.method == config.method and not loaded.training
    images = torch.randint(0, 256, (1, 3, 32, 24), dtype=torch.uint8)
    model.eval()
    assert torch.equal(loaded(images), model(images))


def test_foreign_weights_load_with_a_config(tmp_path):
    # an mmpose 1.x top-down checkpoint: {"state_dict": {"backbone.*", "head.*"}}
    model = build_model("small", 17, init_std=0.1).eval()
    torch.save({"state_dict": dict(model.state_dict()), "meta": {}}, tmp_path / "mmpose.pth")
    with pytest.raises(ValueError, match="holds no config"):
        load_model(tmp_path / "mmpose.pth")
    config = load_config(None, ["model.backbone=small", "method.kind=detection"], check_paths=False)
    loaded, _ = load_model(tmp_path / "mmpose.pth", config)
    images = torch.randint(0, 256, (1, 3, 32, 24), dtype=torch.uint8)
    assert torch.equal(loaded(images), model(images))

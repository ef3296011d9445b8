from pathlib import Path

import pytest

from integral_pose.config import Config, from_dict, load_config, to_dict
from integral_pose.methods import Method

CONFIGS = Path(__file__).resolve().parents[1] / "integral_pose" / "configs"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_defaults_and_sections(tmp_path):
    config = load_config(_write(tmp_path, "[method]\nkind = 'compensated'\nbeta = 2\n[train]\nlr = 5e-4\n"),
                         check_paths=False)
    assert config.method == Method(kind="compensated", beta=2.0)
    assert config.train.lr == 5e-4
    assert config.data.input_size == (256, 192)
    assert isinstance(config.method.beta, float)


def test_overrides_are_toml_values_or_strings(tmp_path):
    config = load_config(None, ["data.input_size=[128, 96]", "method.window=3", "model.backbone=resnet18",
                                "train.clip_grad=none", "data.augment=false"], check_paths=False)
    assert config.data.input_size == (128, 96)
    assert config.method.window == 3
    assert config.model.backbone == "resnet18"
    assert config.train.clip_grad is None
    assert config.data.augment is False


@pytest.mark.parametrize(("text", "match"), [
    ("[train]\nlrr = 1\n", r"train\.lrr: unknown key; \[train\] takes out, epochs"),
    ("[trian]\n", r"trian: unknown key"),
    ("[train]\nlr = 'fast'\n", r"train\.lr: expected a number, got 'fast'"),
    ("[train]\nepochs = 1.5\n", r"train\.epochs: expected an integer"),
    ("[train]\nepochs = 0\n", r"train\.epochs: expected a number > 0"),
    ("[train]\nschedule = 'linear'\n", r"train\.schedule: expected one of 'cosine', 'step'"),
    ("[data]\ninput_size = [256]\n", r"data\.input_size: expected 2 values"),
    ("[data.augmentation]\nflip_prob = true\n", r"data\.augmentation\.flip_prob: expected a number"),
    ("[data.augmentation]\nflip_prob = 2.0\n", r"data\.augmentation\.flip_prob: expected a probability"),
    ("[method]\nkind = 'dsnt'\n", r"method\.kind: expected one of 'detection'"),
    ("[method]\nbeta = -1\n", r"method\.beta: expected a number > 0"),
    ("train = 3\n", r"train: expected a table"),
    ("[train\n", r"not valid TOML"),
])
def test_bad_configs_name_the_key(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as error:
        load_config(path, check_paths=False)
    assert str(path) in str(error.value)


def test_bad_override():
    with pytest.raises(ValueError, match=r"expected section\.key=value"):
        load_config(None, ["train.lr"], check_paths=False)
    with pytest.raises(ValueError, match=r"train\.lr: expected a number, got 'x'"):
        load_config(None, ["train.lr=x"], check_paths=False)


def test_missing_paths_fail_before_loading(tmp_path):
    with pytest.raises(ValueError, match=r"data\.root: .*person_keypoints_train\.json does not exist"):
        load_config(None, [f"data.root={tmp_path}"])
    (tmp_path / "annotations").mkdir()
    for split in ("train", "val"):
        (tmp_path / "annotations" / f"person_keypoints_{split}.json").write_text("{}")
    with pytest.raises(ValueError, match=r"train\.init_from: nowhere\.pt does not exist"):
        load_config(None, [f"data.root={tmp_path}", "train.init_from=nowhere.pt"])


def test_round_trip_through_a_checkpoint_dict():
    config = load_config(None, ["method.kind=combined", "train.milestones=[3, 5]"], check_paths=False)
    assert from_dict(to_dict(config)) == config
    assert from_dict(to_dict(Config())) == Config()


TRAINING_CONFIGS = sorted(p for p in CONFIGS.glob("*/*.toml") if p.parent.name != "datasets")


def test_every_method_has_configs():
    assert {p.stem for p in TRAINING_CONFIGS} == {"detection", "integral", "compensated", "combined"}
    assert len(TRAINING_CONFIGS) == 12


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_configs_load(path):
    config = load_config(path, check_paths=False)
    assert config.method.kind == path.stem

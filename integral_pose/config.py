"""Training configuration: nested frozen dataclasses read from TOML, with ``key=value`` overrides.

A config file holds the sections ``[data]``, ``[model]``, ``[method]`` and ``[train]``; anything left out takes the
defaults below. An unknown key, a value of the wrong type or a missing path fails at load time with the key's
dotted name, before any data is read::

    ValueError: train.lr: expected a number, got 'fast'
    ValueError: model.backbon: unknown key; [model] takes backbone, pretrained, init_std, init_bias

Sizes are ``(H, W)``. Paths in a file are relative to the current directory.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from integral_pose.data.augment import Augmentation
from integral_pose.methods import Method

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Config", "DataConfig", "ModelConfig", "TrainConfig", "config_path", "load_config",
           "shipped_configs", "to_dict"]

SHIPPED = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how samples are made.

    Attributes:
        root: a dataset folder laid out as COCO's (``annotations/person_keypoints_SPLIT.json`` beside ``SPLIT/``),
            such as ``integral-pose synth`` writes; the splits are ``train_split`` and ``val_split``.
        train_split, val_split: split names under ``root``.
        spec: a dataset description (TOML/JSON) for keypoints other than COCO's; none: from the file.
        input_size: ``(H, W)`` of the crop; the heatmap is ``input_size / model stride``.
        sigma: Gaussian target standard deviation, heatmap pixels.
        workers: DataLoader worker processes.
        augment: augment the training crops with ``augmentation`` (``[data.augmentation]``, see
            :class:`integral_pose.data.augment.Augmentation`).
    """

    root: str = "data/synth"
    train_split: str = "train"
    val_split: str = "val"
    spec: str | None = None
    input_size: tuple[int, int] = (256, 192)
    sigma: float = 2.0
    workers: int = 2
    augment: bool = True
    augmentation: Augmentation = field(default_factory=Augmentation)

    def annotations(self, split: str) -> Path:
        return Path(self.root) / "annotations" / f"person_keypoints_{split}.json"

    def images(self, split: str) -> Path:
        return Path(self.root) / split


@dataclass(frozen=True)
class ModelConfig:
    """The network (see :mod:`integral_pose.models`).

    Attributes:
        backbone: a name of :data:`integral_pose.models.BACKBONES`.
        pretrained: backbone weights to start from (torchvision or HRNet ImageNet checkpoints); none: random.
        init_std, init_bias: initialisation of the final 1x1 convolution.
    """

    backbone: str = "small"
    pretrained: str | None = None
    init_std: float = 0.001
    init_bias: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation and the run.

    Attributes:
        out: run folder (checkpoints, logs, metrics).
        epochs: passes over the train split.
        batch_size: global batch (split evenly over processes under torchrun).
        lr, weight_decay: Adam's.
        warmup_steps: linear warm-up of the learning rate from 0.
        schedule: ``cosine`` (to 0 at the last step) or ``step`` (times ``gamma`` at each of ``milestones``,
            given in epochs).
        clip_grad: maximum gradient norm; none: no clipping.
        init_from: a checkpoint whose model weights start the run (a warm start, e.g. from a detection model).
        seed: seeds the model's initialisation, the sample order and the augmentation.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        bf16: mixed precision (bfloat16 autocast) on CUDA; ignored on CPU.
        val_every: validate every this many epochs (and after the last); 0: never.
        val_flip: validate with the flip test.
        checkpoint_minutes: also write the last checkpoint at this interval within an epoch.
        checkpoint_steps: also write it every this many steps (0: never); mainly for tests of resuming.
        log_every: steps between logged rows of ``metrics.csv``.
        tensorboard: also log to TensorBoard (needs the ``tensorboard`` package).
        threads: torch's CPU threads; 0 leaves torch's default.
        freeze_bn: keep BatchNorm layers in eval mode (running statistics frozen, affine parameters trained), as
            for fine-tuning with small per-process batches; it also makes CPU (gloo) DDP runs equal to one process.
    """

    out: str = "runs/train"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    schedule: Literal["cosine", "step"] = "cosine"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    clip_grad: float | None = None
    init_from: str | None = None
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = True
    val_every: int = 1
    val_flip: bool = False
    checkpoint_minutes: float = 10.0
    checkpoint_steps: int = 0
    log_every: int = 10
    tensorboard: bool = False
    threads: int = 0
    freeze_bn: bool = False


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: Method = field(default_factory=Method)
    train: TrainConfig = field(default_factory=TrainConfig)


_POSITIVE = {"data.sigma", "train.lr", "train.epochs", "train.batch_size", "train.gamma", "model.init_std",
             "train.checkpoint_minutes", "train.log_every"}
_NON_NEGATIVE = {"data.workers", "train.warmup_steps", "train.weight_decay", "train.val_every", "train.seed",
                 "train.checkpoint_steps", "train.threads", "train.clip_grad"}


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (), *, check_paths: bool = True) -> Config:
    """Read a TOML config, apply ``key=value`` overrides and validate.

    Args:
        path: a TOML file; None starts from the defaults.
        overrides: ``section.key=value`` strings; the value is read as a TOML value (``1e-3``, ``true``,
            ``[256, 192]``, ``"text"``) and as a plain string when it is not one.
        check_paths: also require that ``data.root``'s annotation files and the weight files named exist.

    Raises:
        ValueError: naming the file and the dotted key at fault.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except OSError as error:
            raise ValueError(f"{path}: cannot read the config: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
    for item in overrides:
        _apply_override(raw, item)
    where = f"{path}: " if path is not None else ""
    try:
        config = _build(Config, raw, "")
    except ValueError as error:
        raise ValueError(f"{where}{error}") from None
    if check_paths:
        _check_paths(config, where)
    return config


def shipped_configs() -> list[str]:
    """Names of the training configs shipped with the library, such as ``small/detection``."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in SHIPPED.glob("*/*.toml") if p.parent.name != "datasets")


def config_path(name: str | Path) -> Path:
    """A config file: ``name`` itself where it exists, else a shipped config by name (``small/detection``)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = SHIPPED / f"{str(name).removesuffix('.toml')}.toml"
    if str(name) in shipped_configs() or (shipped.is_file() and shipped.parent.name != "datasets"):
        return shipped
    raise ValueError(f"config: {name} is neither a file nor a shipped config; shipped: {', '.join(shipped_configs())}")


def to_dict(config: Config) -> dict[str, Any]:
    """The config as plain TOML-compatible data (tuples become lists, None values are left out)."""
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, (tuple, list)):
            return [clean(v) for v in value]
        return value
    return clean(dataclasses.asdict(config))


def from_dict(data: Mapping[str, Any]) -> Config:
    """A config from :func:`to_dict`'s output (as stored in checkpoints), validated the same way."""
    return _build(Config, data, "")


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {item!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {item!r}: {part} is not a section")
    node[parts[-1]] = value


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{prefix.rstrip('.') or 'config'}: expected a table, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    for key in raw:
        if key not in names:
            section = f"[{prefix.rstrip('.')}]" if prefix else "the config"
            raise ValueError(f"{prefix}{key}: unknown key; {section} takes {', '.join(names)}")
    values = {key: _convert(hints[key], value, f"{prefix}{key}") for key, value in raw.items()}
    try:
        return cls(**values)
    except ValueError as error:  # a dataclass's own check (Method) already names the key
        message = str(error)
        raise ValueError(message if message.startswith(prefix.rstrip(".")) else f"{prefix}{message}") from None


def _convert(kind: Any, value: Any, name: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, f"{name}.")
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        return _convert(next(a for a in args if a is not type(None)), value, name)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{name}: expected one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name}: expected a list, got {value!r}")
        item_kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        if len(item_kinds) != len(value):
            raise ValueError(f"{name}: expected {len(item_kinds)} values, got {list(value)!r}")
        return tuple(_convert(k, v, f"{name}[{i}]") for i, (k, v) in enumerate(zip(item_kinds, value, strict=True)))
    value = _scalar(kind, value, name)
    if name in _POSITIVE and not value > 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    if name in _NON_NEGATIVE and not value >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return value


def _scalar(kind: type, value: Any, name: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{name}: unsupported config type {kind!r}")  # pragma: no cover


def _check_paths(config: Config, where: str) -> None:
    data = config.data
    for split in (data.train_split, data.val_split):
        if not data.annotations(split).is_file():
            raise ValueError(f"{where}data.root: {data.annotations(split)} does not exist "
                             f"(expected ROOT/annotations/person_keypoints_{split}.json)")
    for name, value in (("data.spec", data.spec), ("model.pretrained", config.model.pretrained),
                        ("train.init_from", config.train.init_from)):
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{where}{name}: {value} does not exist")

"""A small generated dataset for the data tests, made once per session."""

from functools import cache
from pathlib import Path

import pytest

from integral_pose.data.synth import generate


def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """40 images (8 of them val) of seed 3, in the session's temporary folder; split -> annotation file."""
    return _generated(tmp_path_factory.getbasetemp())


@cache
def _generated(base: Path) -> dict[str, Path]:
    return generate(base / "synth-seed-3", images=40, seed=3, workers=1, progress=False)

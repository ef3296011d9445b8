"""What an install ships: the license, the dataset descriptions and the typing marker."""

import fnmatch
import sys
from importlib.resources import files
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from integral_pose.data.spec import COCO_PERSON, KeypointSpec

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_string_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"  # the table form { text = ... } is deprecated by setuptools
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 integral-pose contributors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    # SPDX strings and license-files need setuptools 77
    (requirement,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    version = tuple(int(v) for v in requirement.removeprefix("setuptools>=").split("."))
    assert version >= (77,)


def test_dataset_descriptions_and_py_typed_are_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["integral_pose"]
    package = files("integral_pose")
    shipped = [p for p in ("py.typed", "configs/datasets/coco_person.toml")
               if any(fnmatch.fnmatch(p, pattern) for pattern in patterns)]
    assert shipped == ["py.typed", "configs/datasets/coco_person.toml"]
    assert package.joinpath("py.typed").is_file()
    toml = package.joinpath("configs", "datasets", "coco_person.toml")
    assert KeypointSpec.from_file(Path(str(toml))) == COCO_PERSON
    assert not (ROOT / "configs" / "datasets").exists()  # one copy, inside the package

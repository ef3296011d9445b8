import cv2
import numpy as np
from click.testing import CliRunner
from conftest import shared_dataset
from synthetic import synth_files

from integral_pose.cli import main
from integral_pose.data.coco import PersonRecord
from integral_pose.data.show import summarise_persons


def person(visibility, area, iscrowd=False):
    keypoints = np.zeros((17, 3))
    keypoints[: len(visibility), 2] = visibility
    labelled = int((keypoints[:, 2] > 0).sum())
    return PersonRecord(1, 1, 1, (0.0, 0.0, 1.0, 1.0), keypoints, labelled, float(area), iscrowd)


def test_summary_counts_by_hand():
    persons = [
        person([2] * 17, 100.0 ** 2),  # 17 labelled, none occluded, large
        person([2, 1, 1, 1], 50.0 ** 2),  # 4 labelled, 3/4 occluded, medium
        person([1, 2, 2, 2, 2, 2, 2, 2], 31.0 ** 2),  # 8 labelled, 1/8 occluded, small
        person([], 10.0),  # none labelled, small; left out of the occlusion axis
        person([2] * 17, 1e6, iscrowd=True),  # crowd: left out
    ]
    assert summarise_persons(persons) == {
        "keypoints": {"0": 1, "1-5": 1, "6-10": 1, "11-15": 0, "16-17": 1},
        "occluded share": {"0": 1, "(0, 0.25]": 1, "(0.25, 0.5]": 0, "(0.5, 1]": 1},
        "size": {"small (< 32^2)": 2, "medium": 1, "large (>= 96^2)": 1},
    }


def drawn_pngs(folder):
    paths = sorted(folder.glob("*.png"))
    for path in paths:
        image = cv2.imread(str(path))
        assert image is not None and image.std() > 10  # a picture, not a blank canvas
    return [p.name for p in paths]


def test_cli_synth_then_show(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["synth", "--out", str(tmp_path / "data"), "--images", "6", "--seed", "2",
                                  "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "keypoints" in result.output and "occluded share" in result.output
    annotations = tmp_path / "data" / "annotations" / "person_keypoints_train.json"
    result = runner.invoke(main, ["show", str(annotations), "--out", str(tmp_path / "png"), "--count", "2"])
    assert result.exit_code == 0, result.output
    names = drawn_pngs(tmp_path / "png")
    assert "crops.png" in names and len(names) == 3


def test_show_needs_the_images(tmp_path_factory, tmp_path):
    annotations = tmp_path / "person_keypoints_x.json"
    annotations.write_text(synth_files(tmp_path_factory)["val"].read_text())
    result = CliRunner().invoke(main, ["show", str(annotations), "--out", str(tmp_path / "png")])
    assert result.exit_code == 2 and "pass --image-dir" in result.output


def test_show_on_coco_mini(tmp_path):
    annotations = shared_dataset("coco-mini") / "annotations" / "person_keypoints_val2017.json"
    result = CliRunner().invoke(main, ["show", str(annotations), "--out", str(tmp_path), "--count", "1"])
    assert result.exit_code == 0, result.output
    assert len(drawn_pngs(tmp_path)) == 2

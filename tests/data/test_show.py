import cv2
from click.testing import CliRunner
from conftest import shared_dataset
from synthetic import synth_files

from integral_pose.cli import main


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
    assert "occlusion" in result.output and "XXL" in result.output
    annotations = tmp_path / "data" / "annotations" / "person_keypoints_train.json"
    result = runner.invoke(main, ["show", str(annotations), "--out", str(tmp_path / "png"), "--count", "2"])
    assert result.exit_code == 0, result.output
    names = drawn_pngs(tmp_path / "png")
    assert "crops.png" in names and len(names) == 3
    # The generated folder itself: its validation split is drawn.
    result = runner.invoke(main, ["show", str(tmp_path / "data"), "--out", str(tmp_path / "folder"), "--count", "1"])
    assert result.exit_code == 0, result.output
    assert "person_keypoints_val.json" in result.output and len(drawn_pngs(tmp_path / "folder")) == 2


def test_show_on_a_folder_without_annotations(tmp_path):
    result = CliRunner().invoke(main, ["show", str(tmp_path), "--out", str(tmp_path / "png")])
    assert result.exit_code == 1 and "no annotations/person_keypoints_*.json in this folder" in result.output


def test_show_needs_the_images(tmp_path_factory, tmp_path):
    annotations = tmp_path / "person_keypoints_x.json"
    annotations.write_text(synth_files(tmp_path_factory)["val"].read_text())
    result = CliRunner().invoke(main, ["show", str(annotations), "--out", str(tmp_path / "png")])
    assert result.exit_code == 2 and "pass --image-dir" in result.output


def test_show_on_coco_mini(tmp_path):
    root = shared_dataset("coco-mini")
    result = CliRunner().invoke(main, ["show", str(root), "--out", str(tmp_path), "--count", "1"])
    assert result.exit_code == 0, result.output
    assert len(drawn_pngs(tmp_path)) == 2

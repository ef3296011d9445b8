import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_inference import ExactMethod, OracleModel, samples_of

from integral_pose.cli import main
from integral_pose.data.coco import DetectedBox
from integral_pose.data.synth import generate
from integral_pose.evaluate import evaluate, metrics_table
from integral_pose.results import load_results

INPUT = (64, 48)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth-eval")
    files = generate(root, images=4, seed=5, val_fraction=0.5, image_size=(128, 160), workers=1, progress=False)
    samples = samples_of(files["val"], root / "val")
    return root, samples, OracleModel(samples)


def test_perfect_model_with_ground_truth_boxes(synth, tmp_path):
    _, samples, oracle = synth
    report = evaluate(oracle, ExactMethod("coords"), samples.dataset, input_size=INPUT, flip_test=True,
                      out=tmp_path, pck_thresholds=(0.01, 0.05))
    assert report.metrics["AP"] == pytest.approx(1.0) and report.metrics["AR"] == pytest.approx(1.0)
    assert report.metrics["EPE"] < 1e-3 and report.metrics["PCK@0.01"] == 1.0
    assert report.settings["boxes"] == "gt" and report.settings["nms_threshold"] is None
    # The written results pair by annotation id again and reproduce the metrics.
    results = load_results(tmp_path / "results.json", samples.dataset)
    assert results.annotation_ids is not None and len(results) == len(samples)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["metrics"]["AP"] == pytest.approx(1.0) and saved["pairing"]["paired_by"] == "annotation_id"
    assert (tmp_path / "subsets" / "subsets.md").is_file()
    assert metrics_table(report).row_count == 1


def test_detected_boxes_duplicates_are_removed_by_oks_nms(synth, tmp_path):
    _, samples, oracle = synth
    persons = [item.person for item in samples.items]
    # Each ground-truth box detected twice: the second copy (lower score) gives the same keypoints, OKS 1.
    detections = [DetectedBox(p.image_id, p.bbox, score) for p in persons for score in (0.9, 0.6)]
    detections.append(DetectedBox(persons[0].image_id, persons[0].bbox, 0.05))  # below the threshold
    path = tmp_path / "detections.json"
    path.write_text(json.dumps([{"image_id": d.image_id, "bbox": list(d.bbox), "score": d.score}
                                for d in detections]))
    report = evaluate(oracle, ExactMethod("coords"), samples.dataset, boxes=path, input_size=INPUT,
                      detection_threshold=0.1, flip_test=False)
    assert report.settings["boxes_predicted"] == 2 * len(persons)
    assert report.settings["predictions"] == len(persons)  # one of each pair survives OKS-NMS at 0.9
    assert report.results.annotation_ids is None  # paired by OKS
    assert report.metrics["AP"] == pytest.approx(1.0) and report.metrics["EPE"] < 1e-3
    kept_scores = np.sort(report.results.scores)
    # Box score 0.9 (the kept copy of each pair) times the mean keypoint score; the box score passes through
    # the dataset as float32.
    np.testing.assert_allclose(kept_scores, 0.9 * np.sort(oracle_person_means(report)), rtol=1e-7)


def oracle_person_means(report):
    """Mean of the keypoint scores above 0.2 of each kept prediction (the oracle's peaks are near 1)."""
    k = report.results.keypoints[..., 2]
    return np.sort(np.where(k > 0.2, k, 0).sum(1) / (k > 0.2).sum(1))


def test_eval_predict_export_commands(synth, tmp_path):
    root, _, _ = synth
    from integral_pose.config import load_config, to_dict
    from integral_pose.models import build_model

    config_path = tmp_path / "config.toml"
    config_path.write_text(f'[data]\nroot = "{root}"\ninput_size = [64, 48]\n[method]\nkind = "compensated"\n'
                           f'window = 2\n')
    config = load_config(config_path)
    torch.manual_seed(0)
    checkpoint = tmp_path / "model.pt"
    torch.save({"model": build_model("small", 17).state_dict(), "config": to_dict(config)}, checkpoint)
    runner = CliRunner()
    result = runner.invoke(main, ["eval", str(config_path), str(checkpoint), "--no-flip", "--out",
                                  str(tmp_path / "eval"), "--json", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["settings"]["boxes"] == "gt" and 0 <= report["metrics"]["AP"] <= 1
    assert (tmp_path / "eval" / "results.json").is_file()

    images = sorted((root / "val").iterdir())
    result = runner.invoke(main, ["predict", str(checkpoint), *map(str, images), "--out", str(tmp_path / "pred")])
    assert result.exit_code == 0, result.output
    entries = json.loads((tmp_path / "pred" / "results.json").read_text())
    assert len(entries) == len(images) and len(entries[0]["keypoints"]) == 51
    assert all((tmp_path / "pred" / f"{p.stem}.png").is_file() for p in images)

    pytest.importorskip("onnxruntime", reason="the export command's check needs onnxruntime (the 'export' extra)")
    result = runner.invoke(main, ["export", str(checkpoint), "--onnx", str(tmp_path / "model.onnx")])
    assert result.exit_code == 0, result.output
    difference = float(result.output.rsplit("max |difference| ", 1)[1].split()[0])
    assert difference < 1e-4

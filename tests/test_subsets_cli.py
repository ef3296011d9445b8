import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import shared_dataset
from generated import write_coco

from integral_pose.cli import main
from integral_pose.data.coco import load_coco_keypoints
from integral_pose.metrics import evaluated_persons
from integral_pose.results import KeypointResults
from integral_pose.subsets import SubsetReport, SubsetSplit
from integral_pose.subsets.tables import best_of, latex, markdown, metric_tables


@pytest.fixture(scope="module", params=["generated", "coco-mini"])
def files(request, tmp_path_factory):
    """Annotations (generated from a seed, always; coco-mini's val where ../shared/data is present), the ground
    truth as predictions, and a copy shifted by (3, 4) px."""
    if request.param == "coco-mini":
        annotations = shared_dataset("coco-mini") / "annotations" / "person_keypoints_val2017.json"
    else:
        annotations = write_coco(tmp_path_factory.mktemp("generated") / "annotations" / "person_keypoints_val.json")
    persons = evaluated_persons(load_coco_keypoints(annotations))
    folder = tmp_path_factory.mktemp("results")
    paths = []
    for name, shift in (("exact", 0.0), ("shifted", np.array([3.0, 4.0]))):
        keypoints = np.concatenate([persons.keypoints[..., :2] + shift, np.ones((len(persons), 17, 1))], axis=-1)
        results = KeypointResults(persons.image_ids, 1, keypoints, np.ones(len(persons)))
        paths.append(folder / f"{name}.json")
        paths[-1].write_text(json.dumps(results.to_coco()))
    return annotations, paths


def persons_in(annotations):
    return len(evaluated_persons(load_coco_keypoints(annotations)))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_counts_as_json(files):
    annotations, _ = files
    result = run("subsets", annotations, "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    n = persons_in(annotations)
    assert counts["all"] == n
    assert sum(counts["keypoints"].values()) == sum(counts["size"].values()) == n
    assert sum(n for row in counts["occlusion_x_keypoints"].values() for n in row.values()) == n


def test_counts_as_tables(files):
    annotations, _ = files
    result = run("subsets", annotations)
    assert result.exit_code == 0
    assert "Persons by size x labelled keypoints" in result.stdout
    assert "few (1-5)" in result.stdout and "XXL (>=128²)" in result.stdout


def test_names_take_several_values_and_json_is_pure(files):
    annotations, (exact, shifted) = files
    result = run("subsets", annotations, exact, shifted, "--names", "A", "B", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # nothing but JSON on stdout
    assert list(out["metrics"]) == ["A", "B"]
    assert out["metrics"]["B"]["all"]["EPE"] == pytest.approx(5.0, rel=1e-12)
    assert out["metrics"]["A"]["all"]["EPE"] == 0.0


def test_names_must_match_results(files):
    annotations, (exact, shifted) = files
    result = run("subsets", annotations, exact, shifted, "--names", "only")
    assert result.exit_code == 1
    assert "names: expected one name per results file (2), got 1" in result.output


def test_thresholds_from_options(files):
    annotations, _ = files
    result = run("subsets", annotations, "--json", "--size-edges", "1", "2", "3")
    counts = json.loads(result.stdout)
    assert counts["size"] == {"M": 0, "L": 0, "XL": 0, "XXL": persons_in(annotations)}
    assert counts["split"]["size"] == [1.0, 2.0, 3.0]
    result = run("subsets", annotations, "--occlusion-edges", "0.5", "0.2")
    assert result.exit_code == 1
    assert "occlusion_edges: expected strictly increasing thresholds" in result.output


def test_bad_results_file_names_file_and_entry(tmp_path, files):
    annotations, (exact, _) = files
    entries = json.loads(exact.read_text())
    entries[4]["image_id"] = 42
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(entries))
    result = run("subsets", annotations, exact, bad)
    assert result.exit_code == 1
    assert f"{bad}: entry 4: image_id 42 is not an image of {annotations.name}" in result.output


def test_out_writes_tables_and_charts(tmp_path, files):
    annotations, (exact, shifted) = files
    out = tmp_path / "report"
    result = run("subsets", annotations, exact, shifted, "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"subsets.md", "subsets.tex", "subsets.csv", "subsets.json",
                                               "keypoints.png", "occlusion.png", "size.png"}
    for png in ("keypoints.png", "occlusion.png", "size.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(io.StringIO((out / "subsets.csv").read_text())))
    assert len(rows) == 2 * 32
    shifted_all = next(r for r in rows if r["method"] == "shifted" and r["table"] == "all")
    assert float(shifted_all["EPE"]) == pytest.approx(5.0, rel=1e-12)
    assert shifted_all["n"] == str(persons_in(annotations))
    md = (out / "subsets.md").read_text()
    assert "**EPE (px) by occlusion x labelled keypoints**" in md
    tex = (out / "subsets.tex").read_text()
    assert r"\multicolumn{2}{c}{few (1-5)}" in tex and r"\textbf{0.00}" in tex
    assert json.loads((out / "subsets.json").read_text())["metrics"]["shifted"]["all"]["n"] == persons_in(annotations)


# ---- tables ---------------------------------------------------------------------------------------------------


def test_best_is_marked_at_the_shown_precision():
    assert best_of({"a": 0.8123, "b": 0.8119, "c": None}, "AP") == {"a", "b"}  # both show 81.2
    assert best_of({"a": 0.81, "b": 0.79}, "AP") == {"a"}
    assert best_of({"a": 3.0, "b": 2.5}, "EPE") == {"b"}
    assert best_of({"a": None}, "EPE") == set()


KEYPOINT_CELLS = ("few", "some", "many")
TABLES = {"keypoints": KEYPOINT_CELLS, "occlusion": ("few", "some", "many"), "size": ("M", "L", "XL", "XXL")}


def _report_with(values):
    """A report of one person whose every cell of method m holds AP = EPE = values[m]."""
    counts = {"all": 1, **{axis: {c: int(c in ("few", "M")) for c in cells} for axis, cells in TABLES.items()}}
    for rows in ("size", "occlusion"):
        counts[f"{rows}_x_keypoints"] = {r: dict.fromkeys(KEYPOINT_CELLS, 0) for r in TABLES[rows]}
    metrics = {}
    for name, v in values.items():
        metrics[name] = {"all": {"AP": v, "EPE": v, "n": 1}}
        metrics[name].update({axis: {c: {"AP": v, "EPE": v, "n": 1} for c in cells} for axis, cells in TABLES.items()})
        for rows in ("size", "occlusion"):
            metrics[name][f"{rows}_x_keypoints"] = {
                r: {c: {"AP": v, "EPE": v, "n": 1} for c in KEYPOINT_CELLS} for r in TABLES[rows]}
    pairing = {n: {"paired_by": "oks", "predictions": 1, "unpaired_persons": 0, "unpaired_predictions": 0}
               for n in values}
    return SubsetReport(SubsetSplit(), 17, counts, metrics, pairing)


def test_paper_layout_marks_best_per_cell():
    tables = metric_tables(_report_with({"plain": 0.70, "debiased": 0.72}))
    ap_occlusion = next(t for t in tables if t.title == "AP (%) by occlusion x labelled keypoints")
    assert ap_occlusion.groups == (("", 1), ("few (1-5)", 2), ("some (6-10)", 2), ("many (11-17)", 2))
    assert ap_occlusion.rows[0][:3] == (("few (<0.2)", False), ("70.0", False), ("72.0", True))
    epe = next(t for t in tables if t.title == "EPE (px) by occlusion x labelled keypoints")
    assert epe.rows[2][1:3] == (("0.70", True), ("0.72", False))
    assert "| many (>=0.5) | 70.0 | **72.0** |" in markdown(ap_occlusion)
    assert r"many ($\geq$0.5) & 70.0 & \textbf{72.0}" in latex(ap_occlusion)


def test_other_keypoints_with_a_dataset_description(tmp_path):
    # 3 keypoints with sigma 0.1 each; one person of area 100 with all three labelled, one keypoint occluded
    (tmp_path / "hands.toml").write_text('names = ["wrist", "thumb", "index"]\nsigmas = [0.1, 0.1, 0.1]\n')
    data = {"images": [{"id": 1, "file_name": "1.jpg", "height": 50, "width": 50}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100.0,
                             "iscrowd": 0, "num_keypoints": 3, "keypoints": [2, 2, 2, 4, 4, 1, 6, 6, 2]}],
            "categories": [{"id": 1, "name": "hand", "keypoints": ["wrist", "thumb", "index"], "skeleton": []}]}
    (tmp_path / "hands.json").write_text(json.dumps(data))
    # the prediction is 2 px off on every keypoint: e = 4 / 0.2^2 / 100 / 2 = 0.5, OKS = exp(-0.5) = 0.61:
    # a true positive at OKS thresholds 0.50 to 0.60 (3 of 10), so AP = 0.3
    (tmp_path / "pred.json").write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 1.0,
                                                     "keypoints": [4, 2, 1, 6, 4, 1, 8, 6, 1]}]))
    result = run("subsets", tmp_path / "hands.json", tmp_path / "pred.json", "--spec", tmp_path / "hands.toml",
                 "--keypoint-edges", "2", "3", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["keypoints"] == {"few": 0, "some": 0, "many": 1}
    assert out["occlusion"] == {"few": 0, "some": 1, "many": 0}  # 1 of 3 occluded
    assert out["metrics"]["pred"]["all"]["AP"] == pytest.approx(0.3, abs=1e-12)
    assert out["metrics"]["pred"]["occlusion"]["some"]["EPE"] == pytest.approx(2.0, rel=1e-12)


def test_names_without_a_value_is_an_error(files):
    annotations, (exact, _) = files
    result = CliRunner().invoke(main, ["subsets", str(annotations), str(exact), "--names"])
    assert result.exit_code == 2
    assert "Option '--names' requires an argument" in result.output


# ---- defects: names order, dataset folders, piped tables, JSON, output folder --------------------------------


def test_names_before_the_results_files(files):
    annotations, (exact, shifted) = files
    for args in (("--names", "A", "B", exact, shifted), (exact, shifted, "--names", "A", "B"),
                 (exact, "--names", "A", "B", shifted)):
        result = run("subsets", annotations, *args, "--json")
        assert result.exit_code == 0, (args, result.output)
        out = json.loads(result.stdout)
        assert list(out["metrics"]) == ["A", "B"], args
        assert out["metrics"]["B"]["all"]["EPE"] == pytest.approx(5.0, rel=1e-12), args
    result = run("subsets", "--names", "A", "B", annotations, exact, shifted, "--json")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["metrics"]) == ["A", "B"]


def test_names_count_mismatch_before_the_files_is_reported(files):
    annotations, (exact, shifted) = files
    result = run("subsets", annotations, "--names", "A", "B", "C", exact, shifted)
    assert result.exit_code == 1
    assert "names: expected one name per results file (2), got 3" in result.output


def test_a_dataset_folder_is_accepted_as_show_does(tmp_path):
    root = tmp_path / "synthlike"
    write_coco(root / "annotations" / "person_keypoints_train.json", seed=1)
    write_coco(root / "annotations" / "person_keypoints_val.json", seed=0)
    result = run("subsets", root, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["all"] == persons_in(root / "annotations" / "person_keypoints_val.json")
    result = run("subsets", tmp_path)  # no annotations folder: a clear error, no traceback
    assert result.exit_code == 1
    assert "no annotations/person_keypoints_*.json in this folder" in result.output


def test_tables_are_not_cut_to_80_columns_when_piped(files, tmp_path):
    annotations, (exact, shifted) = files
    third = tmp_path / "third_method_with_a_long_name.json"
    third.write_text(exact.read_text())
    result = run("subsets", annotations, exact, shifted, third)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout  # rich marks a cut cell with an ellipsis
    assert max(len(line) for line in result.stdout.splitlines()) > 80
    assert "third_method_with_a_long_name" in result.stdout


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_json_stays_valid_with_a_huge_keypoint(files, tmp_path):
    annotations, (exact, _) = files
    persons = evaluated_persons(load_coco_keypoints(annotations))
    entries = json.loads(exact.read_text())  # one entry per person, in order
    i = int(np.flatnonzero(persons.labelled.sum(axis=1) >= 2)[0])
    k = int(np.flatnonzero(persons.labelled[i])[0])
    # one keypoint at x = 1e200: the person still pairs (its other keypoints are exact), and the squared
    # distance overflows to infinity, so EPE is infinite
    entries[i]["keypoints"][3 * k] = 1e200
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(entries))

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    out = tmp_path / "report"
    result = run("subsets", annotations, huge, "--json", "--out", out)
    assert result.exit_code == 0, result.output
    for text in (result.stdout, (out / "subsets.json").read_text()):
        report = json.loads(text, parse_constant=no_constants)
        metrics = report["metrics"]["huge"]["all"]
        assert metrics["EPE"] is None and metrics["EPE_norm"] is None  # infinite: null
        assert metrics["AP"] is not None


@pytest.mark.parametrize("command", ["subsets", "synth", "show", "bias"])
def test_unwritable_out_is_a_clear_error_before_any_work(command, files, tmp_path, monkeypatch):
    annotations, (exact, _) = files
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "report"

    def must_not_run(*args, **kwargs):
        raise AssertionError("computed before checking --out")

    import integral_pose.bias
    import integral_pose.data.synth
    import integral_pose.subsets

    monkeypatch.setattr(integral_pose.subsets, "analyse_subsets_files", must_not_run)
    monkeypatch.setattr(integral_pose.data.synth, "generate", must_not_run)
    monkeypatch.setattr(integral_pose.bias, "run_study", must_not_run)
    args = {"subsets": ("subsets", annotations, exact, "--out", out),
            "synth": ("synth", "--out", out, "--images", 2),
            "show": ("show", annotations.parent.parent, "--out", out, "--image-dir", tmp_path),
            "bias": ("bias", "--quick", "--out", out)}[command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert f"{out}: cannot write output files in this folder" in result.output
    assert "--out" in result.output

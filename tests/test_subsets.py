import json

import numpy as np
import pytest
from conftest import shared_dataset
from generated import write_coco

from integral_pose.data.coco import COCO_PERSON, load_coco_keypoints
from integral_pose.metrics import evaluated_persons
from integral_pose.results import KeypointResults
from integral_pose.subsets import CELL_NAMES, SubsetSplit, analyse_subsets, analyse_subsets_files, assign_cells
from integral_pose.subsets.cells import list_cells

AP_TOL = 1e-12  # pycocotools' precision carries an np.spacing(1) term


def person(ann_id, labelled, occluded, area, iscrowd=0, image_id=1):
    """A person whose first ``labelled`` keypoints are labelled, the first ``occluded`` of them with visibility 1."""
    keypoints = np.zeros((17, 3))
    keypoints[:labelled, 0] = 10 + np.arange(labelled)
    keypoints[:labelled, 1] = 20.0
    keypoints[:labelled, 2] = 2
    keypoints[:occluded, 2] = 1
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [5.0, 5.0, 40.0, 40.0], "area": area,
            "iscrowd": iscrowd, "num_keypoints": labelled, "keypoints": keypoints.ravel().tolist()}


# (labelled, occluded, area) -> keypoints / occlusion / size cell with the default thresholds
HAND_MADE = [
    (5, 0, 64**2 - 1),   # few,  few  (0),        M
    (6, 1, 64**2),       # some, few  (1/6),      L   (64^2 is L's lowest area)
    (10, 2, 96**2),      # some, some (0.2),      XL  (0.2 is some's lowest share)
    (11, 5, 128**2),     # many, some (5/11),     XXL
    (12, 6, 128**2 - 1), # many, many (0.5),      XL
    (1, 1, 10.0),        # few,  many (1),        M
]


@pytest.fixture
def hand_made(tmp_path):
    annotations = [person(i + 1, *p) for i, p in enumerate(HAND_MADE)]
    annotations += [person(7, 8, 0, 5000.0, iscrowd=1), person(8, 0, 0, 5000.0)]  # never counted
    data = {"images": [{"id": 1, "file_name": "1.jpg", "height": 480, "width": 640}], "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_PERSON.names), "skeleton": []}]}
    path = tmp_path / "hand_made.json"
    path.write_text(json.dumps(data))
    return load_coco_keypoints(path)


def test_counts_on_a_hand_made_file(hand_made):
    counts = analyse_subsets(hand_made).to_json()
    assert counts["all"] == 6
    assert counts["keypoints"] == {"few": 2, "some": 2, "many": 2}
    assert counts["occlusion"] == {"few": 2, "some": 2, "many": 2}
    assert counts["size"] == {"M": 2, "L": 1, "XL": 2, "XXL": 1}
    assert counts["size_x_keypoints"] == {
        "M": {"few": 2, "some": 0, "many": 0}, "L": {"few": 0, "some": 1, "many": 0},
        "XL": {"few": 0, "some": 1, "many": 1}, "XXL": {"few": 0, "some": 0, "many": 1}}
    assert counts["occlusion_x_keypoints"] == {
        "few": {"few": 1, "some": 1, "many": 0}, "some": {"few": 0, "some": 1, "many": 1},
        "many": {"few": 1, "some": 0, "many": 1}}
    assert counts["split"] == {"keypoints": [6, 11], "occlusion": [0.2, 0.5], "size": [64.0, 96.0, 128.0]}
    assert "metrics" not in counts


def test_cells_of_each_person(hand_made):
    cells = assign_cells(evaluated_persons(hand_made), SubsetSplit())
    named = {axis: [CELL_NAMES[axis][i] for i in cells[axis]] for axis in cells}
    assert named == {"keypoints": ["few", "some", "some", "many", "many", "few"],
                     "occlusion": ["few", "few", "some", "some", "many", "many"],
                     "size": ["M", "L", "XL", "XXL", "XL", "M"]}


def test_thresholds_are_configurable(hand_made):
    split = SubsetSplit(keypoint_edges=(2, 12), occlusion_edges=(0.1, 0.9), size_edges=(3.0, 64.0, 200.0))
    counts = analyse_subsets(hand_made, split=split).to_json()
    # labelled 5, 6, 10, 11, 12, 1; occluded shares 0, 1/6, 0.2, 5/11, 0.5, 1; areas 4095, 4096, 9216, 16384, 16383, 10
    assert counts["keypoints"] == {"few": 1, "some": 4, "many": 1}
    assert counts["occlusion"] == {"few": 1, "some": 4, "many": 1}
    assert counts["size"] == {"M": 0, "L": 2, "XL": 4, "XXL": 0}


def test_split_labels_and_validation():
    split = SubsetSplit()
    assert split.labels("keypoints", 17) == ("few (1-5)", "some (6-10)", "many (11-17)")
    assert split.labels("occlusion", 17) == ("few (<0.2)", "some (0.2-0.5)", "many (>=0.5)")
    assert split.labels("size", 17) == ("M (<64²)", "L (64²-96²)", "XL (96²-128²)", "XXL (>=128²)")
    with pytest.raises(ValueError, match=r"occlusion_edges: expected strictly increasing thresholds, got \(0.5, 0.2\)"):
        SubsetSplit(occlusion_edges=(0.5, 0.2))
    with pytest.raises(ValueError, match=r"occlusion_edges: expected thresholds in \(0, 1\]"):
        SubsetSplit(occlusion_edges=(0.2, 1.5))
    with pytest.raises(ValueError, match=r"keypoint_edges: expected integers"):
        SubsetSplit(keypoint_edges=(5.5, 11))
    with pytest.raises(ValueError, match=r"size_edges: expected 3 thresholds, got 2"):
        SubsetSplit(size_edges=(64.0, 96.0))
    with pytest.raises(ValueError, match=r"keypoint_edges: expected thresholds in \(1, inf\]"):
        SubsetSplit(keypoint_edges=(1, 11))


def test_cells_cover_every_table():
    cells = list_cells({"keypoints": np.array([0, 2]), "occlusion": np.array([1, 1]), "size": np.array([3, 0])})
    assert len(cells) == 1 + 3 + 3 + 4 + 12 + 9
    crosses = [c for c in cells if c.table == "size_x_keypoints"]
    assert [(c.row, c.column) for c in crosses if c.members.any()] == [("M", "many"), ("XXL", "few")]


# ---- metrics of every cell on generated data and coco-mini ----------------------------------------------------


@pytest.fixture(scope="module", params=["generated", "coco-mini"])
def mini(request, tmp_path_factory):
    """Ground truth generated from a seed (always), and COCO's (where ../shared/data is present)."""
    if request.param == "coco-mini":
        path = shared_dataset("coco-mini") / "annotations" / "person_keypoints_val2017.json"
    else:
        path = write_coco(tmp_path_factory.mktemp("generated") / "person_keypoints_val.json")
    dataset = load_coco_keypoints(path)
    return dataset, evaluated_persons(dataset)


def predictions(persons, shift=(0.0, 0.0), drop=()):
    keep = ~np.isin(np.arange(len(persons)), drop)
    keypoints = np.concatenate([persons.keypoints[..., :2] + shift, np.ones((len(persons), 17, 1))], axis=-1)
    return KeypointResults(persons.image_ids[keep], 1, keypoints[keep], np.ones(int(keep.sum())))


def every_cell(metrics):
    """(name, metrics) of every cell of one method's metrics, "all" included."""
    yield "all", metrics["all"]
    for table, cells in metrics.items():
        if table == "all":
            continue
        for row, value in cells.items():
            if "n" in value:
                yield f"{table}/{row}", value
            else:
                yield from ((f"{table}/{row}/{column}", v) for column, v in value.items())


def test_ground_truth_scores_ap_1_and_epe_0_on_every_cell(mini):
    dataset, persons = mini
    report = analyse_subsets(dataset, {"gt": predictions(persons)})
    cells = list(every_cell(report.metrics["gt"]))
    assert len(cells) == 32
    non_empty = 0
    for name, m in cells:
        if m["n"] == 0:
            assert m["AP"] is None and m["EPE"] is None, name
            continue
        non_empty += 1
        assert m["AP"] == pytest.approx(1.0, abs=AP_TOL), name
        assert m["AP75"] == pytest.approx(1.0, abs=AP_TOL), name
        assert m["EPE"] == 0.0 and m["PCK@0.05"] == 1.0 and m["paired"] == m["n"], name
    assert non_empty >= 25
    assert report.pairing["gt"] == {"paired_by": "oks", "predictions": len(persons), "unpaired_persons": 0,
                                    "unpaired_predictions": 0}


def test_shift_gives_exact_epe_on_every_cell(mini):
    dataset, persons = mini
    report = analyse_subsets(dataset, {"shifted": predictions(persons, shift=(-6.0, 8.0))})
    for name, m in every_cell(report.metrics["shifted"]):
        if m["n"]:
            assert m["EPE"] == pytest.approx(10.0, rel=1e-12), name


def test_dropped_prediction_is_unpaired_in_its_cells(mini):
    dataset, persons = mini
    dropped = 5
    report = analyse_subsets(dataset, {"gt": predictions(persons), "dropped": predictions(persons, drop=[dropped])})
    assert report.pairing["dropped"]["unpaired_persons"] == 1
    cells = assign_cells(persons, SubsetSplit())
    for axis in ("keypoints", "occlusion", "size"):
        for i, cell in enumerate(CELL_NAMES[axis]):
            m = report.metrics["dropped"][axis][cell]
            assert m["paired"] == m["n"] - (cells[axis][dropped] == i), (axis, cell)
            if m["paired"]:
                assert m["EPE"] == 0.0
    assert report.metrics["dropped"]["all"]["paired"] == len(persons) - 1


def test_json_layout_with_metrics(mini):
    dataset, persons = mini
    report = analyse_subsets(dataset, {"a": predictions(persons), "b": predictions(persons, shift=(1.0, 0.0))})
    out = json.loads(json.dumps(report.to_json()))
    assert set(out) == {"all", "keypoints", "occlusion", "size", "size_x_keypoints", "occlusion_x_keypoints",
                        "split", "metrics", "pairing"}
    assert list(out["metrics"]) == ["a", "b"]
    b = out["metrics"]["b"]
    assert set(b["all"]) >= {"AP", "AP50", "AP75", "APm", "APl", "AR", "EPE", "n"}
    assert set(b["size"]) == {"M", "L", "XL", "XXL"}
    assert set(b["size"]["L"]) >= {"AP", "EPE", "n"}
    assert set(b["occlusion_x_keypoints"]["many"]["few"]) >= {"AP", "EPE", "n"}
    assert b["all"]["EPE"] == pytest.approx(1.0, rel=1e-12)
    assert b["size"]["L"]["n"] == out["size"]["L"]


def test_files_entry_point_names_and_errors(tmp_path, mini):
    dataset, persons = mini
    path = tmp_path / "run_7.json"
    path.write_text(json.dumps(predictions(persons).to_coco()))
    report = analyse_subsets_files(dataset.path, [path])
    assert report.names == ["run_7"]
    assert analyse_subsets_files(dataset.path, [path], names=["mine"]).names == ["mine"]
    with pytest.raises(ValueError, match=r"names: expected one name per results file \(2\), got 1"):
        analyse_subsets_files(dataset.path, [path, path], names=["x"])
    with pytest.raises(ValueError, match=r"names: each results file needs its own name, \['run_7'\] occur twice"):
        analyse_subsets_files(dataset.path, [path, path])


def test_malformed_annotations_name_the_annotation(tmp_path, mini):
    dataset, _ = mini
    data = json.loads(dataset.path.read_text())
    bad = next(a for a in data["annotations"] if a["num_keypoints"] > 0)
    bad["keypoints"] = bad["keypoints"][:-1]
    path = tmp_path / "bad_annotations.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"bad_annotations.json: annotation {bad['id']}: keypoints has 50 values"):
        analyse_subsets_files(path)


def test_subsets_never_imports_the_data_package():
    # data/show.py draws subset counts, so subsets reaching into data would make the two packages a cycle;
    # subsets gets the ground truth through integral_pose.metrics and integral_pose.results
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "integral_pose" / "subsets"
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                       else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            assert not any(m == "integral_pose.data" or m.startswith("integral_pose.data.") for m in modules), \
                f"{path.name}:{node.lineno} imports {modules}"

import json
import re

import numpy as np
import pytest
from conftest import shared_dataset
from generated import write_coco

from integral_pose.data.coco import load_coco_keypoints
from integral_pose.metrics import evaluated_persons
from integral_pose.results import KeypointResults, check_results, load_results, results_from_dicts


@pytest.fixture(scope="module", params=["generated", "coco-mini"])
def dataset(request, tmp_path_factory):
    """Ground truth generated from a seed (always), and COCO's (where ../shared/data is present)."""
    if request.param == "coco-mini":
        return load_coco_keypoints(shared_dataset("coco-mini") / "annotations" / "person_keypoints_val2017.json")
    return load_coco_keypoints(write_coco(tmp_path_factory.mktemp("generated") / "person_keypoints_val.json"))


def good_entries(dataset, n=4, with_ids=False):
    persons = evaluated_persons(dataset)
    first_of_image = np.sort(np.unique(persons.image_ids, return_index=True)[1])  # one person per image
    entries = []
    for i in first_of_image[:n].tolist():
        keypoints = np.concatenate([persons.keypoints[i, :, :2], np.ones((17, 1))], axis=-1)
        entry = {"image_id": int(persons.image_ids[i]), "category_id": 1, "keypoints": keypoints.ravel().tolist(),
                 "score": 0.9}
        if with_ids:
            entry["annotation_id"] = int(persons.annotation_ids[i])
        entries.append(entry)
    return entries


def write(tmp_path, entries, name="preds.json"):
    path = tmp_path / name
    path.write_text(entries if isinstance(entries, str) else json.dumps(entries))
    return path


def test_loads_a_good_file(tmp_path, dataset):
    entries = good_entries(dataset)
    results = load_results(write(tmp_path, entries), dataset)
    assert len(results) == 4 and results.annotation_ids is None
    np.testing.assert_array_equal(results.keypoints[2].ravel(), entries[2]["keypoints"])
    assert results.to_coco() == entries


def test_not_json_names_the_file(tmp_path, dataset):
    path = write(tmp_path, '[{"image_id": 1,,}]')  # the second comma is character 17
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not valid JSON: .* line 1, column 17"):
        load_results(path, dataset)


def test_not_a_list(tmp_path, dataset):
    with pytest.raises(TypeError, match=r"preds.json: expected a list of result objects, got dict"):
        load_results(write(tmp_path, {"image_id": 1}), dataset)


def test_empty_list(tmp_path, dataset):
    with pytest.raises(ValueError, match=r"preds.json: contains no results"):
        load_results(write(tmp_path, []), dataset)


def test_wrong_keypoint_length_names_the_entry(tmp_path, dataset):
    entries = good_entries(dataset)
    entries[2]["keypoints"] = entries[2]["keypoints"][:-3]
    with pytest.raises(ValueError, match=r"preds.json: entry 2: keypoints has 48 values, expected 51 \(17 x 3"):
        load_results(write(tmp_path, entries), dataset)


def test_unknown_image_names_the_entry(tmp_path, dataset):
    entries = good_entries(dataset)
    entries[3]["image_id"] = 123456789
    with pytest.raises(ValueError, match=rf"preds.json: entry 3: image_id 123456789 is not an image of "
                                         rf"{re.escape(dataset.path.name)}"):
        load_results(write(tmp_path, entries), dataset)


def test_nan_coordinates_name_the_entry(tmp_path, dataset):
    entries = good_entries(dataset)
    # json writes NaN for float("nan"); the reader accepts it, the validation must not
    entries[1]["keypoints"][4] = float("nan")
    text = json.dumps(entries)
    assert "NaN" in text
    with pytest.raises(ValueError, match=r"preds.json: entry 1: keypoints contain NaN or Inf"):
        load_results(write(tmp_path, text), dataset)


def test_nan_score_names_the_entry(tmp_path, dataset):
    entries = good_entries(dataset)
    entries[0]["score"] = float("inf")
    with pytest.raises(ValueError, match=r"preds.json: entry 0: score must be a finite number, got inf"):
        load_results(write(tmp_path, json.dumps(entries)), dataset)


def test_other_category_names_the_entry(tmp_path, dataset):
    entries = good_entries(dataset)
    entries[1]["category_id"] = 3
    with pytest.raises(ValueError, match=r"preds.json: entry 1: category_id 3, but the annotations are of category 1"):
        load_results(write(tmp_path, entries), dataset)


@pytest.mark.parametrize(("field", "value", "error", "message"), [
    ("image_id", "139", TypeError, r"entry 0: image_id must be an integer, got '139'"),
    ("image_id", True, TypeError, r"entry 0: image_id must be an integer, got True"),
    ("score", None, ValueError, r"entry 0: score must be a finite number, got None"),
    ("keypoints", "abc", ValueError, r"entry 0: keypoints has str, expected 51"),
    ("annotation_id", 1.5, TypeError, r"entry 0: annotation_id must be an integer, got 1.5"),
])
def test_bad_field_types(tmp_path, dataset, field, value, error, message):
    entries = good_entries(dataset, n=1)
    entries[0][field] = value
    with pytest.raises(error, match=message):
        load_results(write(tmp_path, entries), dataset)


def test_missing_fields_and_non_objects(tmp_path, dataset):
    entries = good_entries(dataset)
    del entries[2]["score"]
    with pytest.raises(ValueError, match=r"entry 2: missing score"):
        load_results(write(tmp_path, entries), dataset)
    with pytest.raises(TypeError, match=r"entry 1: expected an object .* got list"):
        load_results(write(tmp_path, [good_entries(dataset)[0], [1, 2]]), dataset)
    entries = good_entries(dataset)
    entries[0]["keypoints"][5] = "x"
    with pytest.raises(TypeError, match=r"entry 0: keypoints must be numbers, got 'x'"):
        load_results(write(tmp_path, entries), dataset)


def test_annotation_ids_all_or_none(tmp_path, dataset):
    entries = good_entries(dataset, with_ids=True)
    del entries[2]["annotation_id"]
    with pytest.raises(ValueError, match=r"entry 2: annotation_id must be given on every entry or on none"):
        load_results(write(tmp_path, entries), dataset)
    entries = good_entries(dataset)
    entries[3]["annotation_id"] = 5
    with pytest.raises(ValueError, match=r"entry 3: annotation_id must be given on every entry or on none"):
        load_results(write(tmp_path, entries), dataset)


def test_annotation_id_must_exist_be_on_its_image_and_unique(tmp_path, dataset):
    entries = good_entries(dataset, with_ids=True)
    entries[1]["annotation_id"] = 999999999
    with pytest.raises(ValueError, match=r"entry 1: annotation_id 999999999 is not a person of"):
        load_results(write(tmp_path, entries), dataset)
    entries = good_entries(dataset, with_ids=True)
    other = next(e for e in entries if e["image_id"] != entries[0]["image_id"])
    entries[0]["annotation_id"] = other["annotation_id"]
    with pytest.raises(ValueError, match=rf"entry 0: annotation_id {other['annotation_id']} is a person of image "
                                         rf"{other['image_id']}, but the entry is on image {entries[0]['image_id']}"):
        load_results(write(tmp_path, entries), dataset)
    entries = good_entries(dataset, with_ids=True)
    entries.append(dict(entries[1]))
    with pytest.raises(ValueError, match=r"entry 4: annotation_id \d+ is already used by entry 1"):
        load_results(write(tmp_path, entries), dataset)


def test_arrays_are_checked_too(dataset):
    keypoints = np.zeros((2, 17, 3))
    keypoints[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"mine: entry 1: keypoints contain NaN or Inf"):
        KeypointResults(np.array([139, 139]), 1, keypoints, np.ones(2), source="mine")
    with pytest.raises(ValueError, match=r"mine: scores: expected shape \(2,\), got \(3,\)"):
        KeypointResults(np.array([139, 139]), 1, np.zeros((2, 17, 3)), np.ones(3), source="mine")
    results = KeypointResults(np.array([139, 139]), 1, np.zeros((2, 16, 3)), np.ones(2), source="mine")
    with pytest.raises(ValueError, match=r"mine: entries have 16 keypoints, the annotations 17"):
        check_results(results, dataset)


def test_results_from_dicts_names_its_source(dataset):
    entries = good_entries(dataset)
    entries[0]["keypoints"] = entries[0]["keypoints"] * 2
    with pytest.raises(ValueError, match=r"model output: entry 0: keypoints has 102 values"):
        results_from_dicts(entries, num_keypoints=17, category_id=1, source="model output")

import copy
import json
import math

import numpy as np
import pytest
from conftest import shared_dataset

from integral_pose.data.coco import (
    COCO_PERSON,
    guess_image_dir,
    load_coco_keypoints,
    load_person_detections,
)
from integral_pose.data.spec import KeypointSpec

# A valid two-image file: annotation 10 is a labelled person, 11 a crowd region, 12 unlabelled.
KP = [0.0] * 51
KP[0:3] = [12.0, 20.0, 2]  # nose visible
KP[15:18] = [10.0, 30.0, 1]  # left shoulder occluded
BASE = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "height": 100, "width": 80},
        {"id": 2, "file_name": "b.jpg", "height": 50, "width": 60},
    ],
    "annotations": [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [5, 10, 20, 40], "keypoints": KP, "num_keypoints": 2,
         "area": 500.0, "iscrowd": 0},
        {"id": 11, "image_id": 2, "category_id": 1, "bbox": [0, 0, 30, 20], "keypoints": [0] * 51,
         "num_keypoints": 0, "area": 300.0, "iscrowd": 1},
        {"id": 12, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "keypoints": [0] * 51,
         "num_keypoints": 0, "area": 6.0, "iscrowd": 0},
    ],
    "categories": [COCO_PERSON.to_category(1, "person")],
}


def write(tmp_path, content, name="person_keypoints_test.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def edited(edit):
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def test_small_file_loads_with_records_as_written(tmp_path):
    data = load_coco_keypoints(write(tmp_path, BASE))
    assert data.spec == COCO_PERSON
    assert data.category_id == 1
    assert [p.id for p in data.persons] == [10, 11, 12]
    assert [p.id for p in data.training_persons()] == [10]
    first = data.persons[0]
    assert first.bbox == (5.0, 10.0, 20.0, 40.0)
    assert first.keypoints.dtype == np.float64 and first.keypoints.shape == (17, 3)
    np.testing.assert_array_equal(first.keypoints[0], [12.0, 20.0, 2.0])
    np.testing.assert_array_equal(first.keypoints[5], [10.0, 30.0, 1.0])
    assert first.num_keypoints == 2 and first.area == 500.0 and first.iscrowd is False
    assert data.persons[1].iscrowd is True
    assert data.images[2].height == 50 and data.images[2].width == 60
    assert data.report.total == 0
    with pytest.raises(ValueError, match="read-only"):
        first.keypoints[0, 0] = 1.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["annotations"][0]["keypoints"].pop(),
         r"person_keypoints_test.json: annotation 10: keypoints has 50 values, expected 51 \(17 x 3\)"),
        (lambda d: d["annotations"][0].pop("bbox"), r"annotation 10: missing field 'bbox'"),
        (lambda d: d["annotations"][0].pop("id"), r"annotation at index 0: missing field 'id'"),
        (lambda d: d["annotations"][0]["keypoints"].__setitem__(2, 3),
         r"annotation 10: visibility must be 0, 1 or 2, got 3 at keypoint 0"),
        (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, math.nan), r"annotation 10: keypoints has NaN"),
        (lambda d: d["annotations"][0]["bbox"].__setitem__(0, math.inf), r"annotation 10: bbox has NaN"),
        (lambda d: d["annotations"][0].__setitem__("num_keypoints", 3),
         r"annotation 10: num_keypoints is 3 but 2 keypoints have visibility > 0"),
        (lambda d: d["annotations"][0]["bbox"].__setitem__(2, 0),
         r"annotation 10: bbox \[5.0, 10.0, 0.0, 40.0\] has non-positive"),
        (lambda d: d["annotations"][0]["bbox"].__setitem__(3, -1), r"annotation 10: bbox .* non-positive"),
        (lambda d: d["annotations"][0].__setitem__("image_id", 7), r"annotation 10: image_id 7 has no image record"),
        (lambda d: d["annotations"][1].__setitem__("id", 10), r"annotation 10: duplicate annotation id"),
        (lambda d: d["annotations"][0].__setitem__("keypoints", "none"), r"annotation 10: keypoints must be a list"),
        (lambda d: d["annotations"][0].__setitem__("iscrowd", 2), r"annotation 10: iscrowd must be 0 or 1"),
        (lambda d: d["annotations"][0].__setitem__("area", -1.0), r"annotation 10: area must be a finite number >= 0"),
        (lambda d: d["images"][0].pop("height"), r"image at index 0: missing field 'height'"),
        (lambda d: d["images"].append(dict(d["images"][0])), r"image 1: duplicate image id"),
        (lambda d: d.pop("categories"), r"person_keypoints_test.json: missing field 'categories'"),
        # A category id "1" would leave every annotation out as "another category" (0 persons, no error).
        (lambda d: d["annotations"][0].__setitem__("category_id", "1"),
         r"person_keypoints_test.json: annotation 10: category_id must be an integer, got '1'"),
        (lambda d: d["categories"][0].__setitem__("id", "1"), r"category at index 0: id must be an integer, got '1'"),
        (lambda d: d["images"][0].__setitem__("id", "1"), r"image at index 0: id must be an integer, got '1'"),
        (lambda d: d["annotations"][0].__setitem__("image_id", 1.0),
         r"annotation 10: image_id must be an integer, got 1.0"),
        (lambda d: d["annotations"][0].__setitem__("id", 2**70),
         r"annotation at index 0: id must fit in 64 bits \(\|id\| < 2\*\*63\), got 1180591620717411303424"),
        (lambda d: d["annotations"][0].__setitem__("image_id", 2**63),
         r"annotation 10: image_id must fit in 64 bits"),
    ],
)
def test_each_invalid_record_is_an_error_naming_file_and_id(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        load_coco_keypoints(write(tmp_path, edited(edit)))


def test_not_json_names_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"person_keypoints_test.json: not valid JSON"):
        load_coco_keypoints(write(tmp_path, "{'images': []"))


def test_degenerate_boxes_of_crowd_and_unlabelled_annotations_are_counted_warnings(tmp_path):
    def degenerate(d):
        d["annotations"][1]["bbox"] = [0, 0, 0, 20]  # crowd
        d["annotations"][2]["bbox"] = [1, 2, 3, -4]  # unlabelled

    with pytest.warns(UserWarning, match=r"2 x crowd or unlabelled annotation with a non-positive box .*ids 11, 12"):
        data = load_coco_keypoints(write(tmp_path, edited(degenerate)))
    assert len(data.persons) == 3
    assert sum(data.report.counts.values()) == 2
    assert list(data.report.first_ids.values()) == [(11, 12)]
    assert [p.id for p in data.training_persons()] == [10]


def test_other_categories_are_left_out_and_counted(tmp_path):
    def add_other(d):
        d["categories"].append({"id": 2, "name": "dog"})
        d["annotations"].append({"id": 99, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]})

    with pytest.warns(UserWarning, match="1 x annotation of another category"):
        data = load_coco_keypoints(write(tmp_path, edited(add_other)))
    assert [p.id for p in data.persons] == [10, 11, 12]


def test_missing_image_file_is_an_error_naming_annotation_and_image(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"")
    path = write(tmp_path, BASE)
    with pytest.raises(ValueError, match=r"annotation 11: image 2 file b.jpg is missing .* \(1 of 2 annotated"):
        load_coco_keypoints(path, image_dir=images)
    (images / "b.jpg").write_bytes(b"")
    assert load_coco_keypoints(path, image_dir=images).image_path(2) == images / "b.jpg"


def test_spec_names_must_match_the_category(tmp_path):
    path = write(tmp_path, BASE)
    other = KeypointSpec(names=tuple(f"k{i}" for i in range(17)), skeleton=(), flip_pairs=(), sigmas=(0.05,) * 17)
    with pytest.raises(ValueError, match=r"category 1 \(person\): keypoint names .* differ from the given spec"):
        load_coco_keypoints(path, spec=other)


def test_non_coco_names_need_a_description_then_load(tmp_path):
    spec = KeypointSpec(names=("head", "left_hand", "right_hand"), skeleton=((0, 1), (0, 2)), flip_pairs=((1, 2),),
                        sigmas=(0.05, 0.06, 0.06))
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [1, 1, 5, 5],
                         "keypoints": [2, 2, 2, 3, 3, 1, 0, 0, 0], "num_keypoints": 2, "area": 20, "iscrowd": 0}],
        "categories": [spec.to_category(5, "toy")],
    }
    path = write(tmp_path, data)
    with pytest.raises(ValueError, match=r"category 5 \(toy\): 3 keypoints not named as COCO's.*sigmas"):
        load_coco_keypoints(path)
    loaded = load_coco_keypoints(path, spec=spec)
    assert loaded.spec.sigmas == (0.05, 0.06, 0.06)
    np.testing.assert_array_equal(loaded.persons[0].keypoints[:, 2], [2, 1, 0])


def test_category_skeleton_is_read_one_based(tmp_path):
    data = load_coco_keypoints(write(tmp_path, BASE))
    # COCO's first skeleton edge [16, 14] (1-based) joins left_ankle and left_knee.
    a, b = data.spec.skeleton[0]
    assert (data.spec.names[a], data.spec.names[b]) == ("left_ankle", "left_knee")


def test_detections_are_filtered_by_score_and_category_and_validated(tmp_path):
    data = load_coco_keypoints(write(tmp_path, BASE))
    dets = [
        {"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9, "category_id": 1},
        {"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.1},
        {"image_id": 2, "bbox": [0, 0, 5, 5], "score": 0.8, "category_id": 3},
        {"image_id": 2, "bbox": [0, 0, 0, 5], "score": 0.7},
    ]
    path = write(tmp_path, dets, "dets.json")
    with pytest.warns(UserWarning, match="1 x non-positive box"):
        kept, report = load_person_detections(path, data.images, score_threshold=0.5)
    assert [(d.image_id, d.bbox, d.score) for d in kept] == [(1, (1.0, 2.0, 3.0, 4.0), 0.9)]
    assert report.total == 3
    with pytest.raises(ValueError, match=r"dets.json: detection at index 0: image_id 9 has no image record"):
        load_person_detections(write(tmp_path, [{"image_id": 9, "bbox": [0, 0, 1, 1], "score": 1}], "dets.json"),
                               data.images)
    with pytest.raises(ValueError, match=r"detection at index 0: missing field 'score'"):
        load_person_detections(write(tmp_path, [{"image_id": 1, "bbox": [0, 0, 1, 1]}], "dets.json"), data.images)


def test_coco_mini_loads_with_images():
    root = shared_dataset("coco-mini")
    for split, persons, labelled in (("train2017", 172, 86), ("val2017", 118, 68)):
        path = root / "annotations" / f"person_keypoints_{split}.json"
        assert guess_image_dir(path) == root / split
        data = load_coco_keypoints(path, image_dir=root / split)
        assert len(data.persons) == persons
        assert sum(p.num_keypoints > 0 for p in data.persons) == labelled
        assert data.spec == COCO_PERSON and data.report.total == 0


def test_reconstructed_val2017_loads_every_annotation():
    path = shared_dataset("coco-val2017-keypoints") / "person_keypoints_val2017_reconstructed.json"
    data = load_coco_keypoints(path)
    assert len(data.persons) == 7632 and len(data.images) == 5000
    assert sum(p.num_keypoints > 0 for p in data.persons) == 6352
    assert data.persons[0].id == 493456 and data.persons[0].num_keypoints == 2


def test_deeply_nested_or_huge_json_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=r"person_keypoints_test.json: not valid COCO JSON: .*nested too deeply"):
        load_coco_keypoints(path)
    path = write(tmp_path, '{"images": [{"id": ' + "9" * 5000 + "}]}")
    with pytest.raises(ValueError, match=r"person_keypoints_test.json: not valid JSON: .*digits"):
        load_coco_keypoints(path)


def test_detection_category_must_be_an_integer(tmp_path):
    data = load_coco_keypoints(write(tmp_path, BASE))
    path = write(tmp_path, [{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "category_id": "1"}], "dets.json")
    with pytest.raises(ValueError, match=r"dets.json: detection at index 0: category_id must be an integer, got '1'"):
        load_person_detections(path, data.images)


def test_dataset_repr_is_one_line_of_counts(tmp_path):
    data = load_coco_keypoints(write(tmp_path, BASE))
    assert repr(data) == (
        f"KeypointDataset({str(tmp_path / 'person_keypoints_test.json')!r}, keypoints=17, category_id=1, images=2, "
        "persons=3, image_dir=None, warnings=0)"
    )

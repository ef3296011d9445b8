from pathlib import Path

import pytest

from integral_pose.data.spec import COCO_PERSON, KeypointSpec, flip_pairs_from_names, spec_from_category

CONFIGS = Path(__file__).resolve().parents[2] / "integral_pose" / "configs" / "datasets"


def test_coco_person_constants():
    assert COCO_PERSON.num_keypoints == 17
    assert COCO_PERSON.flip_pairs == ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
    assert COCO_PERSON.sigmas[0] == 0.026 and COCO_PERSON.sigmas[11] == 0.107
    assert COCO_PERSON.flip_index == (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
    assert len(COCO_PERSON.skeleton) == 19


def test_flip_pairs_strip_a_prefix_not_a_set_of_characters():
    # "left_tfel" with lstrip("left_") would become "" ; removeprefix keeps "tfel".
    names = ["left_tfel", "right_tfel", "left_eye", "tfel", "right_eye", "left_only"]
    assert flip_pairs_from_names(names) == ((0, 1), (2, 4))


def test_description_files_read_names_as_pairs():
    assert KeypointSpec.from_file(CONFIGS / "coco_person.toml") == COCO_PERSON


def test_json_description_with_default_flip_pairs(tmp_path):
    path = tmp_path / "toy.json"
    path.write_text('{"names": ["head", "left_hand", "right_hand"], "skeleton": [["head", "left_hand"]],'
                    ' "sigmas": [0.1, 0.2, 0.2]}')
    spec = KeypointSpec.from_file(path)
    assert spec.skeleton == ((0, 1),) and spec.flip_pairs == ((1, 2),) and spec.sigmas == (0.1, 0.2, 0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('names = ["a"]\nsigmas = [0.1]\nsigma = 1', r"toy.toml: unknown keys \['sigma'\]"),
        ('names = ["a"]', r"toy.toml: missing keys \['sigmas'\]"),
        ('names = ["a", "b"]\nsigmas = [0.1]', r"toy.toml: sigmas: expected 2 finite values > 0"),
        ('names = ["a", "b"]\nsigmas = [0.1, 0.1]\nskeleton = [["a", "c"]]',
         r"toy.toml: skeleton: unknown keypoint name 'c'"),
        ('names = ["a", "a"]\nsigmas = [0.1, 0.1]', r"toy.toml: names: expected unique names"),
        ('names = ["a"\n', r"toy.toml: cannot parse"),
    ],
)
def test_description_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "toy.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        KeypointSpec.from_file(path)


def test_spec_validation():
    with pytest.raises(ValueError, match=r"skeleton: expected pairs of indices in \[0, 2\), got \(0, 2\)"):
        KeypointSpec(names=("a", "b"), skeleton=((0, 2),), flip_pairs=(), sigmas=(1, 1))
    with pytest.raises(ValueError, match="flip_pairs: each keypoint may appear in one pair at most"):
        KeypointSpec(names=("a", "b", "c"), skeleton=(), flip_pairs=((0, 1), (1, 2)), sigmas=(1, 1, 1))
    with pytest.raises(ValueError, match="sigmas: expected 1 finite values > 0"):
        KeypointSpec(names=("a",), skeleton=(), flip_pairs=(), sigmas=(0.0,))


def test_category_round_trip_and_skeleton_range():
    category = COCO_PERSON.to_category(3, "person")
    assert category["skeleton"][0] == [16, 14]
    assert spec_from_category(category, "f.json") == COCO_PERSON
    category["skeleton"].append([0, 1])
    with pytest.raises(ValueError, match=r"f.json: skeleton: expected 1-based index pairs in \[1, 17\], got \[0, 1\]"):
        spec_from_category(category, "f.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"names": ["a", "b"], "sigmas": [0.1, 0.1], "skeleton": null}',
         r"toy.json: skeleton: expected a list of pairs of names, got null"),
        ('{"names": ["a", "b"], "sigmas": [0.1, 0.1], "flip_pairs": null}',
         r"toy.json: flip_pairs: expected a list of pairs of names, got null"),
        ('{"names": [1, 2], "sigmas": [0.1, 0.1]}',
         r"toy.json: names: expected a non-empty list of keypoint names \(non-empty strings\), got \[1, 2\]"),
        ('{"names": 3, "sigmas": [0.1]}', r"toy.json: names: expected a non-empty list of keypoint names"),
        ('{"names": "ab", "sigmas": [0.1, 0.1]}', r"toy.json: names: expected a non-empty list .*got \"ab\""),
        ('{"names": ["a"], "sigmas": "0.1"}', r"toy.json: sigmas: expected a list of numbers, got \"0.1\""),
        ('{"names": ["a", "b"], "sigmas": [0.1, 0.1], "skeleton": [[0, 1]]}',
         r"toy.json: skeleton: expected pairs of names \(strings\), got \[0, 1\]"),
        ('{"names": ' + "[" * 100_000 + "]" * 100_000 + "}", r"toy.json: cannot parse: .*nested too deeply"),
    ],
)
def test_json_description_type_errors_are_clear(tmp_path, text, message):
    path = tmp_path / "toy.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        KeypointSpec.from_file(path)


def test_category_with_null_skeleton_or_numeric_names():
    category = COCO_PERSON.to_category(1, "person")
    category["skeleton"] = None
    with pytest.raises(ValueError, match=r"f.json: skeleton: expected a list of 1-based index pairs, got null"):
        spec_from_category(category, "f.json")
    category = COCO_PERSON.to_category(1, "person")
    category["keypoints"] = list(range(17))
    with pytest.raises(ValueError, match=r"f.json: keypoints: expected a non-empty list of keypoint names"):
        spec_from_category(category, "f.json")

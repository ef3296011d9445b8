import json
import warnings

import numpy as np
import pytest
from synthetic import synth_files

from integral_pose.data.coco import COCO_PERSON, load_coco_keypoints
from integral_pose.data.synth import OCCLUDER, generate, render_image
from integral_pose.subsets import analyse_subsets


def test_render_is_a_function_of_seed_and_index():
    a, b, c = render_image(4, 17), render_image(4, 17), render_image(4, 18)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.image, c.image)


def test_output_does_not_depend_on_the_number_of_workers(tmp_path):
    one = generate(tmp_path / "one", images=6, seed=9, workers=1, progress=False)
    two = generate(tmp_path / "two", images=6, seed=9, workers=2, progress=False)
    for split in ("train", "val"):
        assert one[split].read_bytes() == two[split].read_bytes()
    names = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.jpg"))
    assert len(names) == 6
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_labels_are_true_to_the_drawing():
    counts = np.zeros(3, int)
    for index in range(30):
        rendered = render_image(0, index)
        h, w = rendered.labels.shape
        figures = zip(rendered.keypoints, rendered.positions, rendered.drawn, rendered.figure_labels, strict=True)
        for keypoints, positions, drawn, label in figures:
            for (x, y, v), position in zip(keypoints, positions, strict=True):
                counts[int(v)] += 1
                i, j = round(position[1]), round(position[0])
                if v == 0:  # truncated: outside the image, coordinates 0 as in COCO
                    assert not (0 <= i < h and 0 <= j < w)
                    assert x == 0 and y == 0
                    continue
                assert (x, y) == (round(position[0], 2), round(position[1], 2))
                assert 0 <= i < h and 0 <= j < w
                assert drawn[i, j]  # a labelled keypoint lies on its figure
                if v == 2:
                    assert rendered.labels[i, j] == label  # its own figure is on top there
                else:  # covered by an occluder or another figure
                    assert rendered.labels[i, j] in {OCCLUDER, *rendered.figure_labels} - {label}
    assert counts.min() > 100  # all three labels occur


def test_generated_files_are_valid_coco_with_consistent_boxes(tmp_path_factory):
    files = synth_files(tmp_path_factory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = load_coco_keypoints(files["train"], image_dir=files["train"].parents[1] / "train")
        val = load_coco_keypoints(files["val"], image_dir=files["val"].parents[1] / "val")
    assert len(train.images) == 32 and len(val.images) == 8
    assert train.spec == COCO_PERSON
    ids = [p.id for p in train.persons + val.persons]
    assert len(set(ids)) == len(ids)
    for person in train.persons:
        x, y, w, h = person.bbox
        labelled = person.keypoints[person.keypoints[:, 2] > 0, :2]
        assert (labelled[:, 0] >= x).all() and (labelled[:, 0] <= x + w).all()
        assert (labelled[:, 1] >= y).all() and (labelled[:, 1] <= y + h).all()
        assert 0 < person.area <= w * h
    content = json.loads(files["val"].read_text())
    assert content["categories"][0]["skeleton"][0] == [16, 14]


def test_generated_persons_spread_over_the_analysis_axes():
    # 150 images in memory: every cell of the sub-benchmark axes holds at least 3% of the persons.
    persons = []
    for index in range(150):
        rendered = render_image(6, index)
        persons += [(kp, int(drawn.sum())) for kp, drawn in zip(rendered.keypoints, rendered.drawn, strict=True)]
    values = {
        "keypoints": np.array([(kp[:, 2] > 0).sum() for kp, _ in persons]),
        "occlusion": np.array([(kp[:, 2] == 1).sum() / max((kp[:, 2] > 0).sum(), 1) for kp, _ in persons]),
        "size": np.array([area for _, area in persons]),
    }
    labelled = values["keypoints"] > 0
    edges = {"keypoints": (6, 11), "occlusion": (0.2, 0.5), "size": (64**2, 96**2, 128**2)}
    for axis, axis_edges in edges.items():
        cells = np.bincount(np.searchsorted(axis_edges, values[axis][labelled], side="right"),
                            minlength=len(axis_edges) + 1)
        assert cells.min() >= 0.03 * labelled.sum(), (axis, cells)


def test_generated_cells_as_the_subsets_analysis_counts_them(tmp_path_factory):
    files = synth_files(tmp_path_factory)
    counts = analyse_subsets(load_coco_keypoints(files["train"])).counts
    assert counts["all"] > 80
    assert all(n > 0 for axis in ("keypoints", "occlusion") for n in counts[axis].values())
    assert counts["size"]["M"] > 0 and counts["size"]["XL"] + counts["size"]["XXL"] > 0


def test_generate_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="images: expected an integer >= 2, got 1"):
        generate(tmp_path, images=1)
    with pytest.raises(ValueError, match="val_fraction"):
        generate(tmp_path, images=4, val_fraction=1.0)
    with pytest.raises(ValueError, match=r"people: expected \(min, max\)"):
        generate(tmp_path, images=4, people=(3, 2))

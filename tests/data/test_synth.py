import errno
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from synthetic import synth_files

from integral_pose.data import synth
from integral_pose.data.coco import COCO_PERSON, load_coco_keypoints
from integral_pose.data.synth import MANIFEST, OCCLUDER, dataset_is_complete, generate, render_image
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
    with pytest.raises(ValueError, match=r"images: expected an integer in \[2, 1,000,000\], got 1"):
        generate(tmp_path, images=1)
    with pytest.raises(ValueError, match=r"images: expected an integer in \[2, 1,000,000\], got 10000000"):
        generate(tmp_path, images=10**7)
    with pytest.raises(ValueError, match="val_fraction"):
        generate(tmp_path, images=4, val_fraction=1.0)
    with pytest.raises(ValueError, match=r"people: expected \(min, max\)"):
        generate(tmp_path, images=4, people=(3, 2))
    with pytest.raises(ValueError, match=r"image_size: expected \(H, W\) with 32 <= H, W <= 4096, got \(100000, 256\)"):
        generate(tmp_path, images=4, image_size=(100000, 256))
    with pytest.raises(ValueError, match=r"seed: expected an integer in \[0, 2\*\*63\), got -1"):
        generate(tmp_path, images=4, seed=-1)
    with pytest.raises(ValueError, match=r"seed: expected an integer in \[0, 2\*\*63\), got 9223372036854775808"):
        generate(tmp_path, images=4, seed=2**63)
    with pytest.raises(ValueError, match=r"workers: expected None or an integer in \[1, 1024\], got 0"):
        generate(tmp_path, images=4, workers=0)
    with pytest.raises(ValueError, match="image_size"):
        render_image(0, 0, (64, 5000))
    assert list(tmp_path.iterdir()) == []  # nothing written


def snapshot(root):
    """Every file under ``root``: relative path -> bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_interrupted_run_leaves_the_previous_dataset_intact(tmp_path, monkeypatch):
    out = tmp_path / "data"
    generate(out, images=4, seed=1, workers=1, progress=False)
    before = snapshot(out)
    real = synth._render_and_write
    calls = []

    def crash_after_two(task):
        calls.append(task)
        if len(calls) > 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of drawing
        return real(task)

    monkeypatch.setattr(synth, "_render_and_write", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        generate(out, images=6, seed=2, workers=1, progress=False)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the staging folder is gone
    assert dataset_is_complete(out, images=4, seed=1)


def test_a_full_disk_while_writing_annotations_leaves_the_previous_dataset_intact(tmp_path, monkeypatch):
    out = tmp_path / "data"
    generate(out, images=4, seed=1, workers=1, progress=False)
    before = snapshot(out)

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(synth, "_write_annotations", disk_full)
    with pytest.raises(OSError, match="No space left"):
        generate(out, images=5, seed=2, workers=1, progress=False)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_smaller_rerun_leaves_no_stale_files(tmp_path):
    generate(tmp_path / "data", images=6, seed=3, workers=1, progress=False)
    assert dataset_is_complete(tmp_path / "data", images=6, seed=3, image_size=(256, 256))
    generate(tmp_path / "data", images=3, seed=3, workers=1, progress=False)
    generate(tmp_path / "fresh", images=3, seed=3, workers=1, progress=False)
    assert snapshot(tmp_path / "data") == snapshot(tmp_path / "fresh")
    assert len(list((tmp_path / "data").rglob("*.jpg"))) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "fresh"]


def test_dataset_is_complete_checks_arguments_and_files(tmp_path):
    root = tmp_path / "data"
    assert not dataset_is_complete(root)
    generate(root, images=4, seed=5, image_size=(64, 96), workers=1, progress=False)
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["seed"] == 5 and manifest["image_size"] == [64, 96]
    assert manifest["splits"]["val"]["images"] == 1 and manifest["splits"]["train"]["images"] == 3
    assert dataset_is_complete(root)
    assert dataset_is_complete(root, images=4, seed=5, image_size=(64, 96), val_fraction=0.2, people=(2, 6))
    assert not dataset_is_complete(root, seed=6)
    assert not dataset_is_complete(root, images=5)
    assert not dataset_is_complete(root, image_size=(96, 64))
    next((root / "train").glob("*.jpg")).unlink()  # an image gone
    assert not dataset_is_complete(root)
    generate(root, images=4, seed=5, image_size=(64, 96), workers=1, progress=False)
    annotations = root / "annotations" / "person_keypoints_val.json"
    annotations.write_text(annotations.read_text().replace('"iscrowd":0', '"iscrowd":1', 1))  # same size
    assert not dataset_is_complete(root)


def test_folders_left_by_a_killed_run_are_removed_and_foreign_folders_refused(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # a process id that is no longer alive, as after kill -9
    abandoned = tmp_path / f".data.partial-{process.pid}-x1"
    (abandoned / "train").mkdir(parents=True)
    generate(tmp_path / "data", images=2, seed=0, workers=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"out: .*mine holds files the generator did not write \(notes.txt\)"):
        generate(tmp_path / "mine", images=2, workers=1, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_the_swap_without_an_atomic_exchange_also_replaces_the_whole_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "_exchange", lambda a, b: False)  # a platform without renameat2
    generate(tmp_path / "data", images=5, seed=4, workers=1, progress=False)
    generate(tmp_path / "data", images=2, seed=4, workers=1, progress=False)
    assert len(list((tmp_path / "data").rglob("*.jpg"))) == 2
    assert dataset_is_complete(tmp_path / "data", images=2, seed=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]

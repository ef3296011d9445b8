"""The combined method's test-time fusion rules on trained checkpoints: AP and EPE of each with the flip test, and
paired 95% bootstrap intervals over persons of each rule against the shipped one (``regression``).

The rules (``method.fusion``): ``regression`` (the compensated soft-argmax), ``detection`` (the heatmap decoder),
``average`` of the two, and ``agreement`` (their average where they lie within ``--radius`` heatmap pixels of
each other, else the heatmap decoder's). Every rule reads the same logits, so the differences are the rules'.

    python benchmarks/fusion.py runs/demo/runs/combined/last.pt [more checkpoints] [--radius 1]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from integral_pose.checkpoints import load_model
from integral_pose.data.coco import load_coco_keypoints
from integral_pose.demo import paired_differences, person_errors
from integral_pose.evaluate import evaluate
from integral_pose.methods import FUSIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="combined-method checkpoints")
    parser.add_argument("--radius", type=float, default=1.0, help="fusion_radius of the agreement rule")
    args = parser.parse_args()
    print("| checkpoint | fusion | AP | AP50 | AP75 | EPE (px) | EPE - regression [95% CI] |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in args.checkpoints:
        model, config = load_model(path)
        if config.method.kind != "combined":
            raise SystemExit(f"{path}: a {config.method.kind} checkpoint; fusion applies to combined ones")
        data = config.data
        val = load_coco_keypoints(data.annotations(data.val_split), image_dir=data.images(data.val_split))
        metrics, errors = {}, {}
        for fusion in FUSIONS:
            method = replace(config.method, fusion=fusion, fusion_radius=args.radius)
            report = evaluate(model, method, val, flip_test=True, input_size=data.input_size)
            metrics[fusion], errors[fusion] = report.metrics, person_errors(val, report.results)
        others = [fusion for fusion in FUSIONS if fusion != "regression"]
        differences = paired_differences(errors, [(fusion, "regression") for fusion in others])
        against = {fusion: f"{d['EPE']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
                   for fusion, d in zip(others, differences, strict=True)}
        for fusion in FUSIONS:
            m = metrics[fusion]
            print(f"| {path} | {fusion} | {100 * m['AP']:.2f} | {100 * m['AP50']:.2f} | {100 * m['AP75']:.2f} | "
                  f"{m['EPE']:.3f} | {against.get(fusion, '-')} |", flush=True)


if __name__ == "__main__":
    main()

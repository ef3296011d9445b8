"""Flip-test gain and keypoint-score rules of trained models, on the val split of their dataset.

For each checkpoint: OKS AP and EPE (image pixels) without and with the flip test, and the AP of each keypoint
confidence rule (``method``: the method's own scores, the peak value; ``mass``; ``spread``; see
:func:`integral_pose.inference.keypoint_scores`), which changes the person scores that rank predictions.

    python benchmarks/flip_and_scores.py runs/demo/runs/*/best.pt
"""

from __future__ import annotations

import argparse

import torch

from integral_pose.checkpoints import load_model
from integral_pose.data.dataset import make_loader
from integral_pose.inference import predict, to_results
from integral_pose.metrics import evaluate_keypoints
from integral_pose.train import datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--scores", nargs="+", default=["method", "mass", "spread"])
    args = parser.parse_args()
    print("| method | flip | keypoint score | AP | AP50 | AP75 | EPE (px) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in args.checkpoints:
        model, config = load_model(path)
        _, samples = datasets(config, model.stride)
        val = samples.dataset
        batches = list(make_loader(samples, batch_size=64, shuffle=False, num_workers=2))
        for flip in (False, True):
            for score in args.scores:
                with torch.no_grad():
                    predictions = predict(model, config.method, batches, flip_index=val.spec.flip_index,
                                          flip_test=flip, keypoint_score=score)
                m = evaluate_keypoints(val, to_results(predictions, category_id=val.category_id))
                print(f"| {config.method.kind} | {'on' if flip else 'off'} | {score} | {100 * m['AP']:.2f} | "
                      f"{100 * m['AP50']:.2f} | {100 * m['AP75']:.2f} | {m['EPE']:.3f} |", flush=True)


if __name__ == "__main__":
    main()

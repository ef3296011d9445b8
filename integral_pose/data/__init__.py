"""Everything between annotation files and training batches.

- :mod:`integral_pose.data.coco`: COCO-format keypoint files -> validated records; detection-results boxes.
- :mod:`integral_pose.data.crop`: box -> crop region, the affine crop and its inverse (``crop_box`` in one call),
  heatmap -> image pixels.
- :mod:`integral_pose.data.augment`: flip, scale/rotation and half-body crops from one seeded generator.
- :mod:`integral_pose.data.targets`: Gaussian heatmaps and regression targets with per-keypoint weights.
- :mod:`integral_pose.data.dataset`: the top-down torch Dataset.
- :mod:`integral_pose.data.synth`: the synthetic people generator (crash-safe, with a manifest);
  :mod:`integral_pose.data.show`: drawing.

Submodules are imported where used; importing this package loads nothing heavy.
"""

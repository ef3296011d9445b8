"""The sub-benchmark analysis: COCO persons split by labelled keypoints, occlusion and size, and the metrics
of any keypoint results on every cell (see docs/subsets.md)."""

from integral_pose.subsets.analysis import SubsetReport, analyse_subsets, analyse_subsets_files
from integral_pose.subsets.cells import AXES, CELL_NAMES, CROSSES, SubsetSplit, assign_cells

__all__ = ["AXES", "CELL_NAMES", "CROSSES", "SubsetReport", "SubsetSplit", "analyse_subsets",
           "analyse_subsets_files", "assign_cells"]

"""The consensus' inputs and results: one annotator's regions, a task's clusters, the merge.

Plain frozen dataclasses with read-only arrays; the algorithms that make them live in
`clustering`, `merge` and `project`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.geometry.boxes import check_boxes
from assay.geometry.types import BoolArray, Boxes, FloatArray, IntArray, Labels
from assay.metrics.consensus._checks import freeze


@dataclass(frozen=True, eq=False)
class AnnotatorRegions:
    """One annotator's regions of a task: boxes (k, 4) float64 xyxy in pixels, labels (k,).

    Labels are names (str) or codes (int), one kind per task. Arrays are copied, read-only.
    """

    boxes: Boxes
    labels: Labels

    def __post_init__(self) -> None:
        boxes = check_boxes(self.boxes).copy()
        if boxes.ndim != 2:
            raise ValueError(f"boxes must have shape (k, 4), got {boxes.shape}")
        labels = np.array(self.labels)
        if labels.dtype == object and labels.size:
            labels = np.array(labels.tolist())  # homogeneous names or codes
        if labels.size == 0:
            labels = labels.reshape(0)
        if labels.shape != (len(boxes),):
            raise ValueError(f"labels must have shape ({len(boxes)},), got {labels.shape}")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "labels", labels)
        freeze(boxes, labels)

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class MergedRegion:
    """One consensus region, the row form of `ConsensusResult` (see there for the fields)."""

    box: tuple[float, float, float, float]
    label: Any
    score: float
    support: int
    support_fraction: float
    members: tuple[int, ...]
    tied: bool


@dataclass(frozen=True, eq=False)
class ConsensusResult:
    """The consensus of one task's n annotations: K kept regions, sorted by (box, label).

    boxes: (K, 4) float64 xyxy, the weighted median of the members' coordinates.
    labels: (K,) the winning label of each region.
    score: (K,) float64 in [0, 1], support_fraction × mean pairwise IoU of the members.
    support: (K,) int64 number of annotators with a region in the cluster.
    support_fraction: (K,) float64, the members' weight / the total weight of the n annotators.
    members: (K, n) int64, the index of annotator a's region in cluster k, -1 if none.
    tied_regions: (K,) bool, the label vote of the region was tied (resolved to the smallest).
    annotator_agreement: (n,) float64, F1 of each annotator against the consensus.
    agreement: float, the mean of annotator_agreement.
    n_dropped: clusters below the quorum.
    Arrays are read-only.
    """

    boxes: Boxes
    labels: Labels
    score: FloatArray
    support: IntArray
    support_fraction: FloatArray
    members: IntArray
    tied_regions: BoolArray
    annotator_agreement: FloatArray
    agreement: float
    n_dropped: int

    def __post_init__(self) -> None:
        freeze(
            self.boxes,
            self.labels,
            self.score,
            self.support,
            self.support_fraction,
            self.members,
            self.tied_regions,
            self.annotator_agreement,
        )

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def tied(self) -> bool:
        """True when any region's label vote was tied."""
        return bool(self.tied_regions.any())

    def regions(self) -> list[MergedRegion]:
        """The K regions as `MergedRegion` rows."""
        return [
            MergedRegion(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                label=self.labels[k].item(),
                score=float(self.score[k]),
                support=int(self.support[k]),
                support_fraction=float(self.support_fraction[k]),
                members=tuple(int(m) for m in self.members[k]),
                tied=bool(self.tied_regions[k]),
            )
            for k, b in enumerate(self.boxes)
        ]


@dataclass(frozen=True, eq=False)
class Clusters:
    """All C clusters of one task's regions (before any quorum), from `cluster_regions`.

    annotations: the n annotators' inputs, as given.
    members: (C, n) int64, annotator a's region index in cluster c, -1 if none; rows sorted by
        the members' coordinates and labels (independent of the annotators' order).
    mean_iou: (C,) float64, mean pairwise IoU of the members; 1.0 for a single member.
    iou_threshold: the threshold used.
    """

    annotations: tuple[AnnotatorRegions, ...]
    members: IntArray
    mean_iou: FloatArray
    iou_threshold: float

    def __post_init__(self) -> None:
        freeze(self.members, self.mean_iou)

    def __len__(self) -> int:
        return len(self.members)

    def label_codes(self, vocabulary: Sequence[Any]) -> IntArray:
        """(C, n) int64: annotator a's label in cluster c as its position in `vocabulary`, -1
        where a has no region in c. The rows of many tasks, put into one items × annotators
        matrix, are the input of `dawid_skene`. Raises ValueError for a label not in it."""
        index = {v: i for i, v in enumerate(vocabulary)}
        out = np.full(self.members.shape, -1, dtype=np.int64)
        for a, ann in enumerate(self.annotations):
            rows = np.flatnonzero(self.members[:, a] >= 0)
            for c in rows:
                label = ann.labels[self.members[c, a]].item()
                if label not in index:
                    raise ValueError(f"label {label!r} is not one of {list(vocabulary)}")
                out[c, a] = index[label]
        return out

"""Scoring one result against a task's ground truth: Label Studio regions in, counts out.

Pure (no database): the bridge from formats.regions (pixels, per shape type) to the numeric
core in metrics. Shapes are matched within their own type; labels per the settings; task-level
choices count as regions matched by label alone, so for them accuracy is the Jaccard index
(exact match for single choice). Formulas: docs/metrics.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.formats.regions import (
    TaskRegions,
    keypoint_iou_matrix,
    polygon_regions_iou_matrix,
    rectangle_iou_matrix,
    regions_from_label_studio,
)
from assay.geometry.types import FloatArray
from assay.metrics.conflicts import Conflicts, find_conflicts
from assay.metrics.confusion import UNMATCHED
from assay.metrics.matching import match_regions
from assay.metrics.scores import Counts, summary_accuracy

MATCH_METHODS = ("hungarian", "greedy")
LABEL_MISMATCH_COUNTS = ("two", "one")  # errors a region in place with the wrong label makes
KEYPOINT_SIGMA_PX = 10.0  # a keypoint within ~10 px of the GT point scores about IoU 0.6


@dataclass(frozen=True)
class QualitySettings:
    """How a project matches regions to its ground truth.

    label_iou_thresholds: {label: IoU threshold} for the labels whose matching threshold
    differs from `iou_threshold`; a pair is judged by its ground-truth region's label.
    oks_sigmas: {label: sigma in pixels} for the keypoint labels whose similarity
    exp(-d^2 / (2 sigma^2)) uses another sigma than KEYPOINT_SIGMA_PX; a pair uses the sigma
    of its ground-truth point's label (as COCO's OKS takes the ground truth's keypoint type).
    summary: micro | macro | worst_label, how an annotation's accuracy (and a group's) adds up
    over its labels (`metrics.scores.summary_accuracy`).
    label_mismatch: "two" (a region in the right place with the wrong label is one FP and one
    FN) or "one" (only the FN of the ground-truth region's label: the region is not also an
    FP). A label-mismatch pair is one the conflicts report as `label_mismatch`.
    """

    iou_threshold: float = 0.5
    low_overlap_threshold: float = 0.8
    match_method: str = "hungarian"
    label_aware: bool = True
    empty_is_annotated: bool = True  # an annotation with no regions is scored (else skipped)
    target_accuracy: float = 0.8  # the goal line on dashboards; a job's hand-in must reach it
    label_iou_thresholds: Mapping[str, float] = field(default_factory=dict)
    summary: str = "micro"  # how accuracy adds up over labels: one of SUMMARY_MODES
    label_mismatch: str = "two"  # one of LABEL_MISMATCH_COUNTS
    oks_sigmas: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> QualitySettings:
        known = {k: v for k, v in (value or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["label_iou_thresholds"] = dict(sorted(self.label_iou_thresholds.items()))
        out["oks_sigmas"] = dict(sorted(self.oks_sigmas.items()))
        return out

    def thresholds_of(self, labels: npt.ArrayLike) -> FloatArray:
        """(N,) the IoU threshold of each of N labels: `label_iou_thresholds`, else
        `iou_threshold`. One dictionary look-up per distinct label, not per region.

        >>> QualitySettings(label_iou_thresholds={"Car": 0.7}).thresholds_of(
        ...     ["Car", "Person", "Car"]).tolist()
        [0.7, 0.5, 0.7]
        """
        return _per_label(labels, self.label_iou_thresholds, self.iou_threshold)

    def sigmas_of(self, labels: npt.ArrayLike) -> FloatArray:
        """(N,) the keypoint sigma in pixels of each of N labels: `oks_sigmas`, else
        KEYPOINT_SIGMA_PX. One dictionary look-up per distinct label, not per point.

        >>> QualitySettings(oks_sigmas={"nose": 5}).sigmas_of(["nose", "tail"]).tolist()
        [5.0, 10.0]
        """
        return _per_label(labels, self.oks_sigmas, KEYPOINT_SIGMA_PX)

    def meets_target(self, accuracy: float | None) -> bool:
        """Whether an accuracy against GT reaches `target_accuracy`; with nothing scored yet
        (None) there is nothing to fall short: the dashboard flags no one and a hand-in passes."""
        return accuracy is None or accuracy >= self.target_accuracy


def _per_label(labels: npt.ArrayLike, values: Mapping[str, float], default: float) -> FloatArray:
    """(N,) `values[label]` of each of N labels, `default` for labels not in `values`."""
    arr = np.asarray(labels)
    if not values or not arr.size:
        return np.full(arr.shape, float(default))
    names, inverse = np.unique(arr, return_inverse=True)
    per_name = np.array([values.get(str(n), default) for n in names.tolist()], dtype=np.float64)
    out: FloatArray = per_name[inverse.reshape(arr.shape)]
    return out


@dataclass(frozen=True)
class ResultScore:
    counts: Counts
    labels: dict[str, list[float]]  # label -> [tp, fp, fn, matched, iou_sum]
    confusion: list[list[Any]]  # [[gt_label, pred_label, n], ...], UNMATCHED on either side


@dataclass(frozen=True)
class RegionConflict:
    kind: str  # missing | extra | label_mismatch | low_overlap | duplicate
    gt_region: str | None  # Label Studio region id in the GT
    region: str | None  # region id in the scored result
    label: str | None
    gt_label: str | None
    iou: float | None


@dataclass
class _Shape:
    """One shape type of both sides: IoU, labels, region ids, scores."""

    iou: np.ndarray
    gt_labels: np.ndarray
    labels: np.ndarray
    gt_ids: tuple[str, ...]
    ids: tuple[str, ...]
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))


def accuracies(scores: Sequence[ResultScore], mode: str = "micro") -> FloatArray:
    """(P,) the accuracy of each score, summed over its labels as `mode` says (see
    `summary_accuracy`); "micro" is `score.counts.accuracy`."""
    if mode == "micro":
        return np.array([s.counts.accuracy for s in scores], dtype=np.float64)
    entries = [(i, v) for i, s in enumerate(scores) for v in s.labels.values()]
    owner = np.array([i for i, _ in entries], dtype=np.int64)
    counts = np.array([v[:3] for _, v in entries], dtype=np.float64).reshape(-1, 3)
    return summary_accuracy(owner, counts[:, 0], counts[:, 1], counts[:, 2], len(scores), mode)


def regions_of(
    result: Sequence[Mapping[str, Any]], width: float | None, height: float | None
) -> TaskRegions:
    """Pixels from a Label Studio result; percent space (100 x 100) when no size is known."""
    has_size = width and height
    return regions_from_label_studio(
        result, float(width) if has_size else 100.0, float(height) if has_size else 100.0
    )


def _shapes(gt: TaskRegions, sub: TaskRegions, settings: QualitySettings) -> list[_Shape]:
    out = []
    sigmas = settings.sigmas_of(gt.keypoints.labels)  # one per ground-truth point
    pairs = (
        (gt.rectangles, sub.rectangles, rectangle_iou_matrix),
        (gt.polygons, sub.polygons, polygon_regions_iou_matrix),
        (gt.keypoints, sub.keypoints, lambda a, b: keypoint_iou_matrix(a, b, sigmas)),
    )
    for g, s, iou in pairs:
        if len(g.labels) or len(s.labels):
            out.append(_Shape(iou(g, s), g.labels, s.labels, g.ids, s.ids, s.scores))
    return out


def _match(shape: _Shape, settings: QualitySettings, label_aware: bool) -> Any:
    scores = None
    if settings.match_method == "greedy" and np.isfinite(shape.scores).any():
        scores = np.nan_to_num(shape.scores, nan=0.0)
    return match_regions(
        shape.iou,
        shape.gt_labels,
        shape.labels,
        threshold=settings.thresholds_of(shape.gt_labels),
        method=settings.match_method,  # type: ignore[arg-type]
        scores=scores,
        label_aware=label_aware,
    )


def _mismatched_leftovers(shape: _Shape, m: Any, settings: QualitySettings) -> np.ndarray:
    """(M,) bool: the subject regions left unmatched that pair with a leftover ground-truth
    region of another label at IoU >= its threshold (a second Hungarian matching among the
    leftovers, as `find_conflicts` finds label mismatches)."""
    out = np.zeros(len(shape.labels), dtype=bool)
    ug, up = m.unmatched_gt, m.unmatched_pred
    if not len(ug) or not len(up):
        return out
    gl, pl = shape.gt_labels[ug], shape.labels[up]
    sub = np.where(gl[:, None] != pl[None, :], shape.iou[np.ix_(ug, up)], 0.0)
    second = match_regions(sub, threshold=settings.thresholds_of(gl))
    out[up[second.pred_idx]] = True
    return out


def score_result(gt: TaskRegions, sub: TaskRegions, settings: QualitySettings) -> ResultScore:
    """Counts of `sub` against `gt`, per label, and the label confusion pairs."""
    total = Counts()
    per_label: dict[str, list[float]] = {}
    confusion: Counter[tuple[str, str]] = Counter()

    def add(label: str, i: int, value: float = 1) -> None:
        per_label.setdefault(label, [0, 0, 0, 0, 0.0])[i] += value

    for shape in _shapes(gt, sub, settings):
        m = _match(shape, settings, settings.label_aware)
        gl, pl = shape.gt_labels, shape.labels
        same = gl[m.gt_idx] == pl[m.pred_idx]
        tp = int(same.sum())
        one = settings.label_mismatch == "one"
        forgiven = _mismatched_leftovers(shape, m, settings) if one else np.zeros(len(pl), bool)
        fp_matched = 0 if one else 1  # a matched pair with different labels
        total = total + Counts(
            tp=tp,
            fp=len(pl) - tp - (int((~same).sum()) if one else 0) - int(forgiven.sum()),
            fn=len(gl) - tp,
            matched=len(m.gt_idx),
            iou_sum=float(m.iou.sum()),
        )
        for g, p, iou, ok in zip(gl[m.gt_idx], pl[m.pred_idx], m.iou, same, strict=True):
            add(str(g), 3)
            add(str(g), 4, float(iou))
            if ok:
                add(str(g), 0)
            else:
                add(str(p), 1, fp_matched)
                add(str(g), 2)
        for i in m.unmatched_gt:
            add(str(gl[i]), 2)
        for i in m.unmatched_pred:
            add(str(pl[i]), 1, 0 if forgiven[i] else 1)
        # The confusion matrix pairs regions regardless of label.
        mu = m if not settings.label_aware else _match(shape, settings, False)
        confusion.update(zip(map(str, gl[mu.gt_idx]), map(str, pl[mu.pred_idx]), strict=True))
        confusion.update((str(gl[i]), UNMATCHED) for i in mu.unmatched_gt)
        confusion.update((UNMATCHED, str(pl[i])) for i in mu.unmatched_pred)

    for name in set(gt.choices) | set(sub.choices):
        g, s = set(gt.choices.get(name, ())), set(sub.choices.get(name, ()))
        both = g & s
        total = total + Counts(
            tp=len(both), fp=len(s - g), fn=len(g - s), matched=len(both), iou_sum=float(len(both))
        )
        for label in both:
            add(label, 0), add(label, 3), add(label, 4, 1.0)
            confusion[(label, label)] += 1
        for label in s - g:
            add(label, 1)
            confusion[(UNMATCHED, label)] += 1
        for label in g - s:
            add(label, 2)
            confusion[(label, UNMATCHED)] += 1
    return ResultScore(total, per_label, [[g, p, n] for (g, p), n in sorted(confusion.items())])


def conflicts_of(
    gt: TaskRegions, sub: TaskRegions, settings: QualitySettings
) -> list[RegionConflict]:
    """Every region-level disagreement of `sub` with `gt`, named by Label Studio region ids."""
    out: list[RegionConflict] = []
    for shape in _shapes(gt, sub, settings):
        m = _match(shape, settings, settings.label_aware)
        found: Conflicts = find_conflicts(
            shape.iou,
            shape.gt_labels,
            shape.labels,
            m,
            threshold=settings.thresholds_of(shape.gt_labels),
            low_overlap_threshold=settings.low_overlap_threshold,
        )
        for kind, g, p, iou in zip(
            found.kind, found.gt_idx, found.pred_idx, found.iou, strict=True
        ):
            out.append(
                RegionConflict(
                    kind=str(kind),
                    gt_region=shape.gt_ids[g] if g >= 0 else None,
                    region=shape.ids[p] if p >= 0 else None,
                    label=str(shape.labels[p]) if p >= 0 else None,
                    gt_label=str(shape.gt_labels[g]) if g >= 0 else None,
                    iou=None if np.isnan(iou) else round(float(iou), 4),
                )
            )
    for name in set(gt.choices) | set(sub.choices):
        g, s = set(gt.choices.get(name, ())), set(sub.choices.get(name, ()))
        out += [RegionConflict("missing", None, None, None, label, None) for label in sorted(g - s)]
        out += [RegionConflict("extra", None, None, label, None, None) for label in sorted(s - g)]
    return out


def mean_pairwise_accuracy(regions: list[TaskRegions], settings: QualitySettings) -> float | None:
    """A task's agreement: the mean accuracy over each pair of its annotations, the earlier
    one as reference; None below two annotations. The one definition every view uses."""
    pairs = [
        float(score_result(regions[i], regions[j], settings).counts.accuracy)
        for i in range(len(regions))
        for j in range(i + 1, len(regions))
    ]
    return round(sum(pairs) / len(pairs), 6) if pairs else None

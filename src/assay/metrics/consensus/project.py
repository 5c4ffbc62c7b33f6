"""Consensus of many tasks at once (a project, or a batch of it), with one weight per
annotator across them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assay.metrics.consensus._checks import check_unit
from assay.metrics.consensus.clustering import cluster_regions
from assay.metrics.consensus.dawid_skene_em import DawidSkeneResult
from assay.metrics.consensus.merge import merge_regions
from assay.metrics.consensus.regions import AnnotatorRegions, ConsensusResult
from assay.metrics.consensus.weights import cluster_label_rows, label_weights, reliability_weights

Weighting = Literal["uniform", "accuracy", "dawid_skene"]
WEIGHTINGS: tuple[Weighting, ...] = ("uniform", "accuracy", "dawid_skene")


@dataclass(frozen=True, eq=False)
class ProjectConsensus:
    """`merge_many`'s result: one `ConsensusResult` per task, and the weights used.

    weights: annotator id -> weight (1.0 each for "uniform").
    dawid_skene: the estimate over cluster labels for weighting="dawid_skene" (its annotator
        axis in the order of `annotator_ids`), else None.
    """

    results: tuple[ConsensusResult, ...]
    weights: dict[Hashable, float]
    annotator_ids: tuple[Hashable, ...]
    dawid_skene: DawidSkeneResult | None


def merge_many(
    tasks: Sequence[Sequence[AnnotatorRegions | tuple[Any, Any]]],
    annotators: Sequence[Sequence[Hashable]],
    *,
    weighting: Weighting = "uniform",
    accuracy: Mapping[Hashable, float] | None = None,
    vocabulary: Sequence[Any] | None = None,
    quorum: float = 0.5,
    iou_threshold: float = 0.5,
    weights: Mapping[Hashable, float] | None = None,
    **ds_options: Any,
) -> ProjectConsensus:
    """Merge many tasks, with one weight per annotator across them.

    tasks[t]: the annotations of task t; annotators[t]: the annotator id of each of them.
    weighting:
      "uniform": every annotator weighs 1.
      "accuracy": `reliability_weights` (log-odds, K = 2) of `accuracy[id]`, each annotator's
        accuracy against ground truth in [0, 1]; ids missing from it get the mean weight.
      "dawid_skene": all clusters with >= 2 members (over all tasks) are items, their members'
        labels the answers (codes in `vocabulary`, default: the sorted labels seen);
        `dawid_skene(**ds_options)` estimates each annotator's label accuracy, and
        `reliability_weights` (log-odds, K = number of labels) turns it into weights.
    weights: annotator id -> weight estimated beforehand (e.g. once over a whole project, when
      its tasks are merged in batches); replaces `weighting`'s estimate. Ids missing from it get
      the mean weight.
    """
    check_unit(quorum, "quorum")
    check_unit(iou_threshold, "iou_threshold")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if len(tasks) != len(annotators):
        raise ValueError(f"tasks ({len(tasks)}) and annotators ({len(annotators)}) must align")
    ids: dict[Hashable, int] = {}
    for t, (anns, who) in enumerate(zip(tasks, annotators, strict=True)):
        if len(anns) != len(who):
            raise ValueError(f"annotators[{t}] must name each of the {len(anns)} annotations")
        if len(set(who)) != len(who):
            raise ValueError(f"annotators[{t}] names an annotator twice")
        for a in who:
            ids.setdefault(a, len(ids))
    id_list = tuple(ids)
    clusters = [cluster_regions(anns, iou_threshold=iou_threshold) for anns in tasks]
    ds: DawidSkeneResult | None = None
    if weights is not None:
        known = np.array([weights[a] for a in id_list if a in weights], dtype=np.float64)
        fill = float(known.mean()) if len(known) else 1.0
        w = np.array([weights.get(a, fill) for a in id_list], dtype=np.float64)
    elif weighting == "uniform":
        w = np.ones(len(ids))
    elif weighting == "accuracy":
        if accuracy is None:
            raise ValueError("weighting='accuracy' needs accuracy: annotator id -> [0, 1]")
        w = reliability_weights([accuracy.get(a, np.nan) for a in id_list])
    else:
        if vocabulary is None:
            seen = {lab.item() for anns in clusters for a in anns.annotations for lab in a.labels}
            vocabulary = sorted(seen)
        rows = [
            cluster_label_rows(cl, [ids[a] for a in who], len(ids), vocabulary)
            for cl, who in zip(clusters, annotators, strict=True)
        ]
        matrix = np.concatenate(rows) if rows else np.zeros((0, len(ids)), np.int64)
        w, ds = label_weights(matrix, len(vocabulary), **ds_options)
    results = []
    for t, (anns, who, cl) in enumerate(zip(tasks, annotators, clusters, strict=True)):
        tw = w[[ids[a] for a in who]]
        if tw.sum() <= 0:  # every annotator of this task is at chance level: fall back
            tw = np.ones(len(who))
        try:
            results.append(merge_regions(anns, tw, quorum=quorum, clusters=cl))
        except ValueError as exc:
            raise ValueError(f"tasks[{t}]: {exc}") from exc
    return ProjectConsensus(
        results=tuple(results),
        weights={a: float(w[i]) for a, i in ids.items()},
        annotator_ids=id_list,
        dawid_skene=ds,
    )

"""Consensus of task-level classes: weighted majority vote or Dawid–Skene over an items ×
annotators matrix of class codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray, IntArray
from assay.metrics.consensus._checks import check_weights, freeze
from assay.metrics.consensus.dawid_skene_em import (
    DawidSkeneResult,
    check_label_matrix,
    dawid_skene,
    one_hot,
    top_class,
)


@dataclass(frozen=True, eq=False)
class ClassificationConsensus:
    """Consensus of task-level classes for I items.

    labels: (I,) int64 winning class, -1 where nobody answered.
    posteriors: (I, C) float64, weighted vote shares (majority) or Dawid–Skene posteriors;
        nan rows for unanswered items.
    support: (I,) float64, the winner's share / posterior (nan if unanswered).
    tied: (I,) bool, the top two classes were equal (resolved to the smaller code).
    dawid_skene: the full estimate for method="dawid_skene", else None.
    """

    labels: IntArray
    posteriors: FloatArray
    support: FloatArray
    tied: BoolArray
    dawid_skene: DawidSkeneResult | None

    def __post_init__(self) -> None:
        freeze(self.labels, self.posteriors, self.support, self.tied)


def merge_classifications(
    matrix: npt.ArrayLike,
    method: Literal["majority", "dawid_skene"] = "majority",
    *,
    weights: npt.ArrayLike | None = None,
    n_classes: int | None = None,
    **ds_options: Any,
) -> ClassificationConsensus:
    """Consensus class per item from an items × annotators matrix of codes (-1 = no answer).

    method "majority": (weighted) vote, weights (A,) >= 0 per annotator (None: uniform).
    method "dawid_skene": `dawid_skene(matrix, n_classes, **ds_options)`; weights not allowed.

    >>> merge_classifications([[0, 0, 1], [1, 0, -1]]).labels.tolist()
    [0, 0]
    >>> merge_classifications([[0, 0, 1], [1, 0, -1]]).tied.tolist()
    [False, True]
    """
    if method == "dawid_skene":
        if weights is not None:
            raise ValueError("weights apply to method='majority' only")
        ds = dawid_skene(matrix, n_classes, **ds_options)
        post = ds.posteriors
        return ClassificationConsensus(
            labels=ds.labels,
            posteriors=post,
            support=np.where(ds.labels >= 0, post.max(axis=1, initial=0.0), np.nan),
            tied=ds.tied,
            dawid_skene=ds,
        )
    if method != "majority":
        raise ValueError(f"method must be 'majority' or 'dawid_skene', got {method!r}")
    if ds_options:
        raise ValueError(f"unknown options for method='majority': {sorted(ds_options)}")
    m, c = check_label_matrix(matrix, n_classes)
    w = check_weights(weights, m.shape[1])
    votes = np.einsum("ial,a->il", one_hot(m, c), w)
    total = votes.sum(axis=1, keepdims=True)
    answered = total[:, 0] > 0
    post = np.full(votes.shape, np.nan)
    post[answered] = votes[answered] / total[answered]
    labels = np.full(len(m), -1, dtype=np.int64)
    tied = np.zeros(len(m), dtype=bool)
    labels[answered], tied[answered] = top_class(post[answered])
    support = np.full(len(m), np.nan)
    support[answered] = post[answered].max(axis=1)
    return ClassificationConsensus(
        labels=labels, posteriors=post, support=support, tied=tied, dawid_skene=None
    )
